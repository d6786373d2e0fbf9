import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type CollectResult, collectedDocuments } from '../../lib/run/collector';
import { documentId } from '../../lib/documents/document';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext, type TestContext } from '../../test/support/collectorContext';
import { freePort } from '../../test/support/ports';
import { useInfluxAndGateway } from '../../test/support/fixtures';
import { readmeDisagreements } from '../../test/support/readme';
import { PANDA_DATADISKS, PANDA_FEDERATIONS, PANDA_JOBS, PANDA_JOBS_DERIVED, PANDA_JOBS_TERMINAL, PANDA_QUEUES } from '../../schemas/kinds';
import collector from './collector';
import { CRIC_CACHE_FILE, parseCric } from './cric';
import derivedJob from './derivedJob';
import { FixtureServer } from './test/fixtureServer';
import { PandaInstallation } from './test/jobs';
import { descriptionKeys, serveDescriptions } from './test/sources';

/** The document types, as the assertions name them. */
const TYPES = { jobs: PANDA_JOBS.type, jobsTerminal: PANDA_JOBS_TERMINAL.type, derived: PANDA_JOBS_DERIVED.type, queues: PANDA_QUEUES.type };

/** panda-derived's sums over queues, clouds and DATADISKs are left out here: aggregates.test.ts and queueSignal.test.ts check them. */
const AGGREGATE_TYPES = new Set(['queues_derived', 'clouds_derived', 'datadisks_derived']);
const perSeries = (documents: MonitDocument[]): MonitDocument[] => documents.filter((document) => !AGGREGATE_TYPES.has(document.type));

const TESTDATA = path.join(__dirname, 'testdata');
const fixture = (name: string): string => readFileSync(path.join(TESTDATA, name), 'utf8');

interface ExpectedSet {
  producer: string;
  timestamp: number;
  host: string;
  documents: Array<{ type: string; tags: Record<string, string>; fields: Record<string, unknown> }>;
}

let server: FixtureServer;
const servers = useInfluxAndGateway();

beforeAll(async () => {
  server = await FixtureServer.start();
});
afterAll(async () => {
  await server?.stop();
});
beforeEach(() => {
  server.routes.clear();
  server.requests.clear();
  server.queries.clear();
  server.routes.set('/panda', { body: fixture('panda-small.json') });
  server.routes.set('/cric', { body: fixture('cric-sample.json') });
  serveDescriptions(server);
});

function pandaSection(extra: string): string {
  return `[panda]\nurl = ${server.url}/panda\ncric_url = ${server.url}/cric\ntimeout = 2s\ncric_timeout = 2s\n${descriptionKeys(server.url, { placement: false })}${extra}\n`;
}

function context(extra = '', options: { stateDir?: string; influxUrl?: string } = {}): TestContext {
  return collectorContext('panda', `${pandaSection(extra)}[influxdb]\nurl = ${options.influxUrl ?? servers.influx.url}\n`, { stateDir: options.stateDir });
}

/** panda, then panda-derived, for the default slot: what the panda collector alone sent before panda-derived existed. */
function installation(extra = ''): PandaInstallation {
  return new PandaInstallation({ gatewayUrl: servers.gateway.url, influxUrl: servers.influx.url }, pandaSection(extra));
}

function documentsOf(result: CollectResult): MonitDocument[] {
  return collectedDocuments(result);
}

/** A document as the expected files write it: type, tags and fields by name. */
function normalise(document: MonitDocument): { type: string; tags: Record<string, string>; fields: Record<string, unknown> } {
  return {
    type: document.type,
    tags: Object.fromEntries((document.idb_tags ?? []).map((key) => [key, document[key] as string])),
    fields: Object.fromEntries((document.idb_fields ?? []).map((key) => [key, document[key]])),
  };
}

const order = (a: { type: string; tags: Record<string, string> }, b: { type: string; tags: Record<string, string> }): number =>
  JSON.stringify([a.type, a.tags]).localeCompare(JSON.stringify([b.type, b.tags]));

describe('panda collector', () => {
  test('the documents for the small fixture equal the hand-written expected set', async () => {
    // panda's documents and panda-derived's, which one panda run sent before panda-derived existed.
    const { documents, pandaContext, derivedContext } = await installation().bothJobs();
    const expected = JSON.parse(fixture('expected-small.json')) as ExpectedSet;
    expect(perSeries(documents).map(normalise).sort(order)).toEqual([...expected.documents].sort(order));
    for (const document of documents) {
      expect(document).toMatchObject({ producer: expected.producer, timestamp: expected.timestamp, host: expected.host, type_prefix: 'raw' });
      const tags = normalise(document).tags;
      expect(document._id).toBe(documentId(document.producer, document.type, tags, expected.timestamp));
    }
    expect(new Set(documents.map((document) => document._id)).size).toBe(documents.length);
    // The terminal window goes to PanDA in minutes.
    expect(server.queries.get('/panda')).toEqual(['?time_window=10']);
    expect([...pandaContext.problems, ...derivedContext.problems]).toEqual([]);
  });

  test('queues CRIC does not know are sent with unknown metadata and counted in the log', async () => {
    // NEW_QUEUE_X has only defined jobs: averaged with average_states = * (not by default).
    const { documents, pandaContext: run } = await installation('average_states = *').bothJobs();
    const unknown = perSeries(documents).filter((document) => document.queue === 'NEW_QUEUE_X');
    expect(unknown.map((document) => document.type).sort()).toEqual([TYPES.jobs, TYPES.derived, TYPES.queues]);
    for (const document of unknown) expect([document.site, document.cloud, document.country, document.tier]).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
    expect(run.log.lines.filter((line) => line.includes('1 queues unknown to CRIC'))).toHaveLength(1);
    expect(run.log.lines.find((line) => line.includes('unknown to CRIC'))).toContain('NEW_QUEUE_X');
    // SLAC_ES is CRIC's SLAC_ES-lsf, found through its panda_resource.
    expect(documents.find((document) => document.queue === 'SLAC_ES' && document.type === TYPES.queues)).toMatchObject({ site: 'WT2', tier: 'T3D', known: true });
  });

  test('a CRIC entry without values is known but has unknown metadata', () => {
    const directory = parseCric(Buffer.from(fixture('cric-sample.json')));
    expect(directory.has('hans')).toBe(true);
    // The properties QMonit reads as text: 'none' when CRIC leaves them empty; nucleus and ftsServer come from other descriptions.
    expect(directory.lookUp('hans')).toEqual({
      ...{ site: 'unknown', cloud: 'unknown', country: 'unknown', tier: 'unknown', status: 'unknown', type: 'unknown', resourceType: 'unknown' },
      ...{ siteState: 'none', federation: 'none', harvester: 'none', pilotManager: 'none', pilotVersion: 'none', containerType: 'none', workflow: 'none' },
      ...{ nucleus: 'unknown', ftsServer: 'unknown', pledged: 'unknown', corecount: 8, corepower: undefined, datadisk: 'none' },
    });
    expect(directory.lookUp('AGLT2_HOSPITAL')).toEqual({
      ...{ site: 'AGLT2', cloud: 'US', country: 'USA', tier: 'T2D', status: 'online', type: 'production', resourceType: 'GRID' },
      ...{ siteState: 'ACTIVE', federation: 'US-AGLT2', harvester: 'CERN_central_A', pilotManager: 'Harvester', pilotVersion: '2', containerType: 'singularity:pilot', workflow: 'pull' },
      ...{ nucleus: 'unknown', ftsServer: 'unknown', pledged: 'true', corecount: 8, corepower: 10.96, datadisk: 'BNL-OSG2_DATADISK' },
    });
  });

  test('CRIC is asked at most once per refresh interval, and its outage serves the cached copy', async () => {
    const first = context();
    await collector.collect(first);
    const second = context('', { stateDir: first.stateDir });
    await collector.collect(second);
    expect(server.requests.get('/cric')).toBe(1);

    // An hour later CRIC is down: the cache is served and the failure reported, the job counts still go out.
    const cacheFile = path.join(first.stateDir, CRIC_CACHE_FILE);
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as { attemptedAtMs: number; fetchedAtMs: number };
    writeFileSync(cacheFile, JSON.stringify({ ...cache, attemptedAtMs: cache.attemptedAtMs - 2 * 3_600_000, fetchedAtMs: cache.fetchedAtMs - 2 * 3_600_000 }));
    server.routes.set('/cric', { status: 503, body: 'down' });
    const outage = context('', { stateDir: first.stateDir });
    const documents = documentsOf(await collector.collect(outage));
    expect(server.requests.get('/cric')).toBe(2);
    expect(documents.find((document) => document.queue === 'AGLT2_HOSPITAL' && document.type === TYPES.jobs)).toMatchObject({ site: 'AGLT2', cloud: 'US', country: 'USA', tier: 'T2D' });
    expect(outage.problems).toHaveLength(1);
    expect(outage.problems[0]).toMatch(/CRIC .*HTTP 503.*serving the cached copy fetched at/);

    // The failed attempt counts: CRIC is not asked again within the hour.
    const later = context('', { stateDir: first.stateDir });
    await collector.collect(later);
    expect(server.requests.get('/cric')).toBe(2);
    expect(later.problems).toEqual([]);
  });

  test('a damaged CRIC cache is ignored: CRIC is asked again', async () => {
    const first = context();
    await collector.collect(first);
    writeFileSync(path.join(first.stateDir, CRIC_CACHE_FILE), '{"fetchedAtMs": 1, "queu');
    const second = context('', { stateDir: first.stateDir });
    const documents = documentsOf(await collector.collect(second));
    expect(server.requests.get('/cric')).toBe(2);
    expect(second.log.lines.some((line) => line.startsWith('WARN CRIC cache') && line.includes('unreadable'))).toBe(true);
    expect(documents.find((document) => document.queue === 'SLAC_ES' && document.type === TYPES.queues)).toMatchObject({ site: 'WT2', known: true });
  });

  test.each([
    ['malformed', { body: '{"AGLT2_HOSPITAL": {"managed": ' }],
    ['empty', { body: '{}' }],
    ['slow', { body: fixture('cric-sample.json'), delayMs: 5000 }],
  ])('a %s CRIC answer serves the cached copy', async (_name, broken) => {
    const first = context();
    await collector.collect(first);
    server.routes.set('/cric', broken);
    const outage = context('cric_refresh = 1s\ncric_timeout = 300ms', { stateDir: first.stateDir });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const documents = documentsOf(await collector.collect(outage));
    expect(server.requests.get('/cric')).toBe(2);
    expect(outage.problems).toHaveLength(1);
    expect(outage.problems[0]).toContain('serving the cached copy');
    expect(documents.find((document) => document.queue === 'SLAC_ES' && document.type === TYPES.jobs)).toMatchObject({ site: 'WT2' });
  });

  test('without CRIC and without a cache every queue is unknown, and the run goes on', async () => {
    server.routes.set('/cric', { status: 500, body: 'oops' });
    const run = context();
    const documents = documentsOf(await collector.collect(run));
    expect(documents.filter((document) => document.type === TYPES.jobs)).toHaveLength(8);
    expect(new Set(documents.map((document) => document.site))).toEqual(new Set(['unknown']));
    expect(run.problems).toHaveLength(1);
    expect(run.problems[0]).toContain('no cached copy');
    expect(run.log.lines.some((line) => line.includes('3 queues unknown to CRIC'))).toBe(true);
  });

  test.each([
    ['malformed (an HTML error page)', { body: fixture('panda-malformed.html') }, /PanDA .*not JSON.*502 Bad Gateway/],
    ['empty body', { body: '' }, /PanDA .*empty response body/],
    ['empty statistics', { body: fixture('panda-empty.json') }, /lists no queue at all/],
    ['cut short', { body: fixture('panda-small.json'), cutShort: true }, /PanDA /],
    ['an HTTP error', { status: 500, body: 'Internal Server Error' }, /PanDA .*HTTP 500/],
    ['a refusal of the v1 API', { body: fixture('panda-v1-refused.json') }, /PanDA refused the request: Database failure/],
    ['a list instead of an object', { body: '[1, 2]' }, /expected an object of queues/],
    ['slow', { body: fixture('panda-small.json'), delayMs: 10_000 }, /PanDA .*no answer within 500 ms/],
  ])('a PanDA answer that is %s fails the run and sends nothing', async (_name, answer, message) => {
    server.routes.set('/panda', answer);
    const run = context('timeout = 500ms');
    const started = Date.now();
    await expect(collector.collect(run)).rejects.toThrow(message);
    expect(Date.now() - started).toBeLessThan(9_000); // the slow answer was not waited for
  });

  test('a partial PanDA answer sends the good entries and reports the malformed ones', async () => {
    server.routes.set('/panda', { body: fixture('panda-partial.json') });
    const run = context('derived = false');
    const documents = documentsOf(await collector.collect(run));
    const jobs = documents.filter((document) => document.type === TYPES.jobs || document.type === TYPES.jobsTerminal).map(normalise);
    expect(jobs.map((document) => [document.tags.queue, document.tags.job_status, document.fields.jobs]).sort()).toEqual([
      ['AGLT2_HOSPITAL', 'running', 120],
      ['SLAC_ES', 'running', 3],
    ]);
    expect(run.problems).toHaveLength(1);
    expect(run.problems[0]).toMatch(/^PanDA: 6 malformed entries left out, first: /);
  });

  test("the v1 API's envelope is unwrapped", async () => {
    server.routes.set('/panda', { body: fixture('panda-v1-small.json') });
    const documents = documentsOf(await collector.collect(context('derived = false')));
    expect(documents.filter((document) => document.type === TYPES.jobs).map(normalise)).toEqual([
      {
        type: 'jobs',
        tags: {
          ...{ queue: 'SLAC_ES', site: 'WT2', cloud: 'US', country: 'USA', tier: 'T3D', queue_type: 'production', queue_resource_type: 'GRID', site_state: 'ACTIVE' },
          ...{ federation: 'US-Tier3s', nucleus: 'none', harvester: 'CERN_central_A', pilot_manager: 'Harvester', container_type: 'singularity:pilot', fts_server: 'none' },
          ...{ workflow: 'pull', pledged: 'true', prod_source: 'managed', resource: 'MCORE', job_status: 'running' },
        },
        // CRIC: corecount 4, corepower 12.49.
        fields: { jobs: 3, cores: 12, hs06: 12 * 12.49 },
      },
    ]);
  });

  test('prod_sources keeps only the listed prod source labels; terminal_window and terminal_states are honoured', async () => {
    const { documents } = await installation('prod_sources = user\nterminal_window = 1h\nterminal_states = finished, failed, cancelled, closed, holding').bothJobs();
    const series = perSeries(documents).filter((document) => document.type !== TYPES.queues && document.type !== PANDA_FEDERATIONS.type && document.type !== PANDA_DATADISKS.type);
    expect(new Set(series.map((document) => document.prod_source))).toEqual(new Set(['user']));
    expect(server.queries.get('/panda')).toEqual(['?time_window=60']);
    const second = await installation('terminal_states = finished, failed, cancelled, closed, holding\naverage_states = *').bothJobs();
    const holding = second.documents.filter((document) => document.job_status === 'holding');
    expect(holding.map((document) => document.type).sort()).toEqual([TYPES.derived, TYPES.jobsTerminal]);
  });

  test('when InfluxDB cannot be read, the job counts still go out and the problem is reported', async () => {
    // panda does not read InfluxDB any more: its job counts go out without a problem; panda-derived fails, saying why.
    const influxUrl = `http://127.0.0.1:${await freePort()}`;
    const run = context('', { influxUrl });
    const documents = documentsOf(await collector.collect(run));
    expect(documents.filter((document) => document.type === TYPES.derived)).toEqual([]);
    expect(documents.filter((document) => document.type === TYPES.jobs)).toHaveLength(8);
    expect(run.problems).toEqual([]);
    const derived = collectorContext('panda-derived', `${pandaSection('')}[panda-derived]\nwait_for_panda = 0s\n[influxdb]\nurl = ${influxUrl}\n`);
    await expect(derivedJob.collect(derived)).rejects.toThrow(/^derived quantities not computed: .*InfluxDB query: ECONNREFUSED/);
  });

  test('a config mistake names the key', async () => {
    await expect(collector.collect(context('terminal_window = 90s'))).rejects.toThrow(/terminal_window must be whole minutes/);
    // The averages are panda-derived's: its run names the key (panda's job counts still go out).
    const derived = collectorContext('panda-derived', `${pandaSection('suspicious_windows = 1h, 2h')}[influxdb]\nurl = ${servers.influx.url}\n`);
    await expect(derivedJob.collect(derived)).rejects.toThrow(/panda-derived\.test\.cfg: \[panda\] suspicious_windows names '2h', which is not one of the averages 1h, 6h, 12h, 24h, 7d, 30d/);
    const signal = collectorContext('panda-derived', `${pandaSection('queue_signal_states = running, holding')}[influxdb]\nurl = ${servers.influx.url}\n`);
    await expect(derivedJob.collect(signal)).rejects.toThrow(/panda-derived\.test\.cfg: \[panda\] queue_signal_states names 'holding', which is not one of average_states/);
    await expect(collector.collect(context('suspicious_windows = 1h, 2h'))).resolves.toBeDefined();
  });

  test('the README lists every tag and field of the schemas', () => {
    const types = [PANDA_JOBS, PANDA_JOBS_TERMINAL, PANDA_JOBS_DERIVED, PANDA_QUEUES, PANDA_FEDERATIONS, PANDA_DATADISKS].map(({ producer, type }) => ({ producer, type }));
    expect(readmeDisagreements(path.join(__dirname, 'README.md'), types)).toEqual([]);
  });
});
