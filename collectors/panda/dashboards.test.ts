/**
 * The numbers the PanDA dashboards show, on a real InfluxDB holding a few known points: each panel's
 * query as Grafana would run it (variables at "All", the last 6 hours), compared with sums and ratios
 * worked out here from the same points.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeRetentionsMeasurement } from '../../downsample/retentions';
import type { Dashboard, Panel } from '../../dashboards/grafana';
import { DASHBOARDS_JSON_DIR } from '../../dashboards/provisioning';
import type { Series } from '../../lib/influx/influxdb';
import { TEN_MINUTES_MS } from '../../lib/run/slot';
import { TEST_DURATIONS } from '../../test/support/dashboards/syntheticData';
import { allPanels, interpolate, panelRange, relativeRange, resolveVariables } from '../../test/support/dashboards/verify';
import { startInfluxDB, type TestInfluxDB } from '../../test/support/services';

const DATABASE = 'monit_production_panda';
const now = Date.now();
const newest = Math.floor(now / TEN_MINUTES_MS) * TEN_MINUTES_MS - TEN_MINUTES_MS;
const older = newest - TEN_MINUTES_MS;

interface Point {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number | boolean | string>;
  timeMs: number;
}

/** Integers as the schemas have them (jobs, cores); the rest float, bool or string. */
const INTEGER_FIELDS = new Set(['jobs', 'cores', 'running_jobs', 'running_cores', 'queues', 'current', 'files', 'suspicious_queues']);

function lineOf(point: Point): string {
  const tags = Object.entries(point.tags).map(([key, value]) => `,${key}=${value}`).join('');
  const fields = Object.entries(point.fields)
    .map(([key, value]) => {
      if (typeof value === 'string') return `${key}="${value}"`;
      if (typeof value === 'boolean') return `${key}=${value}`;
      return INTEGER_FIELDS.has(key) ? `${key}=${value}i` : `${key}=${value}`;
    })
    .join(',');
  return `${point.measurement}${tags} ${fields} ${point.timeMs}`;
}

// A pledge known for A and B, not for C (its documents carry no cpu_pledge_hs06).
const federations: Point[] = [
  { measurement: 'federations', tags: { federation: 'A' }, fields: { cpu_pledge_hs06: 1000, running_hs06: 200, running_cores: 20, queues: 2 }, timeMs: older },
  { measurement: 'federations', tags: { federation: 'A' }, fields: { cpu_pledge_hs06: 1000, running_hs06: 300, running_cores: 30, queues: 2 }, timeMs: newest },
  { measurement: 'federations', tags: { federation: 'B' }, fields: { cpu_pledge_hs06: 500, running_hs06: 400, running_cores: 40, queues: 1 }, timeMs: older },
  { measurement: 'federations', tags: { federation: 'B' }, fields: { cpu_pledge_hs06: 500, running_hs06: 450, running_cores: 45, queues: 1 }, timeMs: newest },
  { measurement: 'federations', tags: { federation: 'C' }, fields: { running_hs06: 900, running_cores: 90, queues: 3 }, timeMs: older },
  { measurement: 'federations', tags: { federation: 'C' }, fields: { running_hs06: 999, running_cores: 99, queues: 3 }, timeMs: newest },
];

function job(queue: string, cloud: string, status: string, jobs: number, coresPerJob: number, corepower: number, timeMs = newest): Point {
  return { measurement: 'jobs', tags: { queue, cloud, job_status: status, prod_source: 'managed', resource: coresPerJob > 1 ? 'MCORE' : 'SCORE' }, fields: { jobs, cores: jobs * coresPerJob, hs06: jobs * coresPerJob * corepower }, timeMs };
}

const jobs: Point[] = [
  job('Q1', 'DE', 'running', 8, 8, 10, older),
  job('Q1', 'DE', 'running', 10, 8, 10),
  job('Q2', 'DE', 'running', 5, 1, 12),
  job('Q3', 'FR', 'running', 2, 8, 6.25),
  job('Q1', 'DE', 'activated', 7, 8, 10),
  job('Q2', 'DE', 'assigned', 3, 1, 12),
  job('Q1', 'DE', 'defined', 1, 8, 10),
  // Holding (stage-out after running) is neither running nor queued.
  job('Q3', 'FR', 'holding', 4, 8, 6.25),
];

function queueSignal(queue: string, timeMs: number, suspicious: boolean, current: number, average: number): Point {
  const factor = 3;
  const lower = average / factor;
  const upper = average * factor;
  const outside = current < lower ? lower - current : current > upper ? current - upper : 0;
  return { measurement: 'queues_derived', tags: { queue, site: `site-${queue}`, cloud: 'DE', tier: 'T2D', country: 'Germany' }, fields: { current, average, lower, upper, outside_band: outside, suspicious, reason: suspicious ? `${queue} left its band` : '' }, timeMs };
}

const queueSignals: Point[] = [
  queueSignal('Q1', older, true, 10, 60), // 10 below 20: 10 outside
  queueSignal('Q1', newest, true, 2, 42), // 2 below 14: 12 outside
  queueSignal('Q2', older, true, 0, 90), // 0 below 30: 30 outside
  queueSignal('Q2', newest, false, 50, 90), // back inside
  queueSignal('Q3', newest, false, 100, 100),
];

const datadisks: Point[] = [
  { measurement: 'datadisks', tags: { datadisk: 'D1_DATADISK', site: 'S1', cloud: 'DE' }, fields: { running_jobs: 60, running_cores: 60, queues: 2, bytes: 2e15, files: 1000, running_share: 60, bytes_share: 20, placement_age: 600 }, timeMs: newest },
  { measurement: 'datadisks', tags: { datadisk: 'D2_DATADISK', site: 'S2', cloud: 'FR' }, fields: { running_jobs: 40, running_cores: 80, queues: 1, bytes: 8e15, files: 3000, running_share: 40, bytes_share: 80, placement_age: 600 }, timeMs: newest },
];

const ALL_POINTS = [...federations, ...jobs, ...queueSignals, ...datadisks];

function dashboard(uid: string): Dashboard {
  return JSON.parse(readFileSync(path.join(DASHBOARDS_JSON_DIR, `${uid}.json`), 'utf8')) as Dashboard;
}

function panelOf(board: Dashboard, title: string): Panel {
  const panel = allPanels(board.panels).find((one) => one.title === title);
  if (!panel?.targets) throw new Error(`${board.uid} has no panel "${title}"`);
  return panel;
}

/** A time column (InfluxClient asks for epoch milliseconds). */
function timeOf(value: unknown): number {
  return Number(value);
}

/** Rows of a table as objects: tags and columns. */
function rows(series: Series[]): Array<Record<string, unknown>> {
  return series.flatMap((one) => one.values.map((values) => ({ ...one.tags, ...Object.fromEntries(one.columns.map((column, index) => [column, values[index]])) })));
}

/** As Grafana sorts a table by its sortBy option. */
function sortedAsShown(panel: Panel, table: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const [sort] = (panel.options?.sortBy ?? []) as Array<{ displayName: string; desc: boolean }>;
  if (!sort) return table;
  return [...table].sort((a, b) => (Number(a[sort.displayName]) - Number(b[sort.displayName])) * (sort.desc ? -1 : 1));
}

describe('the PanDA dashboards on known points', () => {
  let influx: TestInfluxDB;
  const range = relativeRange('6h', now);

  /** Every target of the panel, run as Grafana would: one list of series per target. */
  async function runPanel(uid: string, title: string): Promise<{ panel: Panel; results: Series[][] }> {
    const board = dashboard(uid);
    const panel = panelOf(board, title);
    const { values } = await resolveVariables(board, influx.client, range, ['monit-influxdb']);
    const results: Series[][] = [];
    for (const target of panel.targets ?? []) {
      const [series = []] = await influx.client.query(interpolate(target.query, values, panelRange(panel, range)));
      results.push(series);
    }
    return { panel, results };
  }

  beforeAll(async () => {
    influx = await startInfluxDB();
    await writeRetentionsMeasurement(influx.client);
    await influx.client.ensureDatabase(DATABASE, TEST_DURATIONS);
    await influx.client.write(DATABASE, ALL_POINTS.map(lineOf).join('\n'), { retentionPolicy: 'raw', precision: 'ms' });
  }, 120_000);

  afterAll(async () => {
    await influx?.stop();
  });

  test('pledged vs delivered HS06: only federations with a known pledge, each point as written', async () => {
    const { results } = await runPanel('monit-panda', 'Pledged vs delivered HS06 per federation');
    const pledged = federations.filter((point) => point.fields.cpu_pledge_hs06 !== undefined);
    const expect_ = (field: string): Array<[string, number, number]> => pledged.map((point) => [point.tags.federation, point.timeMs, Number(point.fields[field])]);
    const got = (series: Series[]): Array<[string, number, number]> => series.flatMap((one) => one.values.map((row): [string, number, number] => [one.tags?.federation ?? '', timeOf(row[0]), Number(row[1])]));
    expect(got(results[0])).toEqual(expect.arrayContaining(expect_('cpu_pledge_hs06')));
    expect(got(results[0])).toHaveLength(pledged.length);
    expect(got(results[1])).toEqual(expect.arrayContaining(expect_('running_hs06')));
    expect(got(results[1])).toHaveLength(pledged.length);
  });

  test('the delivered share of the pledge is the newest delivered HS06 over the pledge, lowest first', async () => {
    const { panel, results } = await runPanel('monit-panda', 'Delivered share of the pledge per federation');
    const shown = sortedAsShown(panel, rows(results[0]));
    // A: 300 of 1000, B: 450 of 500; C has no pledge.
    expect(shown.map((row) => [row.federation, row.pledged_hs06, row.delivered_hs06, row.delivered_percent])).toEqual([
      ['A', 1000, 300, (300 / 1000) * 100],
      ['B', 500, 450, (450 / 500) * 100],
    ]);
  });

  test('running vs queued jobs: running states only, and the states before running without holding', async () => {
    const { results } = await runPanel('monit-panda-jobs', 'Running vs queued jobs');
    const at = (series: Series[], timeMs: number): number | undefined => {
      const row = series.flatMap((one) => one.values).find((values) => timeOf(values[0]) === timeMs);
      return row === undefined ? undefined : Number(row[1]);
    };
    const total = (statuses: string[], timeMs: number): number => jobs.filter((point) => statuses.includes(point.tags.job_status) && point.timeMs === timeMs).reduce((sum, point) => sum + Number(point.fields.jobs), 0);
    expect(at(results[0], newest)).toBe(total(['running'], newest));
    expect(at(results[0], older)).toBe(8);
    // PanDA's states before a pilot runs a job; holding comes after running.
    expect(at(results[1], newest)).toBe(total(['defined', 'assigned', 'activated'], newest));
    expect(at(results[1], newest)).not.toBe(total(['defined', 'assigned', 'activated', 'holding'], newest));
  });

  test('running HS06 and cores per cloud add up the running series of the cloud', async () => {
    for (const [title, field] of [
      ['Running HS06 per cloud', 'hs06'],
      ['Running cores per cloud', 'cores'],
    ] as const) {
      const { results } = await runPanel(title === 'Running HS06 per cloud' ? 'monit-panda-jobs' : 'monit-panda', title);
      const newestPerCloud = Object.fromEntries(results[0].map((one) => [one.tags?.cloud, Number(one.values.find((values) => timeOf(values[0]) === newest)?.[1])]));
      const expected: Record<string, number> = {};
      for (const point of jobs) if (point.tags.job_status === 'running' && point.timeMs === newest) expected[point.tags.cloud] = (expected[point.tags.cloud] ?? 0) + Number(point.fields[field]);
      expect({ title, values: newestPerCloud }).toEqual({ title, values: expected });
    }
    // 10 x 8 x 10 + 5 x 1 x 12 in DE, 2 x 8 x 6.25 in FR.
    expect(jobs.filter((point) => point.timeMs === newest && point.tags.job_status === 'running').map((point) => point.fields.hs06)).toEqual([800, 60, 100]);
  });

  test('suspicious queues are ranked by how far their newest flagged point left the band, with current, average and band', async () => {
    const { panel, results } = await runPanel('monit-panda-suspicious', 'Suspicious queues, furthest outside their band first');
    const shown = sortedAsShown(panel, rows(results[0]));
    expect(shown.map((row) => [row.queue, row.outside_band, row.current, row.average, row.lower, row.upper])).toEqual([
      ['Q2', 30, 0, 90, 30, 270],
      ['Q1', 12, 2, 42, 14, 126],
    ]);
  });

  test('the DAOD table sets the running share against the bytes share, largest running share first', async () => {
    const { panel, results } = await runPanel('monit-panda-daod', 'DATADISKs: running analysis against placed data');
    const shown = sortedAsShown(panel, rows(results[0]));
    expect(shown.map((row) => [row.datadisk, row.running_share, row.bytes_share, row.running_per_bytes_share, row.bytes])).toEqual([
      ['D1_DATADISK', 60, 20, (60 / 20) * 100, 2e15],
      ['D2_DATADISK', 40, 80, (40 / 80) * 100, 8e15],
    ]);
  });
});
