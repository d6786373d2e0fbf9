import type { Config } from '../lib/config/config';
import { Logger } from '../lib/run/log';
import { pathsFrom } from '../lib/config/paths';
import type { Arguments } from './arguments';

/** Long-running receivers, started by `./run.sh <service>` and supervised by the scheduler (or an @reboot crontab line). */
const RECEIVERS: Record<string, (config: Config, log: Logger) => Promise<void>> = {
  'xrootd-receiver': async (config, log) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runReceiverFromConfig } = require('../collectors/xrootd/receiver') as typeof import('../collectors/xrootd/receiver');
    const stop = new AbortController();
    process.once('SIGTERM', () => stop.abort());
    process.once('SIGINT', () => stop.abort());
    await runReceiverFromConfig(config, log, stop.signal);
  },
  'xrootd-detailed-receiver': async (config, log) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runDetailedReceiver } = require('../collectors/xrootd-transfers/receiver') as typeof import('../collectors/xrootd-transfers/receiver');
    await runDetailedReceiver(config, log);
  },
};

export async function runService(name: string, config: Config, args: Arguments): Promise<number> {
  const receiver = RECEIVERS[name];
  if (!receiver) throw new Error(`unknown service '${name}'`);
  const log = Logger.forJob(name, pathsFrom(config).log, { debug: args.debug, echo: true });
  await receiver(config, log);
  return 0;
}
