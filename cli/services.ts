import type { Config } from '../lib/config';
import type { Arguments } from './arguments';

/** Long-running receivers, started by `./run.sh <service>` and supervised by the scheduler. */
export async function runService(name: string, _config: Config, _args: Arguments): Promise<number> {
  throw new Error(`service '${name}' is not available in this build`);
}
