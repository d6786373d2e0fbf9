import { parseDuration } from '../../lib/run/slot';
import { PANDA_JOBS, PANDA_JOBS_DERIVED } from '../../schemas/kinds';

/** The two jobs of this folder: panda reads PanDA and CRIC; panda-derived computes jobs_derived from what panda sent. */
export const PANDA_JOB = 'panda';
export const DERIVED_JOB = 'panda-derived';

/** The tags that name one series independently of its CRIC metadata (which may change). */
export const SERIES_TAGS = [PANDA_JOBS.tags.queue, PANDA_JOBS.tags.prod_source, PANDA_JOBS.tags.resource, PANDA_JOBS.tags.job_status] as const;

/** A moving-average field of jobs_derived: avg_1h, avg_7d, ... */
export type AverageField = Extract<keyof typeof PANDA_JOBS_DERIVED.fields, `avg_${string}`>;

export interface AverageWindow {
  /** As written in the field name and the config: 1h, 7d, ... */
  name: string;
  field: AverageField;
  durationMs: number;
}

const isAverageField = (field: string): field is AverageField => field.startsWith('avg_');

/** The moving averages are the avg_<duration> fields of panda/jobs_derived, shortest first. */
export function averageWindows(): AverageWindow[] {
  return Object.values(PANDA_JOBS_DERIVED.fields)
    .filter(isAverageField)
    .map((field) => ({ name: field.slice(4), field, durationMs: parseDuration(field.slice(4)) }))
    .sort((a, b) => a.durationMs - b.durationMs);
}
