import { SourceFailure } from '../../lib/documents/failures';
import { runMysqlQuery } from './mysql';
import { runOracleQuery } from './oracle';
import { runPostgresqlQuery } from './postgresql';
import type { Engine } from './queries';
import type { QueryRequest, ResultRow } from './request';

export type { QueryRequest, ResultRow };

type EngineRunner = (request: QueryRequest) => Promise<ResultRow[]>;

const RUNNERS: Record<Engine, EngineRunner> = { mysql: runMysqlQuery, postgresql: runPostgresqlQuery, oracle: runOracleQuery };

/**
 * Runs one read-only statement on its own connection of the query's engine and closes it. The
 * server stops the statement after `timeoutMs`, the session or transaction is read-only, and every
 * failure is a SourceFailure with its class.
 */
export async function runReadOnlyQuery(request: QueryRequest): Promise<ResultRow[]> {
  if (request.signal.aborted) throw new SourceFailure('aborted', 'the job deadline passed before the query started');
  try {
    return await RUNNERS[request.connection.engine](request);
  } catch (error) {
    // Whatever the driver says of a connection closed under it, the deadline is why.
    if (request.signal.aborted) throw new SourceFailure('aborted', 'stopped at the job deadline');
    throw error;
  }
}
