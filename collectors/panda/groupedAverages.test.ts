import { Point } from '@influxdata/influxdb-client';
import { RecordingInfluxClient } from '../../test/support/recordingInfluxClient';
import { databaseFor } from '../../lib/documents/interpret';
import { MemoryLogger } from '../../lib/run/log';
import type { InfluxClient } from '../../lib/influx/influxdb';
import { startInfluxDB, testDir, type TestInfluxDB } from '../../test/support/services';
import { derivedStateIn, readHistory, type SeriesHistory, slotStatement } from './derived';
import { seriesKey, type SeriesId } from './documents';
import { PANDA_JOBS, PANDA_JOBS_TERMINAL } from '../../schemas/kinds';
import { randomGenerator } from '../../test/support/random';

const MINUTE = 60_000;
const SLOT_MS = 10 * MINUTE;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const DATABASE = databaseFor('panda');
const TERMINAL = new Set(['finished', 'failed']);
/** QMonit's kind of choice: a gauge and a window count averaged, one of each left out. */
const AVERAGED = new Set(['running', 'activated', 'finished']);
/** The averaged statuses of each measurement, as the queries must name them. */
const STATUS_CONDITION: Record<string, string> = {
  [PANDA_JOBS.type]: `"job_status" =~ /^(?:activated|running)$/`,
  [PANDA_JOBS_TERMINAL.type]: `"job_status" =~ /^(?:finished)$/`,
};
/** 02:00: the history's 26 hours cross midnight. */
const HISTORY_END = Date.UTC(2026, 10, 22, 2, 0);
/** 23:50 the day before: panda did not run, no series has a point in that slot. */
const MISSED = HISTORY_END - 130 * MINUTE;
/** Raw windows and their lengths, in the order of planWindows() (1h, 6h, 12h, 24h first). */
const RAW_WINDOWS: Array<[string, number]> = [['1h', HOUR], ['6h', 6 * HOUR], ['12h', 12 * HOUR], ['24h', DAY]];
const OPTIONS = { useRawUpToMs: DAY, use1hUpToMs: DAY };
/** Runs until the slot store holds 24 hours: each reads an hour more of the past (and the slot advances). */
const RUNS_TO_FILL = 26;

const measurementOf = (one: SeriesId): string => (TERMINAL.has(one.jobStatus) ? PANDA_JOBS_TERMINAL.type : PANDA_JOBS.type);

describe('the raw averages (grouped mean() or the slot store) equal the mean, computed here, of the points of each window ending with the slot', () => {
  let influx: TestInfluxDB;
  const series: SeriesId[] = [];
  /** Every value written: series key → time → jobs. */
  const written = new Map<string, Map<number, number>>();

  function pointOf(one: SeriesId): Point {
    return new Point(measurementOf(one)).tag('queue', one.queue).tag('prod_source', one.prodSource).tag('resource', one.resource).tag('job_status', one.jobStatus);
  }

  beforeAll(async () => {
    influx = await startInfluxDB();
    await influx.client.ensureDatabase(DATABASE, { raw: 'INF', '1h': 'INF', '1d': 'INF' });
    const random = randomGenerator(7);
    const lines: string[] = [];
    for (const queue of ['Q_A', 'Q_B', 'Q_C']) {
      for (const jobStatus of ['running', 'activated', 'finished', 'failed']) {
        for (const resource of ['SCORE', 'MCORE']) series.push({ queue, prodSource: 'managed', resource, jobStatus });
      }
    }
    // 26 hours of 10-minute slots with gaps: each series misses slots at its own rate (up to every slot of a
    // stretch), so some windows are empty, some blocks partial; one slot has no point at all (a missed run);
    // values are large enough to need exact sums.
    for (const [number, one] of series.entries()) {
      const missing = number % 5 === 4 ? 0.97 : (number % 4) * 0.25;
      const point = pointOf(one);
      const values = new Map<number, number>();
      written.set(seriesKey(one), values);
      for (let slot = 0; slot <= 26 * 6; slot++) {
        const timeMs = HISTORY_END - slot * SLOT_MS;
        const stretchGap = number % 3 === 0 && slot >= 40 && slot < 80; // hours 6:40 to 13:20 before the end
        if (stretchGap || timeMs === MISSED || random() < missing) continue;
        const value = Math.floor(random() * 1e7);
        values.set(timeMs, value);
        lines.push(point.intField('jobs', value).timestamp(timeMs).toLineProtocol({ convertTime: (time) => String(time) }) ?? '');
      }
    }
    await influx.client.write(DATABASE, lines.join('\n'), { retentionPolicy: 'raw', precision: 'ms' });
  });
  afterAll(async () => {
    await influx?.stop();
  });

  /** The mean of the values written in [from, to), or undefined when there is none. */
  function meanWritten(one: SeriesId, fromMs: number, toMs: number): number | undefined {
    const present = [...(written.get(seriesKey(one)) ?? new Map<number, number>())].filter(([timeMs]) => timeMs >= fromMs && timeMs < toMs).map(([, value]) => value);
    return present.length === 0 ? undefined : present.reduce((sum, value) => sum + value, 0) / present.length;
  }

  /** Every raw average of every series at `slotMs` against the mean of its points in [slot + 10 min − window, slot + 10 min). */
  function expectWindowMeans(histories: Map<string, SeriesHistory>, slotMs: number, averaged: (one: SeriesId) => boolean = (one) => AVERAGED.has(one.jobStatus)): void {
    let compared = 0;
    let empty = 0;
    for (const one of series) {
      const history = histories.get(seriesKey(one));
      if (!averaged(one)) {
        expect({ series: seriesKey(one), history }).toEqual({ series: seriesKey(one), history: undefined });
        continue;
      }
      for (const [index, [name, durationMs]] of RAW_WINDOWS.entries()) {
        const expected = meanWritten(one, slotMs + SLOT_MS - durationMs, slotMs + SLOT_MS);
        const combined = history?.averages[index];
        if (expected === undefined) {
          expect({ series: seriesKey(one), window: name, average: combined === undefined || Number.isNaN(combined) }).toEqual({ series: seriesKey(one), window: name, average: true });
          empty++;
        } else {
          expect({ series: seriesKey(one), window: name, average: combined }).toEqual({ series: seriesKey(one), window: name, average: expect.closeTo(expected, 6) });
          compared++;
        }
      }
    }
    // The history really has both: windows with data and windows without.
    expect(compared).toBeGreaterThan(40);
    expect(empty).toBeGreaterThan(0);
  }

  /** `averageStates` null: every status (average_states = *). */
  function historyAt(slotMs: number, client: InfluxClient, stateDir?: string, averageStates: Set<string> | null = AVERAGED): Promise<Map<string, SeriesHistory>> {
    return readHistory([], {
      ...OPTIONS,
      client,
      database: DATABASE,
      slotMs,
      terminalStates: TERMINAL,
      averageStates: averageStates ?? undefined,
      selected: () => true,
      forgetAfterMs: DAY,
      log: new MemoryLogger('panda-derived'),
      state: stateDir === undefined ? undefined : derivedStateIn(stateDir),
    });
  }

  const rawStatements = (client: RecordingInfluxClient): string[] => client.statements.filter((text) => text.includes('"raw".'));

  // On the hour, between hours, at midnight and 10 minutes either side of it (the missed slot in every window), further back.
  test.each([0, 10, 50, 110, 120, 140, 370])('slot %d minutes before the end of the history: a first run, then once the slot store holds a day', async (minutesBefore) => {
    const slotMs = HISTORY_END - minutesBefore * MINUTE;
    const stateDir = testDir('raw-slots');
    // A first run: the store holds the last hour (1h window); the other windows come from mean().
    const first = new RecordingInfluxClient(influx.url);
    const firstSlotMs = slotMs - RUNS_TO_FILL * SLOT_MS;
    expectWindowMeans(await historyAt(firstSlotMs, first, stateDir), firstSlotMs);
    const firstRaw = rawStatements(first);
    expect(firstRaw.filter((text) => text.startsWith('SELECT mean('))).toHaveLength(6); // 6h, 12h, 24h; two measurements
    expect(firstRaw.filter((text) => !text.startsWith('SELECT mean('))).toHaveLength(2); // the slots, without GROUP BY
    // Every query names the averaged statuses of its measurement, and no other.
    for (const text of firstRaw) expect(text).toContain(STATUS_CONDITION[text.includes(`"${PANDA_JOBS_TERMINAL.type}"`) ? PANDA_JOBS_TERMINAL.type : PANDA_JOBS.type]);
    // Each later run reads an hour more of the past, until the store holds all 24 hours.
    for (let run = RUNS_TO_FILL - 1; run > 0; run--) await historyAt(slotMs - run * SLOT_MS, influx.client, stateDir);
    const steady = new RecordingInfluxClient(influx.url);
    expectWindowMeans(await historyAt(slotMs, steady, stateDir), slotMs);
    // Held whole: no mean() of a raw window, only the last hour's points again, up to the slot itself; and back
    // to the missed slot while it is within the last 6 hours (its points may still come, from a replayed spool).
    const endMs = slotMs + SLOT_MS;
    const fromMs = MISSED >= endMs - 6 * HOUR && MISSED < endMs - HOUR ? MISSED : endMs - HOUR;
    expect(rawStatements(steady)).toEqual([PANDA_JOBS.type, PANDA_JOBS_TERMINAL.type].map((measurement) => slotStatement(DATABASE, measurement, [fromMs, endMs], STATUS_CONDITION[measurement])));
  });

  test('average_states = * (every status): every series has its averages, and no query names a status', async () => {
    const slotMs = HISTORY_END - 120 * MINUTE;
    const client = new RecordingInfluxClient(influx.url);
    expectWindowMeans(await historyAt(slotMs, client, undefined, null), slotMs, () => true);
    expect(client.statements.filter((text) => text.includes('"job_status" =~'))).toEqual([]);
  });

  test("the status condition is answered from InfluxDB's index: EXPLAIN counts only the averaged statuses' series", async () => {
    const range: [number, number] = [HISTORY_END - DAY, HISTORY_END + SLOT_MS];
    const seriesCount = async (statement: string): Promise<number> => {
      const [result = []] = await influx.client.query(`EXPLAIN ${statement}`);
      const line = (result[0]?.values ?? []).map((row) => String(row[0])).find((text) => text.startsWith('NUMBER OF SERIES: '));
      return Number(line?.slice('NUMBER OF SERIES: '.length));
    };
    // jobs_terminal holds finished and failed, 6 series each; only finished is averaged.
    const terminal = series.filter((one) => TERMINAL.has(one.jobStatus));
    expect(await seriesCount(slotStatement(DATABASE, PANDA_JOBS_TERMINAL.type, range))).toBe(terminal.length);
    expect(await seriesCount(slotStatement(DATABASE, PANDA_JOBS_TERMINAL.type, range, STATUS_CONDITION[PANDA_JOBS_TERMINAL.type]))).toBe(terminal.filter((one) => AVERAGED.has(one.jobStatus)).length);
  });

  test("a point that comes late, within the last hour, is in the next run's averages (runs after the first read the hour again)", async () => {
    const stateDir = testDir('raw-slots');
    const slotMs = HISTORY_END + SLOT_MS;
    await historyAt(slotMs, influx.client, stateDir);
    // A replayed spool: points of 20 minutes before the slot, one new, one replacing a value.
    const lateMs = slotMs - 20 * MINUTE;
    const lines = series.slice(0, 2).map((one) => {
      written.get(seriesKey(one))!.set(lateMs, 123_456_789);
      return pointOf(one).intField('jobs', 123_456_789).timestamp(lateMs).toLineProtocol({ convertTime: (time) => String(time) }) ?? '';
    });
    await influx.client.write(DATABASE, lines.join('\n'), { retentionPolicy: 'raw', precision: 'ms' });
    const next = await historyAt(slotMs + SLOT_MS, influx.client, stateDir);
    expect(next.get(seriesKey(series[0]))?.averages[0]).toBeGreaterThan(123_456_789 / 6 - 1);
    expectWindowMeans(next, slotMs + SLOT_MS);
  });
});
