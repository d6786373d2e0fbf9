import type { Config } from '../lib/config/config';

/** Sections that are not a job's own: read by the sender, the gateway, the scheduler, the quickstart. */
const SHARED_SECTIONS = ['paths', 'monit', 'gateway', 'influxdb', 'schedule', 'demo', 'downsample', 'dashboards', 'status'];

/**
 * Typos a run can see in its config, as warnings: sections that no job or part uses, and keys of the
 * job's own sections ([job] and [job.*]) that the run never read.
 */
export function configWarnings(config: Config, job: string, jobNames: string[]): string[] {
  const known = new Set([...SHARED_SECTIONS, ...jobNames]);
  const warnings: string[] = [];
  for (const name of config.sectionNames()) {
    if (!known.has(name) && !known.has(name.split('.')[0])) warnings.push(`${config.file}: section [${name}] is not used by any job or part (a typo?)`);
  }
  for (const name of config.sectionNames().filter((section) => section === job || section.startsWith(`${job}.`))) {
    for (const key of config.section(name).unreadKeys()) warnings.push(`${config.file}: [${name}] ${key} is not a setting of ${job} (a typo?)`);
  }
  return warnings;
}
