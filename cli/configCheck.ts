import type { Config } from '../lib/config/config';
import { registry, SHARED_SECTIONS } from './registry';

/** Whether `section` is `name` or one of its [name.*] sections. */
const within = (section: string, name: string): boolean => section === name || section.startsWith(`${name}.`);

/**
 * Typos a run can see in its config, as warnings: sections that no job or part uses, and keys of the
 * job's own sections ([job] and [job.*]) that the run never read.
 */
export function configWarnings(config: Config, job: string): string[] {
  const known = [...SHARED_SECTIONS, ...registry().flatMap((entry) => [entry.name, ...(entry.needsSection ? [entry.needsSection] : []), ...(entry.sections ?? [])])];
  const warnings: string[] = [];
  for (const name of config.sectionNames()) {
    if (!known.some((owner) => within(name, owner))) warnings.push(`${config.file}: section [${name}] is not used by any job or part (a typo?)`);
  }
  for (const name of config.sectionNames().filter((section) => within(section, job))) {
    for (const key of config.section(name).unreadKeys()) warnings.push(`${config.file}: [${name}] ${key} is not a setting of ${job} (a typo?)`);
  }
  return warnings;
}
