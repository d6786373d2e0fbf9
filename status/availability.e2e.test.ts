/**
 * MONIT availability documents end to end: the status job (its default export, under the real job
 * runner and sender) against a real InfluxDB and the real gateway. One opted-in module in each of
 * available, degraded, unavailable and N/A, and one module that did not opt in; what lands in
 * InfluxDB is read back.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { DocumentFactory } from '../lib/documents/document';
import { runPeriodicJob, type RunOutcome } from '../lib/run/jobRunner';
import { schemaRegistry } from '../lib/documents/schemas';
import { slotStart } from '../lib/run/slot';
import type { MonitDocument } from '../lib/documents/types';
import type { RunningGateway } from '../gateway/server';
import { startTestGateway, TEST_TOKEN } from '../test/support/gateway';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import statusJob from './index';

const MINUTE = 60e3;
const PERIOD = 10 * MINUTE;
const NOW = Date.now();
const SLOT = slotStart(NOW, PERIOD);
const DATABASE = '"monit_production_monit_collectors"."raw"';

/** What each opted-in module must send; `white` is N/A and must send nothing. */
const EXPECTED: Record<string, { service_status: string; availabilityinfo: string; availabilitydesc?: string; contact: string; webpage: string }> = {
  'svc-green': { service_status: 'available', availabilityinfo: 'all checks pass', availabilitydesc: 'Green: probed every 10 minutes', contact: 'ops@example.org', webpage: 'http://grafana.example:3000/d/green' },
  'svc-yellow': { service_status: 'degraded', availabilityinfo: 'yellow slow: 900 ms', contact: 'yellow-team@example.org', webpage: 'https://status.example.org/' },
  'svc-red': { service_status: 'unavailable', availabilityinfo: 'red down', contact: 'ops@example.org', webpage: 'https://red.example.org/' },
};

const probeRule = (module: string, extra: string): string => `[status.module.${module}]
measurement = scenario/probe
fields = up, latency_ms
where = service=${module}
unavailable = latest(up) == 0
unavailable_reason = {series} down
degraded = mean(latency_ms) > 500
degraded_reason = {series} slow: {value} ms
${extra}`;

let influx: TestInfluxDB;
let gateway: RunningGateway;
let config: Config;
let outcome: RunOutcome;
let sent: MonitDocument[];

beforeAll(async () => {
  influx = await startInfluxDB();
  const dir = testDir('status-availability');
  gateway = await startTestGateway(influx.url, { registry: schemaRegistry(), durations: { raw: 'INF', '1h': 'INF', '1d': 'INF' }, maxBodyBytes: 20_000_000 });
  const file = path.join(dir, 'config.cfg');
  writeFileSync(
    file,
    `[paths]\nvar = ${dir}/var\n[monit]\nurl = ${gateway.url}\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = ${influx.url}\n` +
      `[status]\ndefault_rules =\ngrafana_url = http://grafana.example:3000/\nhtml_file =\njson_file =\n` +
      `availability_contact = ops@example.org\navailability_webpage = https://status.example.org/\n` +
      probeRule('green', 'dashboard = d/green\navailability_serviceid = svc-green\navailability_desc = Green: probed every 10 minutes\n') +
      probeRule('yellow', 'availability_serviceid = svc-yellow\navailability_contact = yellow-team@example.org\n') +
      probeRule('red', 'dashboard = d/red\navailability_serviceid = svc-red\navailability_webpage = https://red.example.org/\n') +
      probeRule('white', 'availability_serviceid = svc-white\n') +
      probeRule('plain', 'dashboard = d/plain\n'),
  );
  config = Config.load(file);

  // Heartbeats for every collector but white's (N/A), and probe data through the gateway.
  const factory = new DocumentFactory({ slotMs: SLOT, host: 'scenario' });
  const documents: MonitDocument[] = ['green', 'yellow', 'red', 'plain'].map((job) =>
    factory.build('monit-collectors', 'run', { job }, { ok: true, duration_ms: 900, errors: 0, timed_out: false, message: '' }, SLOT - PERIOD + 2 * MINUTE),
  );
  const probe = (service: string, up: number, latency: number, timeMs: number): MonitDocument => ({ producer: 'scenario', type: 'probe', timestamp: timeMs, idb_tags: ['service'], service, up, latency_ms: latency });
  for (const at of [SLOT - PERIOD, SLOT - 2 * PERIOD]) {
    documents.push(probe('green', 1, 120, at), probe('yellow', 1, 900, at), probe('red', 1, 100, at), probe('white', 1, 100, at), probe('plain', 1, 100, at));
  }
  documents.push(probe('red', 0, 100, SLOT - PERIOD + MINUTE));
  const response = await fetch(gateway.url, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(documents) });
  if (response.status !== 200) throw new Error(`gateway answered ${response.status}: ${await response.text()}`);

  // The job as run.sh runs it, for the scenario's slot; the documents it returned are kept.
  outcome = await runPeriodicJob(
    {
      name: 'status',
      periodMs: PERIOD,
      run: async (context) => {
        const result = await statusJob.collect(context);
        sent = Array.isArray(result) ? result : [];
        return result;
      },
    },
    { config, deadlineMs: 60_000, timeMs: NOW, echoLog: false },
  );
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await influx?.stop();
});

async function storedAvailability(): Promise<Record<string, Record<string, unknown>>> {
  const rows = await influx.client.rows(`SELECT "service_status", "availabilityinfo", "availabilitydesc", "contact", "webpage" FROM ${DATABASE}."availability" GROUP BY "serviceid"`);
  return Object.fromEntries(rows.map(({ serviceid, time, ...fields }) => [serviceid as string, { time, ...fields }]));
}

test('the runner sent one status document per module and one availability document per opted-in module that is not N/A', () => {
  expect(outcome).toMatchObject({ ok: true, documents: 5 + 3 });
  expect(sent.filter((document) => document.type === 'status').map((document) => document.module)).toEqual(['green', 'yellow', 'red', 'white', 'plain']);
  expect(sent.filter((document) => document.type === 'availability').map((document) => document.serviceid)).toEqual(['svc-green', 'svc-yellow', 'svc-red']);
});

test("each availability document carries MONIT's keys with the module's state, reason, description, contact and page", () => {
  const availability = sent.filter((one) => one.type === 'availability');
  expect(availability).toHaveLength(3);
  for (const document of availability) {
    const expected = EXPECTED[document.serviceid as string];
    expect(document).toMatchObject({ producer: 'monit-collectors', type: 'availability', timestamp: SLOT, ...expected });
    // MONIT's mandatory keys, and nothing of our own beyond MONIT's documented envelope.
    const monitKeys = ['producer', 'type', 'serviceid', 'service_status', 'timestamp', 'availabilityinfo', 'availabilitydesc', 'contact', 'webpage', 'host', 'type_prefix', '_id', 'idb_tags', 'idb_fields'];
    expect(Object.keys(document).filter((key) => !monitKeys.includes(key))).toEqual([]);
    expect(['available', 'degraded', 'unavailable']).toContain(document.service_status);
  }
});

test('through the gateway they are stored in InfluxDB, one series per service id, white and plain absent', async () => {
  const stored = await storedAvailability();
  expect(Object.keys(stored).sort()).toEqual(['svc-green', 'svc-red', 'svc-yellow']);
  for (const [serviceId, expected] of Object.entries(EXPECTED)) {
    expect(stored[serviceId]).toEqual({ time: SLOT, availabilitydesc: null, ...expected });
  }
  const statuses = await influx.client.rows(`SELECT "status" FROM ${DATABASE}."status" WHERE time = ${SLOT}ms GROUP BY "module"`);
  expect(Object.fromEntries(statuses.map((row) => [row.module, row.status]))).toEqual({ green: 'available', yellow: 'degraded', red: 'unavailable', white: 'na', plain: 'available' });
});

test('a rerun of the slot overwrites its points instead of adding any', async () => {
  const again = await runPeriodicJob({ name: 'status', periodMs: PERIOD, run: (context) => statusJob.collect(context) }, { config, deadlineMs: 60_000, timeMs: NOW, echoLog: false });
  expect(again).toMatchObject({ ok: true, documents: 8 });
  const counts = await influx.client.rows(`SELECT count("service_status") FROM ${DATABASE}."availability" GROUP BY "serviceid"`);
  expect(Object.fromEntries(counts.map((row) => [row.serviceid, row.count]))).toEqual({ 'svc-green': 1, 'svc-red': 1, 'svc-yellow': 1 });
});
