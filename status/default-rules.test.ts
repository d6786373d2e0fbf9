import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sources } from '../collectors/source';
import { Config } from '../lib/config/config';
import { COLLECTORS_DIR, PROJECT_ROOT } from '../lib/config/paths';
import { SchemaRegistry, schemaRegistry } from '../lib/documents/schemas';
import { everyCollectorSection } from '../test/support/collectorSections';
import { loadRules, type ModuleRule } from './rules';

/** A config running every collector: a shipped module is only loaded while its collector is configured. */
const EVERY_COLLECTOR = Config.parse(`[status]\n${everyCollectorSection()}`, 'default');

/** The shipped rules, read without schema checks so that every mismatch is listed below at once. */
function shippedRules(): ModuleRule[] {
  return loadRules(EVERY_COLLECTOR, { registry: new SchemaRegistry([]) });
}

const COLLECTORS = ['host', 'web', 'sql', 'logs', 'hadoop', 'xrootd', 'xrdprobe', 'xrootd-transfers', 'panda'];

test('there is a default rule for every collector of the project', () => {
  const onDisk = existsSync(COLLECTORS_DIR)
    ? readdirSync(COLLECTORS_DIR, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && ['index.ts', 'index.js'].some((file) => existsSync(path.join(COLLECTORS_DIR, entry.name, file))))
        .map((entry) => entry.name)
    : [];
  // A rule gated by one of a source's own jobs covers it (panda's rule is gated by panda-derived, which sends what it reads).
  const jobsOf = new Map(sources().map((source) => [source.name, [source.name, ...(source.definition.jobs ?? []).map((job) => job.name)]]));
  const covered = new Set(shippedRules().flatMap((rule) => rule.parts.map((part) => part.collector)));
  expect([...new Set([...COLLECTORS, ...onDisk])].filter((collector) => !(jobsOf.get(collector) ?? [collector]).some((job) => covered.has(job)))).toEqual([]);
});

test('every default rule reads a measurement and fields that exist in schemas/', () => {
  const problems: string[] = [];
  for (const { module, parts } of shippedRules()) {
    // The shipped rules read one measurement each.
    expect(parts).toHaveLength(1);
    const [rule] = parts;
    const schema = schemaRegistry().get(rule.producer, rule.type);
    if (!schema) {
      problems.push(`[status.module.${module}] measurement ${rule.producer}/${rule.type}: no schemas/${rule.producer}/${rule.type}.json`);
      continue;
    }
    for (const field of rule.fields) if (!(field in schema.fields)) problems.push(`[status.module.${module}] field ${field} is not in schemas/${rule.producer}/${rule.type}.json`);
    for (const { tag } of rule.where) if (!(tag in schema.tags)) problems.push(`[status.module.${module}] tag ${tag} is not in schemas/${rule.producer}/${rule.type}.json`);
  }
  expect(problems).toEqual([]);
  // And with the schemas, the full start-up check (types against aggregates) passes.
  expect(loadRules(EVERY_COLLECTOR)).toHaveLength(shippedRules().length);
});

test('every default rule links to a dashboard that dashboards/json provides', () => {
  const folder = path.join(PROJECT_ROOT, 'dashboards', 'json');
  const uids = new Set(readdirSync(folder).map((file) => (JSON.parse(readFileSync(path.join(folder, file), 'utf8')) as { uid: string }).uid));
  expect(shippedRules().filter((rule) => !rule.dashboard || !uids.has(rule.dashboard.replace(/^d\//, ''))).map((rule) => `${rule.module}: ${rule.dashboard}`)).toEqual([]);
});
