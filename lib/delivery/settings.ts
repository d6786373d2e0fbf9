import type { Config } from '../config/config';

/** Where and how documents are sent: the [monit] section. */
export interface MonitSettings {
  url: string;
  token?: string;
  username?: string;
  password?: string;
  /** Per-request timeout. */
  timeoutMs: number;
  /** Requests in flight at once. */
  concurrency: number;
  maxBatchDocuments: number;
  maxBatchBytes: number;
  /** Spool size bound: beyond it the oldest batches are dropped (and counted). */
  spoolMaxBytes: number;
}

export function monitSettings(config: Config): MonitSettings {
  const section = config.section('monit');
  return {
    url: section.url('url'),
    token: section.optionalSecret('token'),
    username: section.optionalString('username'),
    password: section.optionalSecret('password'),
    timeoutMs: section.duration('timeout', '30s'),
    concurrency: section.int('concurrency', 2, { min: 1, max: 64 }),
    maxBatchDocuments: section.int('max_batch_documents', 5000, { min: 1, max: 10_000 }),
    maxBatchBytes: section.int('max_batch_bytes', 8_000_000, { min: 1000 }),
    spoolMaxBytes: section.int('spool_max_bytes', 500_000_000, { min: 1000 }),
  };
}
