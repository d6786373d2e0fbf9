/**
 * Client → site mapping: reverse DNS for addresses, then a domain → site table whose entries may
 * hold first-label rules for domains shared by several sites, e.g.
 *   in2p3.fr = cc*:IN2P3-CC, clr*:IN2P3-LPC
 *   cern.ch = CERN-PROD
 * Look-ups are cached in a file, time out, and never hold a run longer than its budget.
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { StateFileError, type StateFile, type StateFileOptions } from '../../lib/state/stateFile';

export const UNKNOWN = 'unknown';

interface DomainRule {
  /** The first label must start with this ('' = any host of the domain). */
  firstLabelPrefix: string;
  site: string;
}

export interface SiteTable {
  /** Domain (lower case) → rules, tried in order. */
  domains: Map<string, DomainRule[]>;
}

/** Parses `domain = SITE` or `domain = prefix*:SITE, prefix*:SITE[, DEFAULT-SITE]` entries. */
export function parseSiteTable(entries: Array<[string, string]>): SiteTable {
  const domains = new Map<string, DomainRule[]>();
  for (const [domain, value] of entries) {
    const rules: DomainRule[] = [];
    for (const item of value.split(',').map((part) => part.trim()).filter(Boolean)) {
      const match = /^([A-Za-z0-9-]*)\*\s*:\s*(\S+)$/.exec(item);
      if (match) rules.push({ firstLabelPrefix: match[1].toLowerCase(), site: match[2] });
      else if (/^\S+$/.test(item)) rules.push({ firstLabelPrefix: '', site: item });
      else throw new Error(`site table entry "${domain} = ${value}": "${item}" is neither SITE nor prefix*:SITE`);
    }
    domains.set(domain.toLowerCase().replace(/^\.+|\.+$/g, ''), rules);
  }
  return { domains };
}

export interface ClientPlace {
  /** The name the mapping used: the reverse-DNS name, or the address when it has none. */
  hostName: string;
  domain: string;
  site: string;
}

/** Strips the brackets and IPv4-mapped prefix XRootD writes around client addresses. */
export function normaliseHost(host: string): string {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  if (name.startsWith('::ffff:') && isIP(name.slice(7)) === 4) name = name.slice(7);
  return name.replace(/\.$/, '');
}

/** Maps a host name (not an address) through the table: the longest matching domain wins. */
export function siteOfHostName(table: SiteTable, hostName: string): ClientPlace {
  const name = normaliseHost(hostName);
  if (isIP(name)) return { hostName: name, domain: UNKNOWN, site: UNKNOWN };
  const labels = name.split('.');
  for (let start = 0; start < labels.length; start += 1) {
    const domain = labels.slice(start).join('.');
    const rules = table.domains.get(domain);
    if (!rules) continue;
    const rule = rules.find((candidate) => labels[0].startsWith(candidate.firstLabelPrefix));
    return { hostName: name, domain, site: rule ? rule.site : UNKNOWN };
  }
  return { hostName: name, domain: labels.length >= 2 ? labels.slice(-2).join('.') : name, site: UNKNOWN };
}

interface CacheEntry {
  name: string | null;
  expiresMs: number;
}

/** Reverse-DNS answers by address, kept in the state folder (dns-cache.json). */
export type DnsCache = Record<string, CacheEntry>;

export const DNS_CACHE_FILE = 'dns-cache.json';

function isCacheEntry(value: unknown): value is CacheEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (typeof entry.name === 'string' || entry.name === null) && typeof entry.expiresMs === 'number';
}

/** The cache as a state file: entries that are not answers are left out (a cache may always start afresh). */
export const dnsCacheState: StateFileOptions<DnsCache> = {
  initial: () => ({}),
  parse: (value) =>
    typeof value === 'object' && value !== null ? Object.fromEntries(Object.entries(value).filter(([, entry]) => isCacheEntry(entry))) : {},
};

export interface SiteMapperOptions {
  table: SiteTable;
  /** Where answers are kept between runs (written by save()). */
  cache: StateFile<DnsCache>;
  /** One DNS query's timeout; each address is tried twice. */
  timeoutMs: number;
  /** How long a run waits at most for all its look-ups together. */
  budgetMs: number;
  /** How long an answer (or a missing name) is kept. */
  cacheTtlMs: number;
  /** DNS servers ("ip" or "ip:port"); empty = the system's. */
  servers: string[];
}

/** Resolves addresses to names (cached), then maps names to domain and site. */
export class SiteMapper {
  private readonly cache: Map<string, CacheEntry>;
  private readonly resolver: Resolver;
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly options: SiteMapperOptions) {
    this.resolver = new Resolver({ timeout: options.timeoutMs, tries: 2 });
    if (options.servers.length > 0) this.resolver.setServers(options.servers);
    this.cache = new Map(Object.entries(readCache(options.cache)));
  }

  /** Starts the reverse look-up of an address seen in the stream (no-op for names and cached ones). */
  request(host: string, nowMs: number): void {
    const address = normaliseHost(host);
    if (!isIP(address) || this.pending.has(address)) return;
    const cached = this.cache.get(address);
    if (cached && cached.expiresMs > nowMs) return;
    const lookup = this.resolver
      .reverse(address)
      .then((names) => this.cache.set(address, { name: names[0] ?? null, expiresMs: nowMs + this.options.cacheTtlMs }))
      .catch((error: NodeJS.ErrnoException) => {
        // A definite "no name" is cached; a timeout or server failure is retried on the next run.
        if (error.code === 'ENOTFOUND' || error.code === 'ENODATA') this.cache.set(address, { name: null, expiresMs: nowMs + this.options.cacheTtlMs });
      })
      .then(() => {
        this.pending.delete(address);
      });
    this.pending.set(address, lookup);
  }

  /** Waits for the requested look-ups, at most the budget; unanswered ones stay unmapped this run. */
  async settle(): Promise<void> {
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.pending.values()),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.budgetMs);
      }),
    ]);
    clearTimeout(timer);
    if (this.pending.size > 0) this.resolver.cancel();
  }

  place(host: string): ClientPlace {
    const address = normaliseHost(host);
    const name = isIP(address) ? this.cache.get(address)?.name : address;
    if (!name) return { hostName: address, domain: UNKNOWN, site: UNKNOWN };
    return siteOfHostName(this.options.table, name);
  }

  /** Stores the answers that have not expired. */
  save(nowMs: number): void {
    const live: DnsCache = {};
    for (const [address, entry] of this.cache) if (entry.expiresMs > nowMs) live[address] = entry;
    this.options.cache.write(live);
  }
}

/** The cached answers; a cache file that is not JSON starts afresh (it only saves look-ups). */
function readCache(cache: StateFile<DnsCache>): DnsCache {
  try {
    return cache.read();
  } catch (error) {
    if (error instanceof StateFileError) return {};
    throw error;
  }
}
