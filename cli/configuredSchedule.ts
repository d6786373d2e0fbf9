import type { Config } from '../lib/config/config';
import { builtInJobs, collectorNames, findJob } from './jobs';
import { enabled, scheduleTable, type ScheduleEntry } from './schedule';

/** Long-running services started at boot, each when its section enables it. */
const BOOT_SERVICES: Array<{ job: string; needsSection: string }> = [
  { job: 'gateway', needsSection: 'gateway' },
  { job: 'xrootd-receiver', needsSection: 'xrootd-receiver' },
  { job: 'xrootd-detailed-receiver', needsSection: 'xrootd-transfers' },
];

/**
 * The schedule table for this config: collectors with a section (and not `enabled = false`), the
 * built-in jobs, and the boot services. `[schedule] <job> = <cron>` overrides an entry's time.
 */
export function configuredSchedule(config: Config): ScheduleEntry[] {
  const collectors = collectorNames().filter((name) => enabled(config, name, true));
  const services = BOOT_SERVICES.filter((service) => enabled(config, service.needsSection, true)).map((service) => service.job);
  const overrides = config.section('schedule');
  return scheduleTable(collectors, services)
    .filter((entry) => collectors.includes(entry.job) || services.includes(entry.job) || entry.job === 'replay' || (builtInJobs.some((job) => job.name === entry.job) && enabled(config, entry.job, false)))
    .map((entry) => ({ job: entry.job, cron: overrides.string(entry.job, entry.cron) }));
}

/** A job's deadline in ms: `[<job>] deadline`, else its default. */
export function deadlineOf(config: Config, job: string): number {
  return config.section(job).duration('deadline', findJob(job)?.defaultDeadline ?? '8m');
}
