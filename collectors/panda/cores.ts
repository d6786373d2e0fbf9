import type { QueueMetadata } from './cric';

/** QMonit's resource_factor: an MCORE job (its resource type's name contains MCORE) has the queue's corecount cores, any other job 1. */
export function coresPerJob(resource: string, metadata: Pick<QueueMetadata, 'corecount'>): number {
  return resource.includes('MCORE') ? metadata.corecount : 1;
}

/** Cores and HS06 of `jobs` jobs of a resource type on a queue; hs06 undefined when CRIC gives no corepower. */
export function coresAndHs06(jobs: number, resource: string, metadata: Pick<QueueMetadata, 'corecount' | 'corepower'>): { cores: number; hs06?: number } {
  const cores = jobs * coresPerJob(resource, metadata);
  return { cores, hs06: metadata.corepower === undefined ? undefined : cores * metadata.corepower };
}
