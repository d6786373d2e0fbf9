import type { Config } from '../lib/config/config';
import { findEntry, registry } from './registry';

/** One line of the schedule: `./run.sh crontab` prints these, `./run.sh scheduler` runs them. */
export interface ScheduleEntry {
  job: string;
  /** Five-field cron expression, or '@reboot' for long-running services. */
  cron: string;
}

/** An entry is on unless `[<name>] enabled = false`; one that needs a section is off without it. */
export function enabled(config: Config, name: string): boolean {
  const entry = findEntry(name);
  if (entry?.needsSection && !config.hasSection(entry.needsSection)) return false;
  return config.section(name).bool('enabled', true);
}

/**
 * The schedule for this config: every entry of the registry with a schedule that is enabled, with
 * `[schedule] <name> = <cron>` overriding its time.
 */
export function configuredSchedule(config: Config): ScheduleEntry[] {
  const overrides = config.section('schedule');
  return registry()
    .filter((entry) => entry.schedule !== undefined && enabled(config, entry.name))
    .map((entry) => ({ job: entry.name, cron: overrides.string(entry.name, entry.schedule as string) }));
}

/** A job's deadline in ms: `[<job>] deadline`, else its default. */
export function deadlineOf(config: Config, job: string): number {
  const entry = findEntry(job);
  return config.section(job).duration('deadline', entry && (entry.kind === 'collector' || entry.kind === 'job') ? entry.defaultDeadline : '8m');
}
