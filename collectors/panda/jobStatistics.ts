import { SourceFailure } from '../../lib/documents/failures';
import { fetchJson } from '../../lib/http/get';
import type { ClientTls } from '../../lib/tls/clientTls';
import { isJsonObject } from '../../lib/http/jsonMembers';

/** One leaf of PanDA's site → prod_source_label → resource_type → job_status → count tree. */
export interface JobCount {
  queue: string;
  prodSource: string;
  resource: string;
  jobStatus: string;
  jobs: number;
}

export interface JobStatistics {
  counts: JobCount[];
  /** One line per malformed entry that was left out (a partial answer). */
  skipped: string[];
}


/**
 * Unwraps the v1 API's {success, message, data} envelope; the legacy /server/panda endpoint answers the tree itself.
 * A refusal throws.
 */
function unwrapEnvelope(body: unknown): unknown {
  if (isJsonObject(body) && typeof body.success === 'boolean' && 'data' in body) {
    if (!body.success) throw new SourceFailure('other', `PanDA refused the request: ${String(body.message ?? 'no message')}`);
    return body.data;
  }
  return body;
}

/**
 * Reads PanDA's job statistics. A wrong overall shape or an empty tree (PanDA answers {} when its own database
 * query fails) throws; a malformed entry inside an otherwise good tree is left out and listed in `skipped`.
 */
export function parseJobStatistics(body: unknown): JobStatistics {
  const tree = unwrapEnvelope(body);
  if (!isJsonObject(tree)) throw new SourceFailure('malformed', `PanDA: expected an object of queues, got ${Array.isArray(tree) ? 'a list' : typeof tree}`);
  const queues = Object.keys(tree);
  if (queues.length === 0) throw new SourceFailure('malformed', 'PanDA: the answer lists no queue at all (PanDA answers {} when its database query fails)');
  const counts: JobCount[] = [];
  const skipped: string[] = [];
  for (const queue of queues) {
    const labels = tree[queue];
    if (!isJsonObject(labels)) {
      skipped.push(`${queue}: expected an object of prod source labels`);
      continue;
    }
    for (const [prodSource, resources] of Object.entries(labels)) {
      if (!isJsonObject(resources)) {
        skipped.push(`${queue}/${prodSource}: expected an object of resource types`);
        continue;
      }
      for (const [resource, statuses] of Object.entries(resources)) {
        if (!isJsonObject(statuses)) {
          skipped.push(`${queue}/${prodSource}/${resource}: expected an object of job statuses`);
          continue;
        }
        for (const [jobStatus, jobs] of Object.entries(statuses)) {
          if (typeof jobs !== 'number' || !Number.isSafeInteger(jobs) || jobs < 0) {
            skipped.push(`${queue}/${prodSource}/${resource}/${jobStatus}: ${JSON.stringify(jobs)} is not a job count`);
            continue;
          }
          counts.push({ queue, prodSource, resource, jobStatus, jobs });
        }
      }
    }
  }
  if (counts.length === 0) throw new SourceFailure('malformed', `PanDA: no valid job count in the answer (${skipped.length} malformed entries, first: ${skipped[0]})`);
  return { counts, skipped };
}

export interface JobStatisticsRequest {
  url: string;
  /** Terminal states are counted over this many minutes before now. */
  terminalWindowMinutes: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Trust and identity of [tls.panda]. */
  tls?: ClientTls;
}

/** Fetches and parses get_job_statistics_per_site_label_resource. */
export async function fetchJobStatistics(request: JobStatisticsRequest): Promise<JobStatistics> {
  const body = await fetchJson(request.url, {
    source: 'PanDA',
    timeoutMs: request.timeoutMs,
    signal: request.signal,
    tls: request.tls,
    searchParams: { time_window: request.terminalWindowMinutes },
  });
  return parseJobStatistics(body);
}
