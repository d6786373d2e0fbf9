import { cachedAnswerState, malformed } from '../../lib/http/cachedSource';
import { entriesOf } from '../../lib/http/cricEntries';
import { isJsonObject } from '../../lib/http/jsonMembers';

// The other sources panda joins with PanDA's counts, each reduced to what the documents need before it is
// cached. Their shapes are CRIC's `?json` answers (an object of entries keyed by name) as QMonit's scrapers
// read them (eschanet/QMonit run_scrapers.py, scrapers/cric.py and scrapers/rebus.py, and their recorded
// answers in test/references/).


const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);

/** CRIC's site description, reduced: the sites whose datapolicies list Nucleus. */
export interface SiteDescription {
  nuclei: string[];
  sites: number;
}

export const CRIC_SITE_CACHE_FILE = 'cric-sites.json';
export const CRIC_SITE_FORMAT = 1;

/** api/atlas/site/query/?json: site name → {name, datapolicies: ['T0Disk', 'Nucleus', ...], ...}. */
export function parseSites(body: Uint8Array): SiteDescription {
  const nuclei: string[] = [];
  let sites = 0;
  for (const [key, entry] of entriesOf(body, 'CRIC sites', 'sites')) {
    sites++;
    const name = text(entry.name) ?? key;
    if (Array.isArray(entry.datapolicies) && entry.datapolicies.includes('Nucleus')) nuclei.push(name);
  }
  if (sites === 0) throw malformed('CRIC sites', 'the answer describes no site');
  return { nuclei, sites };
}

export const CRIC_SITE_CACHE_STATE = cachedAnswerState<SiteDescription>(CRIC_SITE_FORMAT, (value) => {
  if (!isJsonObject(value) || !Array.isArray(value.nuclei) || !value.nuclei.every((name) => typeof name === 'string') || typeof value.sites !== 'number') {
    throw new Error('unexpected content');
  }
  return value as unknown as SiteDescription;
});

/** Where a DATADISK is. */
export interface DatadiskLocation {
  site: string;
  cloud: string;
}

/** CRIC's DDM endpoints, reduced: each site's FTS server and each DATADISK's site and cloud. */
export interface DdmDescription {
  /** ATLAS site → host of the first MASTER FTS server of its first endpoint that names one. */
  ftsBySite: Record<string, string>;
  /** DATADISK (RSE) name → its site and cloud. */
  datadisks: Record<string, DatadiskLocation>;
}

export const CRIC_DDM_CACHE_FILE = 'cric-ddmendpoints.json';
export const CRIC_DDM_FORMAT = 1;

/** The host of an FTS URL (https://fts3-atlas.cern.ch:8446 → fts3-atlas.cern.ch), as QMonit's fts_server tag. */
export function ftsHost(server: string): string {
  try {
    return new URL(server).hostname || server;
  } catch {
    return server;
  }
}

/**
 * api/atlas/ddmendpoint/query/?json: endpoint name → {name, site, cloud, servedrestfts: {MASTER: [url, ...]}, ...}.
 * Large (every endpoint with its protocols): read one endpoint at a time, keeping only the FTS server of each site
 * and the DATADISKs.
 */
export function parseDdmEndpoints(body: Uint8Array): DdmDescription {
  const ftsBySite: Record<string, string> = {};
  const datadisks: Record<string, DatadiskLocation> = {};
  let endpoints = 0;
  for (const [key, entry] of entriesOf(body, 'CRIC DDM endpoints', 'DDM endpoints')) {
    endpoints++;
    const name = text(entry.name) ?? key;
    const site = text(entry.site);
    const restFts = isJsonObject(entry.servedrestfts) ? entry.servedrestfts.MASTER : undefined;
    const master = Array.isArray(restFts) ? restFts.find((server): server is string => text(server) !== undefined) : text(restFts);
    if (site !== undefined && master !== undefined && !(site in ftsBySite)) ftsBySite[site] = ftsHost(master.trim());
    if (name.includes('DATADISK')) datadisks[name] = { site: site ?? 'unknown', cloud: text(entry.cloud) ?? 'unknown' };
  }
  if (endpoints === 0) throw malformed('CRIC DDM endpoints', 'the answer describes no DDM endpoint');
  return { ftsBySite, datadisks };
}

export const CRIC_DDM_CACHE_STATE = cachedAnswerState<DdmDescription>(CRIC_DDM_FORMAT, (value) => {
  if (!isJsonObject(value) || !isJsonObject(value.ftsBySite) || !isJsonObject(value.datadisks)) throw new Error('unexpected content');
  return value as unknown as DdmDescription;
});

/** WLCG CRIC's federations, reduced: federation → 'YYYY.Qn' → CPU pledged to ATLAS (HS06). */
export type FederationPledges = Record<string, Record<string, number>>;

export const FEDERATIONS_CACHE_FILE = 'wlcg-federations.json';
export const FEDERATIONS_FORMAT = 1;

/** The pledge key of the quarter holding `ms` (UTC): January-March is Q1. */
export function quarterOf(ms: number): string {
  const date = new Date(ms);
  return `${date.getUTCFullYear()}.Q${Math.floor(date.getUTCMonth() / 3) + 1}`;
}

/** api/core/federation/query/?json: name → {name, rcsites, pledges: {YYYY: {Qn: {atlas: {CPU, Disk, ...}}}}, ...}. */
export function parseFederations(body: Uint8Array): FederationPledges {
  const pledges: FederationPledges = {};
  let federations = 0;
  for (const [key, entry] of entriesOf(body, 'WLCG CRIC federations', 'federations')) {
    federations++;
    const name = text(entry.name) ?? key;
    const quarters: Record<string, number> = {};
    if (isJsonObject(entry.pledges)) {
      for (const [year, byQuarter] of Object.entries(entry.pledges)) {
        if (!isJsonObject(byQuarter)) continue;
        for (const [quarter, byVo] of Object.entries(byQuarter)) {
          const cpu = isJsonObject(byVo) && isJsonObject(byVo.atlas) ? byVo.atlas.CPU : undefined;
          if (/^Q[1-4]$/.test(quarter) && typeof cpu === 'number' && Number.isFinite(cpu) && cpu >= 0) quarters[`${year}.${quarter}`] = cpu;
        }
      }
    }
    pledges[name] = quarters;
  }
  if (federations === 0) throw malformed('WLCG CRIC federations', 'the answer describes no federation');
  return pledges;
}

export const FEDERATIONS_CACHE_STATE = cachedAnswerState<FederationPledges>(FEDERATIONS_FORMAT, (value) => {
  if (!isJsonObject(value) || !Object.values(value).every(isJsonObject)) throw new Error('unexpected content');
  return value as FederationPledges;
});
