import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../lib/run/log';
import { jsonObjectMembers, NotAnObjectError } from '../../lib/http/jsonMembers';
import { SourceFailure } from '../../lib/documents/failures';
import { fetchBody, notJson } from '../../lib/http/get';

/** The value of every metadata tag of a queue CRIC does not describe. */
export const UNKNOWN = 'unknown';

/** What the documents need of one CRIC PanDA-queue description. */
export interface QueueMetadata {
  site: string;
  cloud: string;
  country: string;
  tier: string;
  status: string;
  type: string;
  resourceType: string;
}

const UNKNOWN_QUEUE: QueueMetadata = {
  site: UNKNOWN,
  cloud: UNKNOWN,
  country: UNKNOWN,
  tier: UNKNOWN,
  status: UNKNOWN,
  type: UNKNOWN,
  resourceType: UNKNOWN,
};

/** Queue name → metadata; a queue it does not hold reads as all 'unknown'. */
export class QueueDirectory {
  constructor(private readonly queues: Map<string, QueueMetadata> = new Map()) {}

  has(queue: string): boolean {
    return this.queues.has(queue);
  }

  lookUp(queue: string): QueueMetadata {
    return this.queues.get(queue) ?? UNKNOWN_QUEUE;
  }

  get size(): number {
    return this.queues.size;
  }

  toJSON(): Record<string, QueueMetadata> {
    return Object.fromEntries(this.queues);
  }
}

function textOf(value: unknown): string {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : UNKNOWN;
}

/**
 * Reads CRIC's pandaqueue JSON text (queue name → description) one queue at a time (jsonObjectMembers): whole,
 * its 16 MB would be a 43 MB tree. An answer describing no queue, or not an object, throws a SourceFailure; one
 * that is not JSON throws its SyntaxError.
 */
export function parseCric(text: Uint8Array): QueueDirectory {
  const queues = new Map<string, QueueMetadata>();
  const byResource: Array<[string, QueueMetadata]> = [];
  try {
    for (const [name, description] of jsonObjectMembers(text)) {
      if (typeof description !== 'object' || description === null || Array.isArray(description)) continue;
      const entry = description as Record<string, unknown>;
      const metadata: QueueMetadata = {
        site: textOf(entry.atlas_site),
        cloud: textOf(entry.cloud),
        country: textOf(entry.country),
        tier: textOf(entry.tier),
        status: textOf(entry.status),
        type: textOf(entry.type),
        resourceType: textOf(entry.resource_type),
      };
      queues.set(name, metadata);
      if (typeof entry.panda_resource === 'string' && entry.panda_resource !== name) byResource.push([entry.panda_resource, metadata]);
    }
  } catch (error) {
    if (error instanceof NotAnObjectError) throw new SourceFailure('malformed', 'CRIC: expected an object of PanDA queues');
    throw error;
  }
  // PanDA names a queue by its panda_resource, which is nearly always the CRIC key too.
  for (const [resource, metadata] of byResource) if (!queues.has(resource)) queues.set(resource, metadata);
  if (queues.size === 0) throw new SourceFailure('malformed', 'CRIC: the answer describes no PanDA queue');
  return new QueueDirectory(queues);
}

/** The cache file in the state folder. */
interface CricCache {
  /** When the cached copy was fetched from CRIC, UTC ms. */
  fetchedAtMs: number;
  /** When CRIC was last asked (successfully or not), UTC ms: it is asked at most once per refresh interval. */
  attemptedAtMs: number;
  queues: Record<string, QueueMetadata>;
}

export const CRIC_CACHE_FILE = 'cric-pandaqueues.json';

function readCache(file: string, log: Logger): CricCache | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const cache = JSON.parse(text) as CricCache;
    if (typeof cache.fetchedAtMs !== 'number' || typeof cache.attemptedAtMs !== 'number' || typeof cache.queues !== 'object' || cache.queues === null) {
      throw new Error('unexpected content');
    }
    return cache;
  } catch (error) {
    log.warn(`CRIC cache ${file} is unreadable (${(error as Error).message}); ignoring it`);
    return undefined;
  }
}

function writeCache(file: string, cache: CricCache): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(cache));
  renameSync(temporary, file);
}

export interface CricOptions {
  url: string;
  refreshMs: number;
  timeoutMs: number;
  stateDir: string;
  nowMs: number;
  log: Logger;
  /** Reports a CRIC failure that the run survives. */
  problem: (message: string) => void;
  signal?: AbortSignal;
}

export type CricSource = 'cache' | 'fetched' | 'stale cache' | 'none';

/**
 * The queue directory: CRIC's answer, fetched at most once per refresh interval and kept in the state folder.
 * When CRIC fails, the cached copy is served (and the failure reported); without one, every queue is unknown.
 */
export async function loadQueueDirectory(options: CricOptions): Promise<{ directory: QueueDirectory; source: CricSource }> {
  const file = path.join(options.stateDir, CRIC_CACHE_FILE);
  const cache = readCache(file, options.log);
  const fromCache = (queues: Record<string, QueueMetadata>): QueueDirectory => new QueueDirectory(new Map(Object.entries(queues)));
  if (cache && options.nowMs - cache.attemptedAtMs < options.refreshMs && options.nowMs >= cache.attemptedAtMs) {
    return { directory: fromCache(cache.queues), source: 'cache' };
  }
  try {
    const body = await fetchBody(options.url, { source: 'CRIC', timeoutMs: options.timeoutMs, signal: options.signal });
    let directory: QueueDirectory;
    try {
      directory = parseCric(body);
    } catch (error) {
      throw error instanceof SyntaxError ? notJson('CRIC', options.url, body, error) : error;
    }
    writeCache(file, { fetchedAtMs: options.nowMs, attemptedAtMs: options.nowMs, queues: directory.toJSON() });
    options.log.info(`CRIC: fetched ${directory.size} PanDA queues`);
    return { directory, source: 'fetched' };
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const reason = (error as Error).message;
    if (!cache) {
      options.problem(`${reason}; no cached copy, so every queue is sent with '${UNKNOWN}' metadata`);
      return { directory: new QueueDirectory(), source: 'none' };
    }
    writeCache(file, { ...cache, attemptedAtMs: options.nowMs });
    options.problem(`${reason}; serving the cached copy fetched at ${new Date(cache.fetchedAtMs).toISOString()}`);
    return { directory: fromCache(cache.queues), source: 'stale cache' };
  }
}
