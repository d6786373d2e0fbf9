/** The downsample-1h and downsample-1d jobs (see downsample/README.md). */
import path from 'node:path';
import type { Resolution } from '../lib/run/slot';

export { runDownsample, type DownsampleOptions, type DownsampleResult } from './downsample';
export { downsampleSettings, type DownsampleSettings } from './config';
export { downsampleJob } from './job';
export { parseTimeArgument } from './windows';
export { RESOLUTIONS, type Resolution } from '../lib/run/slot';

/** var/state/downsample-<resolution>: where a resolution keeps its watermarks. */
export function downsampleStateDir(stateRoot: string, resolution: Resolution): string {
  return path.join(stateRoot, `downsample-${resolution}`);
}
