/**
 * A GOCDB-style downtime feed: the XML of GOCDB's `?method=get_downtime` (one DOWNTIME element per
 * downtime and service, or nested SERVICES), or the same entries as JSON. As ARGO's GOCDB connector,
 * only CLASSIFICATION SCHEDULED with SEVERITY OUTAGE is a scheduled downtime. The last good answer is
 * kept in the status job's state folder, so a feed outage does not forget known downtimes.
 */
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { fetchBody } from '../lib/http/get';
import { withoutCredentials } from '../lib/http/credentials';
import { StateFile } from '../lib/state/stateFile';
import type { ClientTls } from '../lib/tls/clientTls';
import type { Downtime } from './downtime';
import { DAY_MS } from './history';
import type { DowntimeFeedMatch, ModuleRule } from './rules';

/** One service a feed downtime affects. */
export interface FeedService {
  hostname: string;
  serviceType: string;
  /** GOCDB's HOSTED_BY: the site's short name. */
  site: string;
}

/** One downtime of the feed, as declared. */
export interface FeedDowntime {
  id: string;
  /** SCHEDULED or UNSCHEDULED. */
  classification: string;
  /** OUTAGE or WARNING (at risk). */
  severity: string;
  startMs: number;
  endMs: number;
  description: string;
  services: FeedService[];
}

/** ARGO's rule (argo-connectors' GOCDB downtime parser): only a scheduled outage is a downtime; the rest counts as measured. */
export function isScheduledOutage(downtime: Pick<FeedDowntime, 'classification' | 'severity'>): boolean {
  return downtime.classification.toUpperCase() === 'SCHEDULED' && downtime.severity.toUpperCase() === 'OUTAGE';
}

/** A feed answer that cannot be read as downtimes. */
export class FeedError extends Error {
  override name = 'FeedError';
}

type Entry = Record<string, unknown>;

/** The value of `key` (upper case, as every name is once parsed) in an entry, as text; '' when absent or not a text or number. */
function textOf(entry: Entry, key: string): string {
  const value = entry[key];
  return typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '';
}

/** JSON with every object key in upper case, as the XML parser gives its names: GOCDB's names in any case. */
function upperCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(upperCaseKeys);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key.toUpperCase(), upperCaseKeys(inner)]));
}

/** The years a feed time may fall in: anything else is a broken value, not a downtime. */
const FIRST_YEAR = 2000;
const LAST_YEAR = 2100;

/**
 * Epoch seconds (START_DATE) first, else GOCDB's "YYYY-MM-DD HH:MM" in UTC (FORMATED_START_DATE), else
 * ISO 8601; undefined when absent, a string saying why when refused. GOCDB's START_DATE is whole
 * seconds: 13 digits are milliseconds from another producer, refused rather than guessed.
 */
function timeOf(entry: Entry, key: 'START' | 'END'): number | string | undefined {
  const name = `${key}_DATE`;
  const epoch = textOf(entry, name);
  let ms: number;
  if (/^[-+]?[\d.]+(e[-+]?\d+)?$/i.test(epoch)) {
    if (/^\d{13}$/.test(epoch)) return `${name} ${epoch} looks like milliseconds: give epoch seconds, as GOCDB does`;
    if (!/^\d{9,11}$/.test(epoch)) return `${name} ${epoch} is not whole epoch seconds (9 to 11 digits)`;
    ms = Number(epoch) * 1000;
  } else {
    const formatted = textOf(entry, `FORMATED_${name}`) || epoch;
    const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(:\d{2})?)(Z|[+-]\d{2}:?\d{2})?$/.exec(formatted);
    if (!match) return undefined;
    ms = Date.parse(`${match[1]}T${match[2]}${match[4] ?? 'Z'}`);
    if (Number.isNaN(ms)) return undefined;
  }
  const year = new Date(ms).getUTCFullYear();
  if (year < FIRST_YEAR || year > LAST_YEAR) return `${name} is in ${year}, outside ${FIRST_YEAR}–${LAST_YEAR}`;
  return ms;
}

function asArray(value: unknown): unknown[] {
  return value === undefined || value === null || value === '' ? [] : Array.isArray(value) ? value : [value];
}

function serviceOf(entry: Entry): FeedService {
  return { hostname: textOf(entry, 'HOSTNAME'), serviceType: textOf(entry, 'SERVICE_TYPE'), site: textOf(entry, 'HOSTED_BY') };
}

/** One entry as a FeedDowntime, or why not. */
function readEntry(entry: unknown): FeedDowntime | string {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return 'is not an object';
  const object = entry as Entry;
  const id = textOf(object, 'ID') || textOf(object, 'PRIMARY_KEY');
  if (!id) return 'has no ID or PRIMARY_KEY';
  const startMs = timeOf(object, 'START');
  const endMs = timeOf(object, 'END');
  if (startMs === undefined) return `downtime ${id}: START_DATE is missing or not a time`;
  if (typeof startMs === 'string') return `downtime ${id}: ${startMs}`;
  if (endMs === undefined) return `downtime ${id}: END_DATE is missing or not a time`;
  if (typeof endMs === 'string') return `downtime ${id}: ${endMs}`;
  if (endMs <= startMs) return `downtime ${id}: END_DATE is not after START_DATE`;
  // The nested form (GOCDB's nested and paged answers) lists its services; the flat form is one service per element.
  const nested = object.SERVICES;
  const services = nested && typeof nested === 'object' ? asArray((nested as Entry).SERVICE).filter((one): one is Entry => !!one && typeof one === 'object').map(serviceOf) : [serviceOf(object)];
  if (services.every((service) => !service.hostname && !service.site)) return `downtime ${id}: names no HOSTNAME or HOSTED_BY`;
  return {
    id,
    classification: textOf(object, 'CLASSIFICATION'),
    severity: textOf(object, 'SEVERITY'),
    startMs,
    endMs,
    description: textOf(object, 'DESCRIPTION'),
    services,
  };
}

/**
 * Parses a feed answer: XML (<results><DOWNTIME .../></results>) or JSON (an array of entries with
 * GOCDB's element names, or {"DOWNTIME": [...]}). A body that is neither throws a FeedError; a bad
 * entry is skipped and reported through `problem` with its number (the first is 1).
 */
export function parseDowntimeFeed(body: string, url: string, problem: (message: string) => void): FeedDowntime[] {
  const text = body.replace(/^\uFEFF/, '').trim();
  let entries: unknown[];
  if (text.startsWith('<')) {
    const valid = XMLValidator.validate(text);
    if (valid !== true) throw new FeedError(`downtime feed ${url}: not XML (${valid.err.msg} at line ${valid.err.line}, column ${valid.err.col})`);
    const upperCase = (name: string): string => name.toUpperCase();
    const parsed = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '',
      transformTagName: upperCase,
      transformAttributeName: upperCase,
      parseTagValue: false,
      isArray: (name) => name === 'DOWNTIME' || name === 'SERVICE',
    }).parse(text) as Entry;
    const results = parsed.RESULTS;
    if (results === undefined) throw new FeedError(`downtime feed ${url}: XML without a <results> element: not a GOCDB get_downtime answer`);
    entries = results && typeof results === 'object' ? asArray((results as Entry).DOWNTIME) : [];
  } else {
    let parsed: unknown;
    try {
      parsed = upperCaseKeys(JSON.parse(text));
    } catch (error) {
      throw new FeedError(`downtime feed ${url}: neither XML nor JSON (${(error as Error).message}); it starts with ${JSON.stringify(text.slice(0, 60))}`);
    }
    const list = Array.isArray(parsed) ? parsed : parsed && typeof parsed === 'object' ? (parsed as Entry).DOWNTIME : undefined;
    if (!Array.isArray(list)) throw new FeedError(`downtime feed ${url}: JSON must be an array of downtimes or {"DOWNTIME": [...]}`);
    entries = list;
  }
  const downtimes: FeedDowntime[] = [];
  entries.forEach((entry, index) => {
    const read = readEntry(entry);
    // Counted from 1, as a reader of the feed counts its entries.
    if (typeof read === 'string') problem(`downtime feed ${url}: entry ${index + 1} ${read}; skipped`);
    else downtimes.push(read);
  });
  return downtimes;
}

/** Whether a feed service is one of the module's: its hostname or site, and its service type when the module lists any. */
export function serviceMatches(match: DowntimeFeedMatch, service: FeedService): boolean {
  const named = match.hostnames.some((hostname) => hostname.toLowerCase() === service.hostname.toLowerCase()) || match.sites.some((site) => site.toLowerCase() === service.site.toLowerCase());
  return named && (match.serviceTypes.length === 0 || match.serviceTypes.some((type) => type.toLowerCase() === service.serviceType.toLowerCase()));
}

type FeedRules = readonly Pick<ModuleRule, 'module' | 'downtimeFeed'>[];

/** The modules a feed downtime names. */
function modulesOf(entry: FeedDowntime, rules: FeedRules): string[] {
  return rules.filter((rule) => rule.downtimeFeed && entry.services.some((service) => serviceMatches(rule.downtimeFeed as DowntimeFeedMatch, service))).map((rule) => rule.module);
}

/** The feed's scheduled outages as downtimes of the modules they name; those naming no module are dropped. */
export function feedToDowntimes(feed: readonly FeedDowntime[], rules: FeedRules): Downtime[] {
  return feed.filter(isScheduledOutage).flatMap((entry): Downtime[] => {
    const modules = modulesOf(entry, rules);
    return modules.length === 0 ? [] : [{ startMs: entry.startMs, endMs: entry.endMs, modules, reason: entry.description || 'scheduled downtime', source: `feed ${entry.id}` }];
  });
}

/** The last good answer of the feed, per URL. */
interface RememberedFeed {
  url: string;
  fetchedMs: number;
  downtimes: FeedDowntime[];
}

function rememberedFeedFile(stateDir: string, writable: boolean): StateFile<RememberedFeed | undefined> {
  return new StateFile<RememberedFeed | undefined>(path.join(stateDir, 'downtime-feed.json'), {
    initial: () => undefined,
    parse: (value) => {
      const remembered = value as Partial<RememberedFeed> | null;
      if (!remembered || typeof remembered.url !== 'string' || !Array.isArray(remembered.downtimes)) throw new Error('not a remembered downtime feed');
      // A time that is not a finite number would cover nothing, silently.
      const broken = remembered.downtimes.find((downtime: Partial<FeedDowntime> | null) => !Number.isFinite(downtime?.startMs) || !Number.isFinite(downtime?.endMs));
      if (broken !== undefined) throw new Error(`downtime ${JSON.stringify((broken as Partial<FeedDowntime> | null)?.id)} has a start or end that is not a time`);
      return remembered as RememberedFeed;
    },
  }, writable);
}

/**
 * GOCDB's query window: from the slot's UTC day start to two days later, so that the last good answer,
 * kept through a feed outage past midnight, still holds the next day's downtimes.
 */
export function feedRequestUrl(url: string, slotMs: number): string {
  const parsed = new URL(url);
  const windowed = ['windowstart', 'windowend', 'startdate', 'enddate', 'ongoing_only', 'all_lastmonth', 'id'].some((key) => parsed.searchParams.has(key));
  if (!windowed && parsed.searchParams.get('method') === 'get_downtime') {
    const dayStartMs = slotMs - (slotMs % DAY_MS);
    parsed.searchParams.set('windowstart', new Date(dayStartMs).toISOString().slice(0, 10));
    parsed.searchParams.set('windowend', new Date(dayStartMs + 2 * DAY_MS).toISOString().slice(0, 10));
  }
  return parsed.toString();
}

export interface FeedOptions {
  url: string;
  timeoutMs: number;
  /** [status] downtime_feed_max_body_bytes: a longer answer is not read, and the last good one is used. */
  maxBytes: number;
  /** The modules: only the downtimes of theirs are kept as the last good answer. */
  rules: FeedRules;
  slotMs: number;
  stateDir: string;
  /** [tls.status]: asked for only when about to connect. */
  tls?: () => ClientTls;
  signal?: AbortSignal;
  problem: (message: string) => void;
  /** False for a dry run or a past slot: the last good answer is not replaced. */
  remember: boolean;
}

/**
 * The feed's downtimes: fetched now, else (the feed down or unreadable: a problem) the last good
 * answer of the same URL, else none.
 */
export async function readDowntimeFeed(options: FeedOptions): Promise<FeedDowntime[]> {
  const shown = withoutCredentials(options.url);
  const stored = rememberedFeedFile(options.stateDir, options.remember);
  // The stored answer of another URL (the setting was changed) says nothing of this one's downtimes.
  const lastGood = (): { downtimes: FeedDowntime[]; said: string } => {
    try {
      const remembered = stored.read();
      if (!remembered || remembered.url !== options.url) return { downtimes: [], said: 'no earlier answer from this URL: no feed downtime applies' };
      const count = remembered.downtimes.length;
      return { downtimes: remembered.downtimes, said: `using the last good answer (${count} downtime${count === 1 ? '' : 's'})` };
    } catch (error) {
      options.problem(`downtime feed ${shown}: the last good answer is unreadable: ${(error as Error).message}`);
      return { downtimes: [], said: 'no usable earlier answer: no feed downtime applies' };
    }
  };
  let downtimes: FeedDowntime[];
  try {
    const body = await fetchBody(feedRequestUrl(options.url, options.slotMs), {
      source: 'downtime feed',
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      tls: options.tls?.(),
      accept: 'application/xml, application/json;q=0.9, */*;q=0.5',
      maxBytes: options.maxBytes,
      maxBytesSetting: '[status] downtime_feed_max_body_bytes',
    });
    // Only what can become a downtime of a module: a whole site's or region's feed stays out of the state file.
    downtimes = parseDowntimeFeed(body.toString('utf8'), shown, options.problem).filter((downtime) => isScheduledOutage(downtime) && modulesOf(downtime, options.rules).length > 0);
  } catch (error) {
    const kept = lastGood();
    options.problem(`${(error as Error).message}; ${kept.said}`);
    return kept.downtimes;
  }
  stored.write({ url: options.url, fetchedMs: Date.now(), downtimes });
  return downtimes;
}
