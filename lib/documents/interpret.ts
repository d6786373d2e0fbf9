import { describeAjvErrors, RESERVED_KEYS, type SchemaRegistry, validateEnvelope } from './schemas';
import type { FieldType, MonitDocument, Scalar } from './types';

/** A document reduced to what InfluxDB stores: where, which series, which typed values, when. */
export interface InterpretedDocument {
  database: string;
  measurement: string;
  tags: Record<string, string>;
  fields: Array<{ name: string; type: FieldType; value: Scalar }>;
  timestampMs: number;
}

export type Interpretation = { ok: true; point: InterpretedDocument } | { ok: false; reason: string };

/** MONIT's database naming: monit_production_<producer>, '-' turned into '_'. */
export function databaseFor(producer: string): string {
  return `monit_production_${producer.replace(/-/g, '_')}`;
}

/** Timestamps below 1e11 are seconds (MONIT accepts both). */
export function timestampToMs(timestamp: number): number {
  return timestamp < 1e11 ? timestamp * 1000 : timestamp;
}

/**
 * Why InfluxDB 1.x cannot store this tag value exactly, or undefined when it can. Its line protocol has
 * no escape for a newline in a tag, and a tag ending in a backslash escapes the separator after it.
 */
export function unstorableTagValue(value: string): string | undefined {
  if (/[\n\r]/.test(value)) return 'InfluxDB 1.x line protocol cannot store a newline in a tag value (make it a field)';
  if (value.endsWith('\\')) return 'InfluxDB 1.x line protocol cannot store a tag value ending in a backslash';
  return undefined;
}

function isScalar(value: unknown): value is Scalar {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'number') return `the number ${value}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Looks up a field key: 'a' at top level, 'data.x' inside the nested data object. */
function lookUp(document: MonitDocument, key: string): unknown {
  if (key.startsWith('data.') && document.data && typeof document.data === 'object') {
    return (document.data as Record<string, unknown>)[key.slice(5)];
  }
  return document[key];
}

function fieldNameOf(key: string): string {
  return key.startsWith('data.') ? key.slice(5) : key;
}

function typeOfValue(value: Scalar): FieldType {
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'string';
  return 'float'; // without a schema, numbers are always floats so one field never changes type
}

function conforms(value: Scalar, type: FieldType): boolean {
  switch (type) {
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'float':
      return typeof value === 'number';
    case 'bool':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
  }
}

/**
 * Validates a document against the envelope and, when one exists, its producer/type schema, and maps it to
 * InfluxDB terms as described in monit-format.md. Every refusal carries a reason a person understands.
 */
export function interpretDocument(document: unknown, registry: SchemaRegistry, nowMs: number = Date.now()): Interpretation {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return { ok: false, reason: `a document must be a JSON object, got ${describeValue(document)}` };
  }
  if (!validateEnvelope(document)) return { ok: false, reason: describeAjvErrors(validateEnvelope) };
  const doc = document as MonitDocument;
  const schema = registry.get(doc.producer, doc.type);
  const tagKeys = doc.idb_tags ?? [];
  const both = tagKeys.filter((key) => doc.idb_fields?.includes(key));
  if (both.length) return { ok: false, reason: `'${both.join("', '")}' is listed in both idb_tags and idb_fields` };

  const tags: Record<string, string> = {};
  for (const key of tagKeys) {
    const value = lookUp(doc, key);
    if (value === undefined || value === null) continue; // an absent tag is simply not set
    if (!isScalar(value)) return { ok: false, reason: `tag '${key}' must be a scalar, got ${describeValue(value)}` };
    const name = fieldNameOf(key);
    if (schema && !(name in schema.tags)) {
      return { ok: false, reason: `tag '${name}' is not in schemas/${doc.producer}/${doc.type}.json (known tags: ${Object.keys(schema.tags).join(', ') || 'none'})` };
    }
    if (String(value) === '') continue; // InfluxDB cannot store an empty tag value
    const unstorable = unstorableTagValue(String(value));
    if (unstorable) return { ok: false, reason: `tag '${name}': ${unstorable}` };
    tags[name] = String(value);
  }

  const fieldKeys =
    doc.idb_fields ??
    [
      ...Object.keys(doc).filter((key) => !RESERVED_KEYS.has(key) && !tagKeys.includes(key)),
      ...Object.keys(doc.data ?? {}).map((key) => `data.${key}`).filter((key) => !tagKeys.includes(key)),
    ];
  const fields: InterpretedDocument['fields'] = [];
  for (const key of fieldKeys) {
    const value = lookUp(doc, key);
    const name = fieldNameOf(key);
    if (value === undefined || value === null) {
      if (doc.idb_fields) return { ok: false, reason: `field '${key}' is listed in idb_fields but the document has no value for it` };
      continue;
    }
    if (!isScalar(value)) return { ok: false, reason: `field '${key}' must be a string, number or boolean, got ${describeValue(value)}` };
    if (schema) {
      const declared = schema.fields[name];
      if (!declared) {
        return { ok: false, reason: `field '${name}' is not in schemas/${doc.producer}/${doc.type}.json (a typo? known fields: ${Object.keys(schema.fields).join(', ')})` };
      }
      if (!conforms(value, declared.type)) {
        return { ok: false, reason: `field '${name}' must be ${declared.type === 'int' ? 'an integer' : `a ${declared.type}`} per its schema, got ${describeValue(value)}` };
      }
      fields.push({ name, type: declared.type, value });
    } else {
      fields.push({ name, type: typeOfValue(value), value });
    }
  }
  if (fields.length === 0) return { ok: false, reason: 'the document has no fields: InfluxDB stores nothing without at least one field' };
  const timestampMs = doc.timestamp === undefined ? nowMs : timestampToMs(doc.timestamp);
  return { ok: true, point: { database: databaseFor(doc.producer), measurement: doc.type, tags, fields, timestampMs } };
}
