import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { PROJECT_ROOT } from '../lib/config/paths';
import { SchemaRegistry } from '../lib/documents/schemas';
import type { TypeSchema } from '../lib/documents/types';
import { everyCollectorSection } from '../test/support/collectorSections';
import { thrownBy } from '../test/support/thrown';
import { findKeyLine, loadRules, RuleError } from './rules';

const probeSchema: TypeSchema = {
  producer: 'demo',
  type: 'probe',
  description: 'test schema',
  tags: { url: { description: 'u' } },
  fields: {
    up: { type: 'int', unit: '1', description: 'u', downsample: 'last' },
    latency_ms: { type: 'float', unit: 'ms', description: 'l', downsample: 'mean' },
    error: { type: 'string', unit: '', description: 'e', downsample: 'last' },
    healthy: { type: 'bool', unit: '', description: 'h', downsample: 'last' },
  },
};
const registry = new SchemaRegistry([probeSchema]);
const EVERY_COLLECTOR = everyCollectorSection();

function tempDir(): string {
  const base = path.join(PROJECT_ROOT, 'var', 'test');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(path.join(base, 'status-rules-'));
}

/** Writes the config (and an optional defaults file) to disk, so errors can name lines. */
function load(configText: string, defaultsText?: string) {
  const dir = tempDir();
  let text = configText;
  if (defaultsText !== undefined) {
    writeFileSync(path.join(dir, 'defaults.cfg'), defaultsText);
    text = `[status]\ndefault_rules = ${path.join(dir, 'defaults.cfg')}\n${configText}`;
  } else text = `[status]\ndefault_rules =\n${configText}`;
  const file = path.join(dir, 'config.cfg');
  writeFileSync(file, text);
  return { rules: loadRules(Config.load(file), { registry }), file, dir };
}

function loadError(configText: string, defaultsText?: string): RuleError {
  try {
    load(configText, defaultsText);
  } catch (error) {
    if (error instanceof RuleError) return error;
    throw error;
  }
  throw new Error('expected a RuleError');
}

const WEB = `
[status.module.web]
measurement = demo/probe
fields = up, latency_ms
unavailable = latest(up) == 0
unavailable_reason = {series} down
degraded = mean(latency_ms) > 500
degraded_reason = slow
`;

describe('loading rules', () => {
  test('a module section becomes a rule with its defaults', () => {
    const { rules } = load(WEB);
    expect(rules).toHaveLength(1);
    const [module] = rules;
    expect(module).toMatchObject({ module: 'web', title: 'web', composite: false });
    expect(module.parts).toHaveLength(1);
    const [rule] = module.parts;
    expect(rule).toMatchObject({
      name: 'web',
      title: 'web',
      collector: 'web',
      credentialJobs: ['web'],
      producer: 'demo',
      type: 'probe',
      fields: ['up', 'latency_ms'],
      where: [],
      // The schema's tag keys: the narrowing and the newest series read them from here, not from InfluxDB.
      tagKeys: ['url'],
      freshnessMs: 30 * 60e3,
      windowMs: 30 * 60e3,
      heartbeatFreshnessMs: 30 * 60e3,
    });
    expect(rule.unavailable.map((c) => [c.key, c.text, c.reason])).toEqual([['unavailable', 'latest(up) == 0', '{series} down']]);
    expect(rule.degraded.map((c) => [c.key, c.reason])).toEqual([['degraded', 'slow']]);
  });

  test('every key is read: title, collector, where, freshness, window, heartbeat, dashboard, numbered levels', () => {
    const { rules } = load(`
[status]
freshness = 20m
[status.module.api]
title = The API
collector = web
heartbeat_freshness = 1h
measurement = demo/probe
fields = up, latency_ms
where = url=https://a.example/x?y=1, url=b
freshness = 15m
window = 2h
degraded_10 = latest(up) == 3
degraded_10_reason = ten
degraded_2 = latest(up) == 2
degraded_2_reason = two
degraded = latest(up) == 1
degraded_reason = one
dashboard = d/api
[status.module.other]
collector = none
measurement = demo/probe
fields = up
`);
    const apiModule = rules.find((rule) => rule.module === 'api');
    expect(apiModule).toMatchObject({ title: 'The API', dashboard: 'd/api' });
    const api = apiModule?.parts[0];
    expect(api).toMatchObject({
      title: 'The API',
      collector: 'web',
      credentialJobs: ['web', 'api'],
      heartbeatFreshnessMs: 3600e3,
      where: [
        { tag: 'url', value: 'https://a.example/x?y=1' },
        { tag: 'url', value: 'b' },
      ],
      freshnessMs: 15 * 60e3,
      windowMs: 2 * 3600e3,
    });
    expect(api?.degraded.map((c) => c.key)).toEqual(['degraded', 'degraded_2', 'degraded_10']);
    const other = rules.find((rule) => rule.module === 'other')?.parts[0];
    expect(other?.credentialJobs).toEqual([]);
    expect(other?.collector).toBeUndefined();
    expect(other?.freshnessMs).toBe(20 * 60e3);
    expect(other?.unavailable).toEqual([]);
    expect(other?.prefilter).toBeUndefined();
  });

  test('a prefilter is parsed like a condition', () => {
    const { rules } = load(`[status.module.web]\nmeasurement = demo/probe\nfields = up, healthy, error\nprefilter = healthy == false or (up < 1 and error != "x")\n`);
    expect(rules[0].parts[0].prefilter?.kind).toBe('or');
  });

  test('config overrides the default rules key by key, adds modules and drops one with enabled = false', () => {
    const defaults = `${WEB}
[status.module.gone]
measurement = demo/probe
fields = up
`;
    const { rules } = load(
      `
[status.module.web]
degraded = mean(latency_ms) > 900
[status.module.gone]
enabled = false
[status.module.extra]
measurement = demo/probe
fields = up
`,
      defaults,
    );
    expect(rules.map((rule) => rule.module).sort()).toEqual(['extra', 'web']);
    const web = rules.find((rule) => rule.module === 'web')?.parts[0];
    expect(web?.degraded[0].text).toBe('mean(latency_ms) > 900');
    expect(web?.degraded[0].reason).toBe('slow');
    expect(web?.unavailable[0].text).toBe('latest(up) == 0');
  });

  test('the shipped default rules file is used when [status] default_rules is absent', () => {
    const config = Config.parse(`[status]\n${EVERY_COLLECTOR}`, 'inline.cfg');
    // Only the structure matters here; default-rules.test.ts checks them against schemas/.
    const rules = loadRules(config, { registry: new SchemaRegistry([]) });
    expect(rules.map((rule) => rule.module)).toEqual(expect.arrayContaining(['host', 'web', 'sql', 'logs', 'hadoop', 'xrootd', 'xrdprobe', 'xrootd-transfers', 'panda']));
  });

  test('a default rules file that cannot be read: an error at the line of the key, with the cause', () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.cfg');
    const missing = path.join(dir, 'my-rules.cfg');
    writeFileSync(file, `[influxdb]\nurl = http://127.0.0.1:1\n\n[status]\ntitle = Status\ndefault_rules = ${missing}\n`);
    expect(() => loadRules(Config.load(file), { registry })).toThrow(`${file}:6: [status] default_rules: cannot read ${missing}: no such file`);
    // Another cause is given as the system says it.
    writeFileSync(file, `[status]\ndefault_rules = ${dir}\n`);
    expect(thrownBy(() => loadRules(Config.load(file), { registry })).message).toContain(`${file}:2: [status] default_rules: cannot read ${dir}: EISDIR`);
  });

  test('the former shipped file (status/default-rules.cfg, now each collector status.cfg) still gives the shipped rules, with a warning', () => {
    const warnings: string[] = [];
    const former = loadRules(Config.parse(`[status]\ndefault_rules = status/default-rules.cfg\n${EVERY_COLLECTOR}`, 'old.cfg'), { registry: new SchemaRegistry([]), warn: (message) => warnings.push(message) });
    const shipped = loadRules(Config.parse(`[status]\n${EVERY_COLLECTOR}`, 'new.cfg'), { registry: new SchemaRegistry([]) });
    expect(shipped.map((rule) => rule.module)).toContain('jetstream');
    expect(former).toEqual(shipped);
    expect(warnings).toEqual([expect.stringMatching(/old\.cfg: \[status\] default_rules = status\/default-rules\.cfg: .*remove the key/)]);
    expect(loadRules(Config.parse(`[status]\n${EVERY_COLLECTOR}`, 'new.cfg'), { registry: new SchemaRegistry([]), warn: (message) => warnings.push(message) })).toHaveLength(shipped.length);
    expect(warnings).toHaveLength(1);
  });
});

describe("a shipped module is shown only while the config runs one of its parts' jobs", () => {
  const modules = (text: string): string[] => loadRules(Config.parse(`[status]\n${text}`, 'optin.cfg')).map((rule) => rule.module);

  test('the opt-in jetstream collector: no module without its section, or with enabled = false; one with it', () => {
    expect(modules('[web]\nurls = http://127.0.0.1:1/\n')).toEqual(['web']);
    expect(modules('[web]\n[jetstream]\n')).toEqual(['jetstream', 'web']);
    expect(modules('[web]\n[jetstream]\nenabled = false\n')).toEqual(['web']);
  });

  test("a part's job is its collector key: panda is gated by panda-derived, which runs with [panda] and is off by itself", () => {
    expect(modules('[panda]\n')).toEqual(['panda', 'panda-daod']);
    expect(modules('[panda]\n[panda-derived]\nenabled = false\n')).toEqual(['panda-daod']);
    // hadoop-yarn and the others name collector = hadoop.
    expect(modules('[hadoop]\n')).toEqual(['hadoop', 'hadoop-yarn', 'hadoop-hbase', 'hadoop-volumes']);
  });

  test('a module the config declares or overrides is kept, unless it says enabled = false', () => {
    expect(modules('[status.module.jetstream]\ntitle = Stream\n')).toEqual(['jetstream']);
    expect(modules('[status.module.host]\nfreshness = 1h\n[status.module.jetstream]\nenabled = false\n[jetstream]\n')).toEqual(['host']);
    expect(modules(`[status.module.mine]\nmeasurement = web/probe\nfields = up\nunavailable = latest(up) == 0\nunavailable_reason = down\n`)).toEqual(['mine']);
  });

  test('a rules file the config names in default_rules is taken whole', () => {
    expect(modules(`default_rules = ${path.join(PROJECT_ROOT, 'collectors', 'jetstream', 'status.cfg')}\n`)).toEqual(['jetstream']);
  });
});

describe('a section that only dresses a module no rules file defines', () => {
  const real = '[status.module.portal]\nmeasurement = web/probe\nfields = up\nunavailable = latest(up) == 0\nunavailable_reason = down\n';

  test('is ignored with a warning naming it (e.g. the quickstart\'s downtime names after default_rules =)', () => {
    const warnings: string[] = [];
    const rules = loadRules(Config.parse(`[status]\ndefault_rules =\n${real}[status.module.web]\ndowntime_hostnames = demo-portal.quickstart\ntitle = Web\n`, 'dressed.cfg'), { registry: new SchemaRegistry([]), warn: (message) => warnings.push(message) });
    expect(rules.map((rule) => rule.module)).toEqual(['portal']);
    expect(warnings).toEqual(['dressed.cfg: [status.module.web] sets only downtime_hostnames, title, and no rules file defines the module (default_rules): ignored']);
  });

  test('still dresses a shipped module, and a section that reads data without a measurement is still an error', () => {
    const shipped = loadRules(Config.parse('[status]\n[status.module.web]\ndowntime_hostnames = demo-portal.quickstart\n', 'shipped.cfg'), { registry: new SchemaRegistry([]) });
    const web = shipped.find((rule) => rule.module === 'web')?.parts[0];
    expect(`${web?.producer}/${web?.type}`).toBe('web/probe');
    expect(thrownBy(() => loadRules(Config.parse(`[status]\ndefault_rules =\n[status.module.web]\ndowntime_hostnames = x\ndegraded = latest(up) == 0\ndegraded_reason = x\n`, 'typo.cfg'), { registry: new SchemaRegistry([]) })).message).toMatch(/measurement: is missing/);
  });
});

describe('an invalid rule fails at start-up, naming the module and the line', () => {
  test.each([
    [`degraded = mean(latency_ms) >\ndegraded_reason = x`, 'degraded', 'expected a field'],
    [`degraded = median(latency_ms) > 1\ndegraded_reason = x`, 'degraded', "unknown function 'median'"],
    [`degraded = mean(latency) > 1\ndegraded_reason = x`, 'degraded', "reads 'latency', which is not listed in fields"],
    [`degraded = mean(up) > 1`, 'degraded', 'has no degraded_reason'],
    [`degraded_reason = orphan`, 'degraded_reason', 'is a reason without its condition'],
    [`degraded = up == 1\ndegraded_reason = {valeu}`, 'degraded_reason', 'unknown placeholder {valeu}'],
    // {FIELD} names a field listed in fields, not any field of the schema.
    [`degraded = up == 1\ndegraded_reason = {name}`, 'degraded_reason', 'unknown placeholder {name} (known: {value}, {series}, {matches}, and a field listed in fields: {up}, {latency_ms})'],
    [`degradd = up == 1`, 'degradd', 'unknown key'],
    [`freshness = soon`, 'freshness', 'expected a duration'],
    [`where = url`, 'where', "'url' must be tag=value"],
    [`enabled = maybe`, 'enabled', 'must be true or false, got "maybe"'],
    [`where = site=x`, 'where', "'site' is not a tag of schemas/demo/probe.json"],
  ])('%p → key %s: %s', (extra, key, message) => {
    const text = `[status.module.web]\nmeasurement = demo/probe\nfields = up, latency_ms\n${extra}\n`;
    const error = loadError(text);
    const line = text.split('\n').findIndex((l) => l.startsWith(`${key} =`)) + 1 + 2; // two [status] lines first
    expect(error.message).toMatch(new RegExp(`config\\.cfg:${line}: \\[status\\.module\\.web\\] ${key}: `));
    expect(error.message).toContain(message);
  });

  test.each([
    ['prefilter = not up == 1', "'not' cannot be used in a prefilter"],
    ['prefilter = max(up) > 1', 'a prefilter reads raw values, not max()'],
    ['prefilter = up > latency_ms', 'must compare a field with a number'],
    ['prefilter = healthy == 1', 'compares the bool field healthy with 1'],
    ['prefilter = error == 3', 'compares the string field error with 3'],
    ['prefilter = up >', 'expected a field'],
  ])('prefilter: %p → %s', (line, message) => {
    const error = loadError(`[status.module.web]\nmeasurement = demo/probe\nfields = up, latency_ms, healthy, error\n${line}\n`);
    expect(error.message).toMatch(/config\.cfg:6: \[status\.module\.web\] prefilter: /);
    expect(error.message).toContain(message);
  });

  test('fields that are not in the schema', () => {
    const error = loadError(`[status.module.web]\nmeasurement = demo/probe\nfields = up, uptime\n`);
    expect(error.message).toMatch(/config\.cfg:5: \[status\.module\.web\] fields: 'uptime' is not a field of schemas\/demo\/probe\.json/);
  });

  test('aggregates that InfluxDB cannot apply to the field type', () => {
    const error = loadError(`[status.module.web]\nmeasurement = demo/probe\nfields = error, healthy\ndegraded = mean(healthy) > 0\ndegraded_reason = x\n`);
    expect(error.message).toContain('degraded: mean(healthy) does not apply to a bool field');
    const text = loadError(`[status.module.web]\nmeasurement = demo/probe\nfields = error\ndegraded = max(error) == "x"\ndegraded_reason = x\n`);
    expect(text.message).toContain('max(error) does not apply to a string field');
  });

  test('a missing or malformed measurement', () => {
    expect(loadError(`[status.module.web]\nfields = up\n`).message).toContain('[status.module.web] measurement: is missing');
    expect(loadError(`[status.module.web]\nmeasurement = probe\nfields = up\n`).message).toMatch(/config\.cfg:4: .*must be producer\/type/);
  });

  test('an error in the defaults file names that file and line', () => {
    const error = loadError('', `; comment\n[status.module.web]\nmeasurement = demo/probe\nfields = up\ndegraded = up >> 1\ndegraded_reason = x\n`);
    expect(error.message).toMatch(/defaults\.cfg:5: \[status\.module\.web\] degraded: expected a field/);
  });

  test('a measurement without schema is accepted (unknown producers are allowed by the gateway)', () => {
    const { rules } = load(`[status.module.custom]\nmeasurement = elsewhere/thing\nfields = anything\ndegraded = anything > 1\ndegraded_reason = x\n`);
    expect(rules[0].parts[0].producer).toBe('elsewhere');
  });
});

test('findKeyLine finds a key in its section only', () => {
  const text = '[a]\nx = 1\n[b]\n  x=2\ny = 3\n';
  expect(findKeyLine(text, 'a', 'x')).toBe(2);
  expect(findKeyLine(text, 'b', 'x')).toBe(4);
  expect(findKeyLine(text, 'b', 'z')).toBeUndefined();
});

describe('a module made of parts', () => {
  const logSchema: TypeSchema = {
    producer: 'logs',
    type: 'lines',
    description: 'test schema',
    tags: { file: { description: 'f' } },
    fields: { matches: { type: 'int', unit: '1', description: 'm', downsample: 'sum' } },
  };
  const twoSchemas = new SchemaRegistry([probeSchema, logSchema]);
  const IMPORT = `[status.module.import]
title = EI Import Status
dashboard = d/import
parts = bookkeeping, log
[status.part.bookkeeping]
title = Bookkeeping
measurement = demo/probe
fields = up
unavailable = latest(up) == 0
unavailable_reason = bookkeeping down
[status.part.log]
measurement = logs/lines
fields = matches
collector = import-log
freshness = 1h
degraded = sum(matches) > 0
degraded_reason = {value} errors
`;

  function loadWith(configText: string) {
    const dir = tempDir();
    const file = path.join(dir, 'config.cfg');
    writeFileSync(file, `[status]\ndefault_rules =\n${configText}`);
    return { file, load: () => loadRules(Config.load(file), { registry: twoSchemas }) };
  }

  /** The RuleError, and the 1-based line of `lineStart` in the written file. */
  function errorAt(configText: string, lineStart: string): { message: string; line: number } {
    const { file, load: loadIt } = loadWith(configText);
    const line = `[status]\ndefault_rules =\n${configText}`.split('\n').findIndex((text) => text.startsWith(lineStart)) + 1;
    if (line === 0) throw new Error(`no line starts with ${lineStart}`);
    try {
      loadIt();
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
      expect(error.message.slice(0, `${file}:${line}: `.length)).toBe(`${file}:${line}: `);
      return { message: error.message.slice(`${file}:${line}: `.length), line };
    }
    throw new Error('expected a RuleError');
  }

  test('parts = a, b names [status.part.*] sections; the module keeps title, dashboard and availability', () => {
    const [module] = loadWith(IMPORT).load();
    expect(module).toMatchObject({ module: 'import', title: 'EI Import Status', dashboard: 'd/import', composite: true });
    expect(module.parts.map((part) => [part.name, part.title, part.producer, part.type, part.fields, part.collector, part.credentialJobs, part.freshnessMs])).toEqual([
      // A part's collector is its measurement's producer unless it says otherwise.
      ['bookkeeping', 'Bookkeeping', 'demo', 'probe', ['up'], 'demo', ['demo'], 30 * 60e3],
      ['log', 'log', 'logs', 'lines', ['matches'], 'import-log', ['import-log'], 3600e3],
    ]);
    expect(module.parts[1].degraded.map((level) => [level.key, level.text, level.reason])).toEqual([['degraded', 'sum(matches) > 0', '{value} errors']]);
  });

  test('a part named by two modules is one rule, read once', () => {
    const rules = loadWith(`${IMPORT}[status.module.logs-only]\nparts = log\n`).load();
    expect(rules.map((rule) => rule.module)).toEqual(['import', 'logs-only']);
    expect(rules[1].parts[0]).toBe(rules[0].parts[1]);
  });

  test("the parts of a disabled module are not checked, and are not reported as unused", () => {
    const rules = loadWith(`[status.module.off]\nenabled = false\nparts = broken\n[status.part.broken]\nfields = up\n`).load();
    expect(rules).toEqual([]);
  });

  test('a module with both measurement and parts: an error at the measurement line', () => {
    const { message } = errorAt(`${IMPORT.replace('parts = bookkeeping, log\n', 'parts = bookkeeping, log\nmeasurement = demo/probe\n')}`, 'measurement = demo/probe');
    expect(message).toBe('[status.module.import] measurement: a module has either measurement (one measurement) or parts (several), not both: move measurement and the keys that go with it to a [status.part.NAME] section named in parts');
  });

  test('a measurement key in a module with parts: an error at its line', () => {
    const { message } = errorAt(IMPORT.replace('parts = bookkeeping, log\n', 'parts = bookkeeping, log\nfreshness = 2h\n'), 'freshness = 2h');
    expect(message).toBe('[status.module.import] freshness: belongs to a part: a module with parts reads freshness from each [status.part.NAME] it names');
    const level = errorAt(IMPORT.replace('parts = bookkeeping, log\n', 'parts = bookkeeping, log\ndegraded = up == 0\n'), 'degraded = up == 0');
    expect(level.message).toMatch(/^\[status\.module\.import\] degraded: belongs to a part/);
  });

  test('an unknown part: an error at the parts line naming it', () => {
    const { message } = errorAt(IMPORT.replace('parts = bookkeeping, log', 'parts = bookkeeping, log, consumer'), 'parts =');
    expect(message).toBe("[status.module.import] parts: unknown part 'consumer': there is no [status.part.consumer] section");
  });

  test('a part named twice, or no part at all: an error at the parts line', () => {
    expect(errorAt(IMPORT.replace('parts = bookkeeping, log', 'parts = log, bookkeeping, log'), 'parts =').message).toBe("[status.module.import] parts: names part 'log' twice");
    expect(errorAt(IMPORT.replace('parts = bookkeeping, log', 'parts = ,'), 'parts =').message).toMatch(/^\[status\.module\.import\] parts: is empty/);
  });

  test('a part without measurement: an error at its section header', () => {
    const { message } = errorAt(IMPORT.replace('measurement = logs/lines\n', ''), '[status.part.log]');
    expect(message).toBe('[status.part.log] measurement: is missing: give producer/type, e.g. web/probe');
  });

  test('an error inside a part names the part section and the line', () => {
    expect(errorAt(IMPORT.replace('sum(matches) > 0', 'sum(match) > 0'), 'degraded = sum(match)').message).toBe("[status.part.log] degraded: reads 'match', which is not listed in fields (matches)");
    expect(errorAt(IMPORT.replace('fields = matches', 'fields = lines'), 'fields = lines').message).toMatch(/^\[status\.part\.log\] fields: 'lines' is not a field of schemas\/logs\/lines\.json/);
  });

  test('a module key in a part: an error at its line', () => {
    expect(errorAt(IMPORT.replace('collector = import-log\n', 'collector = import-log\ndashboard = d/log\n'), 'dashboard = d/log').message).toBe(
      '[status.part.log] dashboard: belongs to the module: a part has no dashboard, the module that names it in parts has',
    );
    expect(errorAt(IMPORT.replace('collector = import-log\n', 'collector = import-log\nlevel = 3\n'), 'level = 3').message).toMatch(/^\[status\.part\.log\] level: unknown key/);
  });

  test('a part no module names: an error at its section header', () => {
    const { message } = errorAt(`${IMPORT}[status.part.orphan]\nmeasurement = demo/probe\nfields = up\n`, '[status.part.orphan]');
    expect(message).toBe("[status.part.orphan] is named in no module's parts: add it to a [status.module.NAME] parts, or remove the section");
  });
});

test("the README's module made of parts loads with the project's schemas", () => {
  const readme = readFileSync(path.join(PROJECT_ROOT, 'status', 'README.md'), 'utf8');
  const example = /### Modules made of parts[\s\S]*?```ini\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toContain('parts = ');
  const [module] = loadRules(Config.parse(`[status]\ndefault_rules =\n${example}`, 'README.md'));
  expect(module.parts.map((part) => [part.name, part.producer, part.type, part.collector])).toEqual([
    ['ei-import-bookkeeping', 'sql', 'query_status', 'sql'],
    ['ei-import-log', 'logs', 'pattern', 'logs'],
  ]);
});

test('a measurement with no schema has no tag keys given: they are asked of InfluxDB when needed', () => {
  const { rules } = load('[status.module.free]\nmeasurement = other/thing\nfields = value\ndegraded = latest(value) > 1\ndegraded_reason = x\n');
  expect(rules[0].parts[0].producer).toBe('other');
  expect(rules[0].parts[0].tagKeys).toBeUndefined();
});
