import { isIP } from 'node:net';
import { defineCollector, type CollectorContext } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { SourceFailure, type FailureClass } from '../../lib/documents/failures';
import { runReadOnlyQuery, type SqlTls } from './database';
import type { ClientTls } from '../../lib/tls/clientTls';
import { mapWithConcurrency } from './limit';
import { mapRows } from './mapping';
import { queryDefinitions, type QueryDefinition } from './queries';
import { readOnlyViolation } from './statement';
import { SQL_QUERY_STATUS } from '../../schemas/kinds';

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

/** One warning per address that TLS queries connect to: the certificate is checked, its names are not. */
export function sqlTlsWarnings(queries: QueryDefinition[]): string[] {
  const addresses = new Set(queries.filter((query) => query.connection.tls && isIP(query.connection.host) !== 0).map((query) => query.connection.host));
  return [...addresses].map(
    (address) => `sql over TLS to the address ${address}: the server's certificate is checked against the CAs, but not against its name (the MySQL client cannot check an address): set host to a name the certificate lists`,
  );
}

/** One query: its status document (always) and its result documents (when it worked). */
async function collectQuery(context: CollectorContext, query: QueryDefinition, tls: ClientTls | undefined): Promise<MonitDocument[]> {
  const started = performance.now();
  const status = (fields: { up: number; rows?: number; error?: FailureClass; message?: string }): MonitDocument =>
    context.documents.build(SQL_QUERY_STATUS, { query_name: query.name }, { ...fields, duration_ms: Math.round(performance.now() - started) });
  try {
    const violation = readOnlyViolation(query.sql);
    if (violation) throw new SourceFailure('forbidden', `refused, not a read-only SELECT: ${violation}`);
    const rows = await runReadOnlyQuery(query.connection, query.sql, query.timeoutMs, context.signal, query.connection.tls && tls ? sqlTls(tls, query.connection.host) : undefined);
    if (rows.length > query.maxRows) throw new SourceFailure('mapping', `returned ${rows.length} rows, more than max_rows = ${query.maxRows}`);
    const mapped = mapRows(query, rows, context.documents);
    for (const problem of mapped.problems) context.problem(`sql query '${query.name}': ${problem}`);
    return [status({ up: 1, rows: rows.length }), ...mapped.documents];
  } catch (error) {
    let failure = error instanceof SourceFailure ? error : new SourceFailure('query', (error as Error).message);
    if (failure.failureClass === 'tls' && tls) failure = new SourceFailure('tls', `${failure.message}; TLS settings ${tls.settings.describe()}`);
    const where = `${query.connection.user}@${query.connection.host}:${query.connection.port}${query.connection.database ? `/${query.connection.database}` : ''}`;
    context.problem(`sql query '${query.name}' on ${where} failed (${failure.failureClass}): ${failure.message}`);
    return [status({ up: 0, error: failure.failureClass, message: failure.message.slice(0, 300) })];
  }
}

export default defineCollector({
  async collect(context) {
    const queries = queryDefinitions(context.config);
    const concurrency = context.section.int('concurrency', 4, { min: 1 });
    // [tls.sql], loaded once when a query connects over TLS; a credential that cannot be loaded fails the run.
    const tls = queries.some((query) => query.connection.tls) ? context.tls('sql') : undefined;
    for (const warning of sqlTlsWarnings(queries)) context.log.warn(warning);
    const perQuery = await mapWithConcurrency(queries, concurrency, (query) => collectQuery(context, query, tls));
    return perQuery.flat();
  },
});
