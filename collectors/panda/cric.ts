import path from 'node:path';
import type { Logger } from '../../lib/run/log';
import { StateFile } from '../../lib/state/stateFile';
import { isJsonObject, jsonObjectMembers, NotAnObjectError } from '../../lib/http/jsonMembers';
import { SourceFailure } from '../../lib/documents/failures';
import { type CachedAnswer, cachedAnswerState, type CacheUse, loadCached, type LoadContext, readCachedAnswer } from '../../lib/http/cachedSource';
import { CRIC_DDM_CACHE_FILE, CRIC_DDM_CACHE_STATE, CRIC_SITE_CACHE_FILE, CRIC_SITE_CACHE_STATE, type DatadiskLocation, type DdmDescription, type SiteDescription } from './cricResources';

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

const UNKNOWN_LOCATION: DatadiskLocation = { site: UNKNOWN, cloud: UNKNOWN };

/** Queue name → metadata; a queue it does not hold reads as all 'unknown'. Also where each DATADISK is (CRIC DDM endpoints). */
export class QueueDirectory {
  constructor(
    private readonly queues: Map<string, QueueMetadata> = new Map(),
    private readonly datadisks: Record<string, DatadiskLocation> = {},
  ) {}

  /** The site and cloud of a DATADISK (RSE), 'unknown' without CRIC's DDM description of it. */
  datadiskLocation(datadisk: string): DatadiskLocation {
    return Object.hasOwn(this.datadisks, datadisk) ? this.datadisks[datadisk] : UNKNOWN_LOCATION;
  }

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

/** The cache of CRIC's PanDA-queue description in panda's state folder. */
export const CRIC_CACHE_FILE = 'cric-pandaqueues.json';

/** Layout of the cached queues: 2 holds every QueueMetadata field (version 1 kept the first seven). */
export const CRIC_CACHE_FORMAT = 2;


/** A cached queue completed with 'unknown' for what an older version did not keep, so no tag is ever undefined. */
function completed(stored: unknown): QueueMetadata {
  const metadata: QueueMetadata = { ...UNKNOWN_QUEUE };
  if (!isJsonObject(stored)) return metadata;
  for (const [key, value] of Object.entries(stored)) {
    if (!(key in UNKNOWN_QUEUE) && key !== 'corepower') continue;
    if (key === 'corecount' || key === 'corepower') {
      if (typeof value === 'number' && Number.isFinite(value) && value > 0) metadata[key] = value;
    } else if (typeof value === 'string') {
      (metadata as unknown as Record<string, string>)[key] = value;
    }
  }
  return metadata;
}

/** How the queue cache is read: version 1's `{fetchedAtMs, attemptedAtMs, queues}` reads as an outdated copy. */
export const CRIC_CACHE_STATE = cachedAnswerState<Record<string, QueueMetadata>>(
  CRIC_CACHE_FORMAT,
  (value) => {
    if (!isJsonObject(value)) throw new Error('unexpected content');
    return Object.fromEntries(Object.entries(value).map(([queue, stored]) => [queue, completed(stored)]));
  },
  (file) => file.queues,
);

/** The other CRIC descriptions a queue's metadata is joined with; undefined: not known (its tags say 'unknown'). */
export interface JoinedDescriptions {
  sites?: SiteDescription;
  ddm?: DdmDescription;
}

/** The queues with nucleus (CRIC sites) and fts_server (CRIC DDM endpoints) filled in. */
export function joinedDirectory(queues: Record<string, QueueMetadata>, joined: JoinedDescriptions): QueueDirectory {
  const nuclei = joined.sites ? new Set(joined.sites.nuclei) : undefined;
  const directory = new Map<string, QueueMetadata>();
  for (const [queue, metadata] of Object.entries(queues)) {
    const known = metadata.site !== UNKNOWN;
    directory.set(queue, {
      ...metadata,
      nucleus: nuclei && known ? (nuclei.has(metadata.site) ? metadata.site : NONE) : UNKNOWN,
      ftsServer: joined.ddm && known ? (joined.ddm.ftsBySite[metadata.site] ?? NONE) : UNKNOWN,
    });
  }
  return new QueueDirectory(directory, joined.ddm?.datadisks);
}

/**
 * The queue directory panda last loaded, from its caches (read-only), joined as panda joins them: panda-derived
 * describes the series with it. `file` is panda's queue cache; the site and DDM caches are read beside it.
 */
export function cachedQueueDirectory(file: StateFile<CachedAnswer<Record<string, QueueMetadata>> | undefined>, log: Logger): QueueDirectory {
  const queues = readCachedAnswer(file, 'CRIC', log);
  if (!queues) return new QueueDirectory();
  const beside = (name: string): string => path.join(path.dirname(file.file), name);
  const sites = readCachedAnswer(new StateFile(beside(CRIC_SITE_CACHE_FILE), CRIC_SITE_CACHE_STATE, false), 'CRIC sites', log);
  const ddm = readCachedAnswer(new StateFile(beside(CRIC_DDM_CACHE_FILE), CRIC_DDM_CACHE_STATE, false), 'CRIC DDM endpoints', log);
  return joinedDirectory(queues.value, { sites: sites?.value, ddm: ddm?.value });
}

export interface CricOptions extends LoadContext {
  url: string;
  refreshMs: number;
  timeoutMs: number;
  /** The cache (panda's context.state). */
  cache: StateFile<CachedAnswer<Record<string, QueueMetadata>> | undefined>;
}

export type CricSource = CacheUse;

/**
 * CRIC's PanDA-queue description (not yet joined with the site and DDM descriptions): fetched at most once per
 * refresh interval and kept in the state folder; when CRIC fails, the cached copy is served (and the failure
 * reported); without one, every queue is unknown.
 */
export async function loadQueueDescriptions(options: CricOptions): Promise<{ queues: Record<string, QueueMetadata>; source: CricSource }> {
  const loaded = await loadCached(
    {
      source: 'CRIC',
      url: options.url,
      refreshMs: options.refreshMs,
      timeoutMs: options.timeoutMs,
      file: options.cache,
      format: CRIC_CACHE_FORMAT,
      parse: (body) => parseCric(body).toJSON(),
      describe: (queues) => `${Object.keys(queues).length} PanDA queues`,
      withoutCopy: `every queue is sent with '${UNKNOWN}' metadata`,
    },
    options,
  );
  return { queues: loaded.value ?? {}, source: loaded.use };
}
