import type { Config } from '../config/config';
import { pathsFrom } from '../config/paths';
import { Logger } from './log';
import type { RunArguments } from './registry';

/**
 * Runs a long-running service until SIGTERM or SIGINT: `body` gets the service's log and a signal
 * that aborts on either. Resolves with the exit status (1 when `body` fails, so a supervisor restarts it).
 */
export async function runService(name: string, config: Config, args: RunArguments, body: (log: Logger, signal: AbortSignal) => Promise<void>): Promise<number> {
  // Echoed on a terminal only: under cron or the quickstart, stderr is appended to the log already written.
  const log = Logger.forJob(name, pathsFrom(config).log, { debug: args.debug, echo: args.debug || process.stderr.isTTY === true });
  const stop = new AbortController();
  const abort = (): void => stop.abort();
  process.once('SIGTERM', abort);
  process.once('SIGINT', abort);
  try {
    await body(log, stop.signal);
    return 0;
  } catch (error) {
    log.error((error as Error).message);
    return 1;
  } finally {
    process.off('SIGTERM', abort);
    process.off('SIGINT', abort);
  }
}
