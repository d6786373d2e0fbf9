import type { DocumentFactory } from '../../lib/documents/document';
import { buildDeclared, convertDeclared, targetType, type DeclaredKind } from '../../lib/documents/declared';
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
 * The result column of each configured name: the column of that very name, else the one column whose
 * name differs only in case (PostgreSQL folds unquoted names to lower case, Oracle to upper case, so
 * `COUNT(*) AS imports` is "imports" on MariaDB and PostgreSQL, "IMPORTS" on Oracle). A name with no
 * such column, or with several, fails the query.
 */
export function resultColumns(configured: string[], columns: string[]): Map<string, string> {
  const found = new Map<string, string>();
  const missing: string[] = [];
  for (const name of configured) {
    if (columns.includes(name)) {
      found.set(name, name);
      continue;
    }
    const candidates = columns.filter((column) => column.toLowerCase() === name.toLowerCase());
    if (candidates.length > 1) throw new SourceFailure('mapping', `the result has several columns named '${name}' in other cases ('${candidates.join("', '")}'): alias them apart in the SQL`);
    if (candidates.length === 1) found.set(name, candidates[0]);
    else missing.push(name);
  }
  if (missing.length) throw new SourceFailure('mapping', `the result has no column '${missing.join("', '")}' (columns: ${columns.join(', ')})`);
  return found;
}

/** Oracle's name of an unquoted alias (upper case) in the lower case the other engines give it; a quoted "MixedCase" alias is kept. */
export function oracleFieldName(column: string): string {
  return /[A-Z]/.test(column) && column === column.toUpperCase() ? column.toLowerCase() : column;
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
  const sourceOf = rows.length ? resultColumns([...query.tagColumns, ...(query.fieldColumns?.keys() ?? [])], columns) : new Map<string, string>();
  const fieldColumns =
    query.fieldColumns ??
    new Map(
      columns
        .filter((column) => ![...sourceOf.values()].includes(column))
        .map((column) => {
          const name = query.connection.engine === 'oracle' ? oracleFieldName(column) : column;
          sourceOf.set(name, column);
          return [name, 'number' as DeclaredKind];
        }),
    );
  for (const column of fieldColumns.keys()) {
    if (RESERVED_KEYS.has(column)) throw new SourceFailure('mapping', `column '${column}' is a reserved MONIT key: alias it in the SQL or list the fields`);
  }
  const cell = (row: ResultRow, name: string): unknown => row[sourceOf.get(name) ?? name];
  const seenTagSets = new Map<string, number>();
  rows.forEach((row, index) => {
    const tags: Record<string, string> = {};
    for (const column of query.tagColumns) {
      const value = cell(row, column);
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
      const converted = convertDeclared(cell(row, column), targetType(schema, column, kind));
      if ('problem' in converted) problems.push(`row ${index + 1} column '${column}': ${converted.problem}`);
      else if (converted.value !== undefined) fields[column] = converted.value;
    }
    if (Object.keys(fields).length === 0) {
      problems.push(`row ${index + 1} has no field value (all NULL): left out`);
      return;
    }
    documents.push(buildDeclared(factory, registry, PRODUCER, query.measurement, tags, fields));
  });
  return { documents, problems };
}
