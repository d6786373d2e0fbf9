import type { DocumentFactory } from '../../lib/documents/document';
import type { TagsOf } from '../../lib/documents/kinds';
import type { MonitDocument } from '../../lib/documents/types';
import { PANDA_DATADISKS, PANDA_FEDERATIONS, PANDA_JOBS, PANDA_JOBS_TERMINAL, PANDA_QUEUES } from '../../schemas/kinds';
import { coresAndHs06 } from './cores';
import { NONE, type QueueDirectory, type QueueMetadata, UNKNOWN } from './cric';
import type { FederationPledges } from './cricResources';
import type { JobCount } from './jobStatistics';
import type { Placement } from './placement';

/** One series: a queue, prod source, resource type and job status. */
export interface SeriesId {
  queue: string;
  prodSource: string;
  resource: string;
  jobStatus: string;
}

const SEPARATOR = '\u0000';

/** A string naming one series, for maps (tag values never hold NUL). */
export function seriesKey(series: SeriesId): string {
  return keyOfSeries(series.queue, series.prodSource, series.resource, series.jobStatus);
}

/** seriesKey() of the four tags as they are, without an object (for a million rows read). */
export function keyOfSeries(queue: string, prodSource: string, resource: string, jobStatus: string): string {
  return `${queue}${SEPARATOR}${prodSource}${SEPARATOR}${resource}${SEPARATOR}${jobStatus}`;
}

export function parseSeriesKey(key: string): SeriesId {
  const [queue = '', prodSource = '', resource = '', jobStatus = ''] = key.split(SEPARATOR);
  return { queue, prodSource, resource, jobStatus };
}

/** The sixteen tags describing a queue (panda/queues; the series kinds add prod_source, resource and job_status). */
export function queueTags(queue: string, metadata: QueueMetadata): TagsOf<typeof PANDA_QUEUES> {
  return {
    queue,
    site: metadata.site,
    cloud: metadata.cloud,
    country: metadata.country,
    tier: metadata.tier,
    queue_type: metadata.type,
    queue_resource_type: metadata.resourceType,
    site_state: metadata.siteState,
    federation: metadata.federation,
    nucleus: metadata.nucleus,
    harvester: metadata.harvester,
    pilot_manager: metadata.pilotManager,
    container_type: metadata.containerType,
    fts_server: metadata.ftsServer,
    workflow: metadata.workflow,
    pledged: metadata.pledged,
  };
}

/** The tags of jobs, jobs_terminal and jobs_derived (the three kinds share them). */
export function seriesTags(series: SeriesId, metadata: QueueMetadata): TagsOf<typeof PANDA_JOBS> {
  return { ...queueTags(series.queue, metadata), prod_source: series.prodSource, resource: series.resource, job_status: series.jobStatus };
}

/** Queues PanDA lists that the directory does not describe, sorted. */
export function unknownQueues(counts: Iterable<SeriesId>, directory: QueueDirectory): string[] {
  const unknown = new Set<string>();
  for (const count of counts) if (!directory.has(count.queue)) unknown.add(count.queue);
  return [...unknown].sort();
}

/** What the documents beyond the job counts read besides PanDA and CRIC's queue description. */
export interface SlotSources {
  terminalStates: Set<string>;
  /** Prod source labels of analysis jobs (the DAOD distribution). */
  analysisProdSources: Set<string>;
  /** Pledges per federation and quarter (WLCG CRIC); undefined: unknown. */
  pledges?: FederationPledges;
  /** The pledge key of the slot's quarter ('2026.Q4'). */
  quarter: string;
  /** Whether placement_url is set (the documents then say whether each DATADISK has placement data). */
  placementConfigured: boolean;
  /** Bytes and files per DATADISK, and when they were fetched; undefined: no placement data. */
  placement?: { value: Placement; fetchedAtMs: number };
  slotMs: number;
}

const RUNNING = 'running';

/** Running jobs, their cores and HS06, summed over series. */
interface Running {
  jobs: number;
  cores: number;
  hs06: number;
  /** Whether any of those jobs' queues has a corepower (else hs06 is left out). */
  hs06Known: boolean;
}

const noneRunning = (): Running => ({ jobs: 0, cores: 0, hs06: 0, hs06Known: false });

function addRunning(total: Running, jobs: number, cores: number, hs06: number | undefined): void {
  total.jobs += jobs;
  total.cores += cores;
  if (hs06 !== undefined) {
    total.hs06 += hs06;
    total.hs06Known = true;
  }
}

/** A share in percent, rounded to 0.01; undefined when the total is 0. */
function percent(part: number, total: number): number | undefined {
  return total > 0 ? Math.round((part / total) * 10_000) / 100 : undefined;
}

/**
 * The jobs (gauges), jobs_terminal (counts over the window), queues, federations and datadisks documents of one
 * slot, built one at a time as the runner takes them.
 */
export function* jobDocuments(counts: JobCount[], directory: QueueDirectory, factory: DocumentFactory, sources: SlotSources): Generator<MonitDocument> {
  const activeJobsPerQueue = new Map<string, number>();
  const runningPerQueue = new Map<string, Running>();
  const analysisPerQueue = new Map<string, Running>();
  // A queue's sixteen tags are built once, not once per series (a production answer has ~48 series per queue).
  let queue = '';
  let metadata = directory.lookUp(queue);
  let ofQueue = queueTags(queue, metadata);
  for (const count of counts) {
    const terminal = sources.terminalStates.has(count.jobStatus);
    if (count.queue !== queue) {
      queue = count.queue;
      metadata = directory.lookUp(queue);
      ofQueue = queueTags(queue, metadata);
    }
    const tags = { ...ofQueue, prod_source: count.prodSource, resource: count.resource, job_status: count.jobStatus };
    const { cores, hs06 } = coresAndHs06(count.jobs, count.resource, metadata);
    const fields = { jobs: count.jobs, cores, hs06 };
    yield terminal ? factory.build(PANDA_JOBS_TERMINAL, tags, fields) : factory.build(PANDA_JOBS, tags, fields);
    activeJobsPerQueue.set(count.queue, (activeJobsPerQueue.get(count.queue) ?? 0) + (terminal ? 0 : count.jobs));
    if (!runningPerQueue.has(count.queue)) runningPerQueue.set(count.queue, noneRunning());
    if (count.jobStatus === RUNNING) {
      addRunning(runningPerQueue.get(count.queue) as Running, count.jobs, cores, hs06);
      if (sources.analysisProdSources.has(count.prodSource)) {
        const analysis = analysisPerQueue.get(count.queue) ?? noneRunning();
        addRunning(analysis, count.jobs, cores, hs06);
        analysisPerQueue.set(count.queue, analysis);
      }
    }
  }

  const perFederation = new Map<string, Running & { queues: number }>();
  const perDatadisk = new Map<string, Running & { queues: number }>();
  for (const [queue, jobs] of activeJobsPerQueue) {
    const metadata = directory.lookUp(queue);
    const running = runningPerQueue.get(queue) ?? noneRunning();
    yield factory.build(PANDA_QUEUES, queueTags(queue, metadata), {
      status: metadata.status,
      known: directory.has(queue),
      jobs,
      pilot_version: metadata.pilotVersion,
      corecount: metadata.corecount,
      corepower: metadata.corepower,
      running_cores: running.cores,
      running_hs06: running.hs06Known ? running.hs06 : undefined,
      datadisk: metadata.datadisk,
    });
    if (metadata.federation !== UNKNOWN && metadata.federation !== NONE) {
      const federation = perFederation.get(metadata.federation) ?? { ...noneRunning(), queues: 0 };
      federation.queues++;
      addRunning(federation, running.jobs, running.cores, running.hs06Known ? running.hs06 : undefined);
      perFederation.set(metadata.federation, federation);
    }
    if (metadata.datadisk !== UNKNOWN && metadata.datadisk !== NONE) {
      const datadisk = perDatadisk.get(metadata.datadisk) ?? { ...noneRunning(), queues: 0 };
      datadisk.queues++;
      const analysis = analysisPerQueue.get(queue);
      if (analysis) addRunning(datadisk, analysis.jobs, analysis.cores, undefined);
      perDatadisk.set(metadata.datadisk, datadisk);
    }
  }

  for (const [federation, running] of [...perFederation].sort(([a], [b]) => a.localeCompare(b))) {
    yield factory.build(
      PANDA_FEDERATIONS,
      { federation },
      {
        cpu_pledge_hs06: sources.pledges?.[federation]?.[sources.quarter],
        running_hs06: running.hs06Known ? running.hs06 : undefined,
        running_cores: running.cores,
        running_jobs: running.jobs,
        queues: running.queues,
      },
    );
  }

  yield* datadiskDocuments(perDatadisk, directory, factory, sources);
}

/** DATADISKs read by the slot's queues, and those with placement data even when no queue reads them. */
function* datadiskDocuments(perDatadisk: Map<string, Running & { queues: number }>, directory: QueueDirectory, factory: DocumentFactory, sources: SlotSources): Generator<MonitDocument> {
  const placed = sources.placement?.value ?? {};
  const names = [...new Set([...perDatadisk.keys(), ...Object.keys(placed)])].sort();
  let totalBytes = 0;
  let totalRunning = 0;
  for (const name of names) {
    totalBytes += placed[name]?.bytes ?? 0;
    totalRunning += perDatadisk.get(name)?.jobs ?? 0;
  }
  const ageSeconds = sources.placement ? Math.max(0, Math.round((sources.slotMs - sources.placement.fetchedAtMs) / 1000)) : undefined;
  for (const name of names) {
    const running = perDatadisk.get(name) ?? { ...noneRunning(), queues: 0 };
    const location = directory.datadiskLocation(name);
    const data = placed[name];
    yield factory.build(
      PANDA_DATADISKS,
      { datadisk: name, site: location.site, cloud: location.cloud },
      {
        running_jobs: running.jobs,
        running_cores: running.cores,
        queues: running.queues,
        bytes: data?.bytes,
        files: data?.files,
        bytes_share: data ? percent(data.bytes, totalBytes) : undefined,
        running_share: percent(running.jobs, totalRunning),
        placement_age: data ? ageSeconds : undefined,
        placed: sources.placementConfigured ? data !== undefined : undefined,
      },
    );
  }
}
