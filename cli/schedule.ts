import type { Config } from '../lib/config/config';

/**
 * The one schedule table: when each job runs. `./run.sh crontab` prints it as crontab lines and
 * `./run.sh scheduler` runs it in-process; nothing else decides when jobs run.
 */
export interface ScheduleEntry {
  job: string;
  /** Five-field cron expression, or '@reboot' for long-running services. */
  cron: string;
}

/** Collectors start in the first minutes of each 10-minute slot, spread so they do not start together. */
const COLLECTOR_SPREAD_MINUTES = 5;

export function scheduleTable(collectors: string[], services: string[]): ScheduleEntry[] {
  return [
    ...services.map((job) => ({ job, cron: '@reboot' })),
    ...collectors.map((job, index) => ({ job, cron: `${index % COLLECTOR_SPREAD_MINUTES}-59/10 * * * *` })),
    // After the collectors of each slot (which start in minutes 0-4 of it).
    { job: 'status', cron: '8-59/10 * * * *' },
    // Delivers what any job left in the spool, even for jobs no longer scheduled.
    { job: 'replay', cron: '7-59/10 * * * *' },
    { job: 'downsample-1h', cron: '15 * * * *' },
    // After the 00:15 hourly run: a day is made from its 24 hours, so it waits for the last one.
    { job: 'downsample-1d', cron: '35 0 * * *' },
  ];
}

/**
 * Node flags a job runs with, however it is started (./run.sh, crontab, the scheduler): cli/main.ts starts
 * the job again with them. panda: V8 grows its heap lazily, so a run whose live data is about 220 MB
 * (120,000 series) peaked at 440–700 MB RSS uncapped, and at about 360 MB with the old generation capped
 * at 320 MB, in the same time (bench/panda.ts). A --max-old-space-size in NODE_OPTIONS takes precedence.
 */
export const JOB_NODE_FLAGS: Readonly<Record<string, readonly string[]>> = { panda: ['--max-old-space-size=320'] };

/** The flags `job` still needs in this process (none when it has them, or NODE_OPTIONS sets the heap). */
export function missingNodeFlags(job: string | undefined, execArgv: string[], nodeOptions = ''): string[] {
  const flags = JOB_NODE_FLAGS[job ?? ''] ?? [];
  if (/--max-old-space-size/.test(nodeOptions) || execArgv.some((flag) => flag.startsWith('--max-old-space-size'))) return [];
  return flags.filter((flag) => !execArgv.includes(flag));
}

/** A job is enabled unless its section says `enabled = false`; a collector also needs its section. */
export function enabled(config: Config, job: string, needsSection: boolean): boolean {
  if (needsSection && !config.hasSection(job)) return false;
  return config.section(job).bool('enabled', true);
}
