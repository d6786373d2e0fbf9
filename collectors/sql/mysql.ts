import { isIP } from 'node:net';
import mysql from 'mysql2/promise';
import { classifyConnectionError, SourceFailure } from '../../lib/documents/failures';
import type { ClientTls } from '../../lib/tls/clientTls';
import { CLIENT_GRACE_MS, type QueryRequest, type ResultRow } from './request';

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'PROTOCOL_CONNECTION_LOST']);
const AUTH_CODES = new Set(['ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR', 'ER_NOT_SUPPORTED_AUTH_MODE']);
// mysql2's own client-side timeout, and MySQL's max_execution_time.
const TIMEOUT_CODES = new Set(['ER_QUERY_TIMEOUT', 'PROTOCOL_SEQUENCE_TIMEOUT']);
// MariaDB's max_statement_time (ER_STATEMENT_TIMEOUT, unknown to mysql2's code table) and MySQL's ER_QUERY_TIMEOUT.
const TIMEOUT_ERRNOS = new Set([1969, 3024]);

function classify(error: unknown, stage: 'connect' | 'query'): SourceFailure {
  if (error instanceof SourceFailure) return error;
  const { code, errno, message } = error as { code?: string; errno?: number; message?: string };
  const text = `${code ? `${code}: ` : ''}${message ?? String(error)}`;
  if ((code && TIMEOUT_CODES.has(code)) || (errno !== undefined && TIMEOUT_ERRNOS.has(errno))) return new SourceFailure('timeout', text);
  if (code && AUTH_CODES.has(code)) return new SourceFailure('auth', text);
  // mysql2 replaces OpenSSL's code with its own; the message keeps OpenSSL's reason.
  if (code === 'HANDSHAKE_SSL_ERROR') return new SourceFailure('tls', text);
  if (stage === 'connect' || (code && CONNECTION_CODES.has(code))) return new SourceFailure(classifyConnectionError(error), text);
  return new SourceFailure('query', text);
}

/**
 * What mysql2 takes for TLS: the CAs, the client certificate and key (it applies no CRL), and
 * verifyIdentity: the host name must be in the server's certificate (see sqlTls for addresses).
 */
export type SqlTls = Pick<mysql.SslOptions, 'ca' | 'cert' | 'key' | 'verifyIdentity'>;

/**
 * mysql2's ssl option from [tls.sql] for `host`: its CAs (Node's public ones when none is set), client
 * certificate and key, and the host name checked against the certificate (mysql2 checks it only when
 * asked). For an IP address mysql2 would check the name "localhost" instead (it sends no server name and
 * takes no check of its own), so an address gets the chain check only: see sqlTlsWarnings.
 */
export function sqlTls(tls: ClientTls, host: string): SqlTls {
  const pem = tls.pem;
  return { ca: pem?.ca.length ? pem.ca : undefined, cert: pem?.cert, key: pem?.key, verifyIdentity: isIP(host) === 0 };
}

/**
 * Runs one read-only statement on its own MySQL/MariaDB connection and closes it. The session is
 * read-only and in UTC, the server stops the statement after `timeoutMs` (MariaDB
 * max_statement_time, MySQL max_execution_time), and the client gives up shortly after in case the
 * server cannot. Every failure is a SourceFailure with its class.
 */
export async function runMysqlQuery({ connection, sql, timeoutMs, signal, tls }: QueryRequest): Promise<ResultRow[]> {
  let client: mysql.Connection;
  try {
    client = await mysql.createConnection({
      host: connection.host,
      port: connection.port,
      user: connection.user,
      password: connection.password,
      database: connection.database,
      connectTimeout: connection.connectTimeoutMs,
      multipleStatements: false,
      decimalNumbers: true,
      supportBigNumbers: true,
      timezone: 'Z',
      // The server's certificate is checked against the CAs (mysql2's default once ssl is set) and, with
      // verifyIdentity, against the host name.
      ssl: tls ? sqlTls(tls, connection.host) : undefined,
    });
  } catch (error) {
    throw classify(error, 'connect');
  }
  // Failures reach us through the awaited queries; an 'error' event with no listener would crash the job.
  client.on('error', () => undefined);
  const onAbort = (): void => client.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const [versionRows] = await client.query<mysql.RowDataPacket[]>('SELECT VERSION() AS version');
    const isMariaDB = /mariadb/i.test(String(versionRows[0]?.version ?? ''));
    await client.query('SET SESSION TRANSACTION READ ONLY');
    // TIMESTAMP columns in UTC, as mysql2 reads them (timezone 'Z') and as the other engines give them.
    await client.query("SET SESSION time_zone = '+00:00'");
    if (isMariaDB) await client.query('SET SESSION max_statement_time = ?', [timeoutMs / 1000]);
    else await client.query('SET SESSION max_execution_time = ?', [Math.ceil(timeoutMs)]);
    await client.query('START TRANSACTION READ ONLY');
    const [rows] = await client.query<mysql.RowDataPacket[]>({ sql, timeout: timeoutMs + CLIENT_GRACE_MS, rowsAsArray: false });
    if (!Array.isArray(rows)) throw new SourceFailure('query', 'the statement returned no result set');
    await client.query('ROLLBACK');
    return rows as ResultRow[];
  } catch (error) {
    throw classify(error, 'query');
  } finally {
    signal.removeEventListener('abort', onAbort);
    // After a client-side timeout the connection is already gone; end() would wait on it.
    client.destroy();
  }
}
