import { schemaRegistry } from '../../lib/documents/schemas';
import { parseDuration } from '../../lib/run/slot';

/** The producer of every document of this collector (database monit_production_panda). */
export const PRODUCER = 'panda';

/** Document types; their tags and fields are in schemas/panda/<type>.json. */
export const TYPES = {
  jobs: 'jobs',
  jobsTerminal: 'jobs_terminal',
  derived: 'jobs_derived',
  queues: 'queues',
} as const;

/** The field holding the job count in jobs and jobs_terminal. */
export const JOBS_FIELD = 'jobs';

/** The tags that name one series independently of its CRIC metadata (which may change). */
export const SERIES_TAGS = ['queue', 'prod_source', 'resource', 'job_status'] as const;

export interface AverageWindow {
  /** As written in the field name and the config: 1h, 7d, ... */
  name: string;
  field: string;
  durationMs: number;
}

/** The moving averages are the avg_<duration> fields of schemas/panda/jobs_derived.json, shortest first. */
export function averageWindows(): AverageWindow[] {
  const fields = Object.keys(schemaRegistry().require(PRODUCER, TYPES.derived).fields);
  return fields
    .filter((field) => field.startsWith('avg_'))
    .map((field) => ({ name: field.slice(4), field, durationMs: parseDuration(field.slice(4)) }))
    .sort((a, b) => a.durationMs - b.durationMs);
}
