/**
 * Scheduled downtime declared in config and in the downtime file: every check with the message an
 * operator reads, the file re-read every run, coverage of a slot, the documents' counters, the
 * transitions into and out of a downtime, and the MONIT availability text.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config, ConfigError } from '../lib/config/config';
import { DocumentFactory } from '../lib/documents/document';
import { MemoryLogger } from '../lib/run/log';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import { thrownBy } from '../test/support/thrown';
import { availabilityDocuments } from './availability';
import { configDowntimes, covers, type Downtime, downtimesAt, fileDowntimes, parseIsoTime, slotCounters } from './downtime';
import type { ModuleStatus } from './evaluate';
import { RuleError } from './rules';
import { runStatus } from './job';
import { loadStatusSettings } from './settings';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeFirstState, describeTransition, postTransition, recordTransitions } from './transitions';

const HOUR = 3_600_000;
const PERIOD = 600_000;
const START = Date.parse('2026-12-06T10:00:00Z');

const probeRule = (module: string, extra = ''): string =>
  `[status.module.${module}]\nmeasurement = scenario/probe\nfields = up\nwhere = service=${module}\ncollector = none\nunavailable = latest(up) == 0\nunavailable_reason = ${module} down\n${extra}`;

/** A config.cfg with the modules web and db, and `extra` after them. */
function configWith(extra: string): Config {
  const file = path.join(testDir('status-downtime'), 'config.cfg');
  writeFileSync(file, `[influxdb]\nurl = http://127.0.0.1:1\n[status]\ndefault_rules =\nhtml_file =\njson_file =\n${probeRule('web')}${probeRule('db')}${extra}`);
  return Config.load(file);
}

const status = (module: string, state: ModuleStatus['state'], reason = `${module} is ${state}`): ModuleStatus => ({ module, title: module, state, code: 0, reason, evaluatedMs: START });

describe('[status.downtime.NAME] in config', () => {
  test('a section gives a downtime of its modules with its reason, named by its section', () => {
    const settings = loadStatusSettings(configWith('[status.downtime.upgrade]\nstart = 2026-12-06T10:00Z\nend = 2026-12-06T12:30Z\nmodules = web, db\nreason = kernel upgrade\n[status.downtime.all]\nstart = 2026-12-07T00:00+01:00\nend = 2026-12-07T01:00:00Z\nmodules = *\nreason = power cut\n'));
    expect(settings.downtime.declared).toEqual([
      { startMs: START, endMs: START + 2.5 * HOUR, modules: ['web', 'db'], reason: 'kernel upgrade', source: 'config upgrade' },
      { startMs: Date.parse('2026-12-06T23:00:00Z'), endMs: Date.parse('2026-12-07T01:00:00Z'), modules: '*', reason: 'power cut', source: 'config all' },
    ]);
    expect(settings.downtime).toMatchObject({ file: undefined, feedUrl: undefined, feedTimeoutMs: 30_000, feedMaxBytes: 5 * 1024 * 1024 });
  });

  test.each([
    ['end before start', 'start = 2026-12-06T12:00Z\nend = 2026-12-06T10:00Z\nmodules = web\nreason = r\n', /config\.cfg:\d+: \[status\.downtime\.bad\] end: 2026-12-06T10:00:00\.000Z is not after start 2026-12-06T12:00:00\.000Z/],
    ['end equal to start', 'start = 2026-12-06T12:00Z\nend = 2026-12-06T12:00Z\nmodules = web\nreason = r\n', /\[status\.downtime\.bad\] end: .* is not after start/],
    ['a missing reason', 'start = 2026-12-06T10:00Z\nend = 2026-12-06T12:00Z\nmodules = web\n', /config\.cfg: \[status\.downtime\.bad\] reason: is missing/],
    ['no modules', 'start = 2026-12-06T10:00Z\nend = 2026-12-06T12:00Z\nreason = r\n', /\[status\.downtime\.bad\] modules: is missing/],
    ['a time without its zone', 'start = 2026-12-06T10:00\nend = 2026-12-06T12:00Z\nmodules = web\nreason = r\n', /config\.cfg:\d+: \[status\.downtime\.bad\] start: must be an ISO 8601 time with its zone, e\.g\. 2026-12-06T10:00Z, got "2026-12-06T10:00"/],
    ['a missing start', 'end = 2026-12-06T12:00Z\nmodules = web\nreason = r\n', /\[status\.downtime\.bad\] start: is missing/],
    ['an unknown key', 'start = 2026-12-06T10:00Z\nend = 2026-12-06T12:00Z\nmodules = web\nreason = r\nmodule = db\n', /config\.cfg:\d+: \[status\.downtime\.bad\] module: unknown key \(known: start, end, modules, reason\)/],
  ])('%s is a config error naming the file, line, section and key', (_name, body, message) => {
    const error = thrownBy(() => loadStatusSettings(configWith(`[status.downtime.bad]\n${body}`)));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
  });

  test('the line named is the key in config.cfg', () => {
    const config = configWith('[status.downtime.bad]\nstart = 2026-12-06T12:00Z\nend = 2026-12-06T10:00Z\nmodules = web\nreason = r\n');
    const line = readFileSync(config.file, 'utf8').split('\n').indexOf('end = 2026-12-06T10:00Z') + 1;
    expect(() => configDowntimes(config, ['web', 'db'])).toThrow(`${config.file}:${line}: [status.downtime.bad] end:`);
  });

  test('overlapping downtimes are fine, and both reasons are shown', () => {
    const settings = loadStatusSettings(configWith('[status.downtime.a]\nstart = 2026-12-06T10:00Z\nend = 2026-12-06T12:00Z\nmodules = web\nreason = first\n[status.downtime.b]\nstart = 2026-12-06T11:00Z\nend = 2026-12-06T13:00Z\nmodules = *\nreason = second\n'));
    expect(downtimesAt(settings.downtime.declared, ['web', 'db'], START + 1.5 * HOUR, PERIOD)).toEqual(
      new Map([
        ['web', { reason: 'first (config a); second (config b)' }],
        ['db', { reason: 'second (config b)' }],
      ]),
    );
  });
});

describe('a downtime naming a module that is not loaded', () => {
  let influx: TestInfluxDB;
  beforeAll(async () => {
    influx = await startInfluxDB();
  }, 120_000);
  afterAll(async () => {
    await influx?.stop();
  });

  test('a 2025 downtime of a disabled module is a warning naming the section and module: settings load and the job runs', async () => {
    const file = path.join(testDir('status-downtime-leftover'), 'config.cfg');
    writeFileSync(
      file,
      `[influxdb]\nurl = ${influx.url}\n[status]\ndefault_rules =\nhtml_file =\njson_file =\n${probeRule('web')}${probeRule('db', 'enabled = false\n')}` +
        '[status.downtime.old-db]\nstart = 2025-03-01T08:00Z\nend = 2025-03-01T10:00Z\nmodules = db\nreason = database migration\n' +
        '[status.downtime.both]\nstart = 2026-12-06T10:00Z\nend = 2026-12-06T12:00Z\nmodules = db, web\nreason = network work\n',
    );
    const config = Config.load(file);
    const warnings: string[] = [];
    const settings = loadStatusSettings(config, { warn: (message) => warnings.push(message) });
    expect(settings.rules.map((rule) => rule.module)).toEqual(['web']);
    // The downtime naming only db is ignored; the one naming db and web still applies to web.
    expect(settings.downtime.declared).toEqual([{ startMs: START, endMs: START + 2 * HOUR, modules: ['web'], reason: 'network work', source: 'config both' }]);
    const lineOf = (text: string, after: string): number => {
      const lines = readFileSync(file, 'utf8').split('\n');
      return lines.indexOf(text, lines.indexOf(after)) + 1;
    };
    expect(warnings).toEqual([
      `${file}:${lineOf('modules = db', '[status.downtime.old-db]')}: [status.downtime.old-db] modules: unknown module db (not loaded: disabled, renamed or misspelt; known: web): the downtime is ignored`,
      `${file}:${lineOf('modules = db, web', '[status.downtime.both]')}: [status.downtime.both] modules: unknown module db (not loaded: disabled, renamed or misspelt; known: web): the downtime applies to web only`,
    ]);

    const log = new MemoryLogger('status');
    const problems: string[] = [];
    const result = await runStatus({ config, influxdb: influx.client, documents: new DocumentFactory({ slotMs: START, host: 'h' }), log, stateDir: testDir('status-downtime-leftover-state'), nowMs: START + 600_000, problem: (message) => problems.push(message) });
    expect(problems).toEqual([]);
    expect(result.statuses.map((one) => one.module)).toEqual(['web']);
    expect(result.documents.find((document) => document.type === 'status' && document.module === 'web')).toMatchObject({ downtime: true, downtime_reason: 'network work (config both)' });
    expect(log.lines.filter((line) => line.startsWith('WARN'))).toEqual(warnings.map((warning) => `WARN ${warning}`));
  });
});

describe("a slot is covered when its middle is in [start, end)", () => {
  const downtime: Downtime = { startMs: START, endMs: START + HOUR, modules: ['web'], reason: 'r', source: 'config x' };
  test.each([
    [START - PERIOD, false],
    [START, true],
    [START + HOUR - PERIOD, true],
    [START + HOUR, false],
  ])('slot %p: %p', (slotMs, expected) => {
    expect(covers(downtime, 'web', slotMs, PERIOD)).toBe(expected);
    expect(covers(downtime, 'db', slotMs, PERIOD)).toBe(false);
    expect(covers({ ...downtime, modules: '*' }, 'db', slotMs, PERIOD)).toBe(expected);
  });

  test('a downtime from 10:05 to 12:05 covers exactly the 12 slots 10:00 … 11:50: two hours, as ARGO counts downtime by time', () => {
    const offset: Downtime = { ...downtime, startMs: Date.parse('2026-12-06T10:05:00Z'), endMs: Date.parse('2026-12-06T12:05:00Z') };
    const slots = Array.from({ length: 36 }, (_unused, index) => Date.parse('2026-12-06T09:00:00Z') + index * PERIOD);
    const covered = slots.filter((slotMs) => covers(offset, 'web', slotMs, PERIOD)).map((slotMs) => new Date(slotMs).toISOString().slice(11, 16));
    expect(covered).toEqual(['10:00', '10:10', '10:20', '10:30', '10:40', '10:50', '11:00', '11:10', '11:20', '11:30', '11:40', '11:50']);
    // Independently: the downtime's length in periods.
    expect(covered.length * PERIOD).toBe(offset.endMs - offset.startMs);
    expect(downtimesAt([offset], ['web'], Date.parse('2026-12-06T10:00:00Z'), PERIOD).has('web')).toBe(true);
    expect(downtimesAt([offset], ['web'], Date.parse('2026-12-06T12:00:00Z'), PERIOD).has('web')).toBe(false);
  });

  test('ISO 8601 times need their zone', () => {
    expect(parseIsoTime('2026-12-06T10:00Z')).toBe(START);
    expect(parseIsoTime('2026-12-06T11:00:00.000+01:00')).toBe(START);
    expect(parseIsoTime('2026-12-06 10:00Z')).toMatch(/must be an ISO 8601 time/);
    expect(parseIsoTime('2026-12-06T10:00')).toMatch(/must be an ISO 8601 time/);
  });
});

describe('[status] downtime_file', () => {
  const entry = (modules: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ start: '2026-12-06T10:00Z', end: '2026-12-06T11:00Z', modules, reason: 'operator intervention', ...extra });

  test('is read again every run: an entry added between runs applies at the next one', () => {
    const file = path.join(testDir('status-downtime-file'), 'downtimes.json');
    const problems: string[] = [];
    expect(fileDowntimes(file, ['web', 'db'], (message) => problems.push(message))).toEqual([]);
    writeFileSync(file, JSON.stringify([entry(['web'])]));
    expect(downtimesAt(fileDowntimes(file, ['web', 'db'], (message) => problems.push(message)), ['web', 'db'], START, PERIOD)).toEqual(new Map([['web', { reason: 'operator intervention (file)' }]]));
    writeFileSync(file, JSON.stringify([entry(['web']), entry('*', { reason: 'all down' })]));
    expect(downtimesAt(fileDowntimes(file, ['web', 'db'], (message) => problems.push(message)), ['web', 'db'], START, PERIOD)).toEqual(
      new Map([
        ['web', { reason: 'operator intervention (file); all down (file)' }],
        ['db', { reason: 'all down (file)' }],
      ]),
    );
    writeFileSync(file, '[]');
    expect(fileDowntimes(file, ['web', 'db'], (message) => problems.push(message))).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('a bad entry is a problem naming the file and its number, counted from 1; the good entries still apply', () => {
    const file = path.join(testDir('status-downtime-file'), 'downtimes.json');
    writeFileSync(file, JSON.stringify([entry(['web']), entry(['nope']), entry(['db'], { end: '2026-12-06T09:00Z' }), 'text', entry(['db'], { reason: '' }), entry(['db'], { until: 'x' })]));
    const problems: string[] = [];
    const downtimes = fileDowntimes(file, ['web', 'db'], (message) => problems.push(message));
    expect(downtimes.map((one) => one.modules)).toEqual([['web']]);
    expect(problems).toEqual([
      `downtime file ${file}: entry 2: modules unknown module nope (not loaded: disabled, renamed or misspelt; known: web, db): the downtime is ignored`,
      `downtime file ${file}: entry 3: end 2026-12-06T09:00:00.000Z is not after start 2026-12-06T10:00:00.000Z`,
      `downtime file ${file}: entry 4: must be an object {"start", "end", "modules", "reason"}`,
      `downtime file ${file}: entry 5: reason is missing: say why the modules are down (it is shown on the page)`,
      `downtime file ${file}: entry 6: until unknown key (known: start, end, modules, reason)`,
    ]);
  });

  test('a file that is not JSON, or not an array, is a problem; a missing file is no downtime', () => {
    const dir = testDir('status-downtime-file');
    const problems: string[] = [];
    writeFileSync(path.join(dir, 'broken.json'), '[{"start": ');
    writeFileSync(path.join(dir, 'object.json'), '{"start": "2026-12-06T10:00Z"}');
    expect(fileDowntimes(path.join(dir, 'broken.json'), ['web'], (message) => problems.push(message))).toEqual([]);
    expect(fileDowntimes(path.join(dir, 'object.json'), ['web'], (message) => problems.push(message))).toEqual([]);
    expect(fileDowntimes(path.join(dir, 'absent.json'), ['web'], (message) => problems.push(message))).toEqual([]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(new RegExp(`^downtime file ${dir}/broken.json: not JSON \\(.*\\); no downtime of it applies$`));
    expect(problems[1]).toBe(`downtime file ${dir}/object.json: must be a JSON array of {"start", "end", "modules", "reason"}; no downtime of it applies`);
  });

  test('[status] downtime_file is a path from the project root', () => {
    const settings = loadStatusSettings(Config.parse('[influxdb]\nurl = http://127.0.0.1:1\n[status]\ndefault_rules =\ndowntime_file = var/downtimes.json\ndowntime_feed_url = https://goc.example.org/gocdbpi/public/?method=get_downtime\ndowntime_feed_timeout = 5s\ndowntime_feed_max_body_bytes = 20000\n', 'config.cfg'));
    expect(settings.downtime.feedMaxBytes).toBe(20_000);
    expect(settings.downtime.file).toMatch(/\/var\/downtimes\.json$/);
    expect(path.isAbsolute(settings.downtime.file as string)).toBe(true);
    expect(settings.downtime).toMatchObject({ feedUrl: 'https://goc.example.org/gocdbpi/public/?method=get_downtime', feedTimeoutMs: 5000 });
  });
});

describe('module keys for the feed', () => {
  test('downtime_hostnames, downtime_sites and downtime_service_types are read as lists', () => {
    const settings = loadStatusSettings(configWith(probeRule('storage', 'downtime_sites = BNL-ATLAS\ndowntime_service_types = SRM, webdav\ndowntime_hostnames = a.example, b.example\n')));
    expect(settings.rules.find((rule) => rule.module === 'storage')?.downtimeFeed).toEqual({ hostnames: ['a.example', 'b.example'], sites: ['BNL-ATLAS'], serviceTypes: ['SRM', 'webdav'] });
    expect(settings.rules.find((rule) => rule.module === 'web')?.downtimeFeed).toBeUndefined();
  });

  test('a service type without a hostname or a site is a rule error at its line', () => {
    expect(() => loadStatusSettings(configWith(probeRule('storage', 'downtime_service_types = SRM\n')))).toThrow(RuleError);
    expect(() => loadStatusSettings(configWith(probeRule('storage', 'downtime_service_types = SRM\n')))).toThrow(/config\.cfg:\d+: \[status\.module\.storage\] downtime_service_types: is set, but neither downtime_hostnames nor downtime_sites is/);
  });
});

describe('what a status document says', () => {
  test('exactly one counter is 1; under a downtime only downtime_slots, whatever the state', () => {
    for (const state of ['available', 'degraded', 'unavailable', 'na'] as const) {
      const outside = slotCounters(state, false);
      expect(Object.values(outside).reduce((sum, one) => sum + one, 0)).toBe(1);
      expect(outside[`${state}_slots`]).toBe(1);
      expect(slotCounters(state, true)).toEqual({ available_slots: 0, degraded_slots: 0, unavailable_slots: 0, na_slots: 0, downtime_slots: 1 });
    }
  });

  test('MONIT availability keeps the evaluated service_status and says the downtime in availabilityinfo', () => {
    const settings = loadStatusSettings(configWith(probeRule('svc', 'availability_serviceid = my-service\n')));
    const documents = availabilityDocuments(new DocumentFactory({ slotMs: START, host: 'h' }), settings, [status('svc', 'unavailable', 'svc down'), status('web', 'available')], new Map([['svc', { reason: 'kernel upgrade (config upgrade)' }]]));
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({ serviceid: 'my-service', service_status: 'unavailable', availabilityinfo: 'scheduled downtime: kernel upgrade (config upgrade); svc down' });
  });
});

describe('transitions into and out of a downtime', () => {
  test('are logged with the downtime reason on entry, and state changes under the downtime are not', () => {
    const stateDir = testDir('status-downtime-transitions');
    // A file written before downtimes existed reads as it did.
    writeFileSync(path.join(stateDir, 'last-states.json'), JSON.stringify({ web: { state: 'available', sinceMs: START - HOUR } }));
    const downtime = new Map([['web', { reason: 'kernel upgrade (config upgrade)' }]]);
    const into = recordTransitions(stateDir, [status('web', 'available')], START, downtime);
    expect(into.transitions.map(describeTransition)).toEqual(['web: Available → Downtime (kernel upgrade (config upgrade))']);
    expect(into.transitions[0]).toMatchObject({ from: 'available', to: 'downtime', timeMs: START });
    expect(JSON.parse(readFileSync(path.join(stateDir, 'last-states.json'), 'utf8'))).toEqual({ web: { state: 'available', sinceMs: START, downtime: true } });

    const under = recordTransitions(stateDir, [status('web', 'unavailable', 'web down')], START + 600_000, downtime);
    expect(under.transitions).toEqual([]);

    const out = recordTransitions(stateDir, [status('web', 'unavailable', 'web down')], START + HOUR);
    expect(into.firstSeen).toEqual([]);
    expect(out.transitions.map(describeTransition)).toEqual(['web: Downtime → Unavailable (web down)']);
    // Outside a downtime the file has the layout it always had.
    expect(readFileSync(path.join(stateDir, 'last-states.json'), 'utf8')).toBe(JSON.stringify({ web: { state: 'unavailable', sinceMs: START + HOUR } }));
  });

  test('a module first seen under a downtime is first seen as Downtime with its reason, as its light shows', () => {
    const stateDir = testDir('status-downtime-first');
    const downtime = new Map([['web', { reason: 'kernel upgrade (config upgrade)' }]]);
    const first = recordTransitions(stateDir, [status('web', 'available'), status('db', 'degraded', 'db slow')], START, downtime);
    expect(first.firstSeen.map(describeFirstState)).toEqual(['web: Downtime (kernel upgrade (config upgrade))', 'db: Degraded (db slow)']);
    expect(first.transitions).toEqual([]);
    // The next run under the same downtime is no change, however the rules decide.
    expect(recordTransitions(stateDir, [status('web', 'unavailable'), status('db', 'degraded', 'db slow')], START + PERIOD, downtime)).toEqual({ transitions: [], firstSeen: [] });
  });

  test('the webhook gets them too, with to = downtime and the text of the log line', async () => {
    const received: unknown[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        received.push(JSON.parse(body));
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const transition = { module: 'web', title: 'Web', from: 'available' as const, to: 'downtime' as const, reason: 'kernel upgrade (config upgrade)', timeMs: START };
      await postTransition(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, transition, 5000);
      expect(received).toEqual([{ text: 'Web: Available → Downtime (kernel upgrade (config upgrade))', module: 'web', from: 'available', to: 'downtime', reason: 'kernel upgrade (config upgrade)', time: '2026-12-06T10:00:00.000Z' }]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
