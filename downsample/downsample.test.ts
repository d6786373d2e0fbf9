/** Downsampling against a real InfluxDB 1.6: golden values, reruns, outages, late points, backfill, types. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { InfluxClient } from '../lib/influx/influxdb';
import { MemoryLogger } from '../lib/run/log';
import { SchemaRegistry } from '../lib/documents/schemas';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import { collectorContext } from '../test/support/collectorContext';
import { runDownsample, type DownsampleOptions } from './downsample';
import { downsampleJob } from './job';
import type { ProgressOutput } from './progress';
import {
  ADHOC_MEASUREMENT,
  DAY_MS,
  GOLDEN_DATABASE,
  GOLDEN_SCHEMA,
  HOUR_MS,
  expectedDaily,
  expectedHourly,
  goldenPoints,
  resultKey,
  toLineProtocol,
  type FieldValue,
  type GoldenPoint,
  type Results,
} from './testdata/golden';

jest.setTimeout(120_000);

let influx: TestInfluxDB;
let client: InfluxClient;
const registry = new SchemaRegistry([GOLDEN_SCHEMA]);
const durations = { raw: '30d', '1h': '365d', '1d': 'INF' };
const OTHER_DATABASE = 'scratch';

// Four days of data ending at least a day before the real clock, so no retention policy drops it.
const dayZero = Math.floor(Date.now() / DAY_MS) * DAY_MS - 5 * DAY_MS;
const points: GoldenPoint[] = goldenPoints(dayZero, 4);
const stateRoot = testDir('downsample-state');
const hourlyState = path.join(stateRoot, 'downsample-1h');
const dailyState = path.join(stateRoot, 'downsample-1d');

function run(resolution: '1h' | '1d', nowMs: number, extra: Partial<DownsampleOptions> = {}): Promise<ReturnType<typeof runDownsample> extends Promise<infer R> ? R : never> {
  return runDownsample({
    resolution,
    influxdb: client,
    stateDir: resolution === '1h' ? hourlyState : dailyState,
    sourceStateDir: resolution === '1d' ? hourlyState : undefined,
    log: extra.log ?? new MemoryLogger(`downsample-${resolution}`),
    nowMs,
    schemas: registry,
    chunkMs: resolution === '1h' ? 6 * HOUR_MS : 2 * DAY_MS,
    fieldsPerQuery: 5, // the golden measurement has 8 fields: exercises the split into field groups
    ...extra,
  });
}

/** Everything stored in a retention policy of the golden database, in the same shape as the expectation. */
async function stored(retentionPolicy: '1h' | '1d', measurement?: string): Promise<Results> {
  const results: Results = new Map();
  for (const name of measurement ? [measurement] : [GOLDEN_SCHEMA.type, ADHOC_MEASUREMENT]) {
    const [series = []] = await client.query(`SELECT * FROM "${GOLDEN_DATABASE}"."${retentionPolicy}"."${name}" GROUP BY *`);
    for (const one of series) {
      for (const row of one.values) {
        const fields: Record<string, FieldValue> = {};
        one.columns.forEach((column, index) => {
          if (column !== 'time' && row[index] !== null) fields[column] = row[index] as FieldValue;
        });
        results.set(resultKey(name, one.tags ?? {}, row[0] as number), fields);
      }
    }
  }
  return results;
}

/** Fails with the first window whose values differ; floats compared to 9 decimals. */
function expectEqualResults(actual: Results, expected: Results): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, fields] of expected) {
    const got = actual.get(key)!;
    expect({ key, fields: Object.keys(got).sort() }).toEqual({ key, fields: Object.keys(fields).sort() });
    for (const [field, value] of Object.entries(fields)) {
      if (typeof value === 'number' && !Number.isInteger(value)) {
        expect({ key, field, close: Math.abs((got[field] as number) - value) <= 1e-9 * Math.max(1, Math.abs(value)) }).toEqual({ key, field, close: true });
      } else {
        expect({ key, field, value: got[field] }).toEqual({ key, field, value });
      }
    }
  }
}

function restricted(results: Results, predicate: (key: string) => boolean): Results {
  return new Map([...results].filter(([key]) => predicate(key)));
}

async function fieldTypes(retentionPolicy: string): Promise<Record<string, string>> {
  const [series = []] = await client.query(`SHOW FIELD KEYS ON "${GOLDEN_DATABASE}" FROM "${retentionPolicy}"."${GOLDEN_SCHEMA.type}"`);
  return Object.fromEntries(series[0].values.map(([field, type]) => [String(field), String(type)]));
}

function watermarks(dir: string): Record<string, Record<string, string>> {
  return (JSON.parse(readFileSync(path.join(dir, 'watermarks.json'), 'utf8')) as { watermarks: Record<string, Record<string, string>> }).watermarks;
}

const iso = (ms: number): string => new Date(ms).toISOString();

beforeAll(async () => {
  influx = await startInfluxDB();
  client = influx.client;
  for (const database of [GOLDEN_DATABASE, OTHER_DATABASE]) await client.ensureDatabase(database, durations);
  const lines = toLineProtocol(points).split('\n');
  for (let i = 0; i < lines.length; i += 5000) await client.write(GOLDEN_DATABASE, lines.slice(i, i + 5000).join('\n'));
  // A database outside monit_production_*: never touched.
  await client.write(OTHER_DATABASE, toLineProtocol(points.slice(0, 50)));
});

afterAll(async () => {
  await influx?.stop();
});

// The tests below form one story and run in order: first run, outage, rerun, late points, backfill.
const afterDayOne = dayZero + DAY_MS + 30 * 60_000;
const afterOutage = dayZero + 3 * DAY_MS + 30 * 60_000;

test('the first run computes every hour since the oldest point, and the day once its hours are done', async () => {
  const log = new MemoryLogger('downsample-1h');
  const hourly = await run('1h', afterDayOne, { log });
  expect(hourly).toMatchObject({ resolution: '1h', backfill: false, databases: 1, measurements: 2, windows: 48, problems: [] });
  // 24 hours in 4 chunks of 6 hours; golden has 8 fields in groups of 5 (2 statements), adhoc 1.
  expect(hourly.queries).toBe(4 * 2 + 4);
  expect(log.lines).toContain(`INFO ${GOLDEN_DATABASE}.raw.${ADHOC_MEASUREMENT}: no schema, using mean for numeric fields and last for the others`);
  expectEqualResults(await stored('1h'), expectedHourly(points, dayZero, dayZero + DAY_MS));
  expect(watermarks(hourlyState)).toEqual({ [GOLDEN_DATABASE]: { [GOLDEN_SCHEMA.type]: iso(dayZero + DAY_MS), [ADHOC_MEASUREMENT]: iso(dayZero + DAY_MS) } });

  const daily = await run('1d', afterDayOne);
  expect(daily).toMatchObject({ windows: 2, problems: [] });
  expectEqualResults(await stored('1d'), expectedDaily(points, dayZero, dayZero + DAY_MS));

  const [other = []] = await client.query(`SELECT count(*) FROM "${OTHER_DATABASE}"."1h"./.*/`);
  expect(other).toEqual([]);
});

test('integer fields stay integers for sum, max, min and last; mean gives floats', async () => {
  const raw = await fieldTypes('raw');
  expect(raw).toMatchObject({ connections: 'integer', jobs_finished: 'integer', bytes_total: 'integer', queue_peak: 'integer' });
  const expected = {
    load: 'float',
    connections: 'float',
    jobs_finished: 'integer',
    bytes_total: 'integer',
    queue_peak: 'integer',
    free_min: 'float',
    state: 'string',
    up: 'boolean',
  };
  expect(await fieldTypes('1h')).toEqual(expected);
  expect(await fieldTypes('1d')).toEqual(expected);
});

test('after a two-day outage, one run fills every missed window; 1d waits for 1h', async () => {
  // The daily job runs first after the outage: the hourly job has not caught up, so no new day yet.
  const early = await run('1d', afterOutage);
  expect(early.windows).toBe(2 * 2); // only the two late days (-1 and 0) recomputed, for two measurements
  expectEqualResults(await stored('1d'), expectedDaily(points, dayZero, dayZero + DAY_MS));

  const progressLines: string[] = [];
  const log = new MemoryLogger('downsample-1h');
  const hourly = await run('1h', afterOutage, { log, progressOutput: { isTTY: false, write: (text) => progressLines.push(text) } });
  // 48 missed hours plus 3 late ones, for two measurements.
  expect(hourly).toMatchObject({ windows: 2 * (48 + 3), problems: [] });
  expect(log.lines.some((line) => line.startsWith('INFO catching up: 102 1h windows over 2 measurements'))).toBe(true);
  expect(log.lines.some((line) => line.startsWith('INFO progress: '))).toBe(true);
  expect(progressLines).toEqual([]); // not a terminal: progress goes to the log only
  expectEqualResults(await stored('1h'), expectedHourly(points, dayZero, dayZero + 3 * DAY_MS));
  expect(watermarks(hourlyState)[GOLDEN_DATABASE][GOLDEN_SCHEMA.type]).toBe(iso(dayZero + 3 * DAY_MS));

  const daily = await run('1d', afterOutage);
  expect(daily.windows).toBe(2 * 4); // days 1 and 2 plus the late days -1 and 0
  expectEqualResults(await stored('1d'), expectedDaily(points, dayZero, dayZero + 3 * DAY_MS));
  expect(watermarks(dailyState)[GOLDEN_DATABASE][GOLDEN_SCHEMA.type]).toBe(iso(dayZero + 3 * DAY_MS));
});

test('a rerun rewrites the same points and changes nothing', async () => {
  const before = { hourly: await stored('1h'), daily: await stored('1d') };
  const hourlyWatermarks = watermarks(hourlyState);
  const hourly = await run('1h', afterOutage);
  const daily = await run('1d', afterOutage);
  expect(hourly.pointsWritten).toBeGreaterThan(0);
  expect(daily.pointsWritten).toBeGreaterThan(0);
  expect(await stored('1h')).toEqual(before.hourly);
  expect(await stored('1d')).toEqual(before.daily);
  expect(watermarks(hourlyState)).toEqual(hourlyWatermarks);
});

test('late points are picked up in the late windows; older ones by a backfill with progress', async () => {
  const recentLate: GoldenPoint = { measurement: GOLDEN_SCHEMA.type, tags: { host: 'node-a', site: 'CERN' }, timeMs: dayZero + 3 * DAY_MS - HOUR_MS + 25 * 60_000, fields: { load: 99.5, jobs_finished: 1000, queue_peak: 5000, state: 'late' } };
  const oldLate: GoldenPoint = { measurement: GOLDEN_SCHEMA.type, tags: { host: 'node-c', site: 'BNL' }, timeMs: dayZero + 2 * DAY_MS + 5 * HOUR_MS + 25 * 60_000, fields: { load: 42.25, jobs_finished: 7, free_min: -1.5 } };
  await client.write(GOLDEN_DATABASE, toLineProtocol([recentLate, oldLate]));
  const withLate = [...points, recentLate, oldLate];
  const isOldLateHour = (key: string): boolean => key === resultKey(GOLDEN_SCHEMA.type, oldLate.tags, dayZero + 2 * DAY_MS + 5 * HOUR_MS);

  await run('1h', afterOutage + HOUR_MS);
  const hourly = await stored('1h');
  // Everything matches the data with the late points, except the hour too old for the late windows...
  expectEqualResults(restricted(hourly, (key) => !isOldLateHour(key)), restricted(expectedHourly(withLate, dayZero, dayZero + 3 * DAY_MS + HOUR_MS), (key) => !isOldLateHour(key)));
  // ...which still holds the value computed without it (node-c had no data that day: the hour did not exist).
  expect(hourly.has(resultKey(GOLDEN_SCHEMA.type, oldLate.tags, dayZero + 2 * DAY_MS + 5 * HOUR_MS))).toBe(false);

  const lines: string[] = [];
  const log = new MemoryLogger('downsample-1h');
  const backfill = await run('1h', afterOutage + HOUR_MS, { from: dayZero + 2 * DAY_MS, to: dayZero + 3 * DAY_MS, log, progressOutput: { isTTY: false, write: (text) => lines.push(text) } });
  expect(backfill).toMatchObject({ backfill: true, windows: 2 * 24, problems: [] });
  const progress = log.lines.filter((line) => line.startsWith('INFO progress: '));
  expect(progress.at(-1)).toMatch(/^INFO progress: 12\/12 1h queries \(100%\)/);
  expectEqualResults(await stored('1h'), expectedHourly(withLate, dayZero, dayZero + 3 * DAY_MS + HOUR_MS));
  // The backfill ended inside the done range: the watermark stays.
  expect(watermarks(hourlyState)[GOLDEN_DATABASE][GOLDEN_SCHEMA.type]).toBe(iso(dayZero + 3 * DAY_MS + HOUR_MS));

  // The daily backfill on a terminal draws a bar.
  const terminal: string[] = [];
  const tty: ProgressOutput = { isTTY: true, columns: 100, write: (text) => terminal.push(text) };
  await run('1d', afterOutage + HOUR_MS, { from: dayZero, to: dayZero + 3 * DAY_MS, progressOutput: tty });
  expect(terminal.at(-1)).toMatch(/^\r\[#{30}\] 6\/6 1d queries \(100%\).*\n$/);
  expectEqualResults(await stored('1d'), expectedDaily(withLate, dayZero, dayZero + 3 * DAY_MS));
});

test('a backfill refuses an empty or half-given range', async () => {
  await expect(run('1h', afterOutage, { from: dayZero })).rejects.toThrow('backfill needs both --from and --to');
  await expect(run('1h', afterOutage, { from: dayZero + DAY_MS, to: dayZero })).rejects.toThrow('must be before --to');
});

test('a statement InfluxDB refuses fails only its measurement, which keeps no watermark', async () => {
  const timeMs = dayZero + 3 * DAY_MS + 10 * 60_000;
  await client.write(GOLDEN_DATABASE, `conflict value=1.5 ${timeMs}`);
  // The 1h RP already holds the field as a string: InfluxDB refuses the float means.
  await client.write(GOLDEN_DATABASE, `conflict value="text" ${timeMs - HOUR_MS}`, { retentionPolicy: '1h' });
  const log = new MemoryLogger('downsample-1h');
  const before = watermarks(hourlyState)[GOLDEN_DATABASE];
  const result = await run('1h', afterOutage + 2 * HOUR_MS, { log });
  expect(result.problems).toHaveLength(1);
  expect(result.problems[0]).toContain(`${GOLDEN_DATABASE}.conflict`);
  expect(result.problems[0]).toContain('field type conflict');
  expect(log.lines.some((line) => line.startsWith(`ERROR ${GOLDEN_DATABASE}.conflict`))).toBe(true);
  const after = watermarks(hourlyState)[GOLDEN_DATABASE];
  expect(after.conflict).toBeUndefined();
  expect(after[GOLDEN_SCHEMA.type]).toBe(iso(dayZero + 3 * DAY_MS + 2 * HOUR_MS));
  expect(before[GOLDEN_SCHEMA.type]).toBe(iso(dayZero + 3 * DAY_MS + HOUR_MS));
});

test('an aborted run stops before its statements and moves no watermark', async () => {
  const before = readFileSync(path.join(hourlyState, 'watermarks.json'), 'utf8');
  const controller = new AbortController();
  controller.abort(new Error('deadline'));
  await expect(run('1h', afterOutage + 6 * HOUR_MS, { signal: controller.signal })).rejects.toThrow('deadline');
  expect(readFileSync(path.join(hourlyState, 'watermarks.json'), 'utf8')).toBe(before);
});

test('as a runner job: [downsample] settings, state next to the 1h job, problems to the heartbeat', async () => {
  const database = 'monit_production_downsample_job';
  await client.ensureDatabase(database, durations);
  const hourStart = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  await client.write(database, [`probe value=1 ${hourStart - 2 * HOUR_MS}`, `probe value=3 ${hourStart - 2 * HOUR_MS + 600_000}`, `probe value=10 ${hourStart - HOUR_MS}`].join('\n'));
  const configText = `[influxdb]\nurl = ${influx.url}\n[downsample]\ndatabases = ${database}\n`;
  const root = testDir('downsample-job-state');
  const hourly = collectorContext('downsample-1h', configText, { stateDir: path.join(root, 'downsample-1h') });
  expect(await downsampleJob('1h').run(hourly)).toEqual([]);
  expect(hourly.problems).toEqual([]);
  expect(await client.rows(`SELECT "value" FROM "${database}"."1h"."probe"`)).toEqual([
    { time: hourStart - 2 * HOUR_MS, value: 2 },
    { time: hourStart - HOUR_MS, value: 10 },
  ]);
  expect(watermarks(path.join(root, 'downsample-1h'))).toEqual({ [database]: { probe: iso(hourStart) } });
  // Only the listed database was touched.
  expect(watermarks(path.join(root, 'downsample-1h'))[GOLDEN_DATABASE]).toBeUndefined();

  const daily = collectorContext('downsample-1d', configText, { stateDir: path.join(root, 'downsample-1d') });
  await downsampleJob('1d', { from: iso(dayZero), to: iso(dayZero + DAY_MS) }).run(daily);
  expect(daily.problems).toEqual([]);
  expect(() => downsampleJob('1h', { from: '2026-11-01' })).toThrow('needs both --from and --to');
  expect(() => downsampleJob('1h', { from: 'monday', to: '2026-11-01' })).toThrow('--from: expected');
});
