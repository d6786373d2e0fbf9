import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { collectedDocuments } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { StateFile } from '../../lib/state/stateFile';
import { MemoryLogger } from '../../lib/run/log';
import { collectorContext, type TestContext } from '../../test/support/collectorContext';
import { PANDA_DATADISKS, PANDA_FEDERATIONS, PANDA_JOBS, PANDA_QUEUES } from '../../schemas/kinds';
import collector from './collector';
import { CRIC_CACHE_FILE, CRIC_CACHE_STATE, cachedQueueDirectory } from './cric';
import { CRIC_DDM_CACHE_FILE, CRIC_SITE_CACHE_FILE, FEDERATIONS_CACHE_FILE, parseDdmEndpoints, parseFederations, parseSites, quarterOf } from './cricResources';
import { parsePlacement, PLACEMENT_CACHE_FILE } from './placement';
import demo, { federationsThisYear } from './demo';
import { FixtureServer } from './test/fixtureServer';
import { DESCRIPTION_ROUTES, descriptionKeys, pandaSection, recorded, serveRecordedAtlas } from './test/sources';

// The sources panda joins with PanDA's counts: each asked at most once per refresh, cached, served stale while
// down; and the shapes each accepts.

const HOUR_MS = 3_600_000;

let server: FixtureServer;
beforeAll(async () => {
  server = await FixtureServer.start();
});
afterAll(async () => {
  await server?.stop();
});
beforeEach(() => serveRecordedAtlas(server));

function context(extra = '', stateDir?: string): TestContext {
  return collectorContext('panda', pandaSection(server.url, extra), { stateDir });
}

const collect = async (run: TestContext): Promise<MonitDocument[]> => collectedDocuments(await collector.collect(run));
const queueDocument = (documents: MonitDocument[], queue: string): MonitDocument | undefined => documents.find((document) => document.type === PANDA_QUEUES.type && document.queue === queue);

/** Moves a cache's fetch and last attempt `hours` into the past. */
function age(stateDir: string, file: string, hours: number): void {
  const cache = JSON.parse(readFileSync(path.join(stateDir, file), 'utf8')) as { fetchedAtMs: number; attemptedAtMs: number };
  writeFileSync(path.join(stateDir, file), JSON.stringify({ ...cache, fetchedAtMs: cache.fetchedAtMs - hours * HOUR_MS, attemptedAtMs: cache.attemptedAtMs - hours * HOUR_MS }));
}

const CACHES = { '/cric-sites': CRIC_SITE_CACHE_FILE, '/cric-ddm': CRIC_DDM_CACHE_FILE, '/federations': FEDERATIONS_CACHE_FILE, '/placement': PLACEMENT_CACHE_FILE };

describe("panda's other sources", () => {
  test('each is asked at most once per refresh; when down, its cached copy is served and one problem names it', async () => {
    const first = context();
    await collect(first);
    await collect(context('', first.stateDir));
    for (const route of Object.keys(DESCRIPTION_ROUTES)) expect([route, server.requests.get(route)]).toEqual([route, 1]);

    for (const [route, file] of Object.entries(CACHES)) {
      age(first.stateDir, file, 2);
      server.routes.set(route, { status: 503, body: 'down' });
    }
    const outage = context('', first.stateDir);
    const documents = await collect(outage);
    for (const route of Object.keys(DESCRIPTION_ROUTES)) expect([route, server.requests.get(route)]).toEqual([route, 2]);
    expect(outage.problems.map((problem) => problem.replace(/ http.*HTTP 503.*serving/, ' HTTP 503 ... serving').replace(/fetched at .*/, 'fetched at T')).sort()).toEqual(
      ['CRIC DDM endpoints', 'CRIC sites', 'WLCG CRIC federations', 'placement'].map((source) => `${source} HTTP 503 ... serving the cached copy fetched at T`),
    );
    // The stale copies still describe everything.
    expect(queueDocument(documents, 'AGLT2_UCORE')).toMatchObject({ nucleus: 'AGLT2', fts_server: 'fts3-atlas.cern.ch' });
    expect(documents.find((document) => document.type === PANDA_FEDERATIONS.type && document.federation === 'US-AGLT2')).toMatchObject({ cpu_pledge_hs06: 76_000 });
    const aglt2Disk = documents.find((document) => document.type === PANDA_DATADISKS.type && document.datadisk === 'AGLT2_DATADISK');
    expect(aglt2Disk).toMatchObject({ site: 'AGLT2', bytes: 5_210_000_000_000_000, files: 3_100_000 });
    // placement_age: the data's age at the slot, hours old now.
    const fetchedAtMs = (JSON.parse(readFileSync(path.join(first.stateDir, PLACEMENT_CACHE_FILE), 'utf8')) as { fetchedAtMs: number }).fetchedAtMs;
    expect(aglt2Disk?.placement_age).toBe(Math.max(0, Math.round((outage.slotMs - fetchedAtMs) / 1000)));

    // The failed attempts count: nothing is asked again within the refresh.
    const later = context('', first.stateDir);
    await collect(later);
    for (const route of Object.keys(DESCRIPTION_ROUTES)) expect([route, server.requests.get(route)]).toEqual([route, 2]);
    expect(later.problems).toEqual([]);
  });

  test('down without a cached copy: the values they give are unknown or left out, and the job counts go out', async () => {
    for (const route of Object.keys(DESCRIPTION_ROUTES)) server.routes.set(route, { status: 500, body: 'oops' });
    const run = context();
    const documents = await collect(run);
    expect(run.problems).toHaveLength(4);
    expect(run.problems.every((problem) => problem.includes('no cached copy'))).toBe(true);
    expect(queueDocument(documents, 'AGLT2_UCORE')).toMatchObject({ site: 'AGLT2', nucleus: 'unknown', fts_server: 'unknown' });
    const federation = documents.find((document) => document.type === PANDA_FEDERATIONS.type && document.federation === 'US-AGLT2');
    expect(federation).toBeDefined();
    expect(federation).not.toHaveProperty('cpu_pledge_hs06');
    const disks = documents.filter((document) => document.type === PANDA_DATADISKS.type);
    expect(disks.map((document) => document.datadisk).sort()).toEqual(['AGLT2_DATADISK', 'BNL-OSG2_DATADISK', 'CERN-PROD_DATADISK', 'MWT2_DATADISK', 'SiGNET_DATADISK']);
    for (const disk of disks) {
      expect(disk).toMatchObject({ site: 'unknown', cloud: 'unknown' });
      for (const field of ['bytes', 'files', 'bytes_share', 'placement_age']) expect(disk).not.toHaveProperty(field);
      expect(disk.placed).toBe(false);
    }
  });

  test('without placement_url there is no placement request and no bytes', async () => {
    const run = collectorContext('panda', `[panda]\nurl = ${server.url}/panda\ncric_url = ${server.url}/cric\n${descriptionKeys(server.url, { placement: false })}`);
    const documents = await collect(run);
    expect(server.requests.get('/placement')).toBeUndefined();
    expect(run.problems).toEqual([]);
    const disks = documents.filter((document) => document.type === PANDA_DATADISKS.type);
    expect(disks.length).toBeGreaterThan(0);
    for (const disk of disks) for (const field of ['bytes', 'files', 'bytes_share', 'placement_age', 'placed']) expect(disk).not.toHaveProperty(field);
  });

  test("a CRIC cache written by the previous version is asked again at once, and when CRIC is down it is served without an undefined tag", async () => {
    const first = context();
    await collect(first);
    const cacheFile = path.join(first.stateDir, CRIC_CACHE_FILE);
    // Version 1 kept seven fields per queue under `queues`, and no format.
    const oldQueues = { AGLT2_UCORE: { site: 'AGLT2', cloud: 'US', country: 'USA', tier: 'T2D', status: 'online', type: 'unified', resourceType: 'GRID' } };
    const now = Date.now();
    writeFileSync(cacheFile, JSON.stringify({ fetchedAtMs: now, attemptedAtMs: now, queues: oldQueues }));
    server.routes.set('/cric', { status: 503, body: 'down' });
    const outage = context('', first.stateDir);
    const documents = await collect(outage);
    expect(server.requests.get('/cric')).toBe(2);
    expect(outage.problems).toHaveLength(1);
    expect(outage.problems[0]).toMatch(/^CRIC .*HTTP 503.*serving the cached copy .*written by an older version/);
    for (const document of documents) {
      for (const tag of document.idb_tags ?? []) expect([tag, typeof document[tag]]).toEqual([tag, 'string']);
    }
    expect(queueDocument(documents, 'AGLT2_UCORE')).toMatchObject({ site: 'AGLT2', site_state: 'unknown', federation: 'unknown', nucleus: 'AGLT2', pilot_version: 'unknown', corecount: 8, datadisk: 'unknown' });

    // Still outdated: the next run asks again (not once per refresh), and with CRIC back the full description is used.
    server.routes.set('/cric', { body: recorded('cric-pandaqueues.json') });
    const back = context('', first.stateDir);
    const fresh = await collect(back);
    expect(server.requests.get('/cric')).toBe(3);
    expect(back.problems).toEqual([]);
    expect(queueDocument(fresh, 'AGLT2_UCORE')).toMatchObject({ site_state: 'ACTIVE', federation: 'US-AGLT2', pilot_version: '3.7.2.4', datadisk: 'AGLT2_DATADISK' });
  });

  test('a changed URL is asked at once, not after the refresh; if it fails, the copy of the previous URL is served and named', async () => {
    const atUrl = (route: string, stateDir?: string): TestContext => collectorContext('panda', pandaSection(server.url).replace(`${server.url}/placement`, `${server.url}${route}`), { stateDir });
    const diskBytes = (documents: MonitDocument[]): unknown => documents.find((document) => document.type === PANDA_DATADISKS.type && document.datadisk === 'AGLT2_DATADISK')?.bytes;
    const first = atUrl('/placement');
    expect(diskBytes(await collect(first))).toBe(5_210_000_000_000_000);
    // Another accounting export, in QMonit's shape, with other figures: asked at the very next run.
    server.routes.set('/placement-other', { body: JSON.stringify({ AGLT2_DATADISK: { bytes: 1_000, files: 10 } }) });
    const moved = atUrl('/placement-other', first.stateDir);
    expect(diskBytes(await collect(moved))).toBe(1_000);
    expect(server.requests.get('/placement-other')).toBe(1);
    expect(moved.log.lines.some((line) => line.includes(`placement: the URL changed (the cached copy is of ${server.url}/placement-other`))).toBe(false);
    expect(moved.log.lines.some((line) => line.includes(`placement: the URL changed (the cached copy is of ${server.url}/placement), asking ${server.url}/placement-other now`))).toBe(true);
    // Moved again, to a URL that fails: the last copy is served, said to be the previous URL's, and asked again next run.
    server.routes.set('/placement-down', { status: 503, body: 'down' });
    const down = atUrl('/placement-down', first.stateDir);
    expect(diskBytes(await collect(down))).toBe(1_000);
    expect(down.problems).toEqual([expect.stringMatching(new RegExp(`^placement .*HTTP 503.*serving the cached copy .*\\(of the previous URL, ${server.url}/placement-other\\)$`))]);
    await collect(atUrl('/placement-down', first.stateDir));
    expect(server.requests.get('/placement-down')).toBe(2);
  });

  test('an answer of the wrong shape names the endpoint, as an HTTP error does', async () => {
    server.routes.set('/placement', { body: JSON.stringify({ rses: [] }) });
    const run = context();
    await collect(run);
    expect(run.problems).toEqual([expect.stringMatching(new RegExp(`^placement: .*\\(${server.url}/placement\\); no cached copy`))]);
  });

  test("cachedQueueDirectory (panda-derived's view) joins the site and DDM caches as panda does", async () => {
    const run = context();
    const documents = await collect(run);
    const directory = cachedQueueDirectory(new StateFile(path.join(run.stateDir, CRIC_CACHE_FILE), CRIC_CACHE_STATE, false), new MemoryLogger('panda-derived'));
    for (const queue of ['AGLT2_UCORE', 'MWT2_UCORE', 'CERN-PROD_UCORE', 'SiGNET']) {
      const document = documents.find((one) => one.type === PANDA_JOBS.type && one.queue === queue) as MonitDocument;
      const metadata = directory.lookUp(queue);
      expect([queue, metadata.nucleus, metadata.ftsServer, metadata.federation, metadata.siteState, metadata.datadisk]).toEqual([
        queue,
        document.nucleus,
        document.fts_server,
        document.federation,
        document.site_state,
        queueDocument(documents, queue)?.datadisk,
      ]);
    }
    expect(directory.lookUp('AGLT2_UCORE')).toMatchObject({ nucleus: 'AGLT2', ftsServer: 'fts3-atlas.cern.ch', corecount: 8, corepower: 10.96 });
  });
});

describe('the shapes each source accepts', () => {
  const qmonit = { AGLT2_DATADISK: { bytes: 5e15, files: 3_100_000 }, MWT2_DATADISK: { bytes: 6.9e15, files: 4_200_000 }, AGLT2_SCRATCHDISK: { bytes: 1e12, files: 10 } };
  const expected = { AGLT2_DATADISK: { bytes: 5e15, files: 3_100_000 }, MWT2_DATADISK: { bytes: 6.9e15, files: 4_200_000 } };
  const rows = [
    { rse: 'AGLT2_DATADISK', source: 'rucio', used: 5e15, files: 3_100_000, free: null, total: 5e15, updated_at: '2026-11-22 09:41:12' },
    { rse: 'AGLT2_DATADISK', source: 'storage', used: 5.1e15, files: null, free: 1e14, total: 5.2e15, updated_at: '2026-11-22 06:00:00' },
    { rse: 'MWT2_DATADISK', source: 'rucio', used: 6.9e15, files: 4_200_000, free: null, total: 6.9e15, updated_at: '2026-11-22 09:41:12' },
  ];

  test.each([
    ["QMonit's {RSE: {bytes, files}}", JSON.stringify(qmonit)],
    ["Rucio's usage rows as a JSON list", JSON.stringify(rows)],
    ["Rucio's usage rows one per line (application/x-json-stream)", rows.map((row) => JSON.stringify(row)).join('\n')],
  ])('placement: %s', (_name, body) => {
    expect(parsePlacement(Buffer.from(body))).toEqual(expected);
  });

  test.each([
    ['a number', '42', /placement: expected \{"<RSE>": \{"bytes", "files"\}\} or a list of Rucio RSE usage rows, got number/],
    ['a negative byte count', JSON.stringify({ AGLT2_DATADISK: { bytes: -1, files: 2 } }), /placement: 'AGLT2_DATADISK': bytes -1 is not a number >= 0/],
    ['an RSE without counts', JSON.stringify({ AGLT2_DATADISK: 7 }), /placement: 'AGLT2_DATADISK': expected \{"bytes", "files"\}, got 7/],
    ['a row without rse', JSON.stringify([{ source: 'rucio', used: 1, files: 1 }]), /placement: row 1: expected an RSE usage row/],
    ["a rucio row whose used is text", JSON.stringify([{ rse: 'X_DATADISK', source: 'rucio', used: '12', files: 1 }]), /placement: row 1 \(X_DATADISK\): used "12" is not a number >= 0/],
    ['no DATADISK at all', JSON.stringify({ AGLT2_SCRATCHDISK: { bytes: 1, files: 1 } }), /placement: the answer places nothing on any DATADISK/],
    ['a line that is not JSON', `${JSON.stringify(rows[0])}\n{"rse": `, /line 2/],
  ])('placement: %s is refused, naming where', (_name, body, message) => {
    expect(() => parsePlacement(Buffer.from(body))).toThrow(message);
  });

  test('CRIC sites, DDM endpoints and WLCG CRIC federations: an answer that is not an object of entries is refused', () => {
    expect(() => parseSites(Buffer.from('[{"name": "AGLT2"}]'))).toThrow(/CRIC sites: expected an object of sites keyed by name/);
    expect(() => parseDdmEndpoints(Buffer.from('{}'))).toThrow(/CRIC DDM endpoints: the answer describes no DDM endpoint/);
    expect(() => parseFederations(Buffer.from('"x"'))).toThrow(/WLCG CRIC federations: expected an object of federations/);
  });

  test('the recorded answers reduce to what the documents need', () => {
    expect(parseSites(Buffer.from(recorded('cric-sites.json')))).toEqual({ nuclei: ['AGLT2', 'BNL-ATLAS', 'CERN-PROD'], sites: 5 });
    const ddm = parseDdmEndpoints(Buffer.from(recorded('cric-ddmendpoints.json')));
    // AGLT2's first endpoint naming a MASTER server is its DATADISK; its first server is fts3-atlas.
    expect(ddm.ftsBySite).toEqual({ AGLT2: 'fts3-atlas.cern.ch', 'BNL-ATLAS': 'fts.usatlas.bnl.gov', 'CERN-PROD': 'fts3-atlas.cern.ch', MWT2: 'fts.usatlas.bnl.gov', 'NDGF-T1': 'fts3-atlas.cern.ch' });
    expect(Object.keys(ddm.datadisks).sort()).toEqual(['AGLT2_DATADISK', 'BNL-OSG2_DATADISK', 'CERN-PROD_DATADISK', 'MWT2_DATADISK', 'NDGF-T1_DATADISK', 'SiGNET_DATADISK']);
    const pledges = parseFederations(Buffer.from(recorded('wlcg-federations.json')));
    expect(pledges['US-AGLT2']).toMatchObject({ '2025.Q4': 71_000, '2026.Q3': 73_000, '2026.Q4': 76_000 });
    // CMS's pledge is not ATLAS's.
    expect(pledges.T2_CH_CSCS).toEqual({});
  });

  test('the quarter of a slot: January-March is Q1, October-December Q4', () => {
    expect(quarterOf(Date.UTC(2026, 0, 1))).toBe('2026.Q1');
    expect(quarterOf(Date.UTC(2026, 2, 31, 23, 59))).toBe('2026.Q1');
    expect(quarterOf(Date.UTC(2026, 3, 1))).toBe('2026.Q2');
    expect(quarterOf(Date.UTC(2026, 9, 1))).toBe('2026.Q4');
    expect(quarterOf(Date.UTC(2026, 11, 31, 23, 50))).toBe('2026.Q4');
  });
});

describe('the demo', () => {
  test("quickstart.cfg's URLs on the demo's routes: cores, HS06, pledges and the DAOD distribution with data, and no problem", async () => {
    server.routes.clear();
    for (const [route, answer] of Object.entries(demo.routes ?? {})) server.routes.set(route, { body: answer.body(new URL(route, server.url), {} as IncomingMessage) });
    const quickstart = readFileSync(path.join(__dirname, 'quickstart.cfg'), 'utf8').replaceAll('http://127.0.0.1:8191', server.url);
    const run = collectorContext('panda', quickstart);
    const documents = await collect(run);
    expect(run.problems).toEqual([]);
    // PanDA, CRIC's three descriptions, WLCG CRIC and the placement: each asked once.
    expect([...server.requests.values()]).toEqual([1, 1, 1, 1, 1, 1]);
    const running = documents.filter((document) => document.type === PANDA_JOBS.type && document.job_status === 'running');
    expect(running.some((document) => typeof document.hs06 === 'number' && (document.hs06 as number) > 0 && (document.cores as number) > (document.jobs as number))).toBe(true);
    expect(documents.some((document) => document.type === PANDA_FEDERATIONS.type && typeof document.cpu_pledge_hs06 === 'number' && typeof document.running_hs06 === 'number')).toBe(true);
    const disks = documents.filter((document) => document.type === PANDA_DATADISKS.type && typeof document.bytes === 'number' && (document.running_jobs as number) > 0);
    expect(disks.length).toBeGreaterThanOrEqual(3);
  });

  test("the demo's federations have pledges for the current year whatever the year (the quickstart in 2031)", () => {
    const recordedFederations = JSON.parse(recorded('wlcg-federations.json')) as Record<string, { pledges?: Record<string, unknown> }>;
    const served = JSON.parse(federationsThisYear(recorded('wlcg-federations.json'), Date.UTC(2031, 1, 1))) as typeof recordedFederations;
    const withPledges = Object.entries(recordedFederations).filter(([, federation]) => federation.pledges !== undefined);
    expect(withPledges.length).toBeGreaterThan(2);
    for (const [name, federation] of withPledges) {
      const lastYear = Object.keys(federation.pledges ?? {}).sort().at(-1) ?? '';
      expect([name, served[name].pledges?.['2031']]).toEqual([name, federation.pledges?.[lastYear]]);
      expect([name, served[name].pledges?.[lastYear]]).toEqual([name, federation.pledges?.[lastYear]]);
    }
  });
});

