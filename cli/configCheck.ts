import { existsSync } from 'node:fs';
import path from 'node:path';
import { sources } from '../collectors/source';
import type { Config } from '../lib/config/config';
import { PROJECT_ROOT } from '../lib/config/paths';
import { tlsConfigWarnings } from '../lib/tls/clientTls';
import { CORE_SAMPLES, documentedSectionKeys, DOWNSTREAM_SAMPLES, QUICKSTART_DIR } from '../lib/config/sample';
import { registry, SHARED_SECTIONS, tlsSourceNames } from './registry';

/** Whether `section` is `name` or one of its [name.*] sections. */
const within = (section: string, name: string): boolean => section === name || section.startsWith(`${name}.`);

/**
 * The keys each section read by several parts may hold, as their sample.cfg files document them;
 * [demo] also takes each source's demo switch (its quickstart.cfg), [schedule] a job name.
 */
function sharedKeys(): Map<string, Set<string>> {
  const keys = documentedSectionKeys([...CORE_SAMPLES, ...DOWNSTREAM_SAMPLES, path.join('scripts', 'quickstart', 'sample.cfg')].map((file) => path.join(PROJECT_ROOT, file)));
  const demo = keys.get('demo') ?? new Set<string>();
  const quickstartFiles = [path.join(QUICKSTART_DIR, 'quickstart.cfg'), ...sources().map((source) => path.join(source.folder, 'quickstart.cfg'))].filter((file) => existsSync(file));
  for (const key of documentedSectionKeys(quickstartFiles).get('demo') ?? []) demo.add(key);
  keys.set('demo', demo);
  keys.set('schedule', new Set(registry().map((entry) => entry.name)));
  return keys;
}

/**
 * Typos a run can see in its config, as warnings: sections that no job or part uses, keys of the
 * job's own sections ([job] and [job.*]) that the run never read, and keys of the shared sections
 * ([monit], [demo], [schedule], ...) that their sample.cfg does not document. Unread keys are a sign
 * of a typo only after a whole run: `completedRun` false (skipped for a lock, failed part way) leaves them out.
 */
export function configWarnings(config: Config, job: string, completedRun = true): string[] {
  const known = [...SHARED_SECTIONS, ...registry().flatMap((entry) => [entry.name, ...(entry.needsSection ? [entry.needsSection] : []), ...(entry.sections ?? [])])];
  const warnings: string[] = [];
  for (const name of config.sectionNames()) {
    if (!known.some((owner) => within(name, owner))) warnings.push(`${config.file}: section [${name}] is not used by any job or part (a typo?)`);
  }
  const own = config.sectionNames().filter((section) => within(section, job));
  for (const name of completedRun ? own : []) {
    for (const key of config.section(name).unreadKeys()) warnings.push(`${config.file}: [${name}] ${key} is not a setting of ${job} (a typo?)`);
  }
  const documented = sharedKeys();
  // [tls] and every [tls.<source>] have one key set: lib/tls checks them all alike.
  warnings.push(...tlsConfigWarnings(config));
  // A misspelt [tls.<source>] would leave its source without the identity meant for it, silently.
  const tlsSources = tlsSourceNames(config);
  // ini makes [tls.monit.route] of [tls.monit.route.x]: a section without keys of its own is only a parent.
  for (const name of config.sectionNames().filter((section) => section.startsWith('tls.') && config.sectionKeys(section).length > 0)) {
    const source = name.slice('tls.'.length);
    if (!tlsSources.includes(source)) {
      warnings.push(`${config.file}: section [${name}] names no source that reads TLS settings (a typo? they are ${tlsSources.map((known) => `[tls.${known}]`).join(', ')})`);
    }
  }
  for (const name of config.sectionNames().filter((section) => !own.includes(section) && documented.has(section) && section !== 'tls')) {
    const keys = documented.get(name) as Set<string>;
    // Read without marking: listing a section's keys here is not reading them.
    for (const key of config.sectionKeys(name)) {
      if (!keys.has(key)) warnings.push(`${config.file}: [${name}] ${key} is not a setting ${name === 'schedule' ? 'of a job' : 'of that section'} (a typo? see config.cfg.example)`);
    }
  }
  return warnings;
}
