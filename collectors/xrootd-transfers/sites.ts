/**
 * Client → site mapping: reverse DNS for addresses, then a domain → site table whose entries may
 * hold first-label rules for domains shared by several sites, e.g.
 *   in2p3.fr = cc*:IN2P3-CC, clr*:IN2P3-LPC
 *   cern.ch = CERN-PROD
 * Look-ups are cached in a file, time out, and never hold a run longer than its budget.
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

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

export interface SiteMapperOptions {
  table: SiteTable;
  cacheFile: string;
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
    this.cache = new Map(Object.entries(readCache(options.cacheFile)));
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

  save(nowMs: number): void {
    const live: Record<string, CacheEntry> = {};
    for (const [address, entry] of this.cache) if (entry.expiresMs > nowMs) live[address] = entry;
    const temporary = `${this.options.cacheFile}.tmp`;
    writeFileSync(temporary, JSON.stringify(live));
    renameSync(temporary, this.options.cacheFile);
  }
}

function readCache(file: string): Record<string, CacheEntry> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, CacheEntry>;
  } catch {
    return {};
  }
}
