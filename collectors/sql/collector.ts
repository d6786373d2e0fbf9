import { defineCollector, type CollectorContext } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { QueryError, runReadOnlyQuery } from './database';
import { mapWithConcurrency } from './limit';
import { mapRows, PRODUCER } from './mapping';
import { queryDefinitions, STATUS_TYPE, type QueryDefinition } from './queries';
import { readOnlyViolation } from './statement';

/** One query: its status document (always) and its result documents (when it worked). */
async function collectQuery(context: CollectorContext, query: QueryDefinition): Promise<MonitDocument[]> {
  const started = performance.now();
  const status = (fields: { up: number; rows?: number; error?: string; message?: string }): MonitDocument =>
    context.documents.build(PRODUCER, STATUS_TYPE, { query_name: query.name }, { ...fields, duration_ms: Math.round(performance.now() - started) });
  try {
    const violation = readOnlyViolation(query.sql);
    if (violation) throw new QueryError('refused', `refused, not a read-only SELECT: ${violation}`);
    const rows = await runReadOnlyQuery(query.connection, query.sql, query.timeoutMs, context.signal);
    if (rows.length > query.maxRows) throw new QueryError('mapping', `returned ${rows.length} rows, more than max_rows = ${query.maxRows}`);
    const mapped = mapRows(query, rows, context.documents);
    for (const problem of mapped.problems) context.problem(`sql query '${query.name}': ${problem}`);
    return [status({ up: 1, rows: rows.length }), ...mapped.documents];
  } catch (error) {
    const failure = error instanceof QueryError ? error : new QueryError('sql', (error as Error).message);
    const where = `${query.connection.user}@${query.connection.host}:${query.connection.port}${query.connection.database ? `/${query.connection.database}` : ''}`;
    context.problem(`sql query '${query.name}' on ${where} failed (${failure.errorClass}): ${failure.message}`);
    return [status({ up: 0, error: failure.errorClass, message: failure.message.slice(0, 300) })];
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
