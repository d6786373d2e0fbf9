import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Point } from '@influxdata/influxdb-client';
import { configWarnings } from '../../cli/configCheck';
import { findEntry, missingNodeFlags, periodicEntries } from '../../cli/registry';
import { configuredSchedule, deadlineOf } from '../../cli/schedule';
import { Config } from '../../lib/config/config';
import { databaseFor } from '../../lib/documents/interpret';
import type { MonitDocument } from '../../lib/documents/types';
import { InfluxClient } from '../../lib/influx/influxdb';
import { collectedDocuments } from '../../lib/run/collector';
import { runPeriodicJob } from '../../lib/run/jobRunner';
import { parseDuration, slotStart, TEN_MINUTES_MS } from '../../lib/run/slot';
import { MONIT_COLLECTORS_RUN, PANDA_JOBS, PANDA_JOBS_DERIVED, PANDA_JOBS_TERMINAL } from '../../schemas/kinds';
import { collectorContext } from '../../test/support/collectorContext';
import { useInfluxAndGateway } from '../../test/support/fixtures';
import { startGatewayFromConfig } from '../../gateway/fromConfig';
import type { RunningGateway } from '../../gateway/server';
import { MemoryLogger } from '../../lib/run/log';
import { TEST_TOKEN } from '../../test/support/gateway';
import { startInfluxDB, testDir, type TestInfluxDB } from '../../test/support/services';
import { freePort } from '../../test/support/ports';
import { randomGenerator } from '../../test/support/random';
import { RecordingInfluxClient } from '../../test/support/recordingInfluxClient';
import { AVERAGE_CACHE_FILE } from './averageCache';
import collector from './collector';
import { CRIC_CACHE_FILE, parseCric } from './cric';
import { slotStatement } from './derived';
import derivedJob from './derivedJob';
import { seriesTags, type SeriesId } from './documents';
import { parseJobStatistics } from './jobStatistics';
import { DERIVED_JOB, PANDA_JOB } from './names';
import { SLOT_STORE_FILE } from './slotStore';
import { FixtureServer } from './test/fixtureServer';
import { descriptionKeys, serveDescriptions } from './test/sources';
import { CRIC_DDM_CACHE_FILE, CRIC_SITE_CACHE_FILE, FEDERATIONS_CACHE_FILE } from './cricResources';
import { PandaInstallation } from './test/jobs';
import { DERIVED_KEYS } from './settings';

/** panda's caches of its sources (no placement_url here). */
const PANDA_CACHES = [CRIC_CACHE_FILE, CRIC_SITE_CACHE_FILE, CRIC_DDM_CACHE_FILE, FEDERATIONS_CACHE_FILE];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const DATABASE = databaseFor(PANDA_JOBS.producer);
const TESTDATA = path.join(__dirname, 'testdata');
const fixture = (name: string): string => readFileSync(path.join(TESTDATA, name), 'utf8');
/**
 * Each test has its own slots, 3 days apart, so that one test's raw points are never another's raw history; all
 * within the last 30 days, which the test gateway's raw retention policy keeps.
 */
const slotOfTest = (test: number): number => slotStart(Date.now(), DAY) - (24 - 3 * test) * DAY + 10 * HOUR;

const servers = useInfluxAndGateway();
let server: FixtureServer;

beforeAll(async () => {
  server = await FixtureServer.start();
});
afterAll(async () => {
  await server?.stop();
});
beforeEach(() => {
  server.routes.set('/panda', { body: fixture('panda-small.json') });
  server.routes.set('/cric', { body: fixture('cric-sample.json') });
  serveDescriptions(server);
});

const pandaSection = (extra = ''): string => `[panda]\nurl = ${server.url}/panda\ncric_url = ${server.url}/cric\ntimeout = 2s\ncric_timeout = 2s\n${descriptionKeys(server.url, { placement: false })}${extra}\n`;
const installation = (extra = ''): PandaInstallation => new PandaInstallation({ gatewayUrl: servers.gateway.url, influxUrl: servers.influx.url }, pandaSection(extra));
/** panda-derived's sums over queues, clouds and DATADISKs are left out here: aggregates.test.ts and queueSignal.test.ts check them. */
const AGGREGATE_TYPES = new Set(['queues_derived', 'clouds_derived', 'datadisks_derived']);
const perSeries = (documents: MonitDocument[]): MonitDocument[] => documents.filter((document) => !AGGREGATE_TYPES.has(document.type));
const seriesName = (document: MonitDocument): string => `${document.queue}/${document.prod_source}/${document.resource}/${document.job_status}`;
/** The statuses averaged by default (average_states: QMonit's four). */
const DEFAULT_AVERAGED = new Set(['assigned', 'activated', 'failed', 'running']);
/** panda's job counts (jobs, jobs_terminal): the series panda-derived averages. */
const isJobCount = (document: MonitDocument): boolean => document.type === 'jobs' || document.type === 'jobs_terminal';
const averagedByDefault = (documents: MonitDocument[]): MonitDocument[] => documents.filter((document) => isJobCount(document) && DEFAULT_AVERAGED.has(String(document.job_status)));
/** Of panda-small.json's 12 series, those of the averaged statuses. */
const SMALL_AVERAGED = 7;

/** The jobs_derived points InfluxDB holds at `slotMs`. */
async function derivedPointsAt(slotMs: number): Promise<Array<Record<string, unknown>>> {
  try {
    return await servers.influx.client.rows(`SELECT * FROM "jobs_derived" WHERE time = ${slotMs}ms`, { database: DATABASE });
  } catch {
    return []; // no such database yet
  }
}

async function heartbeatOf(job: string, slotMs: number): Promise<Record<string, unknown> | undefined> {
  const rows = await servers.influx.client.rows(`SELECT * FROM "run" WHERE "job" = '${job}' AND time = ${slotMs}ms`, { database: databaseFor(MONIT_COLLECTORS_RUN.producer) });
  return rows[0];
}

/** Overwrites fields of panda's heartbeat of a slot, as another run of it would have left it. */
async function writePandaHeartbeat(slotMs: number, fields: { ok: boolean; spooled: number }): Promise<void> {
  for (const database of [DATABASE, databaseFor(MONIT_COLLECTORS_RUN.producer)]) await servers.influx.client.ensureDatabase(database, { raw: 'INF', '1h': 'INF', '1d': 'INF' });
  const line = new Point(MONIT_COLLECTORS_RUN.type)
    .tag('job', PANDA_JOB)
    .booleanField('ok', fields.ok)
    .intField('documents_spooled', fields.spooled)
    .intField('documents_rejected', 0)
    .stringField('message', '')
    .timestamp(slotMs)
    .toLineProtocol({ convertTime: (time) => String(time) });
  await servers.influx.client.write(databaseFor(MONIT_COLLECTORS_RUN.producer), line ?? '', { precision: 'ms' });
}

describe('panda-derived against an independent computation', () => {
  /** 00:10, so that every raw window reaches into the day before, and the day before is not downsampled yet. */
  const SLOT = slotOfTest(0) - 10 * HOUR + 10 * MINUTE;
  const MIDNIGHT = SLOT - 10 * MINUTE;
  /** 23:40: panda did not run, no series has a point in that slot. */
  const MISSED = SLOT - 3 * TEN_MINUTES_MS;
  /** One value per 10-minute slot (day) back, per series; undefined: no point. */
  const level = (random: () => number, k: number): number | undefined => (random() < 0.2 || k % 37 === 5 ? undefined : Math.floor(random() * 200));
  const GONE: SeriesId = { queue: 'GONE_QUEUE', prodSource: 'managed', resource: 'SCORE', jobStatus: 'running' };
  const TERMINAL = new Set(['finished', 'failed', 'cancelled', 'closed']);

  test('on the recorded PanDA and CRIC answers and a month of history, across midnight and after a missed run, the split jobs give the averages, flags and tags computed here', async () => {
    const counts = parseJobStatistics(JSON.parse(fixture('panda-small.json'))).counts;
    const directory = parseCric(Buffer.from(fixture('cric-sample.json')));
    const random = randomGenerator(17);
    const lines: Record<'raw' | '1d', string[]> = { raw: [], '1d': [] };
    /** Every value written or sent by panda: series → time → jobs, for the raw and the 1d retention policies. */
    const rawValues = new Map<string, Map<number, number>>();
    const dailyValues = new Map<string, Map<number, number>>();
    const history = [...counts, { ...GONE, jobs: 0 }];
    for (const one of history) {
      const name = `${one.queue}/${one.prodSource}/${one.resource}/${one.jobStatus}`;
      const terminal = TERMINAL.has(one.jobStatus);
      const point = new Point(terminal ? PANDA_JOBS_TERMINAL.type : PANDA_JOBS.type);
      for (const [tag, value] of Object.entries(seriesTags(one, directory.lookUp(one.queue)))) point.tag(tag, value);
      // Values per slot (raw) and day (1d, at midnight) back from the slot, beyond each window too; GONE has raw
      // points 2 to 5 slots ago only: PanDA no longer lists it. The slot itself (k = 0) is what panda sends.
      const gone = one.queue === GONE.queue;
      const raw = new Map<number, number>();
      const daily = new Map<number, number>();
      rawValues.set(name, raw);
      dailyValues.set(name, daily);
      for (let k = 1; k <= 150; k++) {
        const value = gone ? (k >= 2 && k <= 5 ? 40 + k : undefined) : level(random, k);
        const timeMs = SLOT - k * TEN_MINUTES_MS;
        if (value === undefined || timeMs === MISSED) continue;
        raw.set(timeMs, value);
        lines.raw.push(point.intField('jobs', value).timestamp(timeMs).toLineProtocol({ convertTime: String }) ?? '');
      }
      for (let d = 0; d <= 31 && !gone; d++) {
        const value = level(random, d);
        if (value === undefined) continue;
        // Downsampled window counts are sums of their slots: 144 a day.
        daily.set(MIDNIGHT - d * DAY, value);
        lines['1d'].push(point.floatField('jobs', terminal ? 144 * value : value).timestamp(MIDNIGHT - d * DAY).toLineProtocol({ convertTime: String }) ?? '');
      }
    }
    await servers.influx.client.ensureDatabase(DATABASE, { raw: 'INF', '1h': 'INF', '1d': 'INF' });
    for (const [retentionPolicy, text] of Object.entries(lines)) await servers.influx.client.write(DATABASE, text.join('\n'), { retentionPolicy, precision: 'ms' });

    const mean = (values: Map<number, number> | undefined, fromMs: number, toMs: number): number | undefined => {
      const present = [...(values ?? [])].filter(([timeMs]) => timeMs >= fromMs && timeMs < toMs).map(([, value]) => value);
      return present.length === 0 ? undefined : present.reduce((sum, value) => sum + value, 0) / present.length;
    };
    const current = new Map(counts.map((count) => [`${count.queue}/${count.prodSource}/${count.resource}/${count.jobStatus}`, count.jobs]));
    const installed = installation();
    let suspiciousSeries = 0;
    let documents = 0;
    // A first run (the 1h window from the slot store, the others by mean()), then the next slot's (the store holds both slots).
    for (const slot of [SLOT, SLOT + TEN_MINUTES_MS]) {
      const { panda, derived: all, pandaContext, derivedContext } = await installed.bothJobs({ slotMs: slot });
      const derived = perSeries(all);
      expect([...pandaContext.problems, ...derivedContext.problems]).toEqual([]);
      // panda's points of the slot are its current values, and part of the raw windows from now on.
      for (const [name, jobs] of current) rawValues.get(name)!.set(slot, jobs);
      // Every series of an averaged status panda sent, and the one PanDA no longer lists but that has points within a day.
      const averaged = [...current.keys()].filter((name) => DEFAULT_AVERAGED.has(name.split('/')[3]));
      expect(averaged.length).toBeLessThan(current.size); // the answer has other statuses too: they get no document
      expect(derived.map(seriesName).sort()).toEqual([...averaged, 'GONE_QUEUE/managed/SCORE/running'].sort());
      const pandaTags = new Map(panda.filter(isJobCount).map((document) => [seriesName(document), document.idb_tags?.map((tag) => document[tag])]));
      for (const document of derived) {
        const name = seriesName(document);
        const now = current.get(name) ?? 0;
        // Raw windows end with the slot's own point; at 00:10 and 00:20 the day before is not downsampled yet
        // (00:35), so the daily windows end at the midnight before it.
        const end = slot + TEN_MINUTES_MS;
        const averages: Record<string, number | undefined> = {
          avg_1h: mean(rawValues.get(name), end - HOUR, end),
          avg_6h: mean(rawValues.get(name), end - 6 * HOUR, end),
          avg_12h: mean(rawValues.get(name), end - 12 * HOUR, end),
          avg_24h: mean(rawValues.get(name), end - DAY, end),
          avg_7d: mean(dailyValues.get(name), MIDNIGHT - 8 * DAY, MIDNIGHT - DAY),
          avg_30d: mean(dailyValues.get(name), MIDNIGHT - 31 * DAY, MIDNIGHT - DAY),
        };
        expect({ name, current: document.current }).toEqual({ name, current: now });
        for (const field of Object.values(PANDA_JOBS_DERIVED.fields).filter((one) => one.startsWith('avg_'))) {
          const expected = averages[field];
          expect({ name, field, value: document[field] }).toEqual({ name, field, value: expected === undefined ? undefined : expect.closeTo(expected, 9) });
        }
        // The default rule: 1h, 24h and 7d; factor 3 either way; at least 10 jobs apart.
        const reasons = ['1h', '24h', '7d'].filter((window) => {
          const average = averages[`avg_${window}`];
          return average !== undefined && ((now > 3 * average && now - average >= 10) || (now < average / 3 && average - now >= 10));
        });
        expect({ name, suspicious: document.suspicious, windows: String(document.reason).match(/avg_\w+/g) ?? [] }).toEqual({ name, suspicious: reasons.length > 0, windows: reasons.map((window) => `avg_${window}`) });
        if (reasons.length > 0) suspiciousSeries++;
        documents++;
        // The tags panda gave the series (from CRIC), or 'unknown' for a queue CRIC does not know.
        const tags = document.idb_tags?.map((tag) => document[tag]);
        if (name !== 'GONE_QUEUE/managed/SCORE/running') expect({ name, tags }).toEqual({ name, tags: pandaTags.get(name) });
        else expect(tags?.filter((tag) => tag !== 'unknown')).toEqual([GONE.queue, 'managed', 'SCORE', 'running']);
      }
    }
    // The history makes both verdicts happen.
    expect(suspiciousSeries).toBeGreaterThan(0);
    expect(suspiciousSeries).toBeLessThan(documents);
  });
});

describe('panda-derived waits for panda', () => {
  test("it waits for panda's documents of the slot, and computes once they are in InfluxDB", async () => {
    const slot = slotOfTest(1);
    const setup = installation('[panda-derived]\nwait_for_panda = 30s');
    const context = setup.context(DERIVED_JOB, { slotMs: slot });
    const outcome = derivedJob.collect(context).then(collectedDocuments);
    // panda ends while panda-derived waits.
    while (!context.log.lines.some((line) => line.includes("waiting up to 30 s for panda's documents of slot"))) await sleep(20);
    const pandaContext = setup.context(PANDA_JOB, { slotMs: slot });
    const panda = collectedDocuments(await collector.collect(pandaContext));
    expect((await setup.deliverAsPanda(panda, slot)).ok).toBe(true);
    const derived = perSeries(await outcome);
    expect(derived.map(seriesName).sort()).toEqual(averagedByDefault(panda).map(seriesName).sort());
    for (const document of derived) expect(document.current).toBe(panda.find((one) => isJobCount(one) && seriesName(one) === seriesName(document))?.jobs);
  });

  test('without them, it fails after its wait: nothing is sent and its heartbeat says why', async () => {
    const slot = slotOfTest(2);
    const setup = installation();
    const config = Config.parse(`${setup.config}[panda-derived]\nwait_for_panda = 1s\n`, 'panda.cfg');
    const outcome = await runPeriodicJob({ name: DERIVED_JOB, periodMs: TEN_MINUTES_MS, run: derivedJob.collect }, { config, deadlineMs: 30_000, timeMs: slot, echoLog: false });
    const reason = new RegExp(`^derived quantities not computed: panda's documents of slot ${new Date(slot).toISOString()} are not in InfluxDB after waiting 1 s: no heartbeat of panda for this slot`);
    expect(outcome).toMatchObject({ ok: false, documents: 0, message: expect.stringMatching(reason) });
    expect(await heartbeatOf(DERIVED_JOB, slot)).toMatchObject({ ok: false, documents_sent: 0, errors: 1, message: expect.stringMatching(reason) });
    expect(await derivedPointsAt(slot)).toEqual([]);
  });

  test("a heartbeat counting documents left in panda's spool: it waits until that spool is empty", async () => {
    const slot = slotOfTest(3);
    const setup = installation('[panda-derived]\nwait_for_panda = 1s');
    const pandaContext = setup.context(PANDA_JOB, { slotMs: slot });
    expect((await setup.deliverAsPanda(collectedDocuments(await collector.collect(pandaContext)), slot)).ok).toBe(true);
    // As if the run had ended with 3 documents in its spool, and one batch were still there.
    await writePandaHeartbeat(slot, { ok: true, spooled: 3 });
    const spool = path.join(setup.varDir, 'spool', PANDA_JOB);
    mkdirSync(spool, { recursive: true });
    writeFileSync(path.join(spool, '000001790000000-0000001-000001-n3.json'), '[]');
    await expect(derivedJob.collect(setup.context(DERIVED_JOB, { slotMs: slot }))).rejects.toThrow(/panda's run left 3 documents in its spool .*not delivered yet/);
    // replay delivered it: the slot is whole.
    rmSync(path.join(spool, '000001790000000-0000001-000001-n3.json'));
    expect(perSeries(collectedDocuments(await derivedJob.collect(setup.context(DERIVED_JOB, { slotMs: slot }))))).toHaveLength(SMALL_AVERAGED);
  });

  test("a failed panda run ends its wait at once; an ok run whose points are missing is refused too", async () => {
    const slot = slotOfTest(4);
    const setup = installation('[panda-derived]\nwait_for_panda = 10m');
    await writePandaHeartbeat(slot, { ok: false, spooled: 0 });
    await expect(derivedJob.collect(setup.context(DERIVED_JOB, { slotMs: slot }))).rejects.toThrow(/^derived quantities not computed: panda's run for this slot failed \(slot /);
    await writePandaHeartbeat(slot, { ok: true, spooled: 0 });
    await expect(derivedJob.collect(setup.context(DERIVED_JOB, { slotMs: slot }))).rejects.toThrow(/no jobs or jobs_terminal point of panda at .* although its run reported ok/);
  });

  test('--timestamp: a past slot is computed from its own points, once later slots exist', async () => {
    const slot = slotOfTest(5);
    const setup = installation();
    await setup.bothJobs({ slotMs: slot - TEN_MINUTES_MS });
    const earlier = collectedDocuments(await collector.collect(setup.context(PANDA_JOB, { slotMs: slot })));
    expect((await setup.deliverAsPanda(earlier, slot)).ok).toBe(true);
    // The next slot's PanDA answer differs; panda-derived is then run again for the earlier slot.
    server.routes.set('/panda', { body: JSON.stringify({ AGLT2_HOSPITAL: { managed: { SCORE: { running: 999 } } } }) });
    const later = await setup.bothJobs({ slotMs: slot + TEN_MINUTES_MS });
    expect(later.derived.find((document) => document.queue === 'AGLT2_HOSPITAL' && document.prod_source === 'managed' && document.resource === 'SCORE' && document.job_status === 'running')?.current).toBe(999);
    const config = Config.parse(setup.config, 'panda.cfg');
    const outcome = await runPeriodicJob({ name: DERIVED_JOB, periodMs: TEN_MINUTES_MS, run: derivedJob.collect }, { config, deadlineMs: 30_000, timeMs: slot + 5 * MINUTE, echoLog: false });
    // 7 jobs_derived (the averaged statuses), 2 queues_derived, 1 clouds_derived, 1 datadisks_derived.
    expect(outcome).toMatchObject({ ok: true, documents: SMALL_AVERAGED + 4 });
    const points = await derivedPointsAt(slot);
    expect(points.find((point) => point.queue === 'AGLT2_HOSPITAL' && point.prod_source === 'managed' && point.resource === 'SCORE' && point.job_status === 'running')).toMatchObject({ current: 120, avg_1h: 120 });
  });
});

describe('two InfluxDB instances', () => {
  let pandaInflux: TestInfluxDB;
  let routing: RunningGateway;
  /** panda on [influxdb.panda], every other producer (monit-collectors' heartbeats included) on [influxdb]. */
  const instances = (): string => `[influxdb.panda]\nurl = ${pandaInflux.url}\nproducers = ${PANDA_JOBS.producer}\n`;

  beforeAll(async () => {
    pandaInflux = await startInfluxDB();
    const text = `[paths]\nvar = ${testDir('panda-routing')}\n[gateway]\nlisten = 127.0.0.1:${await freePort()}\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = ${servers.influx.url}\n${instances()}`;
    routing = await startGatewayFromConfig(Config.parse(text, 'routing.cfg'), { log: new MemoryLogger('gateway') });
  }, 600_000);

  afterAll(async () => {
    await routing?.close();
    await pandaInflux?.stop();
  });

  const countAt = async (influx: InfluxClient, measurement: string, slotMs: number): Promise<number> => {
    const rows = await influx.rows(`SELECT count("jobs") AS "points" FROM "${measurement}" WHERE time = ${slotMs}ms`, { database: DATABASE }).catch(() => []);
    return Number(rows[0]?.points ?? 0);
  };

  test("panda-derived reads panda's points on the instance holding panda and panda's heartbeat on the one holding monit-collectors", async () => {
    // Between two tests' slots (they are 3 days apart): no other test's points at this time.
    const slot = slotOfTest(7.5);
    const setup = new PandaInstallation({ gatewayUrl: routing.url.replace(/\/$/, ''), influxUrl: servers.influx.url }, pandaSection() + instances());
    const panda = collectedDocuments(await collector.collect(setup.context(PANDA_JOB, { slotMs: slot })));
    expect((await setup.deliverAsPanda(panda, slot)).ok).toBe(true);
    // Routed: panda's job counts only on its instance, its heartbeat only on [influxdb].
    const jobCounts = panda.filter((document) => document.type === 'jobs').length;
    expect(jobCounts).toBeGreaterThan(0);
    expect(await countAt(pandaInflux.client, 'jobs', slot)).toBe(jobCounts);
    expect(await countAt(servers.influx.client, 'jobs', slot)).toBe(0);
    expect(await heartbeatOf(PANDA_JOB, slot)).toMatchObject({ ok: true });

    const config = Config.parse(setup.config, 'panda-routing.cfg');
    const outcome = await runPeriodicJob({ name: DERIVED_JOB, periodMs: TEN_MINUTES_MS, run: derivedJob.collect }, { config, deadlineMs: 60_000, timeMs: slot + 5 * MINUTE, echoLog: false });
    // 7 jobs_derived (the averaged statuses), 2 queues_derived, 1 clouds_derived, 1 datadisks_derived.
    expect({ ...outcome, message: outcome.message ?? '' }).toMatchObject({ ok: true, documents: SMALL_AVERAGED + 4, message: '' });
    const derived = await pandaInflux.client.rows(`SELECT "current" FROM "jobs_derived" WHERE time = ${slot}ms`, { database: DATABASE });
    expect(derived).toHaveLength(SMALL_AVERAGED);
  });
});

describe('settings', () => {
  test('derived = false: panda-derived sends nothing and reads nothing; panda sends its job counts as always', async () => {
    const unreachable = `http://127.0.0.1:${await freePort()}`;
    const off = `${pandaSection('derived = false')}[influxdb]\nurl = ${unreachable}\n`;
    const derived = collectorContext(DERIVED_JOB, off);
    expect(collectedDocuments(await derivedJob.collect(derived))).toEqual([]);
    expect(derived.problems).toEqual([]);
    expect(derived.log.lines).toContainEqual(expect.stringContaining('[panda] derived = false: no jobs_derived documents'));
    const panda = collectorContext(PANDA_JOB, off);
    const documents = collectedDocuments(await collector.collect(panda));
    expect(new Set(documents.map((document) => document.type))).toEqual(new Set(['jobs', 'jobs_terminal', 'queues', 'federations', 'datadisks']));
  });

  test('average_states: * gives every status its document; a list only its statuses, whatever else has history', async () => {
    const slot = slotOfTest(7) + DAY;
    const every = await installation('average_states = *').bothJobs({ slotMs: slot });
    expect(perSeries(every.derived).map(seriesName).sort()).toEqual(every.panda.filter(isJobCount).map(seriesName).sort());
    expect(perSeries(every.derived)).toHaveLength(12);
    // An hour later, only running: the other statuses' points of the hour before get no document either.
    const running = await installation('average_states = running').bothJobs({ slotMs: slot + HOUR });
    expect(perSeries(running.derived).map(seriesName).sort()).toEqual(running.panda.filter((document) => document.job_status === 'running').map(seriesName).sort());
    expect(perSeries(running.derived).every((document) => document.avg_6h !== undefined && document.job_status === 'running')).toBe(true);
  });

  test('no "not a setting" warning for the [panda] keys the other job reads; a typo is still named', async () => {
    // Every key of the [panda] section of sample.cfg, at its default, and a misspelt one.
    const keys = readFileSync(path.join(__dirname, 'sample.cfg'), 'utf8')
      .split('\n')
      .map((line) => /^;(\w+) = ?(.*)$/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null);
    const pandaKeys = keys.filter(([, key]) => !['url', 'cric_url', 'timeout', 'cric_timeout', 'wait_for_panda'].includes(key)).map(([, key, value]) => `${key} = ${value}`);
    const text = `${pandaSection(pandaKeys.join('\n'))}suspicous_windows = 1h\n[panda-derived]\nwait_for_panda = 2m\n[influxdb]\nurl = http://127.0.0.1:${await freePort()}\n`;
    expect(pandaKeys.map((line) => line.split(' ')[0])).toEqual(expect.arrayContaining([...DERIVED_KEYS, 'terminal_states', 'prod_sources']));
    const panda = collectorContext(PANDA_JOB, text);
    await collector.collect(panda);
    expect(configWarnings(panda.config, PANDA_JOB)).toEqual([`${panda.config.file}: [panda] suspicous_windows is not a setting of panda (a typo?)`]);
    const derived = collectorContext(DERIVED_JOB, text.replace('derived = true', 'derived = false'));
    await derivedJob.collect(derived);
    expect(configWarnings(derived.config, DERIVED_JOB)).toEqual([]);
  });

  test('the schedule: panda-derived after every collector (panda included), before replay and status; its deadline and node flags', () => {
    const minuteOf = (job: string): number => {
      const entry = findEntry(job);
      const minute = /^(\d+)-59\/10 \* \* \* \*$/.exec(entry?.schedule ?? '')?.[1];
      if (minute === undefined) throw new Error(`${job}: not a 10-minute schedule: ${entry?.schedule}`);
      return Number(minute);
    };
    const derived = minuteOf(DERIVED_JOB);
    const collectors = periodicEntries().filter((entry) => entry.kind === 'collector').map((entry) => minuteOf(entry.name));
    expect(collectors).toContain(minuteOf(PANDA_JOB));
    expect(Math.max(...collectors)).toBeLessThan(derived);
    expect(derived).toBeLessThan(minuteOf('replay'));
    expect(derived).toBeLessThan(minuteOf('status'));
    const entry = findEntry(DERIVED_JOB);
    expect(entry).toMatchObject({ kind: 'job', needsSection: 'panda', sections: ['panda'] });
    // It ends before the next slot's panda-derived starts.
    expect(derived * MINUTE + deadlineOf(Config.parse('[panda]\n'), DERIVED_JOB)).toBeLessThanOrEqual(10 * MINUTE);
    expect(deadlineOf(Config.parse('[panda]\n[panda-derived]\ndeadline = 3m\n'), DERIVED_JOB)).toBe(parseDuration('3m'));
    expect(missingNodeFlags(DERIVED_JOB, [])).toEqual(['--max-old-space-size=320']);
    // Scheduled with [panda], not without it, nor with enabled = false.
    const scheduled = (text: string): string[] => configuredSchedule(Config.parse(text)).map((one) => one.job);
    expect(scheduled('[panda]\n')).toEqual(expect.arrayContaining([PANDA_JOB, DERIVED_JOB]));
    expect(scheduled('[web]\n')).not.toContain(DERIVED_JOB);
    expect(scheduled('[panda]\n[panda-derived]\nenabled = false\n')).toEqual(expect.arrayContaining([PANDA_JOB]));
    expect(scheduled('[panda]\n[panda-derived]\nenabled = false\n')).not.toContain(DERIVED_JOB);
  });
});

describe('state', () => {
  const filesIn = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

  test('a dry run of either job writes no state: no CRIC cache, no slot store, no cached averages, nothing moved', async () => {
    const slot = slotOfTest(6);
    const setup = installation();
    const config = Config.parse(setup.config, 'panda.cfg');
    const printed: string[] = [];
    const dry = { config, deadlineMs: 30_000, timeMs: slot, echoLog: false, dryRun: true, output: (text: string) => printed.push(text) };
    expect(await runPeriodicJob({ name: PANDA_JOB, periodMs: TEN_MINUTES_MS, run: collector.collect }, dry)).toMatchObject({ ok: true, documents: 19 });
    expect(filesIn(setup.stateDir(PANDA_JOB))).toEqual([]);
    // A real panda run, and a state left by panda before the split: the dry panda-derived run reads, writes nothing.
    await setup.bothJobs({ slotMs: slot });
    const left = { [SLOT_STORE_FILE]: readFileSync(path.join(setup.stateDir(DERIVED_JOB), SLOT_STORE_FILE)), [AVERAGE_CACHE_FILE]: readFileSync(path.join(setup.stateDir(DERIVED_JOB), AVERAGE_CACHE_FILE)) };
    rmSync(setup.stateDir(DERIVED_JOB), { recursive: true });
    for (const [file, bytes] of Object.entries(left)) writeFileSync(path.join(setup.stateDir(PANDA_JOB), file), bytes);
    printed.length = 0;
    expect(await runPeriodicJob({ name: DERIVED_JOB, periodMs: TEN_MINUTES_MS, run: derivedJob.collect }, { ...dry, timeMs: slot + TEN_MINUTES_MS - 1 })).toMatchObject({ ok: true, documents: SMALL_AVERAGED + 4 });
    expect(perSeries(printed.map((line) => JSON.parse(line) as MonitDocument)).map((document) => document.type)).toEqual(new Array(SMALL_AVERAGED).fill('jobs_derived'));
    expect(filesIn(setup.stateDir(DERIVED_JOB))).toEqual([]);
    expect(filesIn(setup.stateDir(PANDA_JOB))).toEqual([AVERAGE_CACHE_FILE, ...PANDA_CACHES, SLOT_STORE_FILE].sort());
  });

  test('the state panda kept before the split (var/state/panda) moves to var/state/panda-derived, and goes on from where it was', async () => {
    const slot = slotOfTest(7);
    const setup = installation();
    await setup.bothJobs({ slotMs: slot });
    // The layout before the split: the derived state beside panda's CRIC cache.
    for (const file of [SLOT_STORE_FILE, AVERAGE_CACHE_FILE]) renameSync(path.join(setup.stateDir(DERIVED_JOB), file), path.join(setup.stateDir(PANDA_JOB), file));
    rmSync(setup.stateDir(DERIVED_JOB), { recursive: true });
    const recording = new RecordingInfluxClient(servers.influx.url);
    const next = slot + TEN_MINUTES_MS;
    const { derivedContext } = await setup.bothJobs({
      slotMs: next,
      prepare: (context) => {
        context.influxdb = (overrides) => (overrides?.timeoutMs === undefined ? new InfluxClient(servers.influx.url) : recording);
      },
    });
    expect(derivedContext.log.lines).toContainEqual(expect.stringMatching(/moved derived-raw-slots\.bin and derived-averages\.json from .*state\/panda \(kept by panda before panda-derived existed\)/));
    expect(filesIn(setup.stateDir(PANDA_JOB))).toEqual([...PANDA_CACHES].sort());
    expect(filesIn(setup.stateDir(DERIVED_JOB))).toEqual([AVERAGE_CACHE_FILE, SLOT_STORE_FILE].sort());
    // A second run, not a first: the slot store held the first run's hour up to its slot (read again, it had no
    // point before the slot), so it reads one hour more of the past; a first run would read the last hour only.
    const averagedGauges = `"job_status" =~ /^(?:activated|assigned|running)$/`;
    expect(recording.statements).toContain(slotStatement(DATABASE, PANDA_JOBS.type, [slot + TEN_MINUTES_MS - 2 * HOUR, next + TEN_MINUTES_MS], averagedGauges));
  });
});
