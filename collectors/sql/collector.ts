import { isIP } from 'node:net';
import { defineCollector, type CollectorContext } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { SourceFailure, type FailureClass } from '../../lib/documents/failures';
import { runReadOnlyQuery } from './database';
import type { ClientTls } from '../../lib/tls/clientTls';
import { mapWithConcurrency } from './limit';
import { mapRows } from './mapping';
import { queryDefinitions, type ConnectionSettings, type QueryDefinition } from './queries';
import { readOnlyViolation } from './statement';
import { SQL_QUERY_STATUS } from '../../schemas/kinds';

export { sqlTls } from './mysql';

/** One warning per address that MySQL TLS queries connect to: the certificate is checked, its names are not. */
export function sqlTlsWarnings(queries: QueryDefinition[]): string[] {
  const mysqlTls = queries.filter((query) => query.connection.engine === 'mysql' && query.connection.tls && isIP(query.connection.host) !== 0);
  const addresses = new Set(mysqlTls.map((query) => query.connection.host));
  return [...addresses].map(
    (address) => `sql over TLS to the address ${address}: the server's certificate is checked against the CAs, but not against its name (the MySQL client cannot check an address): set host to a name the certificate lists`,
  );
}

/** user@host:port/database (or /service_name, or the connect string) for messages: never the password. */
function describeConnection(connection: ConnectionSettings): string {
  const target = connection.connectString ?? `${connection.host}:${connection.port}${connection.database || connection.serviceName ? `/${connection.database ?? connection.serviceName}` : ''}`;
  return `${connection.user}@${target}`;
}

/** One query: its status document (always) and its result documents (when it worked). */
async function collectQuery(context: CollectorContext, query: QueryDefinition, tls: ClientTls | undefined): Promise<MonitDocument[]> {
  const started = performance.now();
  const status = (fields: { up: number; rows?: number; error?: FailureClass; message?: string }): MonitDocument =>
    context.documents.build(SQL_QUERY_STATUS, { query_name: query.name }, { ...fields, duration_ms: Math.round(performance.now() - started) });
  try {
    const violation = readOnlyViolation(query.sql);
    if (violation) throw new SourceFailure('forbidden', `refused, not a read-only SELECT: ${violation}`);
    const rows = await runReadOnlyQuery({
      connection: query.connection,
      sql: query.sql,
      timeoutMs: query.timeoutMs,
      maxRows: query.maxRows,
      signal: context.signal,
      tls: query.connection.tls ? tls : undefined,
    });
    if (rows.length > query.maxRows) throw new SourceFailure('mapping', `returned ${rows.length} rows, more than max_rows = ${query.maxRows}`);
    const mapped = mapRows(query, rows, context.documents);
    for (const problem of mapped.problems) context.problem(`sql query '${query.name}': ${problem}`);
    return [status({ up: 1, rows: rows.length }), ...mapped.documents];
  } catch (error) {
    let failure = error instanceof SourceFailure ? error : new SourceFailure('query', (error as Error).message);
    if (failure.failureClass === 'tls' && tls) failure = new SourceFailure('tls', `${failure.message}; TLS settings ${tls.settings.describe()}`);
    const where = describeConnection(query.connection);
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
