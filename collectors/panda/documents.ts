import type { DocumentFactory } from '../../lib/documents/document';
import type { TagsOf } from '../../lib/documents/kinds';
import type { MonitDocument } from '../../lib/documents/types';
import { PANDA_JOBS, PANDA_JOBS_TERMINAL, PANDA_QUEUES } from '../../schemas/kinds';
import type { QueueDirectory, QueueMetadata } from './cric';
import type { JobCount } from './jobStatistics';

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

/** The eight tags of jobs, jobs_terminal and jobs_derived (the three kinds share them). */
export function seriesTags(series: SeriesId, metadata: QueueMetadata): TagsOf<typeof PANDA_JOBS> {
  return {
    queue: series.queue,
    site: metadata.site,
    cloud: metadata.cloud,
    country: metadata.country,
    tier: metadata.tier,
    prod_source: series.prodSource,
    resource: series.resource,
    job_status: series.jobStatus,
  };
}

/** Queues PanDA lists that the directory does not describe, sorted. */
export function unknownQueues(counts: Iterable<SeriesId>, directory: QueueDirectory): string[] {
  const unknown = new Set<string>();
  for (const count of counts) if (!directory.has(count.queue)) unknown.add(count.queue);
  return [...unknown].sort();
}

/**
 * The jobs (gauges), jobs_terminal (counts over the window) and queues documents of one slot, built one at a
 * time as the runner takes them.
 */
export function* jobDocuments(counts: JobCount[], directory: QueueDirectory, factory: DocumentFactory, options: { terminalStates: Set<string> }): Generator<MonitDocument> {
  const activeJobsPerQueue = new Map<string, number>();
  for (const count of counts) {
    const terminal = options.terminalStates.has(count.jobStatus);
    const tags = seriesTags(count, directory.lookUp(count.queue));
    yield terminal ? factory.build(PANDA_JOBS_TERMINAL, tags, { jobs: count.jobs }) : factory.build(PANDA_JOBS, tags, { jobs: count.jobs });
    activeJobsPerQueue.set(count.queue, (activeJobsPerQueue.get(count.queue) ?? 0) + (terminal ? 0 : count.jobs));
  }
  for (const [queue, jobs] of activeJobsPerQueue) {
    const metadata = directory.lookUp(queue);
    yield factory.build(
      PANDA_QUEUES,
      {
        queue,
        site: metadata.site,
        cloud: metadata.cloud,
        country: metadata.country,
        tier: metadata.tier,
        queue_type: metadata.type,
        queue_resource_type: metadata.resourceType,
      },
      { status: metadata.status, known: directory.has(queue), jobs },
    );
  }
}
