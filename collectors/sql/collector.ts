import { defineCollector, type CollectorContext } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { SourceFailure, type FailureClass } from '../../lib/documents/failures';
import { runReadOnlyQuery } from './database';
import { mapWithConcurrency } from './limit';
import { mapRows } from './mapping';
import { queryDefinitions, type QueryDefinition } from './queries';
import { readOnlyViolation } from './statement';
import { SQL_QUERY_STATUS } from '../../schemas/kinds';

/** One query: its status document (always) and its result documents (when it worked). */
async function collectQuery(context: CollectorContext, query: QueryDefinition): Promise<MonitDocument[]> {
  const started = performance.now();
  const status = (fields: { up: number; rows?: number; error?: FailureClass; message?: string }): MonitDocument =>
    context.documents.build(SQL_QUERY_STATUS, { query_name: query.name }, { ...fields, duration_ms: Math.round(performance.now() - started) });
  try {
    const violation = readOnlyViolation(query.sql);
    if (violation) throw new SourceFailure('forbidden', `refused, not a read-only SELECT: ${violation}`);
    const rows = await runReadOnlyQuery(query.connection, query.sql, query.timeoutMs, context.signal);
    if (rows.length > query.maxRows) throw new SourceFailure('mapping', `returned ${rows.length} rows, more than max_rows = ${query.maxRows}`);
    const mapped = mapRows(query, rows, context.documents);
    for (const problem of mapped.problems) context.problem(`sql query '${query.name}': ${problem}`);
    return [status({ up: 1, rows: rows.length }), ...mapped.documents];
  } catch (error) {
    const failure = error instanceof SourceFailure ? error : new SourceFailure('query', (error as Error).message);
    const where = `${query.connection.user}@${query.connection.host}:${query.connection.port}${query.connection.database ? `/${query.connection.database}` : ''}`;
    context.problem(`sql query '${query.name}' on ${where} failed (${failure.failureClass}): ${failure.message}`);
    return [status({ up: 0, error: failure.failureClass, message: failure.message.slice(0, 300) })];
  }
}

export default defineCollector({
  async collect(context) {
    const queries = queryDefinitions(context.config);
    const concurrency = context.section.int('concurrency', 4, { min: 1 });
    const perQuery = await mapWithConcurrency(queries, concurrency, (query) => collectQuery(context, query));
    return perQuery.flat();
  },
});
