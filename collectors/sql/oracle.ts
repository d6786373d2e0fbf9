import oracledb, { type OracleColumn, type OracleConnection, type OracleFetchType } from 'oracledb';
import { classifyConnectionError, SourceFailure } from '../../lib/documents/failures';
import type { ClientTls } from '../../lib/tls/clientTls';
import { CLIENT_GRACE_MS, type QueryRequest, type ResultRow } from './request';
import { oracleConnectString } from './oracleConnectString';

/**
 * Oracle Database with node-oracledb in Thin mode: pure JavaScript, no Instant Client
 * (initOracleClient is never called). No Oracle server runs here: sql.test.ts and oracle.test.ts test
 * everything up to the connection.
 */

/**
 * The wallet Thin mode takes for TCPS (walletContent, one PEM text): the client certificate and key
 * of [tls.sql], then its CAs. Thin mode reads its certificate (the first one), key and CAs from that
 * one text, so the client certificate comes first, and a wallet of CAs alone is
 * refused by the driver (NJS-505): CAs without an identity fail here, clearly, before connecting.
 * Undefined (Node's public CAs) when [tls.sql] names neither.
 */
export function oracleWallet(tls: ClientTls): string | undefined {
  const pem = tls.pem;
  const identity = pem?.cert && pem.key ? [pem.cert, pem.key] : [];
  const ca = pem?.ca ?? [];
  if (ca.length && !identity.length) {
    throw new SourceFailure(
      'tls',
      "node-oracledb's Thin mode takes the CAs only in a wallet holding a client certificate and key: set client_cert and client_key in [tls.sql], or ca_dir = none to trust Node's public CAs (or NODE_EXTRA_CA_CERTS)",
    );
  }
  const parts = [...identity, ...ca];
  return parts.length ? parts.map((part) => part.trim()).join('\n') + '\n' : undefined;
}

/** A DATE or TIMESTAMP (no time zone), which Thin mode reads in local time, as the same wall clock in UTC. */
export function oracleUtc(value: unknown): unknown {
  if (!(value instanceof Date)) return value;
  return new Date(Date.UTC(value.getFullYear(), value.getMonth(), value.getDate(), value.getHours(), value.getMinutes(), value.getSeconds(), value.getMilliseconds()));
}

/**
 * How columns are fetched: NUMBER as its exact text (converted as the declared kind says, as
 * PostgreSQL's numeric), DATE and TIMESTAMP in UTC (as the other engines).
 */
export function oracleFetchType(column: OracleColumn): OracleFetchType | undefined {
  if (column.dbType === oracledb.DB_TYPE_NUMBER) return { type: oracledb.STRING };
  if (column.dbType === oracledb.DB_TYPE_DATE || column.dbType === oracledb.DB_TYPE_TIMESTAMP) return { converter: oracleUtc };
  return undefined;
}

const AUTH_ERRORS = ['ORA-01017', 'ORA-28000', 'ORA-28001', 'ORA-01045', 'ORA-01005']; // wrong password, locked, expired, no CREATE SESSION, no password
const TIMEOUT_ERRORS = ['NJS-123', 'NJS-510', 'ORA-01013', 'DPI-1067']; // call timeout, connect timeout, cancelled
const TLS_ERRORS = ['NJS-505', 'NJS-506', 'NJS-507', 'NJS-508'];
// The listener refused the connection, or knows no such service.
const REFUSED_ERRORS = ['NJS-511', 'NJS-518', 'NJS-519', 'ORA-12514', 'ORA-12505'];
// An answer that is not Oracle Net: a bad packet, or (while connecting) a server that hangs up without one.
const MALFORMED_ERRORS = ['NJS-509', 'NJS-113'];
const END_OF_FILE = 'NJS-521';

/**
 * The failure class of a node-oracledb error, from the codes in its message (node-oracledb's
 * lib/errors.js: NJS-5xx are Oracle Net errors, e.g. "NJS-503: connection to host ... could not be
 * established ... connect ECONNREFUSED"; ORA- are the server's).
 */
export function classifyOracleError(error: unknown, stage: 'connect' | 'query'): SourceFailure {
  if (error instanceof SourceFailure) return error;
  const text = (error as { message?: string }).message ?? String(error);
  const codes: string[] = text.match(/\b(?:ORA|NJS|DPI)-\d{3,5}\b/g) ?? [];
  const any = (list: string[]): boolean => codes.some((code) => list.includes(code));
  if (any(TIMEOUT_ERRORS)) return new SourceFailure('timeout', text);
  if (any(AUTH_ERRORS)) return new SourceFailure('auth', text);
  if (any(TLS_ERRORS)) return new SourceFailure('tls', text);
  if (any(REFUSED_ERRORS)) return new SourceFailure('refused', text);
  if (any(MALFORMED_ERRORS)) return new SourceFailure('malformed', text);
  if (stage === 'connect' && codes.includes(END_OF_FILE)) return new SourceFailure('malformed', `${text} (the server hung up without an Oracle Net answer: is an Oracle listener on that port?)`);
  // NJS-503 carries Node's reason (ECONNREFUSED, ENOTFOUND, a certificate code) in its text.
  const nodeCode = /\b(E[A-Z]{3,}|ERR_TLS_[A-Z_]+|[A-Z_]*CERT[A-Z_]*)\b/.exec(text)?.[1];
  const network = classifyConnectionError({ code: nodeCode });
  if (network !== 'other') return new SourceFailure(network, text);
  if (stage === 'query' && codes.some((code) => code.startsWith('ORA-'))) return new SourceFailure('query', text);
  return new SourceFailure('other', text);
}

/**
 * Runs one read-only statement on its own Oracle connection and closes it: SET TRANSACTION READ
 * ONLY, the statement (at most maxRows + 1 rows fetched), ROLLBACK. Oracle has no per-session
 * statement limit: callTimeout makes the driver break the call on the server after `timeoutMs`.
 */
export async function runOracleQuery({ connection, sql, timeoutMs, maxRows, signal, tls }: QueryRequest): Promise<ResultRow[]> {
  const seconds = Math.max(1, Math.ceil(connection.connectTimeoutMs / 1000));
  const walletContent = tls ? oracleWallet(tls) : undefined;
  let client: OracleConnection;
  try {
    client = await oracledb.getConnection({
      user: connection.user,
      password: connection.password,
      connectString: oracleConnectString(connection),
      connectTimeout: seconds,
      transportConnectTimeout: seconds,
      ...(walletContent ? { walletContent } : {}),
    });
  } catch (error) {
    throw classifyOracleError(error, 'connect');
  }
  const onAbort = (): void => void client.break().catch(() => undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    client.callTimeout = timeoutMs + CLIENT_GRACE_MS;
    await client.execute('SET TRANSACTION READ ONLY');
    client.callTimeout = timeoutMs;
    // Oracle refuses a trailing semicolon (the read-only guard allows one).
    const statement = sql.trim().replace(/;\s*$/, '');
    const result = await client.execute(statement, [], { outFormat: oracledb.OUT_FORMAT_OBJECT, maxRows: maxRows + 1, fetchTypeHandler: oracleFetchType });
    await client.rollback();
    if (!result.rows) throw new SourceFailure('query', 'the statement returned no result set');
    return result.rows;
  } catch (error) {
    throw classifyOracleError(error, 'query');
  } finally {
    signal.removeEventListener('abort', onAbort);
    void client.close().catch(() => undefined);
  }
}
