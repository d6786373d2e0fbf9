import type { Config } from '../lib/config/config';
import type { Logger } from '../lib/run/log';
import type { RunArguments } from '../lib/run/registry';
import { runService } from '../lib/run/service';
import { startGatewayFromConfig } from './fromConfig';
import type { GatewayOptions } from './server';
import { gatewaySettings } from './settings';

/**
 * Last resort: an error nothing handled is logged with its stack, and the process exits non-zero so
 * that its supervisor restarts it, rather than going on in an unknown state or dying without a word.
 */
export function exitOnUnexpectedError(log: Logger): void {
  const fail = (kind: string) => (error: unknown) => {
    const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
    try {
      log.error(`${kind}, exiting so that the supervisor restarts the gateway: ${text}`);
    } finally {
      process.exit(1);
    }
  };
  process.on('uncaughtException', fail('unexpected error'));
  process.on('unhandledRejection', fail('unhandled promise rejection'));
}

/** `./run.sh gateway`: the gateway in the foreground until SIGTERM or SIGINT, with the GET pages `pages` gives. */
export function serve(config: Config, args: RunArguments, pages?: (log: Logger) => GatewayOptions['pages']): Promise<number> {
  return runService('gateway', config, args, async (log, signal) => {
    exitOnUnexpectedError(log);
    const running = await startGatewayFromConfig(config, { debug: args.debug, statusPages: pages, log });
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await running.close();
  });
}

/** Whether the gateway of this config answers (its /ping; 503 means it runs but InfluxDB does not). */
export async function answers(config: Config): Promise<boolean> {
  const { host, port } = gatewaySettings(config).listen;
  const address = host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  try {
    const response = await fetch(`http://${address}:${port}/ping`, { signal: AbortSignal.timeout(2000) });
    return response.status < 500 || response.status === 503;
  } catch {
    return false;
  }
}
