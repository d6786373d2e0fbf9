/**
 * End to end against a real InfluxDB and a real headless Chromium: a prepared scenario puts one module
 * in each state (plus a heartbeat failure and a rule that throws on odd data); the status documents,
 * availability figures computed here, status.json and the page in the browser must all agree.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Point } from '@influxdata/influxdb-client';
import { chromium, type Browser, type Locator } from 'playwright-core';
import { Config } from '../lib/config/config';
import { DocumentFactory } from '../lib/documents/document';
import { interpretDocument } from '../lib/documents/interpret';
import { type PeriodicJob, runPeriodicJob, type RunOutcome } from '../lib/run/jobRunner';
import { MemoryLogger } from '../lib/run/log';
import { PROJECT_ROOT } from '../lib/config/paths';
import { everyCollectorSection } from '../test/support/collectorSections';
import { SchemaRegistry, schemaRegistry } from '../lib/documents/schemas';
import { slotStart } from '../lib/run/slot';
import type { MonitDocument } from '../lib/documents/types';
import { startGateway, type RunningGateway } from '../gateway/server';
import { freePort } from '../test/support/ports';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import { formatAvailability, formatDuration, NO_DATA_COLOUR, renderStatusPage } from './page';
import { loadRules } from './rules';
import { statusPages } from './pages';
import type { GatewayPages } from '../lib/http/pages';
import { loadStatusSettings, type StatusSettings } from './settings';
import { loadStatusSnapshot, type StatusSnapshot } from './snapshot';
import { LIGHT_COLOURS, type ModuleState, type ShownState, stateOfCode } from './states';
import statusJob from './index';
import { runStatus, type StatusRunResult } from './job';

const MINUTE = 60e3;
const PERIOD = 10 * MINUTE;
const NOW = Date.now();
const SLOT = slotStart(NOW, PERIOD);
const DAY = 86400e3;

/** The modules of the scenario and the state each must end in. */
const EXPECTED: Record<string, { state: ModuleState; code: number; reason: string }> = {
  green: { state: 'available', code: 0, reason: 'all checks pass' },
  yellow: { state: 'degraded', code: 1, reason: 'yellow slow: 900 ms' },
  red: { state: 'unavailable', code: 2, reason: 'red down' },
  crashed: { state: 'unavailable', code: 2, reason: 'collector crashed failed: source answered garbage' },
  white: { state: 'na', code: 3, reason: 'no heartbeat from collector white in the last 30m' },
  odd: { state: 'na', code: 3, reason: `rule failed: cannot compare "very" with 3 in 'latest(level) > 3'` },
  nodb: { state: 'na', code: 3, reason: 'no data in nowhere/thing in the last 30m' },
  many: { state: 'degraded', code: 1, reason: '2 suspicious queues, e.g. q1' },
  oddquery: { state: 'na', code: 3, reason: 'rule failed: InfluxDB query (statement 1): unsupported mean iterator type: *query.stringInterruptIterator' },
  // Available by its rules, but under a scheduled downtime declared in the config: the light shows the downtime.
  planned: { state: 'available', code: 0, reason: 'all checks pass' },
};
const PLANNED_REASON = 'switch <b>replacement</b>';
/** What each light shows: the state, or the downtime. */
const shownOf = (module: string): ShownState => (module === 'planned' ? 'downtime' : EXPECTED[module].state);
const SHOWN_TEXT: Record<ShownState, string> = { available: 'Available', degraded: 'Degraded', unavailable: 'Unavailable', na: 'N/A', downtime: 'Downtime' };
/** A module's stored history plus the run's own document. */
const withCurrent = (module: string): PastStatus[] => [...histories.get(module)!, { timeMs: SLOT, code: EXPECTED[module].code, ...(module === 'planned' ? { downtime: true } : {}) }];
const MODULES = Object.keys(EXPECTED);

function moduleSection(module: string): string {
  if (module === 'odd') {
    return `[status.module.odd]\nmeasurement = scenario/levels\nfields = level\nunavailable = latest(level) > 3\nunavailable_reason = level {value}\ndashboard = d/odd\n`;
  }
  if (module === 'nodb') {
    // Its database does not exist at all.
    return `[status.module.nodb]\ncollector = none\nmeasurement = nowhere/thing\nfields = x\ndegraded = x > 1\ndegraded_reason = x\ndashboard = d/nodb\n`;
  }
  if (module === 'many') {
    // Many series: InfluxDB keeps only the suspicious points of the last 10 minutes.
    return `[status.module.many]\nmeasurement = scenario/flags\nfields = suspicious\nwindow = 10m\nprefilter = suspicious == true\ndegraded = latest(suspicious) == true\ndegraded_reason = {matches} suspicious queues, e.g. {series}\ndashboard = d/many\n`;
  }
  if (module === 'oddquery') {
    // No schema tells that `level` is text, so only InfluxDB can refuse the mean.
    return `[status.module.oddquery]\ncollector = odd\nmeasurement = scenario/levels\nfields = level\ndegraded = mean(level) > 3\ndegraded_reason = level {value}\ndashboard = d/oddquery\n`;
  }
  return `[status.module.${module}]
title = Module ${module}
measurement = scenario/probe
fields = up, latency_ms
where = service=${module}
unavailable = latest(up) == 0
unavailable_reason = {series} down
degraded = mean(latency_ms) > 500
degraded_reason = {series} slow: {value} ms
dashboard = d/${module}
`;
}

/** Line protocol through the influxdb-client Point class, as the gateway writes it. */
async function storeDirectly(influx: TestInfluxDB, documents: MonitDocument[]): Promise<void> {
  const byDatabase = new Map<string, string[]>();
  for (const document of documents) {
    const result = interpretDocument(document, schemaRegistry());
    if (!result.ok) throw new Error(result.reason);
    const { point } = result;
    const line = new Point(point.measurement);
    for (const [key, value] of Object.entries(point.tags)) line.tag(key, value);
    for (const field of point.fields) {
      if (field.type === 'int') line.intField(field.name, field.value);
      else if (field.type === 'float') line.floatField(field.name, field.value);
      else if (field.type === 'bool') line.booleanField(field.name, field.value as boolean);
      else line.stringField(field.name, field.value);
    }
    line.timestamp(point.timestampMs);
    const lines = byDatabase.get(point.database) ?? [];
    lines.push(line.toLineProtocol({ convertTime: (value) => String(value) }) as string);
    byDatabase.set(point.database, lines);
  }
  for (const [database, lines] of byDatabase) {
    await influx.client.ensureDatabase(database, { raw: 'INF', '1h': 'INF', '1d': 'INF' });
    for (let index = 0; index < lines.length; index += 5000) await influx.client.write(database, lines.slice(index, index + 5000).join('\n'));
  }
}

interface PastStatus {
  timeMs: number;
  code: number;
  /** Under a scheduled downtime (only some of yellow's slots). */
  downtime?: boolean;
}

/** A deterministic history for each module: (time, code) per past slot over 30 days, with gaps; yellow had a 2-hour downtime 2 days ago. */
function history(module: string): PastStatus[] {
  const points: PastStatus[] = [];
  let seed = [...module].reduce((sum, character) => sum * 31 + character.charCodeAt(0), 7) % 2147483647;
  const random = (): number => {
    seed = (seed * 48271) % 2147483647;
    return seed / 2147483647;
  };
  for (let index = 1; index <= 30 * 144 + 5; index++) {
    const timeMs = SLOT - index * PERIOD;
    const draw = random();
    if (module === 'green') {
      // Up all the time except: a day down a week ago, 6 h N/A two days ago, 12 h without any document 20 days ago.
      if (index > 20 * 144 && index <= 20 * 144 + 72) continue;
      points.push({ timeMs, code: index > 7 * 144 && index <= 8 * 144 ? 2 : index > 2 * 144 && index <= 2 * 144 + 36 ? 3 : 0 });
      continue;
    }
    if (draw < 0.08) continue; // no document: the status job did not run
    points.push({ timeMs, code: Math.floor(random() * 4), ...(module === 'yellow' && index > 300 && index <= 312 ? { downtime: true } : {}) });
  }
  return points;
}

/** Availability computed here, independently of the code under test: up / (up + down + downtime), N/A and gaps left out. */
function expectedAvailability(points: PastStatus[], windowMs: number): number | null {
  const inWindow = points.filter((point) => point.timeMs > NOW - windowMs && point.timeMs <= NOW);
  const up = inWindow.filter((point) => !point.downtime && (point.code === 0 || point.code === 1)).length;
  const down = inWindow.filter((point) => !point.downtime && point.code === 2).length;
  const downtime = inWindow.filter((point) => point.downtime).length;
  return up + down + downtime ? up / (up + down + downtime) : null;
}

/** Reliability as ARGO: the same with the downtime slots left out. */
function expectedReliability(points: PastStatus[], windowMs: number): number | null {
  return expectedAvailability(points.filter((point) => !point.downtime), windowMs);
}

/** The worst of a UTC day's documents: available < degraded < downtime < N/A < unavailable; null for none. */
function expectedWorst(points: PastStatus[], dayStartMs: number): string | null {
  const order = ['available', 'degraded', 'downtime', 'na', 'unavailable'];
  const states = points.filter((point) => point.timeMs >= dayStartMs && point.timeMs < dayStartMs + DAY && point.timeMs <= NOW).map((point) => (point.downtime ? 'downtime' : stateOfCode(point.code)));
  return states.length ? states.reduce((worst, state) => (order.indexOf(state) > order.indexOf(worst) ? state : worst)) : null;
}

let influx: TestInfluxDB;
let dir: string;
let settings: StatusSettings;
let result: StatusRunResult;
let outcome: RunOutcome;
let beforeAnything: StatusSnapshot;
let webhookCalls: Array<Record<string, unknown>>;
let webhook: http.Server;
let gateway: RunningGateway;
let pageUrl: string;
const histories = new Map(MODULES.map((module) => [module, history(module)]));
const GATEWAY_TOKEN = 'status-test-token-123';

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

async function postToGateway(documents: MonitDocument[]): Promise<void> {
  const response = await fetch(gateway.url, { method: 'POST', headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(documents) });
  if (response.status !== 200) throw new Error(`gateway answered ${response.status}: ${await response.text()}`);
}

beforeAll(async () => {
  influx = await startInfluxDB();
  dir = testDir('status-e2e');
  webhookCalls = [];
  webhook = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      webhookCalls.push(JSON.parse(body) as Record<string, unknown>);
      response.end('ok');
    });
  });
  const webhookPort = await listen(webhook);

  // The gateway, serving /status and /status.json as the lead's gateway does (pages filled in below,
  // at the scenario's time so that a slot boundary passing during the test cannot shift the windows).
  const served: { pages?: GatewayPages } = {};
  gateway = await startGateway(
    {
      influxdb: influx.client,
      durations: { raw: 'INF', '1h': 'INF', '1d': 'INF' },
      auth: { token: GATEWAY_TOKEN, producerPasswords: new Map() },
      maxDocuments: 10_000,
      maxBodyBytes: 20_000_000,
      registry: schemaRegistry(),
      log: new MemoryLogger('gateway'),
      pages: (url) => served.pages?.(url),
    },
    '127.0.0.1',
    0,
  );
  pageUrl = gateway.url;

  const configFile = path.join(dir, 'config.cfg');
  writeFileSync(
    configFile,
    `[paths]\nvar = ${dir}/var\n[monit]\nurl = ${gateway.url}\ntoken = ${GATEWAY_TOKEN}\n[influxdb]\nurl = ${influx.url}\n` +
      `[status]\ndefault_rules =\ntitle = Scenario status\ngrafana_url = http://grafana.example:3000/\n` +
      `webhook_url = http://127.0.0.1:${webhookPort}/hook\nhtml_file = ${dir}/www/status.html\njson_file = ${dir}/www/status.json\n` +
      MODULES.map(moduleSection).join('') +
      `[status.downtime.switch]\nstart = ${new Date(SLOT - 3600e3).toISOString().replace(/:00\.000Z$/, 'Z')}\nend = ${new Date(SLOT + 3600e3).toISOString().replace(/:00\.000Z$/, 'Z')}\nmodules = planned\nreason = ${PLANNED_REASON}\n`,
  );
  const config = Config.load(configFile);
  settings = loadStatusSettings(config);
  served.pages = statusPages(influx.client, settings, { now: () => NOW });
  beforeAnything = await loadStatusSnapshot(influx.client, settings, { nowMs: NOW });

  const factory = new DocumentFactory({ slotMs: SLOT, host: 'scenario' });
  // 30 days of stored status documents, written straight to InfluxDB as a prepared history.
  const past: MonitDocument[] = [];
  for (const [module, points] of histories) {
    for (const point of points) {
      const state = point.downtime ? 'downtime' : stateOfCode(point.code);
      const slots = Object.fromEntries(['available', 'degraded', 'unavailable', 'na', 'downtime'].map((kind) => [`${kind}_slots`, kind === state ? 1 : 0]));
      const downtime = point.downtime ? { downtime: true, downtime_reason: 'switch replacement' } : { downtime: false };
      past.push(factory.build('monit-collectors', 'status', { module }, { status: stateOfCode(point.code), code: point.code, reason: `history ${module}`, ...downtime, ...slots }, point.timeMs));
    }
  }
  await storeDirectly(influx, past);

  // Now the current data through the gateway. Heartbeats: none for `white`; for `crashed`, a success then a failure.
  const current: MonitDocument[] = [];
  for (const job of ['green', 'yellow', 'red', 'odd', 'many', 'planned']) {
    current.push(factory.build('monit-collectors', 'run', { job }, { ok: true, duration_ms: 900, errors: 0, timed_out: false, message: '' }, SLOT - PERIOD + 2 * MINUTE));
  }
  current.push(factory.build('monit-collectors', 'run', { job: 'crashed' }, { ok: true, duration_ms: 900, errors: 0, timed_out: false, message: '' }, SLOT - 2 * PERIOD));
  current.push(factory.build('monit-collectors', 'run', { job: 'crashed' }, { ok: false, duration_ms: 50, errors: 1, timed_out: false, message: 'source answered garbage' }, SLOT - PERIOD));
  // The measured data: producers without schema (the gateway accepts them, numbers as floats).
  const probe = (service: string, up: number, latency: number, timeMs: number): MonitDocument => ({
    producer: 'scenario',
    type: 'probe',
    timestamp: timeMs,
    idb_tags: ['service'],
    service,
    up,
    latency_ms: latency,
  });
  for (const offset of [PERIOD, 2 * PERIOD]) {
    const at = SLOT - offset;
    current.push(probe('green', 1, 120, at), probe('planned', 1, 120, at), probe('yellow', 1, 900, at), probe('red', 1, 100, at), probe('crashed', 1, 100, at), probe('white', 1, 100, at));
  }
  current.push(probe('red', 0, 100, SLOT - PERIOD + MINUTE)); // red's newest point is down
  current.push(probe('green', 0, 100, SLOT - 5 * PERIOD)); // an old down point of green, outside the window: must not count
  current.push({ producer: 'scenario', type: 'levels', timestamp: SLOT - PERIOD, idb_tags: ['unit'], unit: 'a', level: 'very' });
  // Flags stamped with the current slot, as a collector run in this slot stamps them; q2 was suspicious only before.
  const flag = (queue: string, suspicious: boolean, timeMs: number): MonitDocument => ({ producer: 'scenario', type: 'flags', timestamp: timeMs, idb_tags: ['queue'], queue, suspicious });
  current.push(flag('q0', false, SLOT), flag('q1', true, SLOT), flag('q2', false, SLOT), flag('q3', true, SLOT), flag('q4', false, SLOT), flag('q2', true, SLOT - PERIOD));
  await postToGateway(current);

  // The previous run saw every module available: every other state is a transition.
  const stateDir = path.join(dir, 'var', 'state', 'status');
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(path.join(stateDir, 'last-states.json'), JSON.stringify(Object.fromEntries(MODULES.map((module) => [module, { state: 'available', sinceMs: SLOT - DAY }]))));

  // The real runner (lock, sender through the gateway, heartbeat) runs the status job for the scenario's time.
  const job: PeriodicJob = {
    name: 'status',
    periodMs: PERIOD,
    run: async (context) => {
      result = await runStatus({ ...context, influxdb: context.influxdb(), nowMs: NOW });
      return result.documents;
    },
  };
  outcome = await runPeriodicJob(job, { config, deadlineMs: 60_000, timeMs: NOW, echoLog: false });
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => webhook?.close(resolve));
  await gateway?.close();
  await influx?.stop();
});

describe('the status job', () => {
  test('before any data (no database yet) the snapshot has every module N/A', () => {
    expect(beforeAnything.modules.map((module) => [module.module, module.state, module.reason, module.availability['30d']])).toEqual(
      MODULES.map((module) => [module, 'na', 'never evaluated by the status job', null]),
    );
  });

  test('the runner ran it and the gateway stored its documents', async () => {
    expect(outcome).toMatchObject({ ok: true, documents: MODULES.length });
    const rows = await influx.client.rows(
      `SELECT "status", "code", "reason", "last_data_ms" FROM "monit_production_monit_collectors"."raw"."status" WHERE time = ${SLOT}ms GROUP BY "module"`,
    );
    expect(Object.fromEntries(rows.map((row) => [row.module, [row.status, row.code, row.reason]]))).toEqual(
      Object.fromEntries(MODULES.map((module) => [module, [EXPECTED[module].state, EXPECTED[module].code, EXPECTED[module].reason]])),
    );
    expect(rows.find((row) => row.module === 'red')?.last_data_ms).toBe(SLOT - PERIOD + MINUTE);
  });

  test('makes one status document per module with the expected state, code and reason', () => {
    const byModule = Object.fromEntries(result.documents.map((document) => [document.module as string, document]));
    expect(Object.keys(byModule).sort()).toEqual([...MODULES].sort());
    for (const [module, expected] of Object.entries(EXPECTED)) {
      expect(byModule[module]).toMatchObject({ producer: 'monit-collectors', type: 'status', timestamp: SLOT, module, status: expected.state, code: expected.code, reason: expected.reason });
    }
    // The newest data point each decision saw: red's down point, the others' last probe.
    expect(byModule.red.last_data_ms).toBe(SLOT - PERIOD + MINUTE);
    expect(byModule.green.last_data_ms).toBe(SLOT - PERIOD);
    expect(byModule.white.last_data_ms).toBeUndefined();
  });

  test('logs each transition and POSTs it to the webhook', () => {
    const changed = MODULES.filter((module) => shownOf(module) !== 'available').sort();
    expect(result.transitions.map((transition) => transition.module).sort()).toEqual(changed);
    expect(webhookCalls.map((call) => call.module).sort()).toEqual(changed);
    const red = webhookCalls.find((call) => call.module === 'red');
    expect(red).toMatchObject({ from: 'available', to: 'unavailable', reason: 'red down', text: 'Module red: Available → Unavailable (red down)' });
    expect(webhookCalls.find((call) => call.module === 'planned')).toMatchObject({ from: 'available', to: 'downtime' });
    const logLines = readFileSync(path.join(dir, 'var', 'log', 'status.log'), 'utf8').split('\n');
    expect(logLines.filter((line) => line.includes('] transition '))).toHaveLength(changed.length);
    expect(logLines.some((line) => line.endsWith('INFO  [status] transition Module red: Available → Unavailable (red down)'))).toBe(true);
    expect(logLines.filter((line) => line.includes('] first state '))).toEqual([]);
  });

  test('a second run with no change reports none; a webhook that is down is a problem, not a failure', async () => {
    const stateDir = path.join(dir, 'var', 'state', 'status');
    const options = { config: Config.load(path.join(dir, 'config.cfg')), influxdb: influx.client, documents: new DocumentFactory({ slotMs: SLOT }), stateDir, nowMs: NOW };
    const calls = webhookCalls.length;
    const again = await runStatus({ ...options, log: new MemoryLogger('status') });
    expect(again.transitions).toEqual([]);
    expect(webhookCalls).toHaveLength(calls);
    expect(again.documents).toEqual(result.documents);

    writeFileSync(path.join(stateDir, 'last-states.json'), JSON.stringify({ red: { state: 'available', sinceMs: SLOT - DAY } }));
    const problems: string[] = [];
    const deadWebhook = { ...settings, webhookUrl: `http://127.0.0.1:${await freePort()}/hook`, webhookTimeoutMs: 2000, htmlFile: undefined, jsonFile: undefined };
    const log = new MemoryLogger('status');
    const withDeadWebhook = await runStatus({ ...options, settings: deadWebhook, log, problem: (message) => problems.push(message) });
    expect(withDeadWebhook.transitions.map((transition) => transition.module)).toEqual(['red']);
    // The modules the state file did not know are logged once with their first state.
    expect(log.lines.filter((line) => line.startsWith('INFO first state ')).length).toBe(MODULES.length - 1);
    expect(log.lines).toContain('INFO first state Module green: Available (all checks pass)');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^webhook \[status\] webhook_url: .*ECONNREFUSED/);
    expect(withDeadWebhook.documents).toEqual(result.documents);
  });

  test('a past slot (backfill) gives its documents only: no transition, no webhook, no page written', async () => {
    const stateDir = path.join(dir, 'var', 'state', 'status');
    const stateBefore = readFileSync(path.join(stateDir, 'last-states.json'), 'utf8');
    const pageBefore = readFileSync(path.join(dir, 'www', 'status.json'), 'utf8');
    writeFileSync(path.join(stateDir, 'last-states.json'), JSON.stringify({ red: { state: 'available', sinceMs: SLOT - DAY } }));
    const calls = webhookCalls.length;
    const past = await runStatus({ config: Config.load(path.join(dir, 'config.cfg')), influxdb: influx.client, documents: new DocumentFactory({ slotMs: SLOT - 6 * PERIOD }), stateDir, log: new MemoryLogger('status') });
    expect(past.documents.map((document) => document.timestamp)).toEqual(MODULES.map(() => SLOT - 6 * PERIOD));
    expect(past.transitions).toEqual([]);
    expect(webhookCalls).toHaveLength(calls);
    expect(readFileSync(path.join(stateDir, 'last-states.json'), 'utf8')).toBe(JSON.stringify({ red: { state: 'available', sinceMs: SLOT - DAY } }));
    expect(readFileSync(path.join(dir, 'www', 'status.json'), 'utf8')).toBe(pageBefore);
    writeFileSync(path.join(stateDir, 'last-states.json'), stateBefore);
  });

  test('availability and reliability over 24h, 7d, 30d and 90d agree with figures computed independently', () => {
    for (const module of MODULES) {
      const points = withCurrent(module);
      const snapshot = result.snapshot.modules.find((one) => one.module === module)!;
      expect(snapshot.availability).toEqual({
        '24h': expectedAvailability(points, DAY),
        '7d': expectedAvailability(points, 7 * DAY),
        '30d': expectedAvailability(points, 30 * DAY),
        '90d': expectedAvailability(points, 90 * DAY),
      });
      expect(snapshot.reliability).toEqual({
        '24h': expectedReliability(points, DAY),
        '7d': expectedReliability(points, 7 * DAY),
        '30d': expectedReliability(points, 30 * DAY),
        '90d': expectedReliability(points, 90 * DAY),
      });
    }
    // yellow's downtime lowers its 7-day availability but not its reliability.
    const yellow = result.snapshot.modules.find((one) => one.module === 'yellow')!;
    expect(yellow.availability['7d']).toBeLessThan(yellow.reliability['7d'] as number);
    // Worked by hand for `green`: 24h all up; 7d: the down day lies just outside (slots 1009-1152 back);
    // 30d: 4320 slots back, minus 72 without a document and 36 N/A, of which 144 down.
    const green = result.snapshot.modules.find((one) => one.module === 'green')!;
    expect(green.availability['24h']).toBe(1);
    expect(green.availability['7d']).toBe(1);
    expect(green.availability['30d']).toBeCloseTo((4320 - 72 - 36 - 144) / (4320 - 72 - 36), 12);
  });

  test('a module changing every few slots lists only its newest 100 changes; the rest are counted', () => {
    const yellow = result.snapshot.modules.find((one) => one.module === 'yellow')!;
    expect(yellow.incidents).toHaveLength(100);
    // The newest listed is the run's own change (pending slot), the oldest listed still within 30 days.
    expect(yellow.incidents[0].startMs).toBe(Math.max(...result.snapshot.incidents.filter((one) => one.module === 'yellow').map((one) => one.startMs)));
    expect(yellow.incidents[99].startMs).toBeGreaterThan(NOW - 30 * DAY);
    expect(result.snapshot.unlistedIncidents).toBeGreaterThan(0);
    expect(result.snapshot.incidents).toHaveLength(result.snapshot.modules.reduce((sum, module) => sum + module.incidents.length, 0));
  });

  test('the snapshot of stored documents equals the one the job wrote (the run pending merge is exact)', async () => {
    const stored = await loadStatusSnapshot(influx.client, settings, { nowMs: NOW });
    expect(stored).toEqual(result.snapshot);
  });

  test('the static page and status.json are written', () => {
    const json = JSON.parse(readFileSync(path.join(dir, 'www', 'status.json'), 'utf8')) as StatusSnapshot;
    expect(json).toEqual(JSON.parse(JSON.stringify(result.snapshot)));
    const html = readFileSync(path.join(dir, 'www', 'status.html'), 'utf8');
    for (const module of MODULES) expect(html).toContain(`data-module="${module}" data-state="${EXPECTED[module].state}"`);
  });
});

describe('/status.json', () => {
  test('agrees with the status documents and the independent availability figures', async () => {
    const response = await fetch(`${pageUrl}/status.json`);
    expect(response.status).toBe(200);
    const snapshot = (await response.json()) as StatusSnapshot;
    expect(snapshot.modules.map((module) => module.module)).toEqual(MODULES);
    for (const module of snapshot.modules) {
      const expected = EXPECTED[module.module];
      expect(module).toMatchObject({ state: expected.state, code: expected.code, reason: expected.reason, evaluatedMs: SLOT, dashboardUrl: `http://grafana.example:3000/d/${module.module}` });
      const points = withCurrent(module.module);
      expect(module.availability['24h']).toBe(expectedAvailability(points, DAY));
      expect(module.availability['30d']).toBe(expectedAvailability(points, 30 * DAY));
      expect(module.timeline.reduce((sum, segment) => sum + segment.toMs - segment.fromMs, 0)).toBe(DAY);
      expect(module.timeline[module.timeline.length - 1]).toMatchObject({ toMs: SLOT + PERIOD, state: shownOf(module.module) });
      expect(module.shown).toBe(shownOf(module.module));
      if (module.module === 'planned') expect(module.downtime?.reason).toMatch(new RegExp(`^${PLANNED_REASON.replace(/[/]/g, '\\/')} \\(`));
      else expect(module.downtime).toBeNull();
      expect(module.reliability['30d']).toBe(expectedReliability(points, 30 * DAY));
    }
  });
});

describe('the page in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  // The project's TypeScript has no DOM library: reach the window through the element.
  const background = (locator: Locator): Promise<string> => locator.evaluate((element) => element.ownerDocument.defaultView!.getComputedStyle(element).backgroundColor);
  const rgb = (hex: string): string => `rgb(${[1, 3, 5].map((index) => parseInt(hex.slice(index, index + 2), 16)).join(', ')})`;

  test('shows every light in its colour and in words, with reason, availability, timeline and dashboard link', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const foreign: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(pageUrl)) foreign.push(request.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${pageUrl}/status`);
    for (const [module, expected] of Object.entries(EXPECTED)) {
      const card = page.locator(`[data-module="${module}"]`);
      await expect(background(card.locator('.light'))).resolves.toBe(rgb(LIGHT_COLOURS[shownOf(module)]));
      await expect(card.locator('.light').getAttribute('aria-label')).resolves.toBe(SHOWN_TEXT[shownOf(module)]);
      await expect(card.locator('.state').innerText()).resolves.toBe(SHOWN_TEXT[shownOf(module)]);
      await expect(card.locator('.downtime-note').count()).resolves.toBe(module === 'planned' ? 1 : 0);
      await expect(card.locator('.reason').innerText()).resolves.toBe(expected.reason);
      const points = withCurrent(module);
      await expect(card.locator('.availability-24h').innerText()).resolves.toBe(formatAvailability(expectedAvailability(points, DAY)));
      await expect(card.locator('.availability-7d').innerText()).resolves.toBe(formatAvailability(expectedAvailability(points, 7 * DAY)));
      await expect(card.locator('.availability-30d').innerText()).resolves.toBe(formatAvailability(expectedAvailability(points, 30 * DAY)));
      await expect(card.locator('.availability-90d').innerText()).resolves.toBe(formatAvailability(expectedAvailability(points, 90 * DAY)));
      await expect(card.locator('.reliability-7d').innerText()).resolves.toBe(formatAvailability(expectedReliability(points, 7 * DAY)));
      await expect(card.locator('a.dashboard').getAttribute('href')).resolves.toBe(`http://grafana.example:3000/d/${module}`);
      await expect(card.locator('a.light-link').getAttribute('href')).resolves.toBe(`status/module/${module}`);
      // The 90-day bar: one cell per UTC day, today's in the colour of its worst state, the oldest without data (grey).
      const days = card.locator('.days span');
      await expect(days.count()).resolves.toBe(90);
      const today = Math.floor(NOW / DAY) * DAY;
      const worstToday = expectedWorst(points, today);
      await expect(background(days.last())).resolves.toBe(rgb(worstToday === null ? NO_DATA_COLOUR : LIGHT_COLOURS[worstToday as ShownState]));
      await expect(days.last().getAttribute('title')).resolves.toMatch(new RegExp(`^${new Date(today).toISOString().slice(0, 10)}: `));
      await expect(background(days.first())).resolves.toBe(rgb(NO_DATA_COLOUR));
      const twoDaysAgo = Math.floor((SLOT - 306 * PERIOD) / DAY) * DAY;
      const cell = days.nth(89 - Math.round((today - twoDaysAgo) / DAY));
      const downtimeSlots = points.filter((point) => point.downtime && point.timeMs >= twoDaysAgo && point.timeMs < twoDaysAgo + DAY).length;
      if (module === 'yellow') expect(downtimeSlots).toBeGreaterThan(0);
      await expect(cell.getAttribute('title')).resolves.toMatch(downtimeSlots ? new RegExp(`, ${formatDuration(downtimeSlots * PERIOD)} downtime$`) : /reliab(le|ility n\/a)$/);
      await expect(background(cell)).resolves.toBe(rgb(LIGHT_COLOURS[expectedWorst(points, twoDaysAgo) as ShownState]));
      // The strip's last segment is the current state, in its colour.
      const lastSegment = card.locator('.strip span').last();
      await expect(background(lastSegment)).resolves.toBe(rgb(LIGHT_COLOURS[shownOf(module)]));
    }
    await expect(page.locator('[data-module="white"] .meta').innerText()).resolves.toContain('no recent data');
    // The downtime's reason as text (escaped, not markup), and in the downtime colour.
    const note = page.locator('[data-module="planned"] .downtime-note');
    await expect(note.innerText()).resolves.toMatch(new RegExp(`^Scheduled downtime: ${PLANNED_REASON.replace(/[/]/g, '\\/')} \\(`));
    await expect(note.evaluate((element) => element.ownerDocument.defaultView!.getComputedStyle(element).color)).resolves.toBe(rgb(LIGHT_COLOURS.downtime));
    await expect(page.locator('[data-module="planned"] .downtime-note b').count()).resolves.toBe(0);
    await expect(page.locator('[data-module="green"] .meta').innerText()).resolves.toMatch(/last data \d+ min ago/);
    await expect(page.locator('meta[http-equiv="refresh"]').getAttribute('content')).resolves.toBe('60');
    // The incident list: newest first, at most 50 of those in /status.json.
    const incidents = result.snapshot.incidents;
    await expect(page.locator('#incidents h2').innerText()).resolves.toBe(`Incidents, last 30 days (${incidents.length + (result.snapshot.unlistedIncidents ?? 0)})`);
    await expect(page.locator('#incidents li').count()).resolves.toBe(Math.min(50, incidents.length));
    const first = page.locator('#incidents li').first();
    await expect(first.locator('.incident-reason').innerText()).resolves.toBe(incidents[0].reason);
    await expect(first.locator('.duration').innerText()).resolves.toMatch(incidents[0].endMs === null ? /^ongoing, for / : /^lasted /);
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
    mkdirSync(path.join(PROJECT_ROOT, 'var'), { recursive: true });
    await page.screenshot({ path: path.join(PROJECT_ROOT, 'var', 'status-page.png'), fullPage: true });
    await page.close();
  });

  test('behind a reverse proxy path prefix, the details links lead to the details pages under that prefix', async () => {
    // A reverse proxy on loopback: /monit/<path> is the gateway's /<path>, anything else 404.
    const proxy = http.createServer((request, response) => {
      const url = request.url ?? '';
      if (!url.startsWith('/monit/')) {
        response.writeHead(404).end('not behind /monit');
        return;
      }
      const upstream = http.request(`${gateway.url}${url.slice('/monit'.length)}`, { method: request.method, headers: request.headers }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      });
      request.pipe(upstream);
    });
    const proxyUrl = `http://127.0.0.1:${await listen(proxy)}/monit`;
    try {
      const page = await browser.newPage();
      await page.goto(`${proxyUrl}/status`);
      for (const link of ['a.light-link', '.name a', 'a.details']) {
        await expect(page.locator(`[data-module="green"] ${link}`).evaluate((element) => (element as unknown as { href: string }).href)).resolves.toBe(`${proxyUrl}/status/module/green`);
      }
      const [answer] = await Promise.all([page.waitForNavigation(), page.locator('[data-module="green"] a.details').click()]);
      expect([page.url(), answer?.status()]).toEqual([`${proxyUrl}/status/module/green`, 200]);
      await expect(page.locator('h1').innerText()).resolves.toBe('Module green');
      await page.close();
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  test('a module title breaks between words only: shipped titles on one line at 1200 px, a long unbroken name wraps in its card', async () => {
    // The scenario's modules (one in each state, a downtime included) under every shipped title, and one without spaces.
    // 'Databases / PostgreSQLreplicas': a word wider than the room beside a state label, as the reported "Database / s|ql".
    const titles = [...new Set(loadRules(Config.parse(`[status]\n${everyCollectorSection()}`, 'shipped.cfg'), { registry: new SchemaRegistry([]) }).map((rule) => rule.title)), 'Database / sql', 'Databases / PostgreSQLreplicas'];
    const unbroken = 'TheXRootDFederationAccountingOfEveryExperimentSiteWithoutAnySpace';
    const modules = [...titles, unbroken].flatMap((title, index) => result.snapshot.modules.map((module) => ({ ...module, module: `${module.module}-${index}`, title })));
    for (const width of [1200, 375]) {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      await page.setContent(renderStatusPage({ ...result.snapshot, modules }));
      // Each title's words on the lines they take (a word on two lines is broken inside), its height in lines, and whether it stays in its card.
      const shown = await page.locator('.module .name a').evaluateAll((links) =>
        links.map((link) => {
          const text = link.firstChild!;
          const content = text.textContent ?? '';
          const range = link.ownerDocument.createRange();
          let start = 0;
          const brokenWords: string[] = [];
          for (const word of content.split(' ')) {
            range.setStart(text, start);
            range.setEnd(text, start + word.length);
            if (new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size > 1) brokenWords.push(word);
            start += word.length + 1;
          }
          const name = link.parentElement!;
          const view = link.ownerDocument.defaultView!;
          const card = name.closest('.module')!;
          // The title's width on one line, against the room beside the light (the card's content box less the light and gap).
          const probe = link.ownerDocument.createElement('span');
          probe.style.cssText = 'position:absolute;white-space:nowrap';
          probe.textContent = content;
          name.appendChild(probe);
          const oneLineWidth = probe.getBoundingClientRect().width;
          probe.remove();
          const light = card.querySelector('.light-link')!.getBoundingClientRect();
          const cardStyle = view.getComputedStyle(card);
          const room = card.getBoundingClientRect().right - parseFloat(cardStyle.paddingRight) - light.right - 10;
          return {
            title: content,
            state: name.nextElementSibling!.textContent,
            brokenWords,
            fitsBesideLight: oneLineWidth <= room,
            lines: name.getBoundingClientRect().height / parseFloat(view.getComputedStyle(name).lineHeight),
            inCard: name.getBoundingClientRect().right <= card.getBoundingClientRect().right,
            besideLight: Math.abs(name.getBoundingClientRect().top - light.top) < light.height,
          };
        }),
      );
      expect(shown).toHaveLength(modules.length);
      // Most shipped titles fit beside the light at 1200 px: the one-line check is not vacuous.
      if (width === 1200) expect(shown.filter((one) => one.fitsBesideLight && one.title !== unbroken).length).toBeGreaterThan(shown.length / 2);
      for (const one of shown) {
        const normal = one.title !== unbroken;
        const where = { width, title: one.title, state: one.state };
        if (normal) expect({ ...where, brokenWords: one.brokenWords }).toEqual({ ...where, brokenWords: [] });
        expect({ ...where, inCard: one.inCard, besideLight: one.besideLight }).toEqual({ ...where, inCard: true, besideLight: true });
        // A title that fits beside the light takes one line (the state goes below when both do not fit).
        if (width === 1200 && normal && one.fitsBesideLight) expect({ ...where, lines: Math.round(one.lines) }).toEqual({ ...where, lines: 1 });
        if (!normal) expect(one.lines).toBeGreaterThan(1.5);
      }
      const { scrollWidth, clientWidth } = await page.locator('html').evaluate((root) => ({ scrollWidth: root.scrollWidth, clientWidth: root.clientWidth }));
      expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
      await page.close();
    }
  });

  test('reads on a phone: no horizontal scrolling, cards one above the other', async () => {
    const page = await browser.newPage({ viewport: { width: 375, height: 740 }, deviceScaleFactor: 2, isMobile: true });
    await page.goto(`${pageUrl}/status`);
    const { scrollWidth, clientWidth } = await page.locator('html').evaluate((root) => ({ scrollWidth: root.scrollWidth, clientWidth: root.clientWidth }));
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    const boxes = await page.locator('.module').evaluateAll((elements) => elements.map((element) => element.getBoundingClientRect().left));
    expect(boxes).toHaveLength(MODULES.length);
    expect(new Set(boxes).size).toBe(1);
    // Every day of the bar keeps a visible width, and the incident list fits too.
    const widths = await page.locator('[data-module="green"] .days span').evaluateAll((elements) => elements.map((element) => element.getBoundingClientRect().width));
    expect(widths).toHaveLength(90);
    expect(Math.min(...widths)).toBeGreaterThan(1);
    const incidentsRight = await page.locator('#incidents').evaluate((element) => element.getBoundingClientRect().right);
    expect(incidentsRight).toBeLessThanOrEqual(375);
    await page.screenshot({ path: path.join(PROJECT_ROOT, 'var', 'status-page-phone.png'), fullPage: true });
    await page.close();
  });
});

// Last: it rewrites the static page at the real time.
describe('the default export', () => {
  test('the job as index.ts exports it runs under the runner at the real time', async () => {
    const config = Config.load(path.join(dir, 'config.cfg'));
    const run = await runPeriodicJob({ name: 'status', periodMs: PERIOD, run: (context) => statusJob.collect(context) }, { config, deadlineMs: 60_000, echoLog: false });
    expect(run).toMatchObject({ ok: true, documents: MODULES.length });
  });
});
