import type { Logger } from '../../lib/run/log';
import { type StateFile, StateFileError, type StateFileOptions } from '../../lib/state/stateFile';
import { jsonObjectMembers, NotAnObjectError } from '../../lib/http/jsonMembers';
import { SourceFailure } from '../../lib/documents/failures';
import { fetchBody, notJson } from '../../lib/http/get';
import type { ClientTls } from '../../lib/tls/clientTls';

/** The value of every metadata tag of a queue CRIC does not describe. */
export const UNKNOWN = 'unknown';

/** The value of a text property CRIC leaves empty (null or '') for a queue it describes. */
export const NONE = 'none';

/** QMonit's core count of an MCORE job when CRIC gives the queue no corecount. */
export const DEFAULT_MCORE_CORES = 8;

/** What the documents need of one CRIC PanDA-queue description (and of the site and DDM descriptions joined to it). */
export interface QueueMetadata {
  site: string;
  cloud: string;
  country: string;
  tier: string;
  status: string;
  type: string;
  resourceType: string;
  /** CRIC state (ACTIVE, DISABLED). */
  siteState: string;
  /** CRIC rc: the WLCG federation. */
  federation: string;
  /** From CRIC's site description (datapolicies): the site's name when it is a nucleus, 'none' otherwise. */
  nucleus: string;
  harvester: string;
  pilotManager: string;
  pilotVersion: string;
  containerType: string;
  /** From CRIC's DDM endpoints of the site (servedrestfts MASTER): the first FTS server's host. */
  ftsServer: string;
  workflow: string;
  /** CRIC is_pledged: 'true', 'false' or 'unknown'. */
  pledged: string;
  /** Cores of an MCORE job (CRIC corecount, DEFAULT_MCORE_CORES when none). */
  corecount: number;
  /** HS06 per core (CRIC corepower); undefined when CRIC gives none. */
  corepower?: number;
  /** The first DATADISK of CRIC astorages read_lan (QMonit's datadisk_name), or 'none'. */
  datadisk: string;
}

const UNKNOWN_QUEUE: QueueMetadata = {
  site: UNKNOWN,
  cloud: UNKNOWN,
  country: UNKNOWN,
  tier: UNKNOWN,
  status: UNKNOWN,
  type: UNKNOWN,
  resourceType: UNKNOWN,
  siteState: UNKNOWN,
  federation: UNKNOWN,
  nucleus: UNKNOWN,
  harvester: UNKNOWN,
  pilotManager: UNKNOWN,
  pilotVersion: UNKNOWN,
  containerType: UNKNOWN,
  ftsServer: UNKNOWN,
  workflow: UNKNOWN,
  pledged: UNKNOWN,
  corecount: DEFAULT_MCORE_CORES,
  datadisk: UNKNOWN,
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

function textOf(value: unknown, empty = UNKNOWN): string {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : empty;
}

function positiveNumber(value: unknown): number | undefined {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) && number > 0 ? number : undefined;
}

/** The first DATADISK of astorages.read_lan, as QMonit takes it. */
function firstDatadisk(astorages: unknown): string {
  const readLan = (astorages as { read_lan?: unknown } | null | undefined)?.read_lan;
  const found = Array.isArray(readLan) ? readLan.find((name): name is string => typeof name === 'string' && name.includes('DATADISK')) : undefined;
  return found ?? NONE;
}

/** The metadata of one CRIC PanDA-queue entry (nucleus and ftsServer come from other CRIC descriptions: UNKNOWN here). */
export function queueMetadataOf(entry: Record<string, unknown>): QueueMetadata {
  const corecount = positiveNumber(entry.corecount);
  return {
    site: textOf(entry.atlas_site),
    cloud: textOf(entry.cloud),
    country: textOf(entry.country),
    tier: textOf(entry.tier),
    status: textOf(entry.status),
    type: textOf(entry.type),
    resourceType: textOf(entry.resource_type),
    siteState: textOf(entry.state, NONE),
    federation: textOf(entry.rc, NONE),
    nucleus: UNKNOWN,
    harvester: textOf(entry.harvester, NONE),
    pilotManager: textOf(entry.pilot_manager, NONE),
    pilotVersion: textOf(entry.pilot_version, NONE),
    containerType: textOf(entry.container_type, NONE),
    ftsServer: UNKNOWN,
    workflow: textOf(entry.workflow, NONE),
    pledged: typeof entry.is_pledged === 'boolean' ? String(entry.is_pledged) : UNKNOWN,
    corecount: corecount !== undefined ? Math.round(corecount) : DEFAULT_MCORE_CORES,
    corepower: positiveNumber(entry.corepower),
    datadisk: firstDatadisk(entry.astorages),
  };
}

/**
 * Reads CRIC's pandaqueue JSON text (queue name → description) one queue at a time (jsonObjectMembers): parsed
 * whole, CRIC's large answer would become a tree far larger than its text. An answer describing no queue, or not
 * an object, throws a SourceFailure; one that is not JSON throws its SyntaxError.
 */
export function parseCric(text: Uint8Array): QueueDirectory {
  const queues = new Map<string, QueueMetadata>();
  const byResource: Array<[string, QueueMetadata]> = [];
  try {
    for (const [name, description] of jsonObjectMembers(text)) {
      if (typeof description !== 'object' || description === null || Array.isArray(description)) continue;
      const entry = description as Record<string, unknown>;
      const metadata = queueMetadataOf(entry);
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

/** The cache file in panda's state folder. */
export interface CricCache {
  /** When the cached copy was fetched from CRIC, UTC ms. */
  fetchedAtMs: number;
  /** When CRIC was last asked (successfully or not), UTC ms: it is asked at most once per refresh interval. */
  attemptedAtMs: number;
  queues: Record<string, QueueMetadata>;
}

export const CRIC_CACHE_FILE = 'cric-pandaqueues.json';

/** How the cache is read and checked (context.state); none yet: undefined. */
export const CRIC_CACHE_STATE: StateFileOptions<CricCache | undefined> = {
  initial: () => undefined,
  parse(value) {
    const cache = value as Partial<CricCache> | null;
    if (typeof cache?.fetchedAtMs !== 'number' || typeof cache.attemptedAtMs !== 'number' || typeof cache.queues !== 'object' || cache.queues === null) {
      throw new Error('unexpected content');
    }
    return cache as CricCache;
  },
};

/** The cached copy, if there is a readable one; an unreadable one is named in the log and ignored. */
function readCache(file: StateFile<CricCache | undefined>, log: Logger): CricCache | undefined {
  try {
    return file.read();
  } catch (error) {
    if (!(error instanceof StateFileError)) throw error;
    log.warn(`CRIC cache ${file.file} is unreadable (${error.message}); ignoring it`);
    return undefined;
  }
}

const directoryOf = (queues: Record<string, QueueMetadata>): QueueDirectory => new QueueDirectory(new Map(Object.entries(queues)));

/** The queue directory panda last loaded, from its cache (read-only): panda-derived describes the series with it. */
export function cachedQueueDirectory(file: StateFile<CricCache | undefined>, log: Logger): QueueDirectory {
  const cache = readCache(file, log);
  return cache ? directoryOf(cache.queues) : new QueueDirectory();
}

export interface CricOptions {
  url: string;
  refreshMs: number;
  timeoutMs: number;
  /** The cache (panda's context.state). */
  cache: StateFile<CricCache | undefined>;
  nowMs: number;
  log: Logger;
  /** Trust and identity of [tls.cric], loaded only when CRIC is asked (a CredentialError is a CRIC failure the run survives). */
  tls?: () => ClientTls;
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
  const cache = readCache(options.cache, options.log);
  if (cache && options.nowMs - cache.attemptedAtMs < options.refreshMs && options.nowMs >= cache.attemptedAtMs) {
    return { directory: directoryOf(cache.queues), source: 'cache' };
  }
  try {
    const body = await fetchBody(options.url, { source: 'CRIC', timeoutMs: options.timeoutMs, signal: options.signal, tls: options.tls?.() });
    let directory: QueueDirectory;
    try {
      directory = parseCric(body);
    } catch (error) {
      throw error instanceof SyntaxError ? notJson('CRIC', options.url, body, error) : error;
    }
    options.cache.write({ fetchedAtMs: options.nowMs, attemptedAtMs: options.nowMs, queues: directory.toJSON() });
    options.log.info(`CRIC: fetched ${directory.size} PanDA queues`);
    return { directory, source: 'fetched' };
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const reason = (error as Error).message;
    if (!cache) {
      options.problem(`${reason}; no cached copy, so every queue is sent with '${UNKNOWN}' metadata`);
      return { directory: new QueueDirectory(), source: 'none' };
    }
    options.cache.write({ ...cache, attemptedAtMs: options.nowMs });
    options.problem(`${reason}; serving the cached copy fetched at ${new Date(cache.fetchedAtMs).toISOString()}`);
    return { directory: directoryOf(cache.queues), source: 'stale cache' };
  }
}
