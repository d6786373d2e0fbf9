import { readFileSync } from 'node:fs';
import path from 'node:path';
import { collectedDocuments } from '../../lib/run/collector';
import { interpretDocument } from '../../lib/documents/interpret';
import { schemaRegistry } from '../../lib/documents/schemas';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext, type TestContext } from '../../test/support/collectorContext';
import { PANDA_DATADISKS, PANDA_FEDERATIONS, PANDA_JOBS, PANDA_JOBS_TERMINAL, PANDA_QUEUES } from '../../schemas/kinds';
import collector from './collector';
import { PLACEMENT_CACHE_FILE } from './placement';
import { FixtureServer } from './test/fixtureServer';
import { pandaSection, recorded, serveRecordedAtlas } from './test/sources';

// Golden tests of panda's documents from recorded answers in their real shapes: PanDA's v1 envelope with its
// zero-filled states (panda-server's DBProxy fills assigned, activated, running, finished and failed with 0 for
// each resource type it lists) and a `null` resource type (Python's json writes a None key as "null"); CRIC's
// PanDA-queue, site and DDM descriptions, WLCG CRIC's federations and Rucio's RSE usage rows. Every number is
// computed here from the fixtures, not by the code under test.

const SLOT_MS = Date.UTC(2026, 10, 22, 10, 0);
const TERMINAL = new Set(['finished', 'failed', 'cancelled', 'closed']);
const ANALYSIS = new Set(['user', 'panda']);

type Tree = Record<string, Record<string, Record<string, Record<string, number>>>>;
const pandaAnswer = JSON.parse(recorded('panda-v1-atlas.json')) as { success: boolean; data: Tree };
const cricAnswer = JSON.parse(recorded('cric-pandaqueues.json')) as Record<string, Record<string, unknown>>;
const placementRows = JSON.parse(recorded('placement-rucio.json')) as Array<{ rse: string; source: string; used: number; files: number }>;

/** The fixture's CRIC entry of a queue PanDA names (by panda_resource). */
function cricEntry(queue: string): Record<string, unknown> | undefined {
  return Object.values(cricAnswer).find((entry) => entry.panda_resource === queue);
}

/** QMonit's resource factor and the HS06 per core, from the CRIC fixture. */
function expectedCoresAndHs06(queue: string, resource: string, jobs: number): { cores: number; hs06?: number } {
  const entry = cricEntry(queue);
  const corecount = typeof entry?.corecount === 'number' && entry.corecount > 0 ? entry.corecount : 8;
  const cores = resource.includes('MCORE') ? jobs * corecount : jobs;
  return typeof entry?.corepower === 'number' ? { cores, hs06: cores * entry.corepower } : { cores };
}

/** Written by hand from the fixtures (site datapolicies, DDM servedrestfts MASTER, CRIC entries). */
const QUEUE_TAGS: Record<string, Record<string, string>> = {
  AGLT2_UCORE: { site: 'AGLT2', cloud: 'US', country: 'USA', tier: 'T2D', queue_type: 'unified', queue_resource_type: 'GRID', site_state: 'ACTIVE', federation: 'US-AGLT2', nucleus: 'AGLT2', harvester: 'CERN_central_A', pilot_manager: 'Harvester', container_type: 'singularity:pilot', fts_server: 'fts3-atlas.cern.ch', workflow: 'pull_ups', pledged: 'true' },
  MWT2_UCORE: { site: 'MWT2', cloud: 'US', country: 'USA', tier: 'T2D', queue_type: 'unified', queue_resource_type: 'GRID', site_state: 'ACTIVE', federation: 'US-MWT2', nucleus: 'none', harvester: 'CERN_central_B', pilot_manager: 'Harvester', container_type: 'singularity:pilot', fts_server: 'fts.usatlas.bnl.gov', workflow: 'pull_ups', pledged: 'true' },
  BNL_PROD: { site: 'BNL-ATLAS', cloud: 'US', country: 'USA', tier: 'T1', queue_type: 'production', queue_resource_type: 'GRID', site_state: 'ACTIVE', federation: 'US-T1-BNL', nucleus: 'BNL-ATLAS', harvester: 'CERN_central_A', pilot_manager: 'Harvester', container_type: 'singularity:pilot', fts_server: 'fts.usatlas.bnl.gov', workflow: 'push', pledged: 'true' },
  'CERN-PROD_UCORE': { site: 'CERN-PROD', cloud: 'CERN', country: 'Switzerland', tier: 'T0', queue_type: 'unified', queue_resource_type: 'GRID', site_state: 'ACTIVE', federation: 'CH-CERN', nucleus: 'CERN-PROD', harvester: 'none', pilot_manager: 'Harvester', container_type: 'none', fts_server: 'fts3-atlas.cern.ch', workflow: 'pull_ups', pledged: 'false' },
  SiGNET: { site: 'SiGNET', cloud: 'ND', country: 'Slovenia', tier: 'T2D', queue_type: 'unified', queue_resource_type: 'GRID', site_state: 'ACTIVE', federation: 'SI-SiGNET', nucleus: 'none', harvester: 'CERN_central_B', pilot_manager: 'Harvester', container_type: 'singularity:pilot', fts_server: 'none', workflow: 'pull', pledged: 'true' },
  NEW_QUEUE_X: Object.fromEntries(['site', 'cloud', 'country', 'tier', 'queue_type', 'queue_resource_type', 'site_state', 'federation', 'nucleus', 'harvester', 'pilot_manager', 'container_type', 'fts_server', 'workflow', 'pledged'].map((tag) => [tag, 'unknown'])),
};
const DATADISK: Record<string, string> = { AGLT2_UCORE: 'AGLT2_DATADISK', MWT2_UCORE: 'MWT2_DATADISK', BNL_PROD: 'BNL-OSG2_DATADISK', 'CERN-PROD_UCORE': 'CERN-PROD_DATADISK', SiGNET: 'SiGNET_DATADISK', NEW_QUEUE_X: 'unknown' };
/** WLCG CRIC's 2026 Q4 atlas CPU (the slot is in November: Q4, where QMonit's (month - 1) // 3 reads Q3). */
const Q4_PLEDGE: Record<string, number | undefined> = { 'US-AGLT2': 76_000, 'US-MWT2': 90_000, 'US-T1-BNL': 250_000, 'CH-CERN': undefined, 'SI-SiGNET': 20_000 };

let server: FixtureServer;
beforeAll(async () => {
  server = await FixtureServer.start();
});
afterAll(async () => {
  await server?.stop();
});
beforeEach(() => serveRecordedAtlas(server));

function context(extra = '', options: { stateDir?: string; slotMs?: number } = {}): TestContext {
  const section = pandaSection(server.url, extra);
  return collectorContext('panda', section, { slotMs: options.slotMs ?? SLOT_MS, stateDir: options.stateDir });
}

const ofType = (documents: MonitDocument[], type: string): MonitDocument[] => documents.filter((document) => document.type === type);
const tagsOf = (document: MonitDocument): Record<string, unknown> => Object.fromEntries((document.idb_tags ?? []).map((tag) => [tag, document[tag]]));
const fieldsOf = (document: MonitDocument): Record<string, unknown> => Object.fromEntries((document.idb_fields ?? []).map((field) => [field, document[field]]));
const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);

interface Leaf {
  queue: string;
  prodSource: string;
  resource: string;
  jobStatus: string;
  jobs: number;
}
const leaves: Leaf[] = Object.entries(pandaAnswer.data).flatMap(([queue, labels]) =>
  Object.entries(labels).flatMap(([prodSource, resources]) =>
    Object.entries(resources).flatMap(([resource, statuses]) => Object.entries(statuses).map(([jobStatus, jobs]) => ({ queue, prodSource, resource, jobStatus, jobs }))),
  ),
);

describe('panda documents from recorded PanDA, CRIC, WLCG CRIC and Rucio answers', () => {
  let documents: MonitDocument[];
  let run: TestContext;
  beforeAll(async () => {
    serveRecordedAtlas(server);
    run = context();
    documents = collectedDocuments(await collector.collect(run));
  });

  test('the recorded answer is the real shape: an envelope, zero-filled states and a null resource type', () => {
    expect(pandaAnswer.success).toBe(true);
    expect(leaves.filter((leaf) => leaf.jobs === 0).length).toBeGreaterThan(20);
    expect(leaves.some((leaf) => leaf.resource === 'null')).toBe(true);
    expect(run.problems).toEqual([]);
  });

  test('every leaf, zeros included, is one jobs or jobs_terminal document with its cores and HS06', () => {
    const series = [...ofType(documents, PANDA_JOBS.type), ...ofType(documents, PANDA_JOBS_TERMINAL.type)];
    expect(series).toHaveLength(leaves.length);
    for (const leaf of leaves) {
      const matching = series.filter((document) => document.queue === leaf.queue && document.prod_source === leaf.prodSource && document.resource === leaf.resource && document.job_status === leaf.jobStatus);
      expect(matching).toHaveLength(1);
      const [document] = matching;
      expect(document.type).toBe(TERMINAL.has(leaf.jobStatus) ? PANDA_JOBS_TERMINAL.type : PANDA_JOBS.type);
      const { cores, hs06 } = expectedCoresAndHs06(leaf.queue, leaf.resource, leaf.jobs);
      expect(fieldsOf(document)).toEqual(hs06 === undefined ? { jobs: leaf.jobs, cores } : { jobs: leaf.jobs, cores, hs06 });
      expect(tagsOf(document)).toEqual({ queue: leaf.queue, ...QUEUE_TAGS[leaf.queue], prod_source: leaf.prodSource, resource: leaf.resource, job_status: leaf.jobStatus });
    }
    // The null resource type is not MCORE: one core per job.
    expect(series.find((document) => document.queue === 'AGLT2_UCORE' && document.resource === 'null' && document.job_status === 'running')).toMatchObject({ jobs: 2, cores: 2, hs06: 2 * 10.96 });
    // CRIC gives CERN-PROD_UCORE no corecount: an MCORE job has 8 cores.
    expect(series.find((document) => document.queue === 'CERN-PROD_UCORE' && document.resource === 'MCORE' && document.job_status === 'running')).toMatchObject({ jobs: 500, cores: 4000, hs06: 48_000 });
    // SiGNET has no corepower: hs06 is left out, cores are there (corecount 16).
    expect(series.find((document) => document.queue === 'SiGNET' && document.resource === 'MCORE' && document.job_status === 'running')).toEqual(expect.objectContaining({ cores: 640 }));
    expect(series.filter((document) => document.queue === 'SiGNET').every((document) => !('hs06' in document))).toBe(true);
  });

  test('every document is accepted by the schemas', () => {
    const registry = schemaRegistry();
    const refused = documents.map((document) => interpretDocument(document, registry, SLOT_MS)).filter((result) => !result.ok);
    expect(refused).toEqual([]);
  });

  test('one queues document per queue, with its tags, fields and running cores and HS06', () => {
    const queues = ofType(documents, PANDA_QUEUES.type);
    expect(queues.map((document) => document.queue).sort()).toEqual(Object.keys(pandaAnswer.data).sort());
    for (const document of queues) {
      const queue = document.queue as string;
      const entry = cricEntry(queue);
      const own = leaves.filter((leaf) => leaf.queue === queue);
      const running = own.filter((leaf) => leaf.jobStatus === 'running').map((leaf) => expectedCoresAndHs06(queue, leaf.resource, leaf.jobs));
      const expected: Record<string, unknown> = {
        status: typeof entry?.status === 'string' ? entry.status : 'unknown',
        known: entry !== undefined,
        jobs: sum(own.filter((leaf) => !TERMINAL.has(leaf.jobStatus)).map((leaf) => leaf.jobs)),
        pilot_version: typeof entry?.pilot_version === 'string' ? entry.pilot_version : 'unknown',
        corecount: typeof entry?.corecount === 'number' ? entry.corecount : 8,
        running_cores: sum(running.map((one) => one.cores)),
        datadisk: DATADISK[queue],
      };
      if (typeof entry?.corepower === 'number') {
        expected.corepower = entry.corepower;
        expected.running_hs06 = sum(running.map((one) => one.hs06 ?? 0));
      }
      expect({ queue, fields: fieldsOf(document) }).toEqual({ queue, fields: expected });
      expect(tagsOf(document)).toEqual({ queue, ...QUEUE_TAGS[queue] });
    }
  });

  test("one federations document per federation of the answer's queues: the quarter's pledge and what its queues run", () => {
    const federations = ofType(documents, PANDA_FEDERATIONS.type);
    expect(federations.map((document) => document.federation).sort()).toEqual(Object.keys(Q4_PLEDGE).sort());
    for (const document of federations) {
      const federation = document.federation as string;
      const queues = Object.keys(QUEUE_TAGS).filter((queue) => QUEUE_TAGS[queue].federation === federation);
      const running = leaves.filter((leaf) => queues.includes(leaf.queue) && leaf.jobStatus === 'running');
      const computed = running.map((leaf) => expectedCoresAndHs06(leaf.queue, leaf.resource, leaf.jobs));
      const expected: Record<string, unknown> = { queues: queues.length, running_jobs: sum(running.map((leaf) => leaf.jobs)), running_cores: sum(computed.map((one) => one.cores)) };
      if (computed.some((one) => one.hs06 !== undefined)) expected.running_hs06 = sum(computed.map((one) => one.hs06 ?? 0));
      if (Q4_PLEDGE[federation] !== undefined) expected.cpu_pledge_hs06 = Q4_PLEDGE[federation];
      expect({ federation, fields: fieldsOf(document) }).toEqual({ federation, fields: expected });
    }
  });

  test('one datadisks document per DATADISK read by a queue or holding placed data, with its analysis jobs and shares', () => {
    const datadisks = ofType(documents, PANDA_DATADISKS.type);
    const placed = new Map(placementRows.filter((row) => row.source === 'rucio' && row.rse.includes('DATADISK')).map((row) => [row.rse, row]));
    const read = Object.values(DATADISK).filter((name) => name !== 'unknown');
    expect(datadisks.map((document) => document.datadisk).sort()).toEqual([...new Set([...read, ...placed.keys()])].sort());
    const analysis = (name: string): Leaf[] => leaves.filter((leaf) => DATADISK[leaf.queue] === name && leaf.jobStatus === 'running' && ANALYSIS.has(leaf.prodSource));
    const totalRunning = sum(datadisks.map((document) => sum(analysis(document.datadisk as string).map((leaf) => leaf.jobs))));
    const totalBytes = sum([...placed.values()].map((row) => row.used));
    const fetchedAtMs = (JSON.parse(readFileSync(path.join(run.stateDir, PLACEMENT_CACHE_FILE), 'utf8')) as { fetchedAtMs: number }).fetchedAtMs;
    for (const document of datadisks) {
      const name = document.datadisk as string;
      const jobs = sum(analysis(name).map((leaf) => leaf.jobs));
      const expected: Record<string, unknown> = {
        running_jobs: jobs,
        running_cores: sum(analysis(name).map((leaf) => expectedCoresAndHs06(leaf.queue, leaf.resource, leaf.jobs).cores)),
        queues: Object.values(DATADISK).filter((disk) => disk === name).length,
        running_share: Math.round((jobs / totalRunning) * 10_000) / 100,
        placed: placed.has(name),
      };
      const row = placed.get(name);
      if (row) Object.assign(expected, { bytes: row.used, files: row.files, bytes_share: Math.round((row.used / totalBytes) * 10_000) / 100, placement_age: Math.max(0, Math.round((SLOT_MS - fetchedAtMs) / 1000)) });
      expect({ name, fields: fieldsOf(document) }).toEqual({ name, fields: expected });
    }
    expect(datadisks.find((document) => document.datadisk === 'MWT2_DATADISK')).toMatchObject({ site: 'MWT2', cloud: 'US', running_jobs: 94, running_cores: 90 + 4 * 8 });
    expect(datadisks.find((document) => document.datadisk === 'NDGF-T1_DATADISK')).toMatchObject({ site: 'NDGF-T1', cloud: 'ND', running_jobs: 0, queues: 0 });
  });
});
