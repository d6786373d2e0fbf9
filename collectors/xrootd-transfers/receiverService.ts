import type { Config } from '../../lib/config/config';
import type { RunArguments } from '../../lib/run/registry';
import { runService } from '../../lib/run/service';
import { runDetailedReceiver } from './receiver';

/** `./run.sh xrootd-detailed-receiver`. */
export function serve(config: Config, args: RunArguments): Promise<number> {
  return runService('xrootd-detailed-receiver', config, args, (log, signal) => runDetailedReceiver(config, log, signal));
}
