/** downsample-1h and downsample-1d as periodic jobs of the runner (./run.sh downsample-1h [--from … --to …]). */
import path from 'node:path';
import { InfluxClient } from '../lib/influx/influxdb';
import type { PeriodicJob } from '../lib/run/jobRunner';
import { influxSettings } from '../lib/influx/settings';
import { downsampleSettings } from './config';
import { runDownsample } from './downsample';
import { RESOLUTION_MS, type Resolution } from '../lib/run/slot';
import { retentionThresholdsFrom, writeRetentionsMeasurement } from './retentions';
import { parseTimeArgument } from './windows';

export const DEFAULT_STATEMENT_TIMEOUT = '10m';

/** `from`/`to` as given on the command line (see parseTimeArgument); both or neither. */
export function downsampleJob(resolution: Resolution, backfill: { from?: string; to?: string } = {}): PeriodicJob {
  const from = backfill.from === undefined ? undefined : parseTimeArgument(backfill.from, 'from');
  const to = backfill.to === undefined ? undefined : parseTimeArgument(backfill.to, 'to');
  if ((from === undefined) !== (to === undefined)) throw new Error('a backfill needs both --from and --to');
  const name = `downsample-${resolution}`;
  return {
    name,
    periodMs: RESOLUTION_MS[resolution],
    run: async (context) => {
      const section = context.config.section('downsample');
      const settings = influxSettings(context.config);
      // One statement reads hours or days of every series of a measurement: allow it longer than a write.
      const timeoutMs = Math.max(settings.timeoutMs, section.duration('statement_timeout', DEFAULT_STATEMENT_TIMEOUT));
      const influxdb = new InfluxClient(settings.url, { username: settings.username, password: settings.password, timeoutMs });
      // The dashboards pick their retention policy from this small measurement: every run keeps it written.
      await writeRetentionsMeasurement(context.influxdb(), retentionThresholdsFrom(context.config));
      await runDownsample({
        resolution,
        influxdb,
        stateDir: context.stateDir,
        // The runner gives every job var/state/<job>: the 1h job's is next to this one.
        sourceStateDir: resolution === '1d' ? path.join(path.dirname(context.stateDir), 'downsample-1h') : undefined,
        log: context.log,
        signal: context.signal,
        from,
        to,
        onProblem: context.problem,
        ...downsampleSettings(section, resolution),
      });
      return [];
    },
  };
}
