import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Point } from '@influxdata/influxdb-client';
import { Config } from '../../lib/config/config';
import { databaseFor } from '../../lib/documents/interpret';
import { collectedDocuments } from '../../lib/run/collector';
import { runPeriodicJob } from '../../lib/run/jobRunner';
import { slotStart, TEN_MINUTES_MS } from '../../lib/run/slot';
import { PANDA_JOBS } from '../../schemas/kinds';
import { evaluateModules } from '../../status/job';
import { loadStatusSettings } from '../../status/settings';
import { useInfluxAndGateway } from '../../test/support/fixtures';
import collector from './collector';
import { parseCric } from './cric';
import derivedJob from './derivedJob';
import { seriesTags } from './documents';
import { DERIVED_JOB, PANDA_JOB } from './names';
import { FixtureServer } from './test/fixtureServer';
import { PandaInstallation } from './test/jobs';
import { queueName, RealisticDay, SYNTHETIC_QUEUES_PER_SITE, syntheticCricAnswer, type SyntheticShape } from './test/synthetic';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const DATABASE = databaseFor(PANDA_JOBS.producer);
/** 48 queues of the realistic model (12 sites of 4 queues; 4 queues per cloud), every one described by CRIC. */
const SHAPE: SyntheticShape = { queues: 48, prodSources: ['managed', 'user'], resources: ['SCORE', 'MCORE'], states: ['activated', 'running'], unknownFraction: 0, seed: 5 };
const RUNNING = SHAPE.states.indexOf('running');
/** Three slots in a row, the day before them holding the history; within the gateway's raw retention. */
const FIRST_SLOT = slotStart(Date.now(), DAY) - 5 * DAY + 14 * HOUR;
const SLOTS = [FIRST_SLOT, FIRST_SLOT + TEN_MINUTES_MS, FIRST_SLOT + 2 * TEN_MINUTES_MS];

const servers = useInfluxAndGateway();
let server: FixtureServer;
const day = new RealisticDay(SHAPE);
const template = (JSON.parse(readFileSync(path.join(__dirname, 'testdata', 'cric-sample.json'), 'utf8')) as Record<string, Record<string, unknown>>).AGLT2_HOSPITAL;
const cric = syntheticCricAnswer(SHAPE, template);
const cloudOf = (queue: number): string => String(cric[queueName(queue)].cloud);

beforeAll(async () => {
  server = await FixtureServer.start();
  server.routes.set('/cric', { body: JSON.stringify(cric) });
});
afterAll(async () => {
  await server?.stop();
});

/**
 * PanDA's tree at a slot of a normal history (the model without its downtimes and surges: drift, daily rhythm and
 * noise), with the running jobs of `dropped` queues at 10 %.
 */
function answerAt(slotMs: number, dropped: Set<number> = new Set()): Record<string, Record<string, Record<string, Record<string, number>>>> {
  const tree: Record<string, Record<string, Record<string, Record<string, number>>>> = {};
  for (let q = 0; q < SHAPE.queues; q++) {
    const level = day.queueLevel(q, slotMs, false);
    tree[queueName(q)] = Object.fromEntries(
      SHAPE.prodSources.map((prodSource, p) => [
        prodSource,
        Object.fromEntries(
          SHAPE.resources.map((resource, r) => [
            resource,
            Object.fromEntries(
              SHAPE.states.map((state, s) => {
                const count = day.count(q, p, r, s, slotMs, level);
                return [state, s === RUNNING && dropped.has(q) ? Math.round(count / 10) : count];
              }),
            ),
          ]),
        ),
      ]),
    );
  }
  return tree;
}

/** The running jobs of each queue at each 10-minute slot, as sent (history written here, then what each run served). */
const runningSums = new Map<number, number[]>();
function recordRunning(slotMs: number, tree: ReturnType<typeof answerAt>): void {
  runningSums.set(
    slotMs,
    [...Array(SHAPE.queues).keys()].map((q) => Object.values(tree[queueName(q)]).reduce((sum, byResource) => sum + Object.values(byResource).reduce((inner, byState) => inner + byState.running, 0), 0)),
  );
}

/** Queues the band rule flags at `slotMs`, computed here: the 24h mean of the 10-minute points, the current one included. */
function flaggedHere(slotMs: number): { flagged: string[]; averages: number[] } {
  const averages = [...Array(SHAPE.queues).keys()].map((q) => {
    const points = [...Array(144).keys()].map((back) => runningSums.get(slotMs - back * TEN_MINUTES_MS)?.[q]).filter((value): value is number => value !== undefined);
    return points.reduce((sum, value) => sum + value, 0) / points.length;
  });
  const current = runningSums.get(slotMs) ?? [];
  const flagged = averages.flatMap((average, q) => ((current[q] < average / 2 || current[q] > average * 2) && Math.abs(current[q] - average) >= 20 ? [queueName(q)] : []));
  return { flagged: flagged.sort(), averages };
}

describe('the queue-level signal through both jobs and the status module, on a realistic history in InfluxDB', () => {
  test('a normal history flags no queue; a drop of one site flags its queues at once; a cloud-wide drop degrades the module naming the cloud', async () => {
    // The day before the first slot: every series' raw points, the tags panda writes.
    const directory = parseCric(Buffer.from(JSON.stringify(cric)));
    const lines: string[] = [];
    for (let back = 143; back >= 1; back--) {
      const slotMs = FIRST_SLOT - back * TEN_MINUTES_MS;
      const tree = answerAt(slotMs);
      recordRunning(slotMs, tree);
      for (const [queue, byProdSource] of Object.entries(tree)) {
        for (const [prodSource, byResource] of Object.entries(byProdSource)) {
          for (const [resource, byState] of Object.entries(byResource)) {
            for (const [jobStatus, jobs] of Object.entries(byState)) {
              const point = new Point(PANDA_JOBS.type).intField('jobs', jobs).timestamp(slotMs);
              for (const [tag, value] of Object.entries(seriesTags({ queue, prodSource, resource, jobStatus }, directory.lookUp(queue)))) point.tag(tag, value);
              lines.push(point.toLineProtocol({ convertTime: String }) ?? '');
            }
          }
        }
      }
    }
    await servers.influx.client.ensureDatabase(DATABASE, { raw: 'INF', '1h': 'INF', '1d': 'INF' });
    await servers.influx.client.write(DATABASE, lines.join('\n'), { retentionPolicy: 'raw', precision: 'ms' });

    const setup = new PandaInstallation(
      { gatewayUrl: servers.gateway.url, influxUrl: servers.influx.url },
      `[panda]\nurl = ${server.url}/panda\ncric_url = ${server.url}/cric\ntimeout = 5s\ncric_timeout = 5s\n[panda-derived]\nwait_for_panda = 5s\n`,
    );
    const config = Config.parse(setup.config, 'queue-signal.test.cfg');
    /** One slot as the schedule runs it: panda, then panda-derived through the runner (documents and heartbeat into InfluxDB), then status at minute 8. */
    const slot = async (slotMs: number, dropped: Set<number>) => {
      const tree = answerAt(slotMs, dropped);
      recordRunning(slotMs, tree);
      server.routes.set('/panda', { body: JSON.stringify(tree) });
      const panda = collectedDocuments(await collector.collect(setup.context(PANDA_JOB, { slotMs })));
      expect((await setup.deliverAsPanda(panda, slotMs)).ok).toBe(true);
      expect(await runPeriodicJob({ name: DERIVED_JOB, periodMs: TEN_MINUTES_MS, run: derivedJob.collect }, { config, deadlineMs: 60_000, timeMs: slotMs, echoLog: false })).toMatchObject({ ok: true });
      const queues = await servers.influx.client.rows(`SELECT * FROM "queues_derived" WHERE time = ${slotMs}ms`, { database: DATABASE });
      const statuses = await evaluateModules(servers.influx.client, loadStatusSettings(config), slotMs + 8 * 60_000);
      const module = statuses.find((status) => status.module === 'panda');
      const here = flaggedHere(slotMs);
      return { queues, module, flagged: queues.filter((row) => row.suspicious === true).map((row) => String(row.queue)).sort(), expected: here.flagged, averages: here.averages };
    };

    // A normal slot: every queue judged, none flagged; the module available.
    const normal = await slot(SLOTS[0], new Set());
    expect(normal.queues).toHaveLength(SHAPE.queues);
    expect(normal.queues.every((row) => typeof row.average === 'number')).toBe(true);
    // The average is the sum of the queue's running series' avg_24h (jobs_derived, whose window the averages
    // define), and near the 24h mean of the sums computed here.
    const series = await servers.influx.client.rows(`SELECT "queue", "avg_24h" FROM "jobs_derived" WHERE time = ${SLOTS[0]}ms AND "job_status" = 'running'`, { database: DATABASE });
    for (const row of normal.queues) {
      const sum = series.filter((one) => one.queue === row.queue).reduce((total, one) => total + Number(one.avg_24h), 0);
      expect(row.average).toBeCloseTo(sum, 6);
      expect(Math.abs(Number(row.average) / normal.averages[Number(String(row.queue).slice(-5))] - 1)).toBeLessThan(0.01);
    }
    expect(series).toHaveLength(SHAPE.queues * SHAPE.prodSources.length * SHAPE.resources.length);
    expect(normal.expected).toEqual([]);
    expect(normal.flagged).toEqual([]);
    expect(normal.module).toMatchObject({ state: 'available' });

    // The next slot, one site's running jobs at 10 %: a site whose 4 queues are big enough to tell (24h average >= 60).
    const site = [...Array(SHAPE.queues / SYNTHETIC_QUEUES_PER_SITE).keys()].find((s) => [0, 1, 2, 3].every((k) => normal.averages[s * SYNTHETIC_QUEUES_PER_SITE + k] >= 60));
    if (site === undefined) throw new Error('no site with 4 queues of at least 60 running jobs in this model');
    const siteQueues = [0, 1, 2, 3].map((k) => site * SYNTHETIC_QUEUES_PER_SITE + k);
    const drop = await slot(SLOTS[1], new Set(siteQueues));
    expect(drop.expected).toEqual(siteQueues.map(queueName).sort());
    expect(drop.flagged).toEqual(drop.expected);
    // Its queues are in 4 clouds, one each: no cloud has 3 suspicious queues, the module stays available.
    expect(new Set(siteQueues.map(cloudOf)).size).toBe(4);
    expect(drop.module).toMatchObject({ state: 'available' });

    // Then every queue of one cloud at 10 %: the module is degraded, naming the cloud and its worst queues.
    const cloud = [...Array(12).keys()].find((c) => [0, 1, 2, 3].every((k) => normal.averages[c + 12 * k] >= 60));
    if (cloud === undefined) throw new Error('no cloud with 4 queues of at least 60 running jobs in this model');
    const cloudQueues = [0, 1, 2, 3].map((k) => cloud + 12 * k);
    const wide = await slot(SLOTS[2], new Set(cloudQueues));
    expect(wide.expected).toEqual(cloudQueues.map(queueName).sort());
    expect(wide.flagged).toEqual(wide.expected);
    expect(wide.module?.state).toBe('degraded');
    expect(wide.module?.reason).toMatch(new RegExp(`^cloud ${cloudOf(cloud)}: 4 of 4 queues outside their band \\(100%\\), worst: SYNTH_Q\\d+ \\(\\d+ vs avg [\\d.]+\\)`));
    for (const queue of cloudQueues) expect(wide.module?.reason).toContain(queueName(queue));
  }, 180_000);
});
