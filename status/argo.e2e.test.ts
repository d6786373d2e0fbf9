/**
 * ARGO's documented worked example, end to end: 5 h OK, 9 h CRITICAL, 6 h UNKNOWN and 4 h DOWNTIME
 * give availability 5/18 (27.777 %) and reliability 5/14 (35.714 %). The status job runs once per
 * 10-minute slot over one UTC day against a real InfluxDB, its documents go through the real gateway,
 * and the figures are computed from what is stored: with the test's own InfluxQL sums, by hand from
 * the raw documents, and again from the 1h retention policy after downsample-1h.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { DocumentFactory } from '../lib/documents/document';
import { schemaRegistry } from '../lib/documents/schemas';
import type { MonitDocument } from '../lib/documents/types';
import { MemoryLogger } from '../lib/run/log';
import type { RunningGateway } from '../gateway/server';
import { runDownsample } from '../downsample/downsample';
import { startTestGateway, TEST_TOKEN } from '../test/support/gateway';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import { argoFigures, type SlotCounts } from './argo';
import { runStatus } from './job';
import { formatAvailability, renderStatusPage } from './page';
import { loadStatusSettings } from './settings';
import { loadStatusSnapshot } from './snapshot';

const MINUTE = 60e3;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const PERIOD = 10 * MINUTE;
// A whole UTC day three days ago: inside raw's 30 days, and long finished for downsampling.
const DAY_START = Math.floor(Date.now() / DAY) * DAY - 3 * DAY;
const SLOTS = Array.from({ length: DAY / PERIOD }, (_, index) => DAY_START + index * PERIOD);
const DATABASE = '"monit_production_monit_collectors"';

/** ARGO's example hour by hour: 0–4 OK, 5–13 CRITICAL, 14–19 no data (UNKNOWN), 20–23 scheduled downtime (the probe fails under it). */
const hourOf = (slotMs: number): number => Math.floor((slotMs - DAY_START) / HOUR);
const probeUp = (slotMs: number): number | undefined => {
  const hour = hourOf(slotMs);
  if (hour < 5) return 1;
  if (hour < 14) return 0;
  if (hour < 20) return undefined;
  return 0;
};

let influx: TestInfluxDB;
let gateway: RunningGateway;
const jobDocuments: MonitDocument[] = [];

const rule = (module: string): string => `[status.module.${module}]
measurement = scenario/probe
fields = up
where = service=${module}
collector = none
freshness = 10m
unavailable = latest(up) == 0
unavailable_reason = probe of ${module} fails
`;

async function post(documents: MonitDocument[]): Promise<void> {
  const response = await fetch(gateway.url, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(documents) });
  if (response.status !== 200) throw new Error(`gateway answered ${response.status}: ${await response.text()}`);
}

beforeAll(async () => {
  influx = await startInfluxDB();
  gateway = await startTestGateway(influx.url, { registry: schemaRegistry(), durations: { raw: '30d', '1h': 'INF', '1d': 'INF' }, maxDocuments: 20_000, maxBodyBytes: 20_000_000 });
  const dir = testDir('status-argo');
  const file = path.join(dir, 'config.cfg');
  // `argo` is N/A when it has no data; `gappy` has the same data, but the job "did not run" for its unknown hours.
  writeFileSync(
    file,
    `[paths]\nvar = ${dir}/var\n[influxdb]\nurl = ${influx.url}\n[status]\ndefault_rules =\nhtml_file =\njson_file =\n` +
      rule('argo') +
      rule('gappy') +
      `[status.downtime.maintenance]\nstart = ${new Date(DAY_START + 20 * HOUR).toISOString()}\nend = ${new Date(DAY_START + DAY).toISOString().replace(':00.000Z', 'Z')}\nmodules = argo, gappy\nreason = storage intervention\n`,
  );
  const config = Config.load(file);
  const settings = loadStatusSettings(config);

  const probes: MonitDocument[] = SLOTS.flatMap((slotMs) => {
    const up = probeUp(slotMs);
    if (up === undefined) return [];
    return ['argo', 'gappy'].map((service) => ({ producer: 'scenario', type: 'probe', timestamp: slotMs + MINUTE, idb_tags: ['service'], service, up }));
  });
  await post(probes);

  // The job once per slot, as cron would run it, each slot looking back from the slot's end.
  for (const slotMs of SLOTS) {
    const result = await runStatus({
      config,
      settings,
      influxdb: influx.client,
      documents: new DocumentFactory({ slotMs, host: 'status-host' }),
      log: new MemoryLogger('status'),
      stateDir: path.join(dir, 'state'),
      nowMs: slotMs + PERIOD,
      dryRun: true,
    });
    const unknownHour = hourOf(slotMs) >= 14 && hourOf(slotMs) < 20;
    jobDocuments.push(...result.documents.filter((document) => !(unknownHour && document.module === 'gappy')));
  }
  await post(jobDocuments);
}, 600_000);

afterAll(async () => {
  await gateway?.close();
  await influx?.stop();
});

const EXPECTED_HOURS = { available: 5, degraded: 0, unavailable: 9, na: 6, downtime: 4 };
const slotsOf = (hours: SlotCounts): SlotCounts => ({
  available: hours.available * 6,
  degraded: hours.degraded * 6,
  unavailable: hours.unavailable * 6,
  na: hours.na * 6,
  downtime: hours.downtime * 6,
});

/** The slot counts of a module in the day, summed by InfluxDB from the stored documents of one RP. */
async function summed(retentionPolicy: 'raw' | '1h', module: string): Promise<SlotCounts> {
  const [row] = await influx.client.rows(
    `SELECT SUM("available_slots") AS available, SUM("degraded_slots") AS degraded, SUM("unavailable_slots") AS unavailable, SUM("na_slots") AS na, SUM("downtime_slots") AS downtime ` +
      `FROM ${DATABASE}."${retentionPolicy}"."status" WHERE "module" = '${module}' AND time >= ${DAY_START}ms AND time < ${DAY_START + DAY}ms`,
  );
  return { available: row.available as number, degraded: row.degraded as number, unavailable: row.unavailable as number, na: row.na as number, downtime: row.downtime as number };
}

/** The status documents stored for a module in the day (raw). */
async function documentCount(module: string): Promise<number> {
  const [row] = await influx.client.rows(`SELECT COUNT("status") AS documents FROM ${DATABASE}."raw"."status" WHERE "module" = '${module}' AND time >= ${DAY_START}ms AND time < ${DAY_START + DAY}ms`);
  return row.documents as number;
}

/** A fraction in lowest terms, so the test asserts 5/18 and 5/14 exactly, not a rounded percentage. */
function reduced(numerator: number, denominator: number): [number, number] {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const divisor = gcd(numerator, denominator);
  return [numerator / divisor, denominator / divisor];
}

test('the job wrote one document per slot with exactly one *_slots counter set, and downtime false outside the downtime', async () => {
  const rows = await influx.client.rows(
    `SELECT "status", "reason", "downtime", "downtime_reason", "available_slots", "degraded_slots", "unavailable_slots", "na_slots", "downtime_slots" FROM ${DATABASE}."raw"."status" WHERE "module" = 'argo' AND time >= ${DAY_START}ms AND time < ${DAY_START + DAY}ms`,
  );
  expect(rows).toHaveLength(144);
  for (const row of rows) {
    const hour = hourOf(row.time as number);
    const counters = ['available_slots', 'degraded_slots', 'unavailable_slots', 'na_slots', 'downtime_slots'].map((field) => row[field]);
    expect(counters.filter((value) => value === 1)).toHaveLength(1);
    expect(counters.filter((value) => value === 0)).toHaveLength(4);
    if (hour >= 20) {
      // The rules' verdict is kept; the downtime is said beside it.
      expect(row).toMatchObject({ status: 'unavailable', reason: 'probe of argo fails', downtime: true, downtime_reason: 'storage intervention (config maintenance)', downtime_slots: 1 });
    } else {
      expect(row).toMatchObject({ downtime: false, downtime_reason: null, downtime_slots: 0 });
      expect(row.status).toBe(hour < 5 ? 'available' : hour < 14 ? 'unavailable' : 'na');
    }
  }
});

test("ARGO's worked example: A = 5/18 (27.777 %) and R = 5/14 (35.714 %) from the test's own InfluxQL sums of the stored documents", async () => {
  const counts = await summed('raw', 'argo');
  expect(counts).toEqual(slotsOf(EXPECTED_HOURS));
  expect(await documentCount('argo')).toBe(144);
  const figures = argoFigures(counts);
  expect(figures.availability).toBe(5 / 18);
  expect(figures.reliability).toBe(5 / 14);
  expect((100 * (figures.availability as number)).toFixed(3)).toBe('27.778');
  expect((100 * (figures.reliability as number)).toFixed(3)).toBe('35.714');
});

test('by hand from the raw documents (status and downtime, not the counters): the same fractions', async () => {
  const rows = await influx.client.rows(`SELECT "status", "downtime" FROM ${DATABASE}."raw"."status" WHERE "module" = 'argo' AND time >= ${DAY_START}ms AND time < ${DAY_START + DAY}ms`);
  const total = DAY / PERIOD;
  const up = rows.filter((row) => row.downtime === false && (row.status === 'available' || row.status === 'degraded')).length;
  const downtime = rows.filter((row) => row.downtime === true).length;
  const unknown = total - rows.filter((row) => row.downtime === true || row.status !== 'na').length;
  expect({ up, downtime, unknown }).toEqual({ up: 30, downtime: 24, unknown: 36 });
  expect(reduced(up, total - unknown)).toEqual([5, 18]);
  expect(reduced(up, total - unknown - downtime)).toEqual([5, 14]);
});

test('slots without a document are unknown like N/A: the module the job skipped for 6 hours has the same figures from 108 documents', async () => {
  const counts = await summed('raw', 'gappy');
  expect(counts).toEqual(slotsOf({ ...EXPECTED_HOURS, na: 0 }));
  expect(await documentCount('gappy')).toBe(108);
  expect(argoFigures(counts)).toEqual({ availability: 5 / 18, reliability: 5 / 14 });
  // N/A is unknown, not down: counting it as unavailable would give 5/24 and 5/20 instead.
  expect(argoFigures({ ...counts, unavailable: counts.unavailable + 36 })).toEqual({ availability: 5 / 24, reliability: 5 / 20 });
});

test('after downsample-1h over that day, the hourly sums give the same counts and the same A and R', async () => {
  const log = new MemoryLogger('downsample-1h');
  await runDownsample({
    resolution: '1h',
    influxdb: influx.client,
    stateDir: path.join(testDir('status-argo-downsample'), 'downsample-1h'),
    log,
    from: DAY_START,
    to: DAY_START + DAY,
    nowMs: DAY_START + 2 * DAY,
    databases: ['monit_production_monit_collectors'],
    progressOutput: { isTTY: false, write: () => true },
  });
  const hourly = await influx.client.rows(`SELECT "available_slots", "unavailable_slots", "na_slots", "downtime_slots" FROM ${DATABASE}."1h"."status" WHERE "module" = 'argo' AND time >= ${DAY_START}ms AND time < ${DAY_START + DAY}ms`);
  expect(hourly).toHaveLength(24);
  // Each hour holds six slots of one kind.
  for (const row of hourly) expect([row.available_slots, row.unavailable_slots, row.na_slots, row.downtime_slots].sort()).toEqual([0, 0, 0, 6]);
  for (const module of ['argo', 'gappy']) {
    const hourlyCounts = await summed('1h', module);
    expect(hourlyCounts).toEqual(await summed('raw', module));
    expect(argoFigures(hourlyCounts)).toEqual({ availability: 5 / 18, reliability: 5 / 14 });
  }
}, 120_000);

test("the page's figures: the snapshot of that day gives 5/18 and 5/14 for 24h and for the day's history cell, shown as 27.77 % and 35.71 %", async () => {
  const settings = loadStatusSettings(Config.parse(`[status]\ndefault_rules =\nretention_policy = raw\n${rule('argo')}${rule('gappy')}`, 'argo.cfg'));
  const snapshot = await loadStatusSnapshot(influx.client, settings, { nowMs: DAY_START + DAY });
  for (const module of ['argo', 'gappy']) {
    const shown = snapshot.modules.find((one) => one.module === module)!;
    expect({ availability: shown.availability['24h'], reliability: shown.reliability['24h'] }).toEqual({ availability: 5 / 18, reliability: 5 / 14 });
    const day = shown.history.find((cell) => cell.dayStartMs === DAY_START)!;
    expect({ availability: day.availability, reliability: day.reliability }).toEqual({ availability: 5 / 18, reliability: 5 / 14 });
  }
  const html = renderStatusPage(snapshot);
  expect(html).toContain(formatAvailability(5 / 18));
  expect(formatAvailability(5 / 18)).toBe('27.77%');
  expect(formatAvailability(5 / 14)).toBe('35.71%');
  expect(html).toContain('35.71%');
});
