import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { runPeriodicJob } from '../../lib/run/jobRunner';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { TEN_MINUTES_MS } from '../../lib/run/slot';
import { TEST_TOKEN } from '../../test/support/gateway';
import { useInfluxAndGateway } from '../../test/support/fixtures';
import { FixtureServer } from './test/fixtureServer';
import { descriptionKeys, serveDescriptions } from './test/sources';
import collector from './collector';
import derivedJob from './derivedJob';

const servers = useInfluxAndGateway();
let fixture: FixtureServer;
const TESTDATA = path.join(__dirname, 'testdata');

beforeAll(async () => {
  fixture = await FixtureServer.start();
  fixture.routes.set('/cric', { body: readFileSync(path.join(TESTDATA, 'cric-sample.json'), 'utf8') });
  serveDescriptions(fixture);
});
afterAll(async () => {
  await fixture?.stop();
});

/** One installation's config: both jobs share its var folder, as on a host that runs the schedule. */
function config(): Config {
  const varDir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'panda-pipeline-'));
  return Config.parse(
    `[paths]\nvar = ${varDir}\n[monit]\nurl = ${servers.gateway.url}/\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = ${servers.influx.url}\n` +
      `[panda]\nurl = ${fixture.url}/panda\ncric_url = ${fixture.url}/cric\ntimeout = 1s\n${descriptionKeys(fixture.url)}[panda-derived]\nwait_for_panda = 1s\n`,
    'panda.cfg',
  );
}

const job = { name: 'panda', periodMs: TEN_MINUTES_MS, run: collector.collect };
const derived = { name: 'panda-derived', periodMs: TEN_MINUTES_MS, run: derivedJob.collect };

async function heartbeat(timeMs: number, name = 'panda'): Promise<Record<string, unknown> | undefined> {
  const rows = await servers.influx.client.rows(`SELECT * FROM "run" WHERE "job" = '${name}' AND time = ${timeMs}ms`, { database: 'monit_production_monit_collectors' });
  return rows[0];
}

describe('panda through the runner, the gateway and InfluxDB', () => {
  test('a PanDA error sends nothing, and the heartbeat says the run failed', async () => {
    fixture.routes.set('/panda', { body: '<html>502 Bad Gateway</html>' });
    const slot = Date.UTC(2026, 10, 22, 8, 0);
    const installation = config();
    const outcome = await runPeriodicJob(job, { config: installation, deadlineMs: 30_000, timeMs: slot, echoLog: false });
    expect(outcome).toMatchObject({ ok: false, message: expect.stringMatching(/PanDA .*response is not JSON/) });
    expect(await heartbeat(slot)).toMatchObject({ ok: false, errors: 1, documents_sent: 0, message: expect.stringMatching(/PanDA .*not JSON/) });
    // panda-derived, after it, refuses the slot at once and says why.
    const after = await runPeriodicJob(derived, { config: installation, deadlineMs: 30_000, timeMs: slot, echoLog: false });
    expect(after).toMatchObject({ ok: false, message: expect.stringMatching(/^derived quantities not computed: panda's run for this slot failed: PanDA .*not JSON/) });
    expect(await heartbeat(slot, 'panda-derived')).toMatchObject({ ok: false, errors: 1, documents_sent: 0, message: expect.stringMatching(/panda's run for this slot failed/) });
    const [databases = []] = await servers.influx.client.query('SHOW DATABASES');
    expect((databases[0]?.values ?? []).flat()).not.toContain('monit_production_panda');
  });

  test('a good run lands in InfluxDB with the schema types, and the heartbeat counts it', async () => {
    fixture.routes.set('/panda', { body: readFileSync(path.join(TESTDATA, 'panda-small.json'), 'utf8') });
    const slot = Date.UTC(2026, 10, 22, 9, 0);
    // panda, then panda-derived: panda's 15 job and queue documents, 2 federations and 6 datadisks (2 read by the
    // queues, 4 more with placed data only); 7 jobs_derived (the series of average_states' statuses) and
    // panda-derived's sums (2 queues_derived, 1 clouds_derived, 1 datadisks_derived).
    const installation = config();
    const outcome = await runPeriodicJob(job, { config: installation, deadlineMs: 30_000, timeMs: slot, echoLog: false });
    const after = await runPeriodicJob(derived, { config: installation, deadlineMs: 30_000, timeMs: slot, echoLog: false });
    expect({ ok: outcome.ok && after.ok, documents: outcome.documents + after.documents }).toMatchObject({ ok: true, documents: 34 });
    const [pandaBeat, derivedBeat] = [await heartbeat(slot), await heartbeat(slot, 'panda-derived')];
    expect(pandaBeat).toMatchObject({ ok: true, errors: 0 });
    expect(derivedBeat).toMatchObject({ ok: true, errors: 0 });
    expect(Number(pandaBeat?.documents_sent) + Number(derivedBeat?.documents_sent)).toBe(34);
    const database = { database: 'monit_production_panda' };
    const running = await servers.influx.client.rows(`SELECT "jobs", "site", "resource" FROM "jobs" WHERE "queue" = 'AGLT2_HOSPITAL' AND "job_status" = 'running' AND "prod_source" = 'managed'`, database);
    expect(running.sort((a, b) => String(a.resource).localeCompare(String(b.resource)))).toEqual([
      { time: slot, jobs: 16, site: 'AGLT2', resource: 'MCORE' },
      { time: slot, jobs: 120, site: 'AGLT2', resource: 'SCORE' },
    ]);
    expect(await servers.influx.client.rows(`SELECT sum("jobs") AS "jobs" FROM "jobs_terminal"`, database)).toEqual([{ time: 0, jobs: 48 }]);
    // Cores: 120 SCORE jobs, 16 MCORE jobs of CRIC corecount 8, 7 user SCORE jobs; HS06 at CRIC corepower 10.96.
    const [cores] = await servers.influx.client.rows(`SELECT sum("cores") AS "cores", sum("hs06") AS "hs06" FROM "jobs" WHERE "queue" = 'AGLT2_HOSPITAL' AND "job_status" = 'running'`, database);
    expect(cores?.cores).toBe(120 + 16 * 8 + 7);
    expect(cores?.hs06).toBeCloseTo((120 + 16 * 8 + 7) * 10.96, 6);
    const [jobFields = []] = await servers.influx.client.query('SHOW FIELD KEYS FROM "jobs"', database);
    expect(Object.fromEntries(jobFields[0]?.values ?? [])).toEqual({ jobs: 'integer', cores: 'integer', hs06: 'float' });
    const disks = await servers.influx.client.rows(`SELECT "bytes", "running_jobs" FROM "datadisks" WHERE "datadisk" = 'BNL-OSG2_DATADISK'`, database);
    expect(disks).toEqual([{ time: slot, bytes: 21_400_000_000_000_000, running_jobs: 7 }]);
    const [fieldTypes = []] = await servers.influx.client.query('SHOW FIELD KEYS FROM "jobs_derived"', database);
    expect(Object.fromEntries(fieldTypes[0]?.values ?? [])).toEqual({ current: 'integer', avg_1h: 'float', avg_6h: 'float', avg_12h: 'float', avg_24h: 'float', reason: 'string', suspicious: 'boolean' });
  });
});
