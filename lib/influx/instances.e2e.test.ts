/**
 * Two producers routed to two real InfluxDB 1.6 instances ([influxdb] and [influxdb.tenant]), sent
 * through the real gateway: each lands only in its own; a request spanning both with one down is a
 * 503 and nothing is lost; downsample-1h, the status job, the status pages and the Grafana
 * provisioning each use the instance holding the producer.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { Config } from '../config/config';
import { PROJECT_ROOT } from '../config/paths';
import { DocumentFactory } from '../documents/document';
import type { MonitDocument } from '../documents/types';
import { MemoryLogger } from '../run/log';
import { slotStart } from '../run/slot';
import type { Dashboard } from '../../dashboards/grafana';
import { DASHBOARDS_JSON_DIR, DATASOURCE_FILE, PROVIDER_FILE, ROUTED_DASHBOARDS_DIR, provisioningFiles, valuesFromConfig } from '../../dashboards/provisioning';
import { downsampleJob } from '../../downsample/job';
import { RETENTIONS_DATABASE } from '../../downsample/retentions';
import { startGatewayFromConfig } from '../../gateway/fromConfig';
import type { RunningGateway } from '../../gateway/server';
import statusJob from '../../status/index';
import { statusPages } from '../../status/pages';
import { loadStatusSettings } from '../../status/settings';
import { loadStatusSnapshot } from '../../status/snapshot';
import { collectorContext } from '../../test/support/collectorContext';
import { TEST_TOKEN } from '../../test/support/gateway';
import { freePort } from '../../test/support/ports';
import { startInfluxDB, testDir, type TestInfluxDB } from '../../test/support/services';
import { influxInstances } from './instances';

jest.setTimeout(180_000);

const MINUTE = 60_000;
const HOUR = 3_600_000;
const NOW = Date.now();
const SLOT = slotStart(NOW, 10 * MINUTE);
const HOUR_START = Math.floor(NOW / HOUR) * HOUR;
const ONE = 'monit_production_route_one';
const TWO = 'monit_production_route_two';
const COLLECTORS = 'monit_production_monit_collectors';

let main: TestInfluxDB;
let tenant: TestInfluxDB;
let gateway: RunningGateway;
let dir: string;
let configText: string;

beforeAll(async () => {
  [main, tenant] = await Promise.all([startInfluxDB(), startInfluxDB()]);
  dir = testDir('influx-instances');
  configText =
    `[paths]\nvar = ${dir}\n[gateway]\nlisten = 127.0.0.1:${await freePort()}\ntoken = ${TEST_TOKEN}\n` +
    `[influxdb]\nurl = ${main.url}\n[influxdb.tenant]\nurl = ${tenant.url}\nproducers = route-two, monit-collectors\n` +
    `[status]\ndefault_rules =\n${['one', 'two'].map((name) => `[status.module.${name}]\ncollector = route-${name}\nmeasurement = route-${name}/probe\nfields = up\nunavailable = latest(up) == 0\nunavailable_reason = down\n`).join('')}` +
    // Its data is only in a stale copy of route-two's database on [influxdb]: read where route-two lives, there is none.
    `[status.module.misplaced]\ncollector = none\nmeasurement = route-two/extra\nfields = up\nunavailable = latest(up) == 0\nunavailable_reason = down\n`;
  gateway = await startGatewayFromConfig(Config.parse(configText, 'instances.cfg'), { log: new MemoryLogger('gateway') });
}, 600_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([main?.stop(), tenant?.stop()]);
});

function config(): Config {
  return Config.parse(configText, 'instances.cfg');
}

async function post(documents: MonitDocument[]): Promise<{ status: number; retryAfter: string | null; body: unknown }> {
  const response = await fetch(gateway.url, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(documents) });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
}

async function databases(influx: TestInfluxDB): Promise<string[]> {
  const [series = []] = await influx.client.query('SHOW DATABASES');
  return (series[0]?.values ?? []).map((row) => String(row[0])).filter((name) => name !== '_internal');
}

const factory = new DocumentFactory({ slotMs: SLOT, host: 'test-host' });
/** A document of a producer without a schema (its numbers are stored as floats). */
const plain = (producer: string, type: string, fields: Record<string, number>, timeMs: number): MonitDocument => ({ producer, type, timestamp: timeMs, node: 'n1', idb_tags: ['node'], ...fields });
const load = (producer: string, value: number, timeMs: number): MonitDocument => plain(producer, 'load', { value }, timeMs);

test('each producer lands only in its own instance, databases created there', async () => {
  const documents = [
    load('route-one', 1, HOUR_START - 2 * HOUR + 5 * MINUTE),
    load('route-two', 100, HOUR_START - 2 * HOUR + 5 * MINUTE),
    load('route-one', 3, HOUR_START - 2 * HOUR + 15 * MINUTE),
    load('route-two', 300, HOUR_START - 2 * HOUR + 15 * MINUTE),
    load('route-one', 10, HOUR_START - HOUR + 5 * MINUTE),
    load('route-two', 1000, HOUR_START - HOUR + 5 * MINUTE),
    factory.build('monit-collectors', 'run', { job: 'route-one' }, { ok: true, duration_ms: 5, errors: 0, timed_out: false, message: '' }, NOW - 2 * MINUTE),
    factory.build('monit-collectors', 'run', { job: 'route-two' }, { ok: true, duration_ms: 5, errors: 0, timed_out: false, message: '' }, NOW - 2 * MINUTE),
    plain('route-one', 'probe', { up: 1 }, NOW - 3 * MINUTE),
    plain('route-two', 'probe', { up: 1 }, NOW - 3 * MINUTE),
  ];
  expect(await post(documents)).toMatchObject({ status: 200, body: { accepted: documents.length, rejected: [] } });
  expect(await databases(main)).toEqual([ONE]);
  expect((await databases(tenant)).sort()).toEqual([COLLECTORS, TWO]);
  expect(await main.client.rows(`SELECT "value" FROM "${ONE}"."raw"."load"`)).toEqual([
    { time: HOUR_START - 2 * HOUR + 5 * MINUTE, value: 1 },
    { time: HOUR_START - 2 * HOUR + 15 * MINUTE, value: 3 },
    { time: HOUR_START - HOUR + 5 * MINUTE, value: 10 },
  ]);
  expect((await tenant.client.rows(`SELECT "value" FROM "${TWO}"."raw"."load"`)).map((row) => row.value)).toEqual([100, 300, 1000]);
  expect((await tenant.client.rows(`SELECT "ok" FROM "${COLLECTORS}"."raw"."run" GROUP BY "job"`)).length).toBe(2);
  // The databases the gateway created on the tenant instance have the three retention policies.
  const [[policies] = []] = await tenant.client.query(`SHOW RETENTION POLICIES ON "${TWO}"`);
  expect(policies.values.map((row) => row[0])).toEqual(expect.arrayContaining(['raw', '1h', '1d']));
});

test('a request spanning both instances while one is down: 503 with Retry-After, then stored exactly once', async () => {
  // Its own measurement: the hours of `load` stay as the downsampling test expects them.
  const documents = [plain('route-one', 'retry', { value: 7 }, NOW - 5 * MINUTE), plain('route-two', 'retry', { value: 70 }, NOW - 5 * MINUTE)];
  await tenant.stop();
  try {
    const refused = await post(documents);
    expect(refused).toMatchObject({ status: 503, retryAfter: '10' });
    expect(JSON.stringify(refused.body)).toContain('InfluxDB is unavailable, nothing acknowledged');
    // The other instance still takes writes: the gateway stays in a load balancer's pool, saying which is down.
    const ping = await fetch(`${gateway.url}/ping`);
    expect(ping.status).toBe(200);
    expect(await ping.json()).toEqual({ gateway: 'ok', influxdb: 'unreachable', unreachable: ['tenant'] });
  } finally {
    await tenant.start();
  }
  // The sender sends the whole batch again: both land, once each, where they belong.
  expect(await post(documents)).toMatchObject({ status: 200, body: { accepted: 2 } });
  expect(await main.client.rows(`SELECT "value" FROM "${ONE}"."raw"."retry"`)).toEqual([{ time: NOW - 5 * MINUTE, value: 7 }]);
  expect(await tenant.client.rows(`SELECT "value" FROM "${TWO}"."raw"."retry"`)).toEqual([{ time: NOW - 5 * MINUTE, value: 70 }]);
  expect(await databases(main)).toEqual([ONE]);
  const ping = await fetch(`${gateway.url}/ping`);
  expect([ping.status, await ping.json()]).toEqual([200, { gateway: 'ok', influxdb: 'ok' }]);
});

test('downsample-1h reads and writes each database on its own instance, with its own watermarks', async () => {
  // A stale copy of route-two's database on [influxdb] (from before it moved): left alone there.
  await main.client.ensureDatabase(TWO, { raw: '30d', '1h': '400d', '1d': 'INF' });
  await main.client.write(TWO, [`load,node=n1 value=5 ${HOUR_START - 2 * HOUR + 5 * MINUTE}`, `extra,node=n1 up=1 ${NOW - 4 * MINUTE}`].join('\n'));
  const stateDir = path.join(dir, 'state', 'downsample-1h');
  const context = collectorContext('downsample-1h', configText, { stateDir });
  expect(await downsampleJob('1h').run(context)).toEqual([]);
  expect(context.problems).toEqual([]);
  // Means of the hours, worked out from the points sent above: (1 + 3) / 2, 10; (100 + 300) / 2, 1000.
  expect(await main.client.rows(`SELECT "value" FROM "${ONE}"."1h"."load"`)).toEqual([
    { time: HOUR_START - 2 * HOUR, value: 2 },
    { time: HOUR_START - HOUR, value: 10 },
  ]);
  expect(await tenant.client.rows(`SELECT "value" FROM "${TWO}"."1h"."load"`)).toEqual([
    { time: HOUR_START - 2 * HOUR, value: 200 },
    { time: HOUR_START - HOUR, value: 1000 },
  ]);
  expect(await main.client.rows(`SELECT * FROM "${TWO}"."1h"."load"`)).toEqual([]);
  const watermarks = (file: string): Record<string, Record<string, string>> => (JSON.parse(readFileSync(file, 'utf8')) as { watermarks: Record<string, Record<string, string>> }).watermarks;
  expect(Object.keys(watermarks(path.join(stateDir, 'watermarks.json')))).toEqual([ONE]);
  // (The heartbeats, in the current hour, have no whole hour yet.)
  expect(Object.keys(watermarks(path.join(stateDir, 'influxdb.tenant', 'watermarks.json')))).toEqual([TWO]);
  // Each instance is a Grafana datasource, so each holds the retentions rows the dashboards read.
  for (const influx of [main, tenant]) expect(await influx.client.rows(`SELECT "rp" FROM "${RETENTIONS_DATABASE}"."forever"."retentions"`)).toHaveLength(3);
});

test('downsample-1h with one instance down: the others are still downsampled, and the run fails naming the one down', async () => {
  // A late point in an hour the next run recomputes (late_windows_1h = 3), on the instance that stays up.
  await tenant.client.write(TWO, `load,node=n1 value=42 ${HOUR_START - 3 * HOUR + 5 * MINUTE}`);
  const context = collectorContext('downsample-1h', configText, { stateDir: path.join(dir, 'state', 'downsample-1h') });
  // [influxdb], the first instance, is down: the tenant instance after it is still done.
  await main.stop();
  try {
    await expect(downsampleJob('1h').run(context)).rejects.toThrow(`not downsampled on [influxdb] ${main.url}: InfluxDB query: ECONNREFUSED`);
  } finally {
    await main.start();
  }
  expect(await tenant.client.rows(`SELECT "value" FROM "${TWO}"."1h"."load" WHERE time = ${(HOUR_START - 3 * HOUR) * 1e6}`)).toEqual([{ time: HOUR_START - 3 * HOUR, value: 42 }]);
});

test('the status job judges each module on its producer\'s instance, heartbeats and status documents on monit-collectors\'', async () => {
  const context = collectorContext('status', configText, { slotMs: SLOT, stateDir: path.join(dir, 'state', 'status') });
  const documents = (await statusJob.collect(context)) as MonitDocument[];
  const states = Object.fromEntries(documents.filter((document) => document.type === 'status').map((document) => [document.module, [document.status, document.reason]]));
  expect(states).toEqual({
    // Data on [influxdb], heartbeat of route-one on the tenant instance (monit-collectors lives there).
    one: ['available', 'all checks pass'],
    two: ['available', 'all checks pass'],
    misplaced: ['na', 'no data in route-two/extra in the last 30m'],
  });
  expect(await post(documents)).toMatchObject({ status: 200 });
  expect(await tenant.client.rows(`SELECT count("code") FROM "${COLLECTORS}"."raw"."status"`)).toEqual([{ time: 0, count: 3 }]);
  const instances = influxInstances(config());
  const settings = loadStatusSettings(config());
  const snapshot = await loadStatusSnapshot(instances, settings, { nowMs: Date.now() });
  expect(snapshot.modules.map((module) => [module.module, module.state, module.evaluatedMs])).toEqual([
    ['one', 'available', SLOT],
    ['two', 'available', SLOT],
    ['misplaced', 'na', SLOT],
  ]);
  // The gateway's details page of module two: the rule evaluated now, and its plot, read on the tenant instance.
  const page = statusPages(instances, settings)(new URL('http://gateway/status/module/two.json'));
  const details = JSON.parse(String((await page!.answer()).body)) as { live: { state: string }; plots: Array<{ queries: string[]; series: Array<{ last: number }>; error?: string }> };
  expect(details.live.state).toBe('available');
  expect(details.plots.map((plot) => [plot.error, plot.series.map((series) => series.last)])).toEqual([[undefined, [1]]]);
});

test('provisioning: one datasource per instance, each dashboard query on the instance holding its producer', () => {
  const values = { ...valuesFromConfig(config()), dashboardsDir: '/etc/grafana/provisioning/dashboards/monit-collectors' };
  const files = provisioningFiles(values);
  const { datasources } = parse(files.get(DATASOURCE_FILE)!) as { datasources: Array<{ name: string; uid: string; url: string; jsonData: { dbName: string } }> };
  expect(datasources.map(({ name, uid, url, jsonData }) => [name, uid, url, jsonData.dbName])).toEqual([
    ['MONIT InfluxDB', 'monit-influxdb', main.url, RETENTIONS_DATABASE],
    ['MONIT InfluxDB tenant', 'monit-influxdb-tenant', tenant.url, RETENTIONS_DATABASE],
  ]);
  expect(files.get(PROVIDER_FILE)).toContain('path: /etc/grafana/provisioning/dashboards/monit-collectors');
  const dashboard = (uid: string): Dashboard => JSON.parse(files.get(path.join(ROUTED_DASHBOARDS_DIR, `${uid}.json`))!) as Dashboard;
  /** Each datasource uid with the databases its targets read. */
  const used = (one: Dashboard): Record<string, string[]> => {
    const byUid: Record<string, Set<string>> = {};
    const visit = (panels: Dashboard['panels']): void => {
      for (const panel of panels) {
        for (const target of panel.targets ?? []) for (const match of target.query.matchAll(/"(monit_production_[^"]+)"/g)) (byUid[target.datasource.uid] ??= new Set()).add(match[1]);
        visit(panel.panels ?? []);
      }
    };
    visit(one.panels);
    return Object.fromEntries(Object.entries(byUid).map(([uid, names]) => [uid, [...names].sort()]));
  };
  // The jobs' heartbeats (monit-collectors) are on the tenant instance; PanDA's data on [influxdb].
  const jobs = dashboard('monit-jobs');
  expect(used(jobs)).toEqual({ 'monit-influxdb-tenant': [COLLECTORS] });
  expect(jobs.templating.list.find((variable) => variable.name === 'datasource')?.current).toEqual({ text: 'MONIT InfluxDB tenant', value: 'monit-influxdb-tenant' });
  // PanDA's data on [influxdb]; its status light (monit-collectors' status documents) on the tenant instance.
  const panda = dashboard('monit-panda-jobs');
  expect(used(panda)).toEqual({ 'monit-influxdb': ['monit_production_panda'], 'monit-influxdb-tenant': [COLLECTORS] });
  expect(panda.templating.list.find((variable) => variable.name === 'datasource')?.current).toEqual({ text: 'MONIT InfluxDB', value: 'monit-influxdb' });
  // A query variable reading PanDA's tags runs on PanDA's instance; the retentions variables keep the drop-down's.
  const variables = panda.templating.list.filter((variable) => variable.type === 'query');
  expect(new Set(variables.filter((variable) => variable.query.includes('monit_production_panda')).map((variable) => variable.datasource?.uid))).toEqual(new Set(['monit-influxdb']));
  expect(new Set(variables.filter((variable) => variable.query.includes(RETENTIONS_DATABASE)).map((variable) => variable.datasource?.uid))).toEqual(new Set(['${datasource}']));
  // The overview shows monit-collectors' status lights beside other sources' numbers: both datasources.
  expect(Object.keys(used(dashboard('monit-overview'))).sort()).toEqual(['monit-influxdb', 'monit-influxdb-tenant']);
  // Without [influxdb.NAME]: one datasource and the checked-in dashboards, as before.
  const single = provisioningFiles(valuesFromConfig(Config.parse(`[influxdb]\nurl = ${main.url}\n`, 'single.cfg')));
  expect([...single.keys()]).toEqual([DATASOURCE_FILE, PROVIDER_FILE]);
  expect(single.get(PROVIDER_FILE)).toContain(`path: ${DASHBOARDS_JSON_DIR}`);
});

test('provisioning.js --config --out writes the routed dashboards where its provider reads them', () => {
  const configFile = path.join(dir, 'instances.cfg');
  writeFileSync(configFile, configText);
  const out = path.join(dir, 'grafana-provisioning');
  const run = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'dashboards', 'provisioning.js'), '--config', configFile, '--out', out], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(readFileSync(path.join(out, PROVIDER_FILE), 'utf8')).toContain(`path: ${path.join(out, ROUTED_DASHBOARDS_DIR)}`);
  const jobs = JSON.parse(readFileSync(path.join(out, ROUTED_DASHBOARDS_DIR, 'monit-jobs.json'), 'utf8')) as Dashboard;
  expect(jobs.panels.flatMap((panel) => [...(panel.targets ?? []), ...(panel.panels ?? []).flatMap((inner) => inner.targets ?? [])]).every((target) => target.datasource.uid === 'monit-influxdb-tenant')).toBe(true);
  expect(readFileSync(path.join(out, DATASOURCE_FILE), 'utf8')).toContain(`url: ${tenant.url}`);
});
