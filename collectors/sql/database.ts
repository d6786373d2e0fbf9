import type { ClientTls } from '../../lib/tls/clientTls';
import { SourceFailure } from '../../lib/documents/failures';
import { runMysqlQuery } from './mysql';
import { runOracleQuery } from './oracle';
import { runPostgresqlQuery } from './postgresql';
import type { ConnectionSettings, Engine } from './queries';

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

type EngineRunner = (request: QueryRequest) => Promise<ResultRow[]>;

const RUNNERS: Record<Engine, EngineRunner> = { mysql: runMysqlQuery, postgresql: runPostgresqlQuery, oracle: runOracleQuery };

/**
 * Runs one read-only statement on its own connection of the query's engine and closes it. The
 * server stops the statement after `timeoutMs`, the session or transaction is read-only, and every
 * failure is a SourceFailure with its class.
 */
export async function runReadOnlyQuery(request: QueryRequest): Promise<ResultRow[]> {
  if (request.signal.aborted) throw new SourceFailure('aborted', 'the job deadline passed before the query started');
  return RUNNERS[request.connection.engine](request);
}
