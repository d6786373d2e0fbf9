import { documentId, type DocumentFactory } from '../../lib/documents/document';
import { interpretDocument } from '../../lib/documents/interpret';
import { RESERVED_KEYS, schemaRegistry, type SchemaRegistry } from '../../lib/documents/schemas';
import type { FieldType, MonitDocument, Scalar, TypeSchema } from '../../lib/documents/types';
import { SourceFailure } from '../../lib/documents/failures';
import type { ResultRow } from './database';
import type { ColumnKind, QueryDefinition } from './queries';
import { SQL_QUERY_STATUS } from '../../schemas/kinds';

/** The producer of every sql document: its status kind's (rows go to sql/<measurement>). */
export const PRODUCER = SQL_QUERY_STATUS.producer;

/** What converting a cell gives: a value, nothing (NULL), or why it could not be converted. */
type Cell = { value: Scalar | undefined } | { problem: string };

function toNumber(raw: unknown): Cell {
  if (raw === null || raw === undefined) return { value: undefined };
  if (raw instanceof Date) return { value: raw.getTime() }; // DATETIME/TIMESTAMP: UTC ms
  if (typeof raw === 'boolean') return { value: raw ? 1 : 0 };
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  return Number.isFinite(value) ? { value } : { problem: `${JSON.stringify(String(raw)).slice(0, 60)} is not a number` };
}

function toKind(raw: unknown, kind: ColumnKind | FieldType): Cell {
  if (raw === null || raw === undefined) return { value: undefined };
  switch (kind) {
    case 'string':
      return { value: raw instanceof Date ? raw.toISOString() : Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw) };
    case 'bool': {
      if (raw === true || raw === 1 || raw === '1') return { value: true };
      if (raw === false || raw === 0 || raw === '0') return { value: false };
      return { problem: `${JSON.stringify(String(raw)).slice(0, 60)} is not a boolean (0 or 1)` };
    }
    case 'int': {
      const cell = toNumber(raw);
      if ('value' in cell && cell.value !== undefined && !Number.isSafeInteger(cell.value)) return { problem: `${String(raw)} is not an integer` };
      return cell;
    }
    default:
      return toNumber(raw);
  }
}

/**
 * Builds a document for a measurement without a schema file. The gateway stores such documents
 * with every number as a float, so a field never changes type between rows or runs.
 */
function buildUntyped(factory: DocumentFactory, registry: SchemaRegistry, type: string, tags: Record<string, string>, fields: Record<string, Scalar>): MonitDocument {
  const document: MonitDocument = {
    producer: PRODUCER,
    type,
    timestamp: factory.slotMs,
    host: factory.host,
    type_prefix: 'raw',
    _id: documentId(PRODUCER, type, tags, factory.slotMs),
    idb_tags: Object.keys(tags),
    idb_fields: Object.keys(fields),
    ...tags,
    ...fields,
  };
  const check = interpretDocument(document, registry);
  if (!check.ok) throw new SourceFailure('mapping', `invalid ${PRODUCER}/${type} document: ${check.reason}`);
  return document;
}

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
  const fieldColumns = query.fieldColumns ?? new Map(columns.filter((column) => !query.tagColumns.includes(column)).map((column) => [column, 'number' as ColumnKind]));
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
      const cell = toKind(row[column], schema?.fields[column]?.type ?? kind);
      if ('problem' in cell) problems.push(`row ${index + 1} column '${column}': ${cell.problem}`);
      else if (cell.value !== undefined) fields[column] = cell.value;
    }
    if (Object.keys(fields).length === 0) {
      problems.push(`row ${index + 1} has no field value (all NULL): left out`);
      return;
    }
    try {
      documents.push(schema ? factory.build(PRODUCER, query.measurement, tags, fields) : buildUntyped(factory, registry, query.measurement, tags, fields));
    } catch (error) {
      throw new SourceFailure('mapping', (error as Error).message);
    }
  });
  return { documents, problems };
}
