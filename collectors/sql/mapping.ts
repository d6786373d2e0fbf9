import type { DocumentFactory } from '../../lib/documents/document';
import { buildDeclared, convertDeclared, type DeclaredKind } from '../../lib/documents/declared';
import { RESERVED_KEYS, schemaRegistry, type SchemaRegistry } from '../../lib/documents/schemas';
import type { MonitDocument, Scalar, TypeSchema } from '../../lib/documents/types';
import { SourceFailure } from '../../lib/documents/failures';
import type { ResultRow } from './database';
import type { QueryDefinition } from './queries';
import { SQL_QUERY_STATUS } from '../../schemas/kinds';

/** The producer of every sql document: its status kind's (rows go to sql/<measurement>). */
export const PRODUCER = SQL_QUERY_STATUS.producer;

export interface MappedRows {
  documents: MonitDocument[];
  /** Cells or rows left out, each with the reason (reported as problems; the query stays up). */
  problems: string[];
}

/**
 * Turns result rows into documents of `sql/<measurement>`: the tag columns become tags, the field
 * columns fields. With schemas/sql/<measurement>.json the schema's types apply; without it, fields
 * are numbers unless the config says `:string` or `:bool`. A missing column fails the whole query
 * (the config and the SQL disagree); a bad cell only loses that field.
 */
export function mapRows(query: QueryDefinition, rows: ResultRow[], factory: DocumentFactory, registry: SchemaRegistry = schemaRegistry()): MappedRows {
  const schema: TypeSchema | undefined = registry.get(PRODUCER, query.measurement);
  const problems: string[] = [];
  const documents: MonitDocument[] = [];
  const columns = rows.length ? Object.keys(rows[0]) : [];
  const missing = [...query.tagColumns, ...(query.fieldColumns?.keys() ?? [])].filter((column) => rows.length && !columns.includes(column));
  if (missing.length) throw new SourceFailure('mapping', `the result has no column '${missing.join("', '")}' (columns: ${columns.join(', ')})`);
  const fieldColumns = query.fieldColumns ?? new Map(columns.filter((column) => !query.tagColumns.includes(column)).map((column) => [column, 'number' as DeclaredKind]));
  for (const column of fieldColumns.keys()) {
    if (RESERVED_KEYS.has(column)) throw new SourceFailure('mapping', `column '${column}' is a reserved MONIT key: alias it in the SQL or list the fields`);
  }
  const seenTagSets = new Map<string, number>();
  rows.forEach((row, index) => {
    const tags: Record<string, string> = {};
    for (const column of query.tagColumns) {
      const value = row[column];
      if (value !== null && value !== undefined) tags[column] = value instanceof Date ? value.toISOString() : String(value);
    }
    const tagKey = JSON.stringify(tags);
    const earlier = seenTagSets.get(tagKey);
    if (earlier !== undefined) {
      problems.push(`row ${index + 1} has the same tags as row ${earlier + 1} (${tagKey}): left out, it would overwrite it`);
      return;
    }
    seenTagSets.set(tagKey, index);
    const fields: Record<string, Scalar> = {};
    for (const [column, kind] of fieldColumns) {
      const cell = convertDeclared(row[column], schema?.fields[column]?.type ?? kind);
      if ('problem' in cell) problems.push(`row ${index + 1} column '${column}': ${cell.problem}`);
      else if (cell.value !== undefined) fields[column] = cell.value;
    }
    if (Object.keys(fields).length === 0) {
      problems.push(`row ${index + 1} has no field value (all NULL): left out`);
      return;
    }
    documents.push(buildDeclared(factory, registry, PRODUCER, query.measurement, tags, fields));
  });
  return { documents, problems };
}
