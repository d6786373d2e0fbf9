import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Config, ConfigError, type ConfigSection } from '../../lib/config/config';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { parseDeclaredFields } from '../../lib/documents/declared';
import { SchemaRegistry } from '../../lib/documents/schemas';
import { loadRules } from '../../status/rules';
import { parseExposition } from '../../collectors/host/exposition';
import { nodeSample } from '../../collectors/host/node-sample';
import { generateConfig } from '../../scripts/quickstart/quickstartConfig';
import { generatedFiles, staleFiles } from '../../scripts/build/generate';
import { exampleNames, loadExample } from '../../scripts/quickstart/examples';
import { eventIndexRoutes, hadoopOverride } from './demo/routes';
import { MODULES, setFailing } from './demo/switches';
import type { IncomingMessage } from 'node:http';

const FOLDER = path.join(PROJECT_ROOT, 'examples', 'eventindex');
mkdirSync(path.join(PROJECT_ROOT, 'var', 'test'), { recursive: true });
const FRAGMENT = readFileSync(path.join(FOLDER, 'eventindex.cfg'), 'utf8');
const fragment = Config.parse(FRAGMENT, 'examples/eventindex/eventindex.cfg');

/** The ten modules of the EventIndex monitoring, in the paper's order (Alexandrov et al., GRID 2018). */
const PAPER_MODULES = [
  'Open-Ended Production',
  'Consumer',
  'EI Import Status',
  'Hadoop Cluster',
  'TriggerDB',
  'Web Interface Status',
  'Health of EventIndex computers',
  'Nightly Builds',
  'Event Picking Tests',
  'EI Data Volumes',
];

const moduleSections = (): string[] => fragment.sectionNames().filter((name) => /^status\.module\.[^.]+$/.test(name));

/** The sections holding a module's rules: the module itself, or its parts. */
function ruleSections(module: string): ConfigSection[] {
  const section = fragment.section(module);
  return section.has('parts') ? section.list('parts').map((part) => fragment.section(`status.part.${part}`)) : [section];
}

test('the example declares the ten modules of the EventIndex monitoring, each with its switch', () => {
  expect(moduleSections().map((name) => fragment.section(name).string('title'))).toEqual(PAPER_MODULES);
  expect(moduleSections().map((name) => name.replace('status.module.ei_', ''))).toEqual([...MODULES]);
});

test('each module has at least one unavailable and one degraded condition, each with its reason', () => {
  for (const module of moduleSections()) {
    const keys = ruleSections(module).flatMap((section) => section.keys().map((key) => ({ key, section })));
    const conditions = keys.filter(({ key }) => /^(unavailable|degraded)(_\d+)?$/.test(key));
    expect({ module, levels: [...new Set(conditions.map(({ key }) => key.replace(/_\d+$/, '')))].sort() }).toEqual({ module, levels: ['degraded', 'unavailable'] });
    for (const { key, section } of conditions) expect({ module, key, reason: section.string(`${key}_reason`, '').length > 0 }).toEqual({ module, key, reason: true });
  }
});

test("the status job reads the ten modules from the quickstart's config with the example, and only them", () => {
  const dir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'eventindex-rules-'));
  const file = path.join(dir, 'config.cfg');
  generateConfig(file, 0, ['eventindex']);
  const rules = loadRules(Config.load(file));
  expect(rules.map((rule) => rule.title)).toEqual(PAPER_MODULES);
});

test('every part belongs to one module and names the collector whose heartbeat gates it', () => {
  const parts = moduleSections().flatMap((module) => (fragment.section(module).has('parts') ? fragment.section(module).list('parts') : []));
  expect(new Set(parts).size).toBe(parts.length);
  expect(fragment.sectionNames().filter((name) => name.startsWith('status.part.')).sort()).toEqual(parts.map((part) => `status.part.${part}`).sort());
  for (const part of parts) expect(fragment.section(`status.part.${part}`).string('collector')).toMatch(/^(sql|logs|web|hadoop|host|command)$/);
});

/**
 * The fields each declared measurement of the config sends, by producer/type: sql, web and command
 * declare them (`fields`), a logs pattern's values are GROUP_FUNCTION.
 */
function declaredMeasurements(): Map<string, string[]> {
  const declared = new Map<string, string[]>();
  for (const name of fragment.sectionNames()) {
    const section = fragment.section(name);
    const kind = /^(sql\.query|web|command|logs\.pattern)\.(.+)$/.exec(name);
    if (!kind) continue;
    const producer = kind[1].split('.')[0];
    const measurement = section.string('measurement', kind[2]);
    if (producer === 'logs') {
      if (!section.has('values')) continue;
      declared.set(`logs/${measurement}`, section.list('values').map((item) => item.split(':').slice(0, 2).join('_')));
    } else {
      const fields = parseDeclaredFields(section);
      if (fields) declared.set(`${producer}/${measurement}`, [...fields.keys()]);
    }
  }
  return declared;
}

test("schemas/ describes exactly the fields the example's config declares (what the gateway types and its dashboards read)", () => {
  const project = SchemaRegistry.load();
  const declared = declaredMeasurements();
  expect(declared.size).toBeGreaterThan(0);
  for (const [name, fields] of declared) {
    const [producer, type] = name.split('/');
    const schema = project.get(producer, type);
    expect({ name, fields: [...fields].sort() }).toEqual({ name, fields: schema ? Object.keys(schema.fields).sort() : 'no schemas/' + name + '.json' });
  }
});

test('every module links to its own generated dashboard, which shows that module first', () => {
  for (const module of moduleSections()) {
    const uid = fragment.section(module).string('dashboard').replace(/^d\//, '');
    const file = path.join(FOLDER, 'dashboards', `${uid}.json`);
    expect({ module, exists: existsSync(file) }).toEqual({ module, exists: true });
    const dashboard = JSON.parse(readFileSync(file, 'utf8')) as { panels: Array<{ title: string; targets?: Array<{ query: string }> }> };
    // The first panel is the module's light: the status documents of that module only.
    expect(dashboard.panels[0].targets?.[0].query).toContain(`"module" =~ /^(${module.replace('status.module.', '')})$/`);
  }
});

test('npm run generate writes the dashboards of the example, and its stale check covers them', () => {
  const files = generatedFiles();
  const dashboards = [...files.keys()].filter((file) => file.startsWith(path.join(FOLDER, 'dashboards') + path.sep));
  expect(dashboards.map((file) => path.basename(file)).sort()).toEqual(moduleSections().map((module) => `${fragment.section(module).string('dashboard').replace(/^d\//, '')}.json`).sort());
  expect(staleFiles(files).filter((file) => file.startsWith('examples/'))).toEqual([]);
});

describe('the quickstart config with --example eventindex', () => {
  const scratch = (): string => mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'eventindex-config-'));

  test('is appended once, concrete (ports shifted, a fresh password), and named in [demo] examples', () => {
    const file = path.join(scratch(), 'config.cfg');
    expect(generateConfig(file, 1000, ['eventindex'])).toEqual({ created: true, added: [], examplesAdded: ['eventindex'] });
    const text = readFileSync(file, 'utf8');
    const config = Config.load(file);
    expect(config.section('demo').list('examples')).toEqual(['eventindex']);
    expect(config.section('sql.query.ei_production').int('port')).toBe(6442);
    expect(config.section('web.ei_nightly').string('url')).toBe('http://127.0.0.1:9191/eventindex/nightly/summary.json');
    const password = config.section('sql.query.ei_production').string('password');
    expect(password).toMatch(/^[0-9a-f]{24}$/);
    // One password for every query of the demo database, as the demo creates one account.
    for (const query of ['ei_import', 'ei_triggerdb', 'ei_production_by_project']) expect(config.section(`sql.query.${query}`).string('password')).toBe(password);
    // The fragment's later [host] and [hadoop] keys win over the quickstart's.
    expect(config.section('host').list('endpoints')[0]).toBe('http://127.0.0.1:10190/metrics');
    expect(config.section('status').string('title')).toBe('ATLAS EventIndex');
    expect(text.match(/Added by \.\/run\.sh quickstart --example eventindex/g)).toHaveLength(1);

    // A second quickstart, with or without the flag, leaves the file as it is.
    expect(generateConfig(file, 1000, ['eventindex'])).toEqual({ created: false, added: [], examplesAdded: [] });
    expect(generateConfig(file, 1000)).toEqual({ created: false, added: [], examplesAdded: [] });
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  test('is added to an existing config.cfg, whose lines all stay', () => {
    const file = path.join(scratch(), 'config.cfg');
    generateConfig(file);
    const before = readFileSync(file, 'utf8');
    expect(generateConfig(file, 0, ['eventindex']).examplesAdded).toEqual(['eventindex']);
    expect(readFileSync(file, 'utf8').startsWith(before)).toBe(true);
  });

  test('without the flag, nothing of the example is written', () => {
    const file = path.join(scratch(), 'config.cfg');
    generateConfig(file);
    expect(readFileSync(file, 'utf8')).not.toContain('eventindex/eventindex.cfg');
    expect(Config.load(file).section('demo').list('examples', [])).toEqual([]);
  });

  test('an unknown example is refused, naming the known ones, before anything is written', () => {
    const file = path.join(scratch(), 'config.cfg');
    expect(() => generateConfig(file, 0, ['eventindx'])).toThrow(new ConfigError("no example 'eventindx' (examples: eventindex)"));
    expect(existsSync(file)).toBe(false);
    expect(exampleNames()).toEqual(['eventindex']);
    expect(loadExample('eventindex').definition.description).toContain('EventIndex');
  });
});

describe('the demo answers and their switches', () => {
  const varRoot = (): string => mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'eventindex-demo-'));
  const request = {} as IncomingMessage;

  test('each switch turns its answer into the failure its module reads', () => {
    const config = Config.parse(`[paths]\nvar = ${varRoot()}\n`);
    const routes = eventIndexRoutes(() => config);
    const answer = (route: string, query = ''): { status: number; body: string } => {
      const url = new URL(`http://demo${route}${query}`);
      return { status: routes[route].status?.(url, request) ?? 200, body: routes[route].body(url, request) };
    };
    const nightly = (): { summary: { builds_failed: number; builds_total: number } } => JSON.parse(answer('/eventindex/nightly/summary.json').body);
    const quotaUsed = (): number => {
      const { ContentSummary: summary } = JSON.parse(answer('/webhdfs/v1/eventindex/datasets', '?op=GETCONTENTSUMMARY').body) as { ContentSummary: { spaceConsumed: number; spaceQuota: number } };
      return (100 * summary.spaceConsumed) / summary.spaceQuota;
    };
    const override = hadoopOverride(() => config);

    expect(answer('/eventindex/web/ui')).toEqual({ status: 200, body: expect.stringContaining('ATLAS EventIndex') });
    expect(JSON.parse(answer('/eventindex/web/status.json').body)).toMatchObject({ state: 'ok', checks: { failed: 0 } });
    expect(nightly().summary).toMatchObject({ builds_failed: 0, builds_total: 4 });
    expect(JSON.parse(answer('/eventindex/picking', '?run=480001&event=1001').body)).toMatchObject({ run: 480001, event: 1001, guid: expect.stringMatching(/^[0-9A-F-]{36}$/) });
    expect(answer('/eventindex/picking').status).toBe(200);
    expect(answer('/eventindex/hosts/ei-consumer01/metrics').status).toBe(200);
    expect(quotaUsed()).toBeLessThan(85);
    expect(override(new URL('http://demo/jmx?qry=x'))).toBeUndefined();

    for (const module of MODULES) setFailing(config, module, true);
    expect(answer('/eventindex/web/ui').status).toBe(503);
    expect(JSON.parse(answer('/eventindex/web/status.json').body)).toMatchObject({ state: 'down', checks: { failed: 3 } });
    expect(nightly().summary).toMatchObject({ builds_failed: 2, builds_total: 4 });
    expect(answer('/eventindex/picking').status).toBe(503);
    expect(answer('/eventindex/hosts/ei-consumer01/metrics').status).toBe(503);
    expect(answer('/eventindex/hosts/ei-web01/metrics').status).toBe(200);
    expect(quotaUsed()).toBeCloseTo(97, 6);
    expect(override(new URL('http://demo/jmx?qry=x'))).toMatchObject({ status: 503 });
    expect(override(new URL('http://demo/ws/v1/cluster/metrics'))).toMatchObject({ status: 503 });
    // WebHDFS belongs to EI Data Volumes, whose own switch it follows.
    expect(override(new URL('http://demo/webhdfs/v1/eventindex/datasets'))).toBeUndefined();

    for (const module of MODULES) setFailing(config, module, false);
    expect(answer('/eventindex/web/ui').status).toBe(200);
  });

  test("an EventIndex machine's answer is one the host collector reads: its disks, memory and CPUs", () => {
    const config = Config.parse(`[paths]\nvar = ${varRoot()}\n`);
    const route = eventIndexRoutes(() => config)['/eventindex/hosts/ei-consumer01/metrics'];
    const text = route.body(new URL('http://demo/eventindex/hosts/ei-consumer01/metrics'), request);
    const sample = nodeSample(parseExposition(text), { ignoreFilesystemTypes: new Set(), ignoreMountpoints: /^\/proc/, ignoreInterfaces: /^lo$/ }, Date.now() / 1000);
    expect(sample.cpuCount).toBe(16);
    expect(sample.filesystems).toEqual([expect.objectContaining({ mountpoint: '/', fstype: 'xfs', sizeBytes: 500 * 2 ** 30, freeBytes: 288 * 2 ** 30 })]);
    expect(sample.memory.totalBytes).toBe(64 * 2 ** 30);
  });
});

test('the fragment holds no password but the placeholder the quickstart replaces', () => {
  const passwords = [...FRAGMENT.matchAll(/^password = (.*)$/gm)].map((match) => match[1]);
  expect(passwords.length).toBeGreaterThan(0);
  expect(new Set(passwords)).toEqual(new Set(['demo-password']));
});
