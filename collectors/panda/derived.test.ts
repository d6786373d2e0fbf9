import { Point } from '@influxdata/influxdb-client';
import { RecordingInfluxClient } from '../../test/support/recordingInfluxClient';
import { InfluxClient } from '../../lib/influx/influxdb';
import { anyOfRegex } from '../../lib/influx/influxql';
import { databaseFor } from '../../lib/documents/interpret';
import type { MonitDocument } from '../../lib/documents/types';
import type { TestContext } from '../../test/support/collectorContext';
import { useInfluxAndGateway } from '../../test/support/fixtures';
import { PANDA_JOBS, PANDA_JOBS_DERIVED, PANDA_JOBS_TERMINAL } from '../../schemas/kinds';
import { FixtureServer } from './test/fixtureServer';
import { descriptionKeys, serveDescriptions } from './test/sources';
import { PandaInstallation } from './test/jobs';
import { renewalGroupOf } from './averageCache';
import { planWindows, QUEUES_PER_QUERY, RENEWAL_GROUPS, queueParts, slotStatement, windowRange, type WindowPlan } from './derived';
import { judge } from './suspicious';

/** The document types, as the assertions name them. */
const TYPES = { jobs: PANDA_JOBS.type, jobsTerminal: PANDA_JOBS_TERMINAL.type, derived: PANDA_JOBS_DERIVED.type };

const SLOT = Date.UTC(2026, 10, 22, 10, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Midnight before SLOT: downsample-1d writes each day's point at its midnight. */
const TODAY = Date.UTC(2026, 10, 22);
const DATABASE = databaseFor('panda');

/** What PanDA answers now: QMonit's averaged statuses (running, failed) and two others (finished, defined). */
const CURRENT = {
  AGLT2_HOSPITAL: {
    managed: { SCORE: { running: 30, failed: 12, finished: 13, defined: 4 }, MCORE: { running: 1 } },
    user: { SCORE: { running: 500 } },
  },
};

/** The queues PanDA lists now. */
const QUEUES_LISTED = Object.keys(CURRENT);

const AGLT2 = { queue: 'AGLT2_HOSPITAL', site: 'AGLT2', cloud: 'US', country: 'USA', tier: 'T2D' };
const SLAC = { queue: 'SLAC_ES', site: 'WT2', cloud: 'US', country: 'USA', tier: 'T3D' };

type Tags = Record<string, string>;
const series = (queue: Tags, prodSource: string, resource: string, jobStatus: string): Tags => ({ ...queue, prod_source: prodSource, resource, job_status: jobStatus });
const RUNNING = series(AGLT2, 'managed', 'SCORE', 'running');
const FAILED = series(AGLT2, 'managed', 'SCORE', 'failed');
const FINISHED = series(AGLT2, 'managed', 'SCORE', 'finished');
const USER_RUNNING = series(AGLT2, 'user', 'SCORE', 'running');
const SMALL = series(AGLT2, 'managed', 'MCORE', 'running');
const GONE = series(SLAC, 'managed', 'MCORE', 'running');
const OLD = series({ ...AGLT2, queue: 'OLD_QUEUE' }, 'managed', 'SCORE', 'running');

interface HistoryPoint {
  retentionPolicy: 'raw' | '1h' | '1d';
  measurement: string;
  tags: Tags;
  value: number;
  timeMs: number;
}

/**
 * The prepared history, with gaps. k counts 10-minute slots, h hours and d days before the slot (k = 0, the
 * slot itself, is what panda sends now); the run of k = 2 was missed: no series has a point there.
 */
function history(): HistoryPoint[] {
  const points: HistoryPoint[] = [];
  const raw = (tags: Tags, k: number, value: number, measurement: string = TYPES.jobs): void => {
    points.push({ retentionPolicy: 'raw', measurement, tags, value, timeMs: SLOT - k * 10 * MINUTE });
  };
  const hourly = (tags: Tags, h: number, value: number, measurement: string = TYPES.jobs): void => {
    points.push({ retentionPolicy: '1h', measurement, tags, value, timeMs: SLOT - h * HOUR });
  };
  const daily = (tags: Tags, d: number, value: number, measurement: string = TYPES.jobs): void => {
    points.push({ retentionPolicy: '1d', measurement, tags, value, timeMs: TODAY - d * DAY });
  };
  // RUNNING, raw: 10 to 30 minutes ago missing (k = 2 the missed run); 6h–12h ago the collector was down.
  raw(RUNNING, 4, 120);
  raw(RUNNING, 5, 110);
  raw(RUNNING, 6, 100); // an hour ago: outside the 1h window, which ends with the current point
  for (let k = 7; k <= 36; k++) raw(RUNNING, k, 200);
  for (let k = 73; k <= 144; k++) raw(RUNNING, k, 50); // k = 144, 24h ago: outside the 24h window
  raw(RUNNING, 150, 9999); // 25h ago: outside every raw window
  // RUNNING, hourly means over 7 days with a day missing (read with use_1h_up_to = 7d only).
  hourly(RUNNING, 1, 5000); // 09:00–10:00, downsampled at 10:15: not in a 10:00 window
  for (let h = 2; h <= 169; h++) if (h < 49 || h > 72) hourly(RUNNING, h, h <= 24 ? 100 : 300);
  hourly(RUNNING, 170, 9999);
  // RUNNING, daily means over 30 days with 10 days missing; its metadata was different then (still the same series).
  for (let d = 1; d <= 30; d++) if (d <= 10 || d > 20) daily({ ...RUNNING, tier: 'T2' }, d, d <= 10 ? 400 : 100);
  daily(RUNNING, 31, 9999);
  // FAILED: 12 jobs per 10-minute slot, so 72 per hour and 1728 per day in the summed retention policies.
  for (let k = 1; k <= 6; k++) if (k !== 2) raw(FAILED, k, 12, TYPES.jobsTerminal);
  for (let h = 1; h <= 170; h++) if (h < 100 || h > 110) hourly(FAILED, h, 72, TYPES.jobsTerminal);
  for (let d = 1; d <= 30; d++) daily(FAILED, d, 1728, TYPES.jobsTerminal);
  // FINISHED is not an averaged status: its history is never read.
  for (let k = 1; k <= 6; k++) if (k !== 2) raw(FINISHED, k, 12, TYPES.jobsTerminal);
  for (let k = 1; k <= 6; k++) if (k !== 2) raw(USER_RUNNING, k, 10);
  for (let k = 1; k <= 6; k++) if (k !== 2) raw(SMALL, k, 6);
  raw(GONE, 3, 40);
  raw(GONE, 4, 40);
  daily(OLD, 3, 80);
  return points;
}

async function writeHistory(client: InfluxClient): Promise<void> {
  await client.ensureDatabase(DATABASE, { raw: 'INF', '1h': 'INF', '1d': 'INF' });
  const byRetentionPolicy = new Map<string, string[]>();
  for (const point of history()) {
    const protocol = new Point(point.measurement);
    for (const [key, value] of Object.entries(point.tags)) protocol.tag(key, value);
    // Raw job counts are integers; downsampled means are floats.
    if (point.retentionPolicy === 'raw') protocol.intField('jobs', point.value);
    else protocol.floatField('jobs', point.value);
    protocol.timestamp(point.timeMs);
    const lines = byRetentionPolicy.get(point.retentionPolicy) ?? [];
    lines.push(protocol.toLineProtocol({ convertTime: (time) => String(time) }) ?? '');
    byRetentionPolicy.set(point.retentionPolicy, lines);
  }
  for (const [retentionPolicy, lines] of byRetentionPolicy) {
    await client.write(DATABASE, lines.join('\n'), { retentionPolicy, precision: 'ms' });
  }
}

const servers = useInfluxAndGateway();
let server: FixtureServer;
let derived: Map<string, MonitDocument>;
let client: RecordingInfluxClient;
let installation: PandaInstallation;

/** Counts the history queries of a panda-derived run (those with [panda] history_timeout), not its look at panda's slot. */
function recordHistory(context: TestContext, counting: InfluxClient): void {
  context.influxdb = (overrides) => (overrides?.timeoutMs === undefined ? new InfluxClient(servers.influx.url) : counting);
}

/** panda, then panda-derived, for the slot (one installation, so the derived state goes on from run to run). */
async function collectDerived(slotMs: number, counting: RecordingInfluxClient): Promise<Map<string, MonitDocument>> {
  const { derived: documents, pandaContext, derivedContext } = await installation.bothJobs({ slotMs, prepare: (context) => recordHistory(context, counting) });
  expect([...pandaContext.problems, ...derivedContext.problems]).toEqual([]);
  return new Map(documents.filter((document) => document.type === TYPES.derived).map((document) => [`${document.queue}/${document.prod_source}/${document.resource}/${document.job_status}`, document]));
}

beforeAll(async () => {
  server = await FixtureServer.start();
  server.routes.set('/panda', { body: JSON.stringify(CURRENT) });
  server.routes.set('/cric', { body: JSON.stringify({ AGLT2_HOSPITAL: { atlas_site: 'AGLT2', cloud: 'US', country: 'USA', tier: 'T2D' }, SLAC_ES: { atlas_site: 'WT2', cloud: 'US', country: 'USA', tier: 'T3D' } }) });
  serveDescriptions(server);
  await writeHistory(servers.influx.client);
  client = new RecordingInfluxClient(servers.influx.url);
  installation = new PandaInstallation({ gatewayUrl: servers.gateway.url, influxUrl: servers.influx.url }, `[panda]\nurl = ${server.url}/panda\ncric_url = ${server.url}/cric\n${descriptionKeys(server.url, { placement: false })}`);
  derived = await collectDerived(SLOT, client);
});
afterAll(async () => {
  await server?.stop();
});

const key = (tags: Tags): string => `${tags.queue}/${tags.prod_source}/${tags.resource}/${tags.job_status}`;

describe('derived quantities on a prepared history in InfluxDB', () => {
  test('every series of an averaged status seen now or within 24h gets a document; older ones and other statuses do not', () => {
    expect([...derived.keys()].sort()).toEqual([RUNNING, FAILED, USER_RUNNING, SMALL, GONE].map(key).sort());
    expect(derived.has(key(OLD))).toBe(false);
    expect(derived.has(key(FINISHED))).toBe(false); // not one of average_states, although it has history
  });

  test('a gauge: averages over the slots with data, the current one included, from raw and daily points, gaps left out', () => {
    const document = derived.get(key(RUNNING))!;
    expect(document.current).toBe(30);
    // k = 0..5: 30 now, 120 and 110; the missed run and the missing slots are not zeros, the point an hour ago is out.
    expect(document.avg_1h).toBeCloseTo((30 + 120 + 110) / 3, 9);
    expect(document.avg_6h).toBeCloseTo((30 + 120 + 110 + 100 + 29 * 200) / 33, 9); // k = 0..35
    expect(document.avg_12h).toBeCloseTo((30 + 120 + 110 + 100 + 30 * 200) / 34, 9); // k = 0..71: nothing 6h–12h ago
    expect(document.avg_24h).toBeCloseTo((30 + 120 + 110 + 100 + 30 * 200 + 71 * 50) / 105, 9); // k = 0..143: 24h and 25h ago are out
    expect(document.avg_7d).toBeCloseTo(400, 9); // the daily points of the 7 days before today
    expect(document.avg_30d).toBeCloseTo((10 * 400 + 10 * 100) / 20, 9); // 30 days before today, 10 missing
    expect(document).toMatchObject({ site: 'AGLT2', tier: 'T2D' }); // today's metadata, although the 1d data said T2
  });

  test('a window count: summed daily points are brought back to an average per slot', () => {
    const document = derived.get(key(FAILED))!;
    expect(document.current).toBe(12);
    for (const field of ['avg_1h', 'avg_6h', 'avg_12h', 'avg_24h', 'avg_7d', 'avg_30d']) expect(document[field]).toBeCloseTo(12, 9);
    expect(document).toMatchObject({ suspicious: false, reason: '' });
  });

  test('suspicious flags: far below, far above, too small to matter, and gone', () => {
    expect(derived.get(key(RUNNING))).toMatchObject({
      suspicious: true,
      // Not below avg_1h (86.67 / 3 = 28.89): the current 30 is part of it.
      reason: '30 is below avg_24h 94.38 / 3; 30 is below avg_7d 400 / 3',
    });
    expect(derived.get(key(USER_RUNNING))).toMatchObject({
      current: 500,
      avg_1h: (500 + 4 * 10) / 5,
      avg_24h: expect.closeTo((500 + 5 * 10) / 6, 9),
      suspicious: true,
      reason: '500 is above 3 x avg_1h 108; 500 is above 3 x avg_24h 91.67',
    });
    expect(derived.get(key(USER_RUNNING))!.avg_7d).toBeUndefined(); // no daily data: the field is left out
    expect(derived.get(key(SMALL))).toMatchObject({ current: 1, avg_1h: (1 + 4 * 6) / 5, suspicious: false, reason: '' }); // 1 < 5 / 3, but only 4 jobs apart
    expect(derived.get(key(GONE))).toMatchObject({ ...GONE, current: 0, avg_1h: 40, suspicious: true, reason: '0 is below avg_1h 40 / 3; 0 is below avg_24h 40 / 3' });
  });

  test('use_1h_up_to = 7d (the former default) still works: avg_7d from the last whole hours downsampled by then', async () => {
    const hourly = new PandaInstallation({ gatewayUrl: servers.gateway.url, influxUrl: servers.influx.url }, `[panda]\nurl = ${server.url}/panda\ncric_url = ${server.url}/cric\nuse_1h_up_to = 7d\n`);
    const { derived: documents, derivedContext } = await hourly.bothJobs({ slotMs: SLOT });
    expect(derivedContext.problems).toEqual([]);
    const byKey = new Map(documents.map((document) => [`${document.queue}/${document.prod_source}/${document.resource}/${document.job_status}`, document]));
    // At 10:00 the 09:00 hour is not downsampled yet (10:15): hours 2..169 back, a day of them missing.
    expect(byKey.get(key(RUNNING))!.avg_7d).toBeCloseTo((23 * 100 + 121 * 300) / 144, 9);
    expect(byKey.get(key(FAILED))!.avg_7d).toBeCloseTo(12, 9); // 72 per hour
    expect(byKey.get(key(RUNNING))!.avg_30d).toBeCloseTo(250, 9);
  });

  test('a first run: grouped queries of the averaged statuses, never one per series, the costliest first', () => {
    const selects = client.statements.filter((text) => text.startsWith('SELECT'));
    // Only QMonit's averaged statuses are read: assigned, activated and running of jobs, failed of jobs_terminal.
    const statuses = { [TYPES.jobs]: `"job_status" =~ /^(?:activated|assigned|running)$/`, [TYPES.jobsTerminal]: `"job_status" =~ /^(?:failed)$/` };
    for (const text of selects) expect(text).toContain(statuses[text.includes(`"${TYPES.jobsTerminal}"`) ? TYPES.jobsTerminal : TYPES.jobs]);
    // The slot store is empty: it reads the last hour of points up to the slot itself (the 1h window, without GROUP BY)...
    const slotReads = [TYPES.jobs, TYPES.jobsTerminal].map((measurement) => slotStatement(DATABASE, measurement, [SLOT + 10 * MINUTE - HOUR, SLOT + 10 * MINUTE], statuses[measurement]));
    expect(selects.filter((text) => !text.startsWith('SELECT mean('))).toEqual(slotReads);
    // ... and the other windows are one mean() per window and measurement for the queues PanDA lists, and one
    // for those it no longer lists (the history of a vanished queue).
    const means = selects.filter((text) => text.startsWith('SELECT mean('));
    const listed = `"queue" =~ ${anyOfRegex(QUEUES_LISTED)}`;
    const unlisted = `"queue" !~ ${anyOfRegex(QUEUES_LISTED)}`;
    for (const text of means) {
      expect(text).toMatch(/^SELECT mean\("jobs"\) FROM [^;]* GROUP BY "queue", "prod_source", "resource", "job_status"$/);
      expect(text.includes(listed) !== text.includes(unlisted)).toBe(true);
    }
    // The two costliest first (sent while the average cache is read), then by cost: 12h, 6h, 30d and 7d of days,
    // the slots; the queues no longer listed last. Raw windows end with the slot, daily ones at midnight.
    const order = selects.map((text) => {
      if (!text.startsWith('SELECT mean(')) return 'slots';
      const [, from, to] = /time >= '([^']+)' AND time < '([^']+)'/.exec(text) ?? [];
      return `${/"(raw|1h|1d)"/.exec(text)?.[1]} ${from} to ${to}${text.includes(unlisted) ? ', unlisted' : ''}`;
    });
    const iso = (ms: number): string => new Date(ms).toISOString();
    const raw = (hours: number): string => `raw ${iso(SLOT + 10 * MINUTE - hours * HOUR)} to ${iso(SLOT + 10 * MINUTE)}`;
    const daily = (days: number): string => `1d ${iso(TODAY - days * DAY)} to ${iso(TODAY)}`;
    expect(order).toEqual(
      [raw(24), raw(12), raw(6), daily(30), daily(7), 'slots', ...[raw(6), raw(12), raw(24), daily(7), daily(30)].map((name) => `${name}, unlisted`)].flatMap((name) => [name, name]),
    );
    expect(client.statements).toHaveLength(23); // plus SHOW RETENTION POLICIES
  });

  test('across midnight: the 7d and 30d averages are re-read once downsample-1d has written the day, one group of queues a slot', async () => {
    // downsample-1d writes the day's point at 00:35 (here, before the 00:40 run); group g of queues is renewed at
    // 00:40 + g × 10 minutes, with the days before the new midnight.
    const tomorrow = TODAY + DAY;
    const group = renewalGroupOf(AGLT2.queue, RENEWAL_GROUPS);
    const renewalSlot = tomorrow + (40 + 10 * group) * MINUTE;
    for (let slot = tomorrow; slot <= tomorrow + 90 * MINUTE; slot += 10 * MINUTE) {
      if (slot === tomorrow + 40 * MINUTE) {
        const today = new Point(TYPES.jobs);
        for (const [tag, value] of Object.entries(RUNNING)) today.tag(tag, value);
        today.floatField('jobs', 1100).timestamp(TODAY);
        await servers.influx.client.write(DATABASE, today.toLineProtocol({ convertTime: (time) => String(time) }) ?? '', { retentionPolicy: '1d' });
      }
      const recording = new RecordingInfluxClient(servers.influx.url);
      const documents = await collectDerived(slot, recording);
      const dailyReads = recording.statements.filter((text) => text.includes('"1d"."jobs'));
      // Other groups expire at the other slots, but hold no current queue, so nothing is read for them.
      expect({ slot: new Date(slot).toISOString(), reads: dailyReads.length }).toEqual({ slot: new Date(slot).toISOString(), reads: slot === renewalSlot ? 4 : 0 }); // 7d and 30d, two measurements
      // OLD_QUEUE, in the same group, is no longer listed but has a daily point 3 days ago: read while it has data.
      expect(renewalGroupOf(OLD.queue, RENEWAL_GROUPS)).toBe(group);
      for (const text of dailyReads) {
        expect(text).toContain(`"queue" =~ /^(?:AGLT2_HOSPITAL|OLD_QUEUE)$/`);
        expect(text).toContain(`AND time < '${new Date(tomorrow).toISOString()}'`);
      }
      const running = documents.get(key(RUNNING))!;
      if (slot >= renewalSlot) {
        expect(running.avg_7d).toBeCloseTo((1100 + 6 * 400) / 7, 9); // today's point in, 7 days ago out
        expect(running.avg_30d).toBeCloseTo((1100 + 10 * 400 + 9 * 100) / 20, 9); // 30 days ago out
      } else {
        expect([running.avg_7d, running.avg_30d]).toEqual([derived.get(key(RUNNING))!.avg_7d, derived.get(key(RUNNING))!.avg_30d]);
      }
    }
  });

  test('CRIC is fetched by panda, never by panda-derived: it describes the series with the copy panda keeps', async () => {
    // While panda-derived runs, CRIC does not answer at all: a read of CRIC there would hang or fail the run.
    let releaseCric!: () => void;
    const held = new Promise<void>((resolve) => (releaseCric = resolve));
    const cric = server.routes.get('/cric')!;
    const fresh = new PandaInstallation({ gatewayUrl: servers.gateway.url, influxUrl: servers.influx.url }, `[panda]\nurl = ${server.url}/panda\ncric_url = ${server.url}/cric\n${descriptionKeys(server.url, { placement: false })}cric_timeout = 10s\n`);
    let cricRequests = 0;
    try {
      const { derived: documents, pandaContext, derivedContext } = await fresh.bothJobs({
        slotMs: SLOT,
        prepare: () => {
          cricRequests = server.requests.get('/cric') ?? 0;
          server.routes.set('/cric', { ...cric, holdUntil: held });
        },
      });
      expect([...pandaContext.problems, ...derivedContext.problems]).toEqual([]);
      expect(pandaContext.log.lines.join('\n')).toMatch(/CRIC metadata from fetched/);
      expect(server.requests.get('/cric') ?? 0).toBe(cricRequests);
      expect(documents.find((document) => document.queue === 'AGLT2_HOSPITAL')).toMatchObject({ site: 'AGLT2', cloud: 'US' });
    } finally {
      releaseCric();
      server.routes.set('/cric', cric);
    }
  });
});

describe('windowRange: what each average covers at a slot', () => {
  const plans = planWindows({ useRawUpToMs: DAY, use1hUpToMs: 7 * DAY });
  const planOf = (name: string): WindowPlan => plans.find((plan) => plan.window.name === name)!;
  const at = (day: number, hour: number, minute: number): number => Date.UTC(2026, 10, day, hour, minute);
  const range = (name: string, slotMs: number): [string, string] => windowRange(planOf(name), slotMs).map((ms) => new Date(ms).toISOString().slice(5, 16)) as [string, string];

  test('raw windows end with the slot itself, across midnight too', () => {
    expect(range('1h', at(23, 0, 10))).toEqual(['11-22T23:20', '11-23T00:20']);
    expect(range('24h', at(23, 0, 0))).toEqual(['11-22T00:10', '11-23T00:10']);
  });

  test('daily windows: the last whole days downsampled (downsample-1d at 00:35), so they move at 00:40', () => {
    const plan30d = planWindows({ useRawUpToMs: DAY, use1hUpToMs: DAY }).find((plan) => plan.window.name === '30d')!;
    expect(plan30d.retentionPolicy).toBe('1d');
    const daily = (slotMs: number): [string, string] => windowRange(plan30d, slotMs).map((ms) => new Date(ms).toISOString().slice(5, 16)) as [string, string];
    expect(daily(at(23, 0, 30))).toEqual(['10-23T00:00', '11-22T00:00']); // the 22nd is not downsampled yet
    expect(daily(at(23, 0, 40))).toEqual(['10-24T00:00', '11-23T00:00']);
    expect(daily(at(23, 23, 50))).toEqual(['10-24T00:00', '11-23T00:00']);
    expect(daily(at(24, 0, 0))).toEqual(['10-24T00:00', '11-23T00:00']);
  });

  test('hourly windows (use_1h_up_to = 7d): the last whole hours downsampled (downsample-1h at :15), so a group renewed at :00 or :10 never asks for an hour not written yet', () => {
    expect(planOf('7d').retentionPolicy).toBe('1h');
    // The hour 10:00–11:00 (its point at 10:00) lands at 11:15: not read at 11:10, read from 11:20.
    expect(range('7d', at(23, 11, 10))).toEqual(['11-16T10:00', '11-23T10:00']);
    expect(range('7d', at(23, 11, 20))).toEqual(['11-16T11:00', '11-23T11:00']);
    expect(range('7d', at(23, 12, 0))).toEqual(['11-16T11:00', '11-23T11:00']);
  });
});

describe('the suspicious rule', () => {
  const rule = { windows: ['1h', '7d'], aboveFactor: 2, belowFactor: 4, minDifference: 5 };
  test.each([
    [21, { '1h': 10 }, true, '21 is above 2 x avg_1h 10'],
    [20, { '1h': 10 }, false, ''], // exactly the factor is not beyond it
    [2, { '1h': 10 }, true, '2 is below avg_1h 10 / 4'],
    [3, { '1h': 10 }, false, ''],
    [9, { '1h': 2 }, true, '9 is above 2 x avg_1h 2'],
    [5, { '1h': 2 }, false, ''], // above the factor but only 3 jobs apart
    [10, { '6h': 1 }, false, ''], // 6h is not compared
    [0, { '1h': 8, '7d': 100 }, true, '0 is below avg_1h 8 / 4; 0 is below avg_7d 100 / 4'],
  ])('current %d with averages %j: suspicious %s', (current, averages, suspicious, reason) => {
    expect(judge(current, new Map(Object.entries(averages)), rule)).toEqual({ suspicious, reason });
  });
});

describe('queueParts: a grouped read split so that each answer stays small', () => {
  const queues = (count: number, prefix = 'Q'): Set<string> => new Set(Array.from({ length: count }, (_, index) => `${prefix}${String(index).padStart(5, '0')}.x`));
  /** The JavaScript form of a part's `"queue" =~ /.../` (or `!~`) condition. */
  const matcher = (condition: string): ((queue: string) => boolean) => {
    const [, operator, source] = /^"queue" (=~|!~) \/(.*)\/$/.exec(condition) ?? [];
    const regex = new RegExp(source);
    return (queue) => regex.test(queue) === (operator === '=~');
  };

  test('every queue: the listed ones in parts of at most QUEUES_PER_QUERY, each in exactly one, and one part for the others', () => {
    const current = queues(2 * QUEUES_PER_QUERY + 1);
    const parts = queueParts(undefined, current);
    // Parts that name their queues are taken whole; the others' size is unknown, so they are streamed.
    expect(parts.map((part) => part.bounded)).toEqual([true, true, true, false]);
    // 1,001 queues: three even parts, not 500, 500 and 1.
    expect(parts.map((part) => Math.round(part.share * current.size))).toEqual([334, 334, 333, 0]);
    const matchers = parts.map((part) => matcher(part.condition!));
    for (const queue of current) expect(matchers.filter((matches) => matches(queue))).toHaveLength(1);
    expect(matchers.map((matches) => matches('Q00000.x'))).toEqual([true, false, false, false]);
    // A queue PanDA no longer lists, and one whose name a listed one's regex would match but for the dot.
    expect(matchers.map((matches) => matches('GONE'))).toEqual([false, false, false, true]);
    expect(matchers.map((matches) => matches('Q00000-x'))).toEqual([false, false, false, true]);
  });

  test('named queues (a renewal group): only those, in parts', () => {
    const current = queues(1200);
    const named = queues(417, 'R');
    const parts = queueParts(named, current);
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({ share: 417 / 1200, bounded: true });
    const matches = matcher(parts[0].condition!);
    expect([...named].every(matches)).toBe(true);
    expect([...current].some(matches)).toBe(false);
    // More than QUEUES_PER_QUERY named (groups not renewed for a while): in parts, each queue in one.
    const many = queues(1200, 'R');
    const manyParts = queueParts(many, current);
    expect(manyParts.map((part) => [Math.round(part.share * 1200), part.bounded])).toEqual([[400, true], [400, true], [400, true]]);
    const manyMatchers = manyParts.map((part) => matcher(part.condition!));
    for (const queue of many) expect(manyMatchers.filter((matchesPart) => matchesPart(queue))).toHaveLength(1);
  });

  test('nothing named: no read; nothing listed: one read of everything', () => {
    expect(queueParts(new Set(), queues(10))).toEqual([]);
    expect(queueParts(undefined, new Set())).toEqual([{ share: 1, bounded: false }]);
  });
});
