import type { Logger } from '../../lib/run/log';
import { type StateFile, StateFileError, type StateFileOptions } from '../../lib/state/stateFile';
import { parseSeriesKey } from './documents';

/** The averages of one window: series key → average per slot, as two aligned arrays (two arrays cost far less than one object of 100,000 keys). */
export interface CachedAverages {
  keys: string[];
  values: number[];
}

/** The cached averages of one window for one group of queues. */
interface CachedGroup extends CachedAverages {
  /** Which hour or day (and which settings) the values belong to. */
  validFor: string;
  /** The queues the read was limited to; absent when it read every queue. */
  queues?: string[];
}

/** What one run must read of a cached window, and where what it reads is kept. */
export interface Renewal {
  /** The queues to read: undefined for every queue (no group is valid), empty for none. */
  queues?: Set<string>;
  /** Keeps one average just read. */
  take(key: string, value: number): void;
  /** Caches what was taken; called once the window is read whole. */
  finish(): void;
}

export const AVERAGE_CACHE_FILE = 'derived-averages.json';

/** The file: entry name (`<field>/<group>`) → cached group. Each entry is checked when used (wellFormed), so an older layout's go. */
export type CachedEntries = Record<string, CachedGroup>;

/** How the file is read (context.state): any JSON object; anything else is not this cache. */
export const AVERAGE_CACHE_STATE: StateFileOptions<CachedEntries> = {
  initial: () => ({}),
  parse(value) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object of cached averages');
    return value as CachedEntries;
  },
};

/** Which of `groups` renewal groups a queue belongs to: a hash of its name (FNV-1a), stable across runs and hosts. */
export function renewalGroupOf(queue: string, groups: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < queue.length; i++) {
    hash ^= queue.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % groups;
}

/**
 * Averages read from the 1h and 1d retention policies, kept in the state folder until their retention policy
 * can hold a new point (the next hour, the next day): re-reading 7 or 30 days of every series every 10 minutes
 * would give the same numbers. Each window is kept in groups of queues that expire at different slots, so that
 * the re-reading is spread over the runs of the hour (day) instead of falling on one.
 */
export class AverageCache {
  private readonly entries: CachedEntries;
  /** Entries read or written by this run: only those are saved, so the entries of an old layout or of windows no longer cached go. */
  private readonly used = new Set<string>();
  private changed = false;

  private constructor(
    private readonly file: StateFile<CachedEntries> | undefined,
    entries: CachedEntries,
  ) {
    this.entries = entries;
  }

  /**
   * The cache kept in `file`; an absent or unreadable file is an empty cache (the averages are read from
   * InfluxDB). Read without blocking, so that queries started before go out while a large file is read.
   */
  static async open(file: StateFile<CachedEntries>, log?: Logger): Promise<AverageCache> {
    try {
      return new AverageCache(file, await file.readAsync());
    } catch (error) {
      if (!(error instanceof StateFileError)) throw error;
      log?.warn(`derived quantities: ${error.message}; the 7d and 30d averages are read again`);
      return new AverageCache(file, {});
    }
  }

  /** A cache kept in memory only, empty at the start (no state folder). */
  static inMemory(): AverageCache {
    return new AverageCache(undefined, {});
  }

  /**
   * Plans one window for this run. The cached averages of every group still valid (`validFor(group)` equal to
   * the stored one) go to `record`. The renewal names the queues to read: for each expired group, its queues
   * among `currentQueues` and those its last read found data for (a queue PanDA no longer lists keeps its
   * averages while it has data in the window); and any current queue a valid group's read did not cover (a
   * queue new since). When no group is valid, every queue is read.
   */
  renewal(field: string, groups: number, validFor: (group: number) => string, currentQueues: Iterable<string>, record: (key: string, value: number) => void): Renewal {
    const queuesOf: string[][] = Array.from({ length: groups }, () => []);
    for (const queue of currentQueues) queuesOf[renewalGroupOf(queue, groups)].push(queue);
    const toRead = new Set<string>();
    const kept: CachedGroup[] = [];
    let expired = 0;
    for (let group = 0; group < groups; group++) {
      const cached = this.wellFormed(`${field}/${group}`);
      const validNow = validFor(group);
      if (cached?.validFor !== validNow) {
        expired++;
        const queues = new Set(queuesOf[group]);
        for (const key of cached?.keys ?? []) queues.add(parseSeriesKey(key).queue);
        kept.push({ validFor: validNow, queues: [...queues], keys: [], values: [] });
        for (const queue of queues) toRead.add(queue);
        continue;
      }
      this.used.add(`${field}/${group}`);
      cached.keys.forEach((key, position) => record(key, cached.values[position]));
      if (cached.queues) {
        const covered = new Set(cached.queues);
        const uncovered = queuesOf[group].filter((queue) => !covered.has(queue));
        for (const queue of uncovered) toRead.add(queue);
        if (uncovered.length > 0) cached.queues = [...cached.queues, ...uncovered];
      }
      kept.push(cached);
    }
    const everything = expired === groups;
    if (everything) for (const entry of kept) delete entry.queues;
    return {
      queues: everything ? undefined : toRead,
      take: (key, value) => {
        const entry = kept[renewalGroupOf(parseSeriesKey(key).queue, groups)];
        entry.keys.push(key);
        entry.values.push(value);
      },
      finish: () => {
        if (expired === 0 && toRead.size === 0) return; // every group valid and whole: nothing new to keep
        kept.forEach((entry, group) => {
          this.entries[`${field}/${group}`] = entry;
          this.used.add(`${field}/${group}`);
        });
        this.changed = true;
      },
    };
  }

  /** The entry `name` if it has this layout (keys and values that match, a list of queues if any). */
  private wellFormed(name: string): CachedGroup | undefined {
    const cached = this.entries[name];
    if (!cached || typeof cached.validFor !== 'string' || !Array.isArray(cached.keys) || !Array.isArray(cached.values) || cached.keys.length !== cached.values.length) return undefined;
    if (cached.queues !== undefined && !Array.isArray(cached.queues)) return undefined;
    return cached;
  }

  /** Writes the entries this run used (durably; never in a dry run) if anything changed or an entry went. */
  save(): void {
    const dropped = Object.keys(this.entries).some((name) => !this.used.has(name));
    if (!this.file || (!this.changed && !dropped)) return;
    this.file.write(Object.fromEntries(Object.entries(this.entries).filter(([name]) => this.used.has(name))));
    this.changed = false;
  }
}
