import type { ConfigSection } from '../lib/config/config';
import { DEFAULT_CHUNK_MS, DEFAULT_CONCURRENCY, DEFAULT_FIELDS_PER_QUERY, DEFAULT_LATE_WINDOWS, type DownsampleOptions } from './downsample';
import type { Resolution } from '../lib/run/slot';

export type DownsampleSettings = Pick<DownsampleOptions, 'lateWindows' | 'chunkMs' | 'fieldsPerQuery' | 'concurrency' | 'databases'>;

/** The [downsample] keys (see downsample/sample.cfg) for one resolution. */
export function downsampleSettings(section: ConfigSection, resolution: Resolution): DownsampleSettings {
  const databases = section.list('databases', []);
  return {
    lateWindows: section.int(`late_windows_${resolution}`, DEFAULT_LATE_WINDOWS[resolution], { min: 0 }),
    chunkMs: section.duration(`chunk_${resolution}`, `${DEFAULT_CHUNK_MS[resolution] / 3_600_000}h`),
    fieldsPerQuery: section.int('fields_per_query', DEFAULT_FIELDS_PER_QUERY, { min: 1 }),
    concurrency: section.int('concurrency', DEFAULT_CONCURRENCY, { min: 1, max: 16 }),
    databases: databases.length ? databases : undefined,
  };
}
