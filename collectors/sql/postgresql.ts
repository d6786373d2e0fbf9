import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { classifyConnectionError, SourceFailure } from '../../lib/documents/failures';
import type { ClientTls } from '../../lib/tls/clientTls';
import { CLIENT_GRACE_MS, type QueryRequest, type ResultRow } from './request';

// PostgreSQL type OIDs (pg_type.oid) whose default parsing differs from what mysql2 gives.
const DATE_OID = 1082;
const TIMESTAMP_OID = 1114;

/** A text of the server as a UTC instant, or the text itself when it is none (infinity, BC dates): reported by the mapping. */
function utcDate(text: string, suffix: string): Date | string {
  const date = new Date(text.replace(' ', 'T') + suffix);
  return Number.isNaN(date.getTime()) ? text : date;
}

/**
 * pg's default parsers read `timestamp` and `date` (no time zone) in the local time of this process;
 * here they are UTC, as mysql2 reads DATETIME (timezone 'Z'). bigint and numeric stay texts (exact):
 * they become numbers as the declared kind says (lib/documents/declared.ts).
 */
export const POSTGRESQL_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === TIMESTAMP_OID) return (text: string) => utcDate(text, 'Z');
    if (oid === DATE_OID) return (text: string) => utcDate(text, 'T00:00:00Z');
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * pg's ssl option from [tls.sql]: its CAs (Node's public ones when none is set), client certificate
 * and key. The server's certificate must chain to them and list `host` (name or address: pg hands
 * the host to Node's check).
 */
export function postgresqlTls(tls: ClientTls): ConnectionOptions {
  const pem = tls.pem;
  return { ca: pem?.ca.length ? pem.ca : undefined, cert: pem?.cert, key: pem?.key, rejectUnauthorized: true };
}

// SQLSTATE classes and codes (PostgreSQL manual, appendix A).
const AUTH_STATES = new Set(['28000', '28P01', '3D000']); // invalid authorization, wrong password, no such database
const TIMEOUT_STATES = new Set(['57014']); // query_canceled: statement_timeout

function classify(error: unknown, stage: 'connect' | 'query'): SourceFailure {
  if (error instanceof SourceFailure) return error;
  const { code, message } = error as { code?: string; message?: string };
  const text = `${code && /^[0-9A-Z]{5}$/.test(code) ? `${code}: ` : ''}${message ?? String(error)}`;
  if (code && TIMEOUT_STATES.has(code)) return new SourceFailure('timeout', text);
  if (code && AUTH_STATES.has(code)) return new SourceFailure('auth', text);
  // pg's own limits: connectionTimeoutMillis and query_timeout.
  if (/timeout expired|connection timeout|Query read timeout/i.test(text)) return new SourceFailure('timeout', text);
  if (/does not support SSL|establishing an SSL connection/i.test(text)) return new SourceFailure('tls', text);
  const connection = classifyConnectionError(error);
  if (connection !== 'other' || stage === 'connect') return new SourceFailure(connection, text);
  // A server error has a SQLSTATE; anything else at this stage is the connection breaking.
  return new SourceFailure(code && /^[0-9A-Z]{5}$/.test(code) ? 'query' : 'other', text);
}

/**
 * Runs one read-only statement on its own PostgreSQL connection and closes it. The session is
 * read-only (default_transaction_read_only, and the statement runs in a READ ONLY transaction rolled
 * back), in UTC, and the server cancels the statement after `timeoutMs` (statement_timeout); the
 * client gives up shortly after in case the server cannot. At most maxRows + 1 rows are fetched.
 */
export async function runPostgresqlQuery({ connection, sql, timeoutMs, maxRows, signal, tls }: QueryRequest): Promise<ResultRow[]> {
  const client = new pg.Client({
    host: connection.host,
    port: connection.port,
    user: connection.user,
    password: connection.password ?? '',
    database: connection.database,
    connectionTimeoutMillis: connection.connectTimeoutMs,
    statement_timeout: Math.ceil(timeoutMs),
    query_timeout: timeoutMs + CLIENT_GRACE_MS,
    options: '-c default_transaction_read_only=on -c TimeZone=UTC',
    application_name: 'monit-collectors sql',
    ssl: tls ? postgresqlTls(tls) : false,
    types: POSTGRESQL_TYPES,
  });
  // Failures reach us through the awaited calls; an 'error' event with no listener would crash the job.
  client.on('error', () => undefined);
  const onAbort = (): void => void client.end().catch(() => undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  let connected = false;
  try {
    await client.connect();
    connected = true;
    await client.query('BEGIN TRANSACTION READ ONLY');
    // The extended protocol takes one statement only: a second one could COMMIT the read-only transaction.
    // (pg has the option; its type declarations do not list it yet.) Through a cursor, the server computes
    // and sends at most maxRows + 1 rows, so a query that matches millions cannot fill this process.
    const declare: pg.QueryConfig & { queryMode: 'extended' } = { text: `DECLARE monit_rows NO SCROLL CURSOR FOR ${sql.trim().replace(/;\s*$/, '')}`, queryMode: 'extended' };
    await client.query(declare);
    const result = await client.query<ResultRow>(`FETCH FORWARD ${maxRows + 1} FROM monit_rows`);
    await client.query('ROLLBACK');
    if (!Array.isArray(result.rows) || !result.fields) throw new SourceFailure('query', 'the statement returned no result set');
    return result.rows;
  } catch (error) {
    throw classify(error, connected ? 'query' : 'connect');
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Not awaited: after a client-side timeout the server may never answer the goodbye.
    void client.end().catch(() => undefined);
  }
}
