import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Collector } from '../lib/run/collector';
import type { Config } from '../lib/config/config';
import type { Arguments } from './arguments';
import type { PeriodicJob } from '../lib/run/jobRunner';
import { TEN_MINUTES_MS } from '../lib/run/slot';

/** collectors/ next to this file's parent: the sources under jest, dist/collectors when built. */
const COLLECTORS_DIR = path.join(__dirname, '..', 'collectors');

/** Every collector folder with an index: its name is its job name. */
export function collectorNames(): string[] {
  if (!existsSync(COLLECTORS_DIR)) return [];
  return readdirSync(COLLECTORS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && ['index.js', 'index.ts'].some((file) => existsSync(path.join(COLLECTORS_DIR, entry.name, file))))
    .map((entry) => entry.name)
    .sort();
}

export function loadCollector(name: string): Collector {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module = require(path.join(COLLECTORS_DIR, name, 'index')) as { default?: Collector };
  if (!module.default || typeof module.default.collect !== 'function') {
    throw new Error(`collectors/${name}/index does not default-export a collector (defineCollector({ description, collect }))`);
  }
  return module.default;
}

export interface JobDefinition {
  name: string;
  description: string;
  /** Default deadline, shorter than the period; `[<job>] deadline` overrides it. */
  defaultDeadline: string;
  periodic(config: Config, args: Arguments): Promise<PeriodicJob>;
}

export function collectorJob(name: string): JobDefinition {
  return {
    name,
    description: '',
    defaultDeadline: '8m',
    periodic: async () => {
      const collector = loadCollector(name);
      return { name, periodMs: TEN_MINUTES_MS, run: (context) => collector.collect(context) };
    },
  };
}

/** Periodic jobs besides the collectors. Their modules load only when the job runs (cron starts these all day). */
function downsampleDefinition(resolution: '1h' | '1d', description: string, defaultDeadline: string): JobDefinition {
  return {
    name: `downsample-${resolution}`,
    description,
    defaultDeadline,
    periodic: async (_config, args) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { downsampleJob } = require('../downsample/job') as typeof import('../downsample/job');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { writeRetentionsMeasurement, retentionThresholdsFrom } = require('../downsample/retentions') as typeof import('../downsample/retentions');
      const job = downsampleJob(resolution, { from: args.from, to: args.to });
      return {
        ...job,
        // The dashboards pick their retention policy from this small measurement: keep it written.
        run: async (context) => {
          await writeRetentionsMeasurement(context.influxdb(), retentionThresholdsFrom(context.config));
          return job.run(context);
        },
      };
    },
  };
}

export const builtInJobs: JobDefinition[] = [
  {
    name: 'status',
    description: 'module status from the [status.module.*] rules: status documents and the status page',
    defaultDeadline: '5m',
    periodic: async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const statusJob = (require('../status') as typeof import('../status')).default;
      return { name: 'status', periodMs: TEN_MINUTES_MS, run: (context) => statusJob.collect(context) };
    },
  },
  downsampleDefinition('1h', 'raw → 1h in InfluxDB, catching up every missed hour (--from/--to to backfill)', '50m'),
  downsampleDefinition('1d', '1h → 1d in InfluxDB, catching up every missed day (--from/--to to backfill)', '3h'),
  {
    name: 'heartbeat',
    description: 'sends only its heartbeat: checks the path from this host to the gateway',
    defaultDeadline: '1m',
    periodic: async () => ({ name: 'heartbeat', periodMs: TEN_MINUTES_MS, run: async () => [] }),
  },
];

export function findJob(name: string): JobDefinition | undefined {
  return builtInJobs.find((job) => job.name === name) ?? (collectorNames().includes(name) ? collectorJob(name) : undefined);
}
