import { Point } from '@influxdata/influxdb-client';
import { RecordingInfluxClient } from '../../test/support/recordingInfluxClient';
import { databaseFor } from '../../lib/documents/interpret';
import { MemoryLogger } from '../../lib/run/log';
import type { InfluxClient } from '../../lib/influx/influxdb';
import { startInfluxDB, testDir, type TestInfluxDB } from '../../test/support/services';
import { averageStatement, derivedStateIn, planWindows, readHistory, type SeriesHistory, slotStatement } from './derived';
import { seriesKey, type SeriesId } from './documents';
import { PANDA_JOBS, PANDA_JOBS_TERMINAL } from '../../schemas/kinds';
import { randomGenerator } from '../../test/support/random';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const DATABASE = databaseFor('panda');
const TERMINAL = new Set(['finished', 'failed']);
const HISTORY_END = Date.UTC(2026, 10, 22, 12, 0);
const OPTIONS = { useRawUpToMs: DAY, use1hUpToMs: 7 * DAY };
/** Runs until the slot store holds 24 hours: each reads an hour more of the past (and the slot advances). */
const RUNS_TO_FILL = 26;

describe('the raw averages (grouped mean() or the slot store) equal a direct mean() of each series and window', () => {
  let influx: TestInfluxDB;
  const series: SeriesId[] = [];

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
    // stretch), so some windows are empty, some blocks partial; values are large enough to need exact sums.
    for (const [number, one] of series.entries()) {
      const missing = number % 5 === 4 ? 0.97 : (number % 4) * 0.25;
      const point = new Point(TERMINAL.has(one.jobStatus) ? PANDA_JOBS_TERMINAL.type : PANDA_JOBS.type)
        .tag('queue', one.queue)
        .tag('prod_source', one.prodSource)
        .tag('resource', one.resource)
        .tag('job_status', one.jobStatus);
      for (let slot = 0; slot <= 26 * 6; slot++) {
        const stretchGap = number % 3 === 0 && slot >= 40 && slot < 80; // hours 6:40 to 13:20 before the end
        if (stretchGap || random() < missing) continue;
        point.intField('jobs', Math.floor(random() * 1e7)).timestamp(HISTORY_END - slot * 10 * MINUTE);
        lines.push(point.toLineProtocol({ convertTime: (time) => String(time) }) ?? '');
      }
    }
    await influx.client.write(DATABASE, lines.join('\n'), { retentionPolicy: 'raw', precision: 'ms' });
  });
  afterAll(async () => {
    await influx?.stop();
  });

  /** Every raw average of every series at `slotMs` against a direct mean() of that series and window. */
  async function expectDirectMeans(histories: Map<string, SeriesHistory>, slotMs: number): Promise<void> {
    const rawPlans = [...planWindows(OPTIONS).entries()].filter(([, plan]) => plan.retentionPolicy === 'raw');
    expect(rawPlans.map(([, plan]) => plan.window.name)).toEqual(['1h', '6h', '12h', '24h']);
    let compared = 0;
    let empty = 0;
    for (const one of series) {
      const measurement = TERMINAL.has(one.jobStatus) ? PANDA_JOBS_TERMINAL.type : PANDA_JOBS.type;
      const condition = `"queue" = '${one.queue}' AND "resource" = '${one.resource}' AND "job_status" = '${one.jobStatus}'`;
      for (const [index, plan] of rawPlans) {
        const [result = []] = await influx.client.query(averageStatement(DATABASE, measurement, plan, slotMs, condition));
        const direct = result[0]?.values[0]?.[1];
        const combined = histories.get(seriesKey(one))?.averages[index];
        if (typeof direct === 'number') {
          expect({ series: seriesKey(one), window: plan.window.name, average: combined }).toEqual({ series: seriesKey(one), window: plan.window.name, average: direct });
          compared++;
        } else {
          expect(combined === undefined || Number.isNaN(combined)).toBe(true);
          empty++;
        }
      }
    }
    // The history really has both: windows with data and windows without.
    expect(compared).toBeGreaterThan(50);
    expect(empty).toBeGreaterThan(0);
  }

  function historyAt(slotMs: number, client: InfluxClient, stateDir?: string): Promise<Map<string, SeriesHistory>> {
    return readHistory([], { ...OPTIONS, client, database: DATABASE, slotMs, terminalStates: TERMINAL, selected: () => true, forgetAfterMs: DAY, log: new MemoryLogger('panda-derived'), state: stateDir === undefined ? undefined : derivedStateIn(stateDir) });
  }

  const rawStatements = (client: RecordingInfluxClient): string[] => client.statements.filter((text) => text.includes('"raw".'));

  // On the hour, between hours, and further back.
  test.each([0, 10, 50, 130, 370])('slot %d minutes before the end of the history: a first run, then once the slot store holds a day', async (minutesBefore) => {
    const slotMs = HISTORY_END - minutesBefore * MINUTE;
    const stateDir = testDir('raw-slots');
    // A first run: the store holds the last hour (1h window); the other windows come from mean().
    const first = new RecordingInfluxClient(influx.url);
    await expectDirectMeans(await historyAt(slotMs - RUNS_TO_FILL * 10 * MINUTE, first, stateDir), slotMs - RUNS_TO_FILL * 10 * MINUTE);
    const firstRaw = rawStatements(first);
    expect(firstRaw.filter((text) => text.startsWith('SELECT mean('))).toHaveLength(6); // 6h, 12h, 24h; two measurements
    expect(firstRaw.filter((text) => !text.startsWith('SELECT mean('))).toHaveLength(2); // the slots, without GROUP BY
    // Each later run reads an hour more of the past, until the store holds all 24 hours.
    for (let run = RUNS_TO_FILL - 1; run > 0; run--) await historyAt(slotMs - run * 10 * MINUTE, influx.client, stateDir);
    const steady = new RecordingInfluxClient(influx.url);
    await expectDirectMeans(await historyAt(slotMs, steady, stateDir), slotMs);
    // Held whole: no mean() of a raw window, only the last hour's points again, whatever the number of series.
    expect(rawStatements(steady)).toEqual([PANDA_JOBS.type, PANDA_JOBS_TERMINAL.type].map((measurement) => slotStatement(DATABASE, measurement, [slotMs - HOUR, slotMs])));
  });

  test('a point that comes late, within the last hour, is in the next run\'s averages (runs after the first read the hour again)', async () => {
    const stateDir = testDir('raw-slots');
    const slotMs = HISTORY_END + 10 * MINUTE;
    await historyAt(slotMs, influx.client, stateDir);
    // A replayed spool: points of 20 minutes before the slot, one new, one replacing a value.
    const lines = series.slice(0, 2).map((one) => {
      const point = new Point(TERMINAL.has(one.jobStatus) ? PANDA_JOBS_TERMINAL.type : PANDA_JOBS.type);
      for (const [tag, value] of Object.entries({ queue: one.queue, prod_source: one.prodSource, resource: one.resource, job_status: one.jobStatus })) point.tag(tag, value);
      return point.intField('jobs', 123_456_789).timestamp(slotMs - 20 * MINUTE).toLineProtocol({ convertTime: (time) => String(time) }) ?? '';
    });
    await influx.client.write(DATABASE, lines.join('\n'), { retentionPolicy: 'raw', precision: 'ms' });
    const next = await historyAt(slotMs + 10 * MINUTE, influx.client, stateDir);
    expect(next.get(seriesKey(series[0]))?.averages[0]).toBeGreaterThan(123_456_789 / 6 - 1);
    await expectDirectMeans(next, slotMs + 10 * MINUTE);
  });
});
