import type { Config } from '../../lib/config/config';
import type { RunArguments } from '../../lib/run/registry';
import { runService } from '../../lib/run/service';
import { runReceiverFromConfig } from './receiver';

/** `./run.sh xrootd-receiver`. */
export function serve(config: Config, args: RunArguments): Promise<number> {
  return runService('xrootd-receiver', config, args, (log, signal) => runReceiverFromConfig(config, log, signal));
}
