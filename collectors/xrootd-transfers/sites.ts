/**
 * Client → site mapping: reverse DNS for addresses, then the domain → site table (lib/sites/siteTable.ts).
 * Look-ups are cached in a file, time out, and never hold a run longer than its budget.
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { normaliseHost, siteOfHostName, UNKNOWN, type ClientPlace, type SiteTable } from '../../lib/sites/siteTable';
import { StateFileError, type StateFile, type StateFileOptions } from '../../lib/state/stateFile';

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
