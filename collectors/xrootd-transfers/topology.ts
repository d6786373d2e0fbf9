/**
 * Site topology: site → cloud, country, federation. From CRIC when configured (ATLAS CRIC's site
 * description and WLCG CRIC's federations, fetched at most once per refresh and cached in the state
 * folder), completed and overridden by the [xrootd-transfers.topology] table:
 *   CERN-PROD = cloud=CERN, country=Switzerland, federation=CH-CERN
 */
import { readFileSync } from 'node:fs';
import type { ConfigSection } from '../../lib/config/config';
import { isJsonObject } from '../../lib/http/jsonMembers';
import type { CollectorContext } from '../../lib/run/collector';
import type { StateFileOptions } from '../../lib/state/stateFile';
import { cachedAnswerState, loadCached, malformed, type CachedAnswer } from '../../lib/http/cachedSource';
import { entriesOf } from '../../lib/http/cricEntries';
import { UNKNOWN } from '../../lib/sites/siteTable';

export interface SitePlace {
  cloud?: string;
  country?: string;
  federation?: string;
}

/** Site name → where it is. */
export type Topology = Map<string, SitePlace>;

const PLACE_KEYS = ['cloud', 'country', 'federation'] as const;

const PLACE_SHAPE = 'cloud=..., country=..., federation=...';

/**
 * Parses `SITE = cloud=..., country=..., federation=...` entries (any of the three may be left out, not
 * all). An empty entry or a field given twice is an error: either would be a half-edited line read silently.
 */
export function parseTopologyTable(section: ConfigSection): Topology {
  const topology: Topology = new Map();
  for (const site of section.keys()) {
    if (!section.has(site)) throw section.invalid(site, `is empty: give the site's ${PLACE_SHAPE} (at least one), or remove the line`);
    const fields = section.list(site).map((item) => item.slice(0, item.lastIndexOf('=')).trim());
    const repeated = fields.find((field, index) => fields.indexOf(field) !== index);
    if (repeated) throw section.invalid(site, `gives "${repeated}" twice`);
    const place: SitePlace = {};
    for (const [key, value] of section.pairs(site, PLACE_SHAPE)) {
      if (!(PLACE_KEYS as readonly string[]).includes(key)) throw section.invalid(site, `"${key}" is not one of ${PLACE_KEYS.join(', ')}`);
      place[key as (typeof PLACE_KEYS)[number]] = value;
    }
    topology.set(site, place);
  }
  return topology;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);

/**
 * ATLAS CRIC api/atlas/site/query/?json: name → {name, cloud, country, rc_site, ...}. A site is known by
 * its experiment name and its WLCG (GOCDB) name, rc_site: all.sitename may be either.
 */
export function parseCricSites(body: Uint8Array): Record<string, SitePlace & { rcSite?: string }> {
  const sites: Record<string, SitePlace & { rcSite?: string }> = {};
  for (const [key, entry] of entriesOf(body, 'CRIC sites', 'sites')) {
    sites[text(entry.name) ?? key] = { cloud: text(entry.cloud), country: text(entry.country), rcSite: text(entry.rc_site) };
  }
  if (Object.keys(sites).length === 0) throw malformed('CRIC sites', 'the answer describes no site');
  return sites;
}

/** WLCG CRIC api/core/federation/query/?json: name → {name, rcsites: [...], country, ...}; returns rc site → federation. */
export function parseCricFederations(body: Uint8Array): Record<string, string> {
  const federationOf: Record<string, string> = {};
  let federations = 0;
  for (const [key, entry] of entriesOf(body, 'WLCG CRIC federations', 'federations')) {
    federations++;
    const name = text(entry.name) ?? key;
    if (Array.isArray(entry.rcsites)) for (const site of entry.rcsites) if (text(site)) federationOf[String(site).trim()] = name;
  }
  if (federations === 0) throw malformed('WLCG CRIC federations', 'the answer describes no federation');
  return federationOf;
}

/** CRIC's answers and the table together: the table's values win, field by field. */
export function mergeTopology(cricSites: Record<string, SitePlace & { rcSite?: string }>, federations: Record<string, string>, table: Topology): Topology {
  const topology: Topology = new Map();
  for (const [name, site] of Object.entries(cricSites)) {
    const place: SitePlace = { cloud: site.cloud, country: site.country, federation: federations[site.rcSite ?? name] ?? federations[name] };
    topology.set(name, place);
    if (site.rcSite && !cricSites[site.rcSite]) topology.set(site.rcSite, place);
  }
  for (const [site, place] of table) {
    const merged: SitePlace = { ...topology.get(site) };
    for (const key of PLACE_KEYS) if (place[key] !== undefined) merged[key] = place[key];
    topology.set(site, merged);
  }
  return topology;
}

export type RedirectionScope = 'local' | 'same_cloud' | 'other_cloud' | typeof UNKNOWN;

/**
 * local: the target server's site is the client's; same_cloud / other_cloud: the sites differ and the
 * topology gives both a cloud; unknown: either site, or either cloud, is not known.
 */
export function redirectionScope(topology: Topology, clientSite: string, targetSite: string): RedirectionScope {
  if (clientSite === UNKNOWN || targetSite === UNKNOWN) return UNKNOWN;
  if (clientSite === targetSite) return 'local';
  const clientCloud = topology.get(clientSite)?.cloud;
  const targetCloud = topology.get(targetSite)?.cloud;
  if (!clientCloud || !targetCloud) return UNKNOWN;
  return clientCloud === targetCloud ? 'same_cloud' : 'other_cloud';
}

const CACHE_FORMAT = 1;
const sitesCache = cachedAnswerState<Record<string, SitePlace & { rcSite?: string }>>(CACHE_FORMAT, (value) => {
  if (!isJsonObject(value) || !Object.values(value).every(isJsonObject)) throw new Error('unexpected content');
  return value as Record<string, SitePlace & { rcSite?: string }>;
});
const federationsCache = cachedAnswerState<Record<string, string>>(CACHE_FORMAT, (value) => {
  if (!isJsonObject(value) || !Object.values(value).every((federation) => typeof federation === 'string')) throw new Error('unexpected content');
  return value as Record<string, string>;
});

/** A CRIC answer from a URL (cached, refreshed at most once per refresh) or a local file (read each run). */
async function readSource<T>(context: CollectorContext, fetching: { refreshMs: number; timeoutMs: number }, key: string, source: string, cacheFile: string, parse: (body: Buffer) => T, cache: StateFileOptions<CachedAnswer<T> | undefined>): Promise<T | undefined> {
  const section = context.section;
  const location = section.optionalString(key);
  if (!location) return undefined;
  if (!/^https?:\/\//.test(location)) {
    const file = section.path(key);
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch (error) {
      throw section.invalid(key, `cannot read ${file}: ${(error as Error).message}`);
    }
    try {
      return parse(body);
    } catch (error) {
      throw section.invalid(key, `${file}: ${(error as Error).message}`);
    }
  }
  const loaded = await loadCached(
    {
      source,
      url: location,
      ...fetching,
      file: context.state(cacheFile, cache),
      format: CACHE_FORMAT,
      parse,
      describe: (value) => `${Object.keys(value as object).length} entries`,
      withoutCopy: 'redirections of its sites count as scope unknown unless the topology table names them',
    },
    { nowMs: Date.now(), log: context.log, problem: context.problem, signal: context.signal, tls: () => context.tls('cric') },
  );
  return loaded.value;
}

/** The run's topology: CRIC's (when configured) completed by the [<section>.topology] table. */
export async function loadTopology(context: CollectorContext, tableSection: ConfigSection): Promise<Topology> {
  const table = parseTopologyTable(tableSection);
  // Read even without CRIC URLs, so that the config check knows them.
  const fetching = { refreshMs: context.section.duration('topology_refresh', '1d'), timeoutMs: context.section.duration('topology_timeout', '30s') };
  const sites = (await readSource(context, fetching, 'topology_cric_sites', 'CRIC sites', 'cric-sites.json', parseCricSites, sitesCache)) ?? {};
  const federations = (await readSource(context, fetching, 'topology_cric_federations', 'WLCG CRIC federations', 'cric-federations.json', parseCricFederations, federationsCache)) ?? {};
  return mergeTopology(sites, federations, table);
}
