/** downsample-1h and downsample-1d as periodic jobs of the runner (./run.sh downsample-1h [--from … --to …]). */
import path from 'node:path';
import type { PeriodicJob } from '../lib/run/jobRunner';
import { influxSettings } from '../lib/influx/settings';
import { DEFAULT_INSTANCE, influxInstances } from '../lib/influx/instances';
import { downsampleSettings } from './config';
import { runDownsample } from './downsample';
import { RESOLUTION_MS, type Resolution } from '../lib/run/slot';
import { retentionThresholdsFrom, writeRetentionsMeasurement } from './retentions';
import { parseTimeArgument } from './windows';

export const DEFAULT_STATEMENT_TIMEOUT = '10m';

/**
 * Where a resolution keeps the watermarks of one instance: the job's state folder for [influxdb], a
 * folder in it per [influxdb.NAME], so a producer moved to another instance starts afresh there.
 */
export function instanceStateDir(stateDir: string, instance: string): string {
  return instance === DEFAULT_INSTANCE ? stateDir : path.join(stateDir, `influxdb.${instance}`);
}

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
      // One statement reads hours or days of every series of a measurement: allow it longer than a write.
      const timeoutMs = Math.max(influxSettings(context.config).timeoutMs, section.duration('statement_timeout', DEFAULT_STATEMENT_TIMEOUT));
      const instances = influxInstances(context.config, { timeoutMs });
      const thresholds = retentionThresholdsFrom(context.config);
      const failed: string[] = [];
      // Each instance on its own: one that is down fails the run, after the others are done.
      for (const instance of instances.all) {
        try {
          // The dashboards pick their retention policy from this small measurement: every run keeps it written, on each instance (each is a datasource).
          await writeRetentionsMeasurement(instance.client, thresholds);
          await runDownsample({
            resolution,
            influxdb: instance.client,
            holds: (database) => instances.forDatabase(database) === instance,
            stateDir: instanceStateDir(context.stateDir, instance.name),
            // The runner gives every job var/state/<job>: the 1h job's is next to this one.
            sourceStateDir: resolution === '1d' ? instanceStateDir(path.join(path.dirname(context.stateDir), 'downsample-1h'), instance.name) : undefined,
            log: context.log,
            signal: context.signal,
            from,
            to,
            onProblem: context.problem,
            ...downsampleSettings(section, resolution),
          });
        } catch (error) {
          if (instances.all.length === 1 || context.signal.aborted) throw error;
          failed.push(`[${instance.section}] ${instance.settings.url}: ${(error as Error).message}`);
        }
      }
      if (failed.length) throw new Error(`not downsampled on ${failed.join('; ')}`);
      return [];
    },
  };
}
