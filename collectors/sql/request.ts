import type { ClientTls } from '../../lib/tls/clientTls';
import type { ConnectionSettings } from './queries';

export type ResultRow = Record<string, unknown>;

/** What every engine is asked to do: one read-only statement, bounded in time and rows. */
export interface QueryRequest {
  connection: ConnectionSettings;
  sql: string;
  timeoutMs: number;
  /** More rows than this fail the query; an engine may stop fetching after maxRows + 1. */
  maxRows: number;
  signal: AbortSignal;
  /** [tls.sql] when the connection uses TLS. */
  tls: ClientTls | undefined;
}

/** Time the client waits beyond the server-side limit, for a server that cannot enforce it (or a dead network). */
export const CLIENT_GRACE_MS = 2000;
