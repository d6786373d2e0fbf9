import type { Config } from '../lib/config';

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

/** A job is enabled unless its section says `enabled = false`; a collector also needs its section. */
export function enabled(config: Config, job: string, needsSection: boolean): boolean {
  if (needsSection && !config.hasSection(job)) return false;
  return config.section(job).bool('enabled', true);
}
