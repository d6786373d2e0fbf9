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
import { QUEUES_PER_QUERY, RENEWAL_GROUPS, queueParts, slotStatement } from './derived';
import { judge } from './suspicious';

/** The document types, as the assertions name them. */
const TYPES = { jobs: PANDA_JOBS.type, jobsTerminal: PANDA_JOBS_TERMINAL.type, derived: PANDA_JOBS_DERIVED.type };

const SLOT = Date.UTC(2026, 10, 22, 10, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const DATABASE = databaseFor('panda');

/** What PanDA answers now. */
const CURRENT = {
  AGLT2_HOSPITAL: {
    managed: { SCORE: { running: 30, finished: 13 }, MCORE: { running: 1 } },
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

/** The prepared history, with gaps. k counts 10-minute slots, h hours and d days before the slot. */
function history(): HistoryPoint[] {
  const points: HistoryPoint[] = [];
  const raw = (tags: Tags, k: number, value: number, measurement: string = TYPES.jobs): void => {
    points.push({ retentionPolicy: 'raw', measurement, tags, value, timeMs: SLOT - k * 10 * MINUTE });
  };
  const hourly = (tags: Tags, h: number, value: number, measurement: string = TYPES.jobs): void => {
    points.push({ retentionPolicy: '1h', measurement, tags, value, timeMs: SLOT - h * HOUR });
  };
  const daily = (tags: Tags, d: number, value: number, measurement: string = TYPES.jobs): void => {
    points.push({ retentionPolicy: '1d', measurement, tags, value, timeMs: SLOT - d * DAY });
  };
  // RUNNING, raw: the last 30 minutes are missing; 6h–12h ago the collector was down.
  raw(RUNNING, 4, 120);
  raw(RUNNING, 5, 110);
  raw(RUNNING, 6, 100);
  for (let k = 7; k <= 36; k++) raw(RUNNING, k, 200);
  for (let k = 73; k <= 144; k++) raw(RUNNING, k, 50);
  raw(RUNNING, 150, 9999); // 25h ago: outside every raw window
  // RUNNING, hourly means over 7 days with a day missing; its metadata was different then (still the same series).
  for (let h = 1; h <= 168; h++) if (h < 49 || h > 72) hourly({ ...RUNNING, tier: 'T2' }, h, h <= 24 ? 100 : 300);
  hourly(RUNNING, 169, 9999);
  // RUNNING, daily means over 30 days with 10 days missing.
  for (let d = 1; d <= 30; d++) if (d <= 10 || d > 20) daily(RUNNING, d, d <= 10 ? 400 : 100);
  daily(RUNNING, 31, 9999);
  // FINISHED: 12 jobs per 10-minute slot, so 72 per hour and 1728 per day in the summed retention policies.
  for (let k = 1; k <= 6; k++) raw(FINISHED, k, 12, TYPES.jobsTerminal);
  for (let h = 1; h <= 168; h++) if (h < 100 || h > 110) hourly(FINISHED, h, 72, TYPES.jobsTerminal);
  for (let d = 1; d <= 30; d++) daily(FINISHED, d, 1728, TYPES.jobsTerminal);
  for (let k = 1; k <= 6; k++) raw(USER_RUNNING, k, 100);
  for (let k = 1; k <= 6; k++) raw(SMALL, k, 6);
  raw(GONE, 2, 40);
  raw(GONE, 3, 40);
  hourly(OLD, 72, 80);
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
  test('every series seen now or within 24h gets a document, older ones do not', () => {
    expect([...derived.keys()].sort()).toEqual([RUNNING, FINISHED, USER_RUNNING, SMALL, GONE].map(key).sort());
    expect(derived.has(key(OLD))).toBe(false);
  });

  test('a gauge: averages over the slots with data, from raw, 1h and 1d data, gaps left out', () => {
    const document = derived.get(key(RUNNING))!;
    expect(document.current).toBe(30);
    expect(document.avg_1h).toBeCloseTo(110, 9); // (120 + 110 + 100) / 3: the missing slots are not zeros
    expect(document.avg_6h).toBeCloseTo(6330 / 33, 9); // 330 + 30 × 200 over 33 slots
    expect(document.avg_12h).toBeCloseTo(6330 / 33, 9); // nothing 6h–12h ago
    expect(document.avg_24h).toBeCloseTo(9930 / 105, 9); // plus 72 × 50; the point 25h ago is outside
    expect(document.avg_7d).toBeCloseTo((24 * 100 + 120 * 300) / 144, 9); // hourly means, 24 hours missing
    expect(document.avg_30d).toBeCloseTo((10 * 400 + 10 * 100) / 20, 9); // daily means, 10 days missing
    expect(document).toMatchObject({ site: 'AGLT2', tier: 'T2D' }); // today's metadata, although the 1h data said T2
  });

  test('a window count: summed hourly and daily points are brought back to an average per slot', () => {
    const document = derived.get(key(FINISHED))!;
    expect(document.current).toBe(13);
    for (const field of ['avg_1h', 'avg_6h', 'avg_12h', 'avg_24h', 'avg_7d', 'avg_30d']) expect(document[field]).toBeCloseTo(12, 9);
    expect(document).toMatchObject({ suspicious: false, reason: '' });
  });

  test('suspicious flags: far below, far above, too small to matter, and gone', () => {
    expect(derived.get(key(RUNNING))).toMatchObject({
      suspicious: true,
      reason: '30 is below avg_1h 110 / 3; 30 is below avg_24h 94.57 / 3; 30 is below avg_7d 266.67 / 3',
    });
    expect(derived.get(key(USER_RUNNING))).toMatchObject({
      current: 500,
      avg_1h: 100,
      suspicious: true,
      reason: '500 is above 3 x avg_1h 100; 500 is above 3 x avg_24h 100',
    });
    expect(derived.get(key(USER_RUNNING))!.avg_7d).toBeUndefined(); // no hourly data: the field is left out
    expect(derived.get(key(SMALL))).toMatchObject({ current: 1, avg_1h: 6, suspicious: false, reason: '' }); // 1 < 6 / 3, but only 5 jobs apart
    expect(derived.get(key(GONE))).toMatchObject({ ...GONE, current: 0, avg_1h: 40, suspicious: true, reason: '0 is below avg_1h 40 / 3; 0 is below avg_24h 40 / 3' });
  });

  test('a first run: grouped queries, never one per series, the costliest first', () => {
    const selects = client.statements.filter((text) => text.startsWith('SELECT'));
    const slotReads = [TYPES.jobs, TYPES.jobsTerminal].map((measurement) => slotStatement(DATABASE, measurement, [SLOT - HOUR, SLOT]));
    // The slot store is empty: it reads the last hour of points (the 1h window, without GROUP BY)...
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
    // The two costliest first (sent while the average cache is read), then by cost: 7d of hours, 12h, 6h, 30d of
    // days, the slots; the queues no longer listed last.
    const order = selects.map((text) =>
      text.startsWith('SELECT mean(') ? `${/"(raw|1h|1d)"/.exec(text)?.[1]} from ${/time >= '([^']+)'/.exec(text)?.[1]}${text.includes(unlisted) ? ', unlisted' : ''}` : 'slots',
    );
    const from = (hours: number): string => new Date(SLOT - hours * HOUR).toISOString();
    expect(order).toEqual(
      [
        `raw from ${from(24)}`,
        `1h from ${from(7 * 24)}`,
        `raw from ${from(12)}`,
        `raw from ${from(6)}`,
        `1d from ${from(30 * 24)}`,
        'slots',
        `raw from ${from(6)}, unlisted`,
        `raw from ${from(12)}, unlisted`,
        `raw from ${from(24)}, unlisted`,
        `1h from ${from(7 * 24)}, unlisted`,
        `1d from ${from(30 * 24)}, unlisted`,
      ].flatMap((name) => [name, name]),
    );
    expect(client.statements).toHaveLength(23); // plus SHOW RETENTION POLICIES
  });

  test('the 1h and 1d averages are re-read only when their retention policy can have a new point, for one group of queues a slot', async () => {
    // A new hourly point lands after the first run.
    const late = new Point(TYPES.jobs);
    for (const [tag, value] of Object.entries(RUNNING)) late.tag(tag, value);
    late.floatField('jobs', 100_000).timestamp(SLOT - 90 * MINUTE);
    await servers.influx.client.write(DATABASE, late.toLineProtocol({ convertTime: (time) => String(time) }) ?? '', { retentionPolicy: '1h' });

    // The hour's 1h points land at :15 (downsample-1h); group g of queues is renewed at :20 + g × 10 minutes.
    const group = renewalGroupOf(AGLT2.queue, RENEWAL_GROUPS);
    const renewalMinute = (20 + 10 * group) % 60;
    const renewalSlot = SLOT + (renewalMinute || 60) * MINUTE;
    for (let minutes = 10; minutes <= 60; minutes += 10) {
      const slot = SLOT + minutes * MINUTE;
      const recording = new RecordingInfluxClient(servers.influx.url);
      const documents = await collectDerived(slot, recording);
      const hourly = recording.statements.filter((text) => text.includes('"1h"."jobs'));
      const renewed = slot === renewalSlot;
      // Other groups expire at the other slots, but hold no current queue, so nothing is read for them.
      expect(hourly).toHaveLength(renewed ? 2 : 0);
      expect(recording.statements.filter((text) => text.startsWith('SELECT') && !text.includes('"raw".'))).toHaveLength(renewed ? 2 : 0);
      // OLD_QUEUE, in the same group, is no longer listed but has an hourly point 3 days ago: read while it has data.
      expect(renewalGroupOf(OLD.queue, RENEWAL_GROUPS)).toBe(group);
      for (const text of hourly) expect(text).toContain(`"queue" =~ /^(?:AGLT2_HOSPITAL|OLD_QUEUE)$/`);
      expect(recording.statements.filter((text) => text.includes('"1d"."jobs'))).toHaveLength(0); // renewed from 00:40
      expect(documents.get(key(RUNNING))!.avg_30d).toBe(250);
      if (slot >= renewalSlot) {
        expect(documents.get(key(RUNNING))!.avg_7d).toBeGreaterThan(500); // now with the late point
      } else {
        expect(documents.get(key(RUNNING))!.avg_7d).toBe(derived.get(key(RUNNING))!.avg_7d);
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
