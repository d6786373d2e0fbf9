import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The averages of one window: series key → average per slot, as two aligned arrays (two arrays cost far less than one object of 100,000 keys). */
export interface CachedAverages {
  keys: string[];
  values: number[];
}

interface CachedWindow extends CachedAverages {
  /** Which hour or day (and which settings) the values belong to. */
  validFor: string;
}

export const AVERAGE_CACHE_FILE = 'derived-averages.json';

/**
 * Averages read from the 1h and 1d retention policies, kept in the state folder until their retention policy
 * can hold a new point (the next hour, the next day): re-reading 7 or 30 days of 120,000 series every
 * 10 minutes would give the same numbers.
 */
export class AverageCache {
  private readonly windows: Record<string, CachedWindow>;
  private changed = false;

  private constructor(
    private readonly file: string,
    windows: Record<string, CachedWindow>,
  ) {
    this.windows = windows;
  }

  /** The cache of `stateDir`; an absent or unreadable file is an empty cache. */
  static open(stateDir: string): AverageCache {
    const file = path.join(stateDir, AVERAGE_CACHE_FILE);
    let windows: Record<string, CachedWindow> = {};
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) windows = parsed as Record<string, CachedWindow>;
    } catch {
      // no cache yet, or a damaged one: the averages are read from InfluxDB
    }
    return new AverageCache(file, windows);
  }

  /** The averages cached for `field`, if they are still valid (a cache of another layout is not). */
  get(field: string, validFor: string): CachedAverages | undefined {
    const cached = this.windows[field];
    if (!cached || cached.validFor !== validFor || !Array.isArray(cached.keys) || !Array.isArray(cached.values) || cached.keys.length !== cached.values.length) return undefined;
    return cached;
  }

  set(field: string, validFor: string, averages: CachedAverages): void {
    this.windows[field] = { validFor, keys: averages.keys, values: averages.values };
    this.changed = true;
  }

  /** Writes the file (temporary file, then rename) if anything changed. */
  save(): void {
    if (!this.changed) return;
    mkdirSync(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.windows));
    renameSync(temporary, this.file);
    this.changed = false;
  }
}
