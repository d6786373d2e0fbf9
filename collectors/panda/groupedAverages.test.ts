import { Point } from '@influxdata/influxdb-client';
import { RecordingInfluxClient } from '../../test/support/recordingInfluxClient';
import { databaseFor } from '../../lib/interpret';
import { MemoryLogger } from '../../lib/log';
import { startInfluxDB, type TestInfluxDB } from '../../test/support/services';
import { averageStatement, planWindows, readHistory } from './derived';
import { seriesKey, type SeriesId } from './documents';
import { TYPES } from './names';
import { randomGenerator } from '../../test/support/random';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const DATABASE = databaseFor('panda');
const TERMINAL = new Set(['finished', 'failed']);
const HISTORY_END = Date.UTC(2026, 10, 22, 12, 0);

describe('the grouped raw averages equal a direct mean() of each series and window', () => {
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
      const point = new Point(TERMINAL.has(one.jobStatus) ? TYPES.jobsTerminal : TYPES.jobs)
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

  // On the hour, between hours, and further back.
  test.each([0, 10, 50, 130, 370])('slot %d minutes before the end of the history', async (minutesBefore) => {
    const slotMs = HISTORY_END - minutesBefore * MINUTE;
    const options = { useRawUpToMs: DAY, use1hUpToMs: 7 * DAY };
    const counting = new RecordingInfluxClient(influx.url);
    const client = influx.client;
    const histories = await readHistory([], {
      ...options,
      client: counting,
      database: DATABASE,
      slotMs,
      terminalStates: TERMINAL,
      selected: () => true,
      forgetAfterMs: DAY,
      log: new MemoryLogger('panda'),
    });
    const plans = planWindows(options);
    const rawPlans = [...plans.entries()].filter(([, plan]) => plan.retentionPolicy === 'raw');
    expect(rawPlans.map(([, plan]) => plan.window.name)).toEqual(['1h', '6h', '12h', '24h']);
    expect(counting.statements.filter((text) => text.includes('"raw".'))).toHaveLength(8); // one per window and measurement, whatever the series

    let compared = 0;
    let empty = 0;
    for (const one of series) {
      const measurement = TERMINAL.has(one.jobStatus) ? TYPES.jobsTerminal : TYPES.jobs;
      const condition = `"queue" = '${one.queue}' AND "resource" = '${one.resource}' AND "job_status" = '${one.jobStatus}'`;
      for (const [index, plan] of rawPlans) {
        const [result = []] = await client.query(averageStatement(DATABASE, measurement, plan, slotMs, condition));
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
  });
});
