import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { collectedDocuments } from '../../lib/run/collector';
import { TEN_MINUTES_MS } from '../../lib/run/slot';
import { useInfluxAndGateway } from '../../test/support/fixtures';
import { evaluateModules } from '../../status/job';
import { loadStatusSettings } from '../../status/settings';
import { PANDA_DATADISKS } from '../../schemas/kinds';
import { PANDA_JOB } from './names';
import { PLACEMENT_CACHE_FILE } from './placement';
import { FixtureServer } from './test/fixtureServer';
import { PandaInstallation } from './test/jobs';
import { descriptionKeys, recorded, serveDescriptions } from './test/sources';
import collector from './collector';

// The shipped [status.module.panda-daod] rule (collectors/panda/status.cfg) on panda's documents of the recorded
// answers, sent through the gateway into a real InfluxDB, as the status job reads them.

const servers = useInfluxAndGateway();
let server: FixtureServer;
const HOUR_MS = 3_600_000;

beforeAll(async () => {
  server = await FixtureServer.start();
});
afterAll(async () => {
  await server?.stop();
});
beforeEach(async () => {
  server.routes.clear();
  server.routes.set('/panda', { body: recorded('panda-v1-atlas.json') });
  server.routes.set('/cric', { body: recorded('cric-pandaqueues.json') });
  serveDescriptions(server);
  // Each test judges only its own slot's documents.
  await servers.influx.client.query('DROP DATABASE "monit_production_panda"');
});

function installation(): PandaInstallation {
  return new PandaInstallation({ gatewayUrl: servers.gateway.url, influxUrl: servers.influx.url }, `[panda]\nurl = ${server.url}/panda\ncric_url = ${server.url}/cric\ncric_timeout = 2s\n${descriptionKeys(server.url)}`);
}

/** The slot of now: the status reads the heartbeats of the last 30 minutes. */
const currentSlot = (): number => Math.floor(Date.now() / TEN_MINUTES_MS) * TEN_MINUTES_MS;

/** panda's run of the current slot, delivered with its heartbeat; then the panda-daod module as the status job judges it. */
async function judge(setup: PandaInstallation): Promise<{ state: string; reason: string; datadisks: Array<Record<string, unknown>> }> {
  const slotMs = currentSlot();
  const documents = collectedDocuments(await collector.collect(setup.context(PANDA_JOB, { slotMs })));
  const delivery = await setup.deliverAsPanda(documents, slotMs);
  expect(delivery.ok).toBe(true);
  const statuses = await evaluateModules(servers.influx.client, loadStatusSettings(Config.parse(setup.config, 'panda-daod.test.cfg')), Date.now());
  const module = statuses.find((status) => status.module === 'panda-daod');
  if (!module) throw new Error('no panda-daod module among the shipped rules');
  return { state: module.state, reason: module.reason, datadisks: documents.filter((document) => document.type === PANDA_DATADISKS.type) };
}

describe('the panda-daod status module', () => {
  test('fresh placement data, no DATADISK out of proportion: available', async () => {
    const { state, reason, datadisks } = await judge(installation());
    expect({ state, reason }).toMatchObject({ state: 'available' });
    // What the rule looked at: SiGNET_DATADISK has no placement data but only 20 running analysis jobs (< 50), and
    // AGLT2_DATADISK draws 41.8 % of them with 7.2 % of the data (> 2 %).
    expect(datadisks.find((document) => document.datadisk === 'SiGNET_DATADISK')).toMatchObject({ placed: false, running_jobs: 20 });
    expect(datadisks.find((document) => document.datadisk === 'AGLT2_DATADISK')).toMatchObject({ placed: true, running_share: 41.81 });
  });

  test('placement data hours old (its source down, the last copy served): degraded, saying how old', async () => {
    const setup = installation();
    await judge(setup);
    const cacheFile = path.join(setup.stateDir(PANDA_JOB), PLACEMENT_CACHE_FILE);
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as { fetchedAtMs: number; attemptedAtMs: number };
    writeFileSync(cacheFile, JSON.stringify({ ...cache, fetchedAtMs: cache.fetchedAtMs - 7 * HOUR_MS, attemptedAtMs: cache.attemptedAtMs - 7 * HOUR_MS }));
    server.routes.set('/placement', { status: 503, body: 'down' });
    const { state, reason, datadisks } = await judge(setup);
    const age = datadisks.find((document) => typeof document.placement_age === 'number')?.placement_age as number;
    expect(age).toBeGreaterThan(21_600);
    expect(state).toBe('degraded');
    expect(reason).toMatch(new RegExp(`^placement data ${age} s old \\(placement_url failing, its last copy served\\), e\\.g\\. cloud=`));
  });

  test('no placement data at all (its source down, no copy): degraded, counting the DATADISKs running 50 or more analysis jobs', async () => {
    server.routes.set('/placement', { status: 500, body: 'oops' });
    const { state, reason, datadisks } = await judge(installation());
    const flagged = datadisks.filter((document) => document.placed === false && (document.running_jobs as number) >= 50).map((document) => document.datadisk);
    expect(flagged.sort()).toEqual(['AGLT2_DATADISK', 'CERN-PROD_DATADISK', 'MWT2_DATADISK']);
    expect(state).toBe('degraded');
    expect(reason).toMatch(/^3 DATADISKs run analysis jobs with no placement data, e\.g\. cloud=\w+, datadisk=\S+_DATADISK, site=/);
  });

  test('a DATADISK drawing a quarter of the analysis jobs with almost no data placed: degraded, naming it', async () => {
    const rows = JSON.parse(recorded('placement-rucio.json')) as Array<{ rse: string; used: number }>;
    server.routes.set('/placement', { body: JSON.stringify(rows.map((row) => (row.rse === 'AGLT2_DATADISK' ? { ...row, used: 1e12 } : row))) });
    const { state, reason, datadisks } = await judge(installation());
    expect(datadisks.find((document) => document.datadisk === 'AGLT2_DATADISK')).toMatchObject({ running_share: 41.81, bytes_share: expect.any(Number) });
    expect(datadisks.find((document) => document.datadisk === 'AGLT2_DATADISK')?.bytes_share as number).toBeLessThanOrEqual(2);
    expect({ state, reason }).toEqual({ state: 'degraded', reason: 'cloud=US, datadisk=AGLT2_DATADISK, site=AGLT2 draws 41.81 % of the running analysis jobs with at most 2 % of the data placed' });
  });
});
