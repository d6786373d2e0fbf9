import { Config } from '../../lib/config/config';
import { Logger } from '../../lib/run/log';
import { varPaths } from '../../lib/config/paths';
import { runReceiverFromConfig } from './receiver';

/**
 * Stand-alone entry of the receiver, for when it runs outside ./run.sh:
 *   node dist/collectors/xrootd/receiverMain.js [--config FILE]
 * It stops cleanly (pending packets written) on SIGTERM or SIGINT.
 */
async function main(argv: string[]): Promise<number> {
  const at = argv.indexOf('--config');
  const config = Config.loadDefault(at >= 0 ? argv[at + 1] : undefined);
  const log = Logger.forJob('xrootd-receiver', varPaths(config.section('paths').string('var', 'var')).log);
  const controller = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => controller.abort());
  try {
    await runReceiverFromConfig(config, log, controller.signal);
    return 0;
  } catch (error) {
    log.error((error as Error).message);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
