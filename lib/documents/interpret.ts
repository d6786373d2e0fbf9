import { displayName, lineProtocolProblem, MAX_TIMESTAMP_MS, mayExceedSeriesKey, seriesKeyProblem } from '../influx/lineProtocol';
import { databaseFor, describeAjvErrors, RESERVED_KEYS, type SchemaRegistry, validateEnvelope } from './schemas';
import type { FieldType, MonitDocument, Scalar } from './types';
import { isJsonObject } from '../http/jsonMembers';

/** A document reduced to what InfluxDB stores: where, which series, which typed values, when. */
export interface InterpretedDocument {
  database: string;
  measurement: string;
  tags: Record<string, string>;
  fields: Array<{ name: string; type: FieldType; value: Scalar }>;
  timestampMs: number;
}

export type Interpretation = { ok: true; point: InterpretedDocument } | { ok: false; reason: string };

export { databaseFor };

/**
 * A timestamp in integer milliseconds: below 1e11 it is seconds (MONIT takes both). Some senders post
 * fractional seconds (Python's `datetime.timestamp()`) or fractional milliseconds (`time.time() * 1000`):
 * InfluxDB is written with ms precision, so the fraction is rounded to the nearest millisecond.
 */
export function timestampToMs(timestamp: number): number {
  return Math.round(timestamp < 1e11 ? timestamp * 1000 : timestamp);
}

/** Why a timestamp cannot be stored, or undefined. Units finer than ms are named: reading them as ms would put the point millennia ahead. */
function timestampProblem(timestamp: number, timestampMs: number): string | undefined {
  if (timestampMs <= MAX_TIMESTAMP_MS) return undefined;
  const finerUnit = timestamp >= 1e17 ? 'nanoseconds' : timestamp >= 1e14 ? 'microseconds' : undefined;
  if (finerUnit) return `timestamp ${timestamp} looks like ${finerUnit} since 1970: MONIT takes milliseconds, or seconds below 1e11`;
  return `timestamp ${timestamp} is after the latest time InfluxDB 1.x stores (${MAX_TIMESTAMP_MS} ms, in the year 2262)`;
}

/**
 * MONIT keeps its own keys of a stored document (producer, type, timestamp, _id, ...) in a `metadata`
 * object, and documents exported from it or built by CMSMonitoring's StompAMQ carry one. These keys
 * are read from it when the top level lacks them; the top level wins, as MONIT overwrites metadata.
 */
const METADATA_FALLBACK_KEYS = ['producer', 'type', 'timestamp'] as const;


/** The document with producer, type and timestamp taken from `metadata` where the top level has none (the same object when nothing is taken). */
function withMetadataFallbacks(document: Record<string, unknown>): Record<string, unknown> {
  if (!Object.hasOwn(document, 'metadata')) return document; // nothing to take: the common case, without allocating
  const missing = METADATA_FALLBACK_KEYS.filter((key) => !Object.hasOwn(document, key) && envelopeValue(document, key) !== undefined);
  if (!missing.length) return document;
  return { ...document, ...Object.fromEntries(missing.map((key) => [key, envelopeValue(document, key)])) };
}

/**
 * A key of MONIT's envelope as a document gives it: its own `producer`, `type` or `timestamp`, else that of
 * its `metadata` (what interpretDocument uses), read without copying the document.
 */
export function envelopeValue(document: unknown, key: (typeof METADATA_FALLBACK_KEYS)[number]): unknown {
  if (!isJsonObject(document)) return undefined;
  if (Object.hasOwn(document, key)) return document[key];
  const metadata = Object.hasOwn(document, 'metadata') ? document.metadata : undefined;
  return isJsonObject(metadata) && Object.hasOwn(metadata, key) ? metadata[key] : undefined;
}

/** InfluxDB 1.x refuses a tag key named `time` and drops a field of that name (the whole point if it is the only one). */
const TIME_KEY = 'time';

function isScalar(value: unknown): value is Scalar {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'number') return `the number ${value}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Looks up a field key: 'a' at top level, 'data.x' inside the nested data object, and 'data.x.y' inside
 * an object within it when data has no key 'x.y' itself. Only the document's own keys count: a key such
 * as 'constructor' or '__proto__' is a plain name, never a built-in of Object.
 */
function lookUp(document: MonitDocument, key: string): unknown {
  if (key.startsWith('data.') && isJsonObject(document.data)) {
    const name = key.slice(5);
    if (Object.hasOwn(document.data, name)) return document.data[name];
    let value: unknown = document.data;
    for (const part of name.split('.')) {
      if (!isJsonObject(value) || !Object.hasOwn(value, part)) return undefined;
      value = value[part];
    }
    return value;
  }
  return Object.hasOwn(document, key) ? document[key] : undefined;
}

function isDataKey(key: string): boolean {
  return key.startsWith('data.');
}

/** `object[name] = value`, also for '__proto__', which an assignment would take for the prototype. */
function setOwn(object: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__') Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
  else object[name] = value;
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
  if (!isJsonObject(document)) {
    return { ok: false, reason: `a document must be a JSON object, got ${describeValue(document)}` };
  }
  const resolved = withMetadataFallbacks(document);
  if (!validateEnvelope(resolved)) return { ok: false, reason: describeAjvErrors(validateEnvelope) };
  const doc = resolved as MonitDocument;
  const schema = registry.get(doc.producer, doc.type);
  const tagKeys = doc.idb_tags ?? [];
  let both: string[] | undefined;
  if (doc.idb_fields) for (const key of tagKeys) if (doc.idb_fields.includes(key)) (both ??= []).push(key);
  if (both) return { ok: false, reason: `'${both.join("', '")}' is listed in both idb_tags and idb_fields` };

  const measurementProblem = lineProtocolProblem('measurement', doc.type);
  if (measurementProblem) return { ok: false, reason: `type ${displayName(doc.type)} (the measurement): ${measurementProblem}` };

  const tags: Record<string, string> = {};
  // Two keys give one name only as 'x' and 'data.x': only then are names tracked.
  const tagSources = tagKeys.some(isDataKey) ? new Map<string, string>() : undefined;
  let keyUnits = doc.type.length;
  for (const key of tagKeys) {
    const value = lookUp(doc, key);
    if (value === undefined || value === null) continue; // an absent tag is simply not set
    if (!isScalar(value)) return { ok: false, reason: `tag ${displayName(key)} must be a scalar, got ${describeValue(value)}` };
    const name = fieldNameOf(key);
    if (schema && !Object.hasOwn(schema.tags, name)) {
      return { ok: false, reason: `tag ${displayName(name)} is not in schemas/${doc.producer}/${doc.type}.json (known tags: ${Object.keys(schema.tags).join(', ') || 'none'})` };
    }
    const keyProblem = lineProtocolProblem('tag key', name);
    if (keyProblem) return { ok: false, reason: `tag ${displayName(name)} key: ${keyProblem}` };
    if (name === TIME_KEY) return { ok: false, reason: `tag 'time': InfluxDB 1.x refuses a tag key named 'time' (rename it)` };
    const earlier = tagSources?.get(name);
    if (earlier !== undefined) return { ok: false, reason: `tag ${displayName(name)} is given twice, as ${displayName(earlier)} and ${displayName(key)}` };
    tagSources?.set(name, key);
    const text = String(value);
    if (text === '') continue; // InfluxDB cannot store an empty tag value: the tag is absent
    const valueProblem = lineProtocolProblem('tag value', text);
    if (valueProblem) return { ok: false, reason: `tag ${displayName(name)} value: ${valueProblem}` };
    setOwn(tags, name, text);
    keyUnits += name.length + text.length + 2; // with its ',' and '='
  }

  const fieldKeys =
    doc.idb_fields ??
    [
      ...Object.keys(doc).filter((key) => !RESERVED_KEYS.has(key) && !tagKeys.includes(key)),
      ...Object.keys(doc.data ?? {}).map((key) => `data.${key}`).filter((key) => !tagKeys.includes(key)),
    ];
  const fields: InterpretedDocument['fields'] = [];
  const fieldSources = fieldKeys.some(isDataKey) ? new Map<string, string>() : undefined;
  let longestFieldName = 0;
  for (const key of fieldKeys) {
    const value = lookUp(doc, key);
    const name = fieldNameOf(key);
    if (value === undefined || value === null) {
      if (doc.idb_fields) return { ok: false, reason: `field ${displayName(key)} is listed in idb_fields but the document has no value for it` };
      continue;
    }
    if (!isScalar(value)) {
      // Lists and objects nobody named are MONIT's other back ends' business (OpenSearch, HDFS): left out here.
      if (!doc.idb_fields && typeof value === 'object') continue;
      return { ok: false, reason: `field ${displayName(key)} must be a string, number or boolean, got ${describeValue(value)}` };
    }
    let type: FieldType;
    if (schema) {
      const declared = Object.hasOwn(schema.fields, name) ? schema.fields[name] : undefined;
      if (!declared) {
        return { ok: false, reason: `field ${displayName(name)} is not in schemas/${doc.producer}/${doc.type}.json (a typo? known fields: ${Object.keys(schema.fields).join(', ')})` };
      }
      if (!conforms(value, declared.type)) {
        return { ok: false, reason: `field '${name}' must be ${declared.type === 'int' ? 'an integer' : `a ${declared.type}`} per its schema, got ${describeValue(value)}` };
      }
      type = declared.type;
    } else {
      type = typeOfValue(value);
    }
    const keyProblem = lineProtocolProblem('field key', name);
    if (keyProblem) return { ok: false, reason: `field ${displayName(name)} key: ${keyProblem}` };
    if (name === TIME_KEY) return { ok: false, reason: `field 'time': InfluxDB 1.x drops a field named 'time' (rename it)` };
    const earlier = fieldSources?.get(name);
    if (earlier !== undefined) return { ok: false, reason: `field ${displayName(name)} is given twice, as ${displayName(earlier)} and ${displayName(key)}` };
    fieldSources?.set(name, key);
    if (name.length > longestFieldName) longestFieldName = name.length;
    if (typeof value === 'string') {
      const valueProblem = lineProtocolProblem('string value', value);
      if (valueProblem) return { ok: false, reason: `field ${displayName(name)} value: ${valueProblem}` };
    }
    fields.push({ name, type, value });
  }
  if (fields.length === 0) return { ok: false, reason: 'the document has no fields: InfluxDB stores nothing without at least one field' };
  if (mayExceedSeriesKey(keyUnits, longestFieldName)) {
    const keyProblem = seriesKeyProblem(doc.type, Object.entries(tags), fields.map((field) => field.name));
    if (keyProblem) return { ok: false, reason: keyProblem };
  }
  const timestampMs = doc.timestamp === undefined ? nowMs : timestampToMs(doc.timestamp);
  const timeProblem = timestampProblem(doc.timestamp ?? timestampMs, timestampMs);
  if (timeProblem) return { ok: false, reason: timeProblem };
  return { ok: true, point: { database: databaseOf(doc.producer), measurement: doc.type, tags, fields, timestampMs } };
}

/** databaseFor's answers for the producers seen lately: one string per database, whose hash V8 then keeps. */
const databases = new Map<string, string>();
const MAX_REMEMBERED_DATABASES = 1000;

function databaseOf(producer: string): string {
  let database = databases.get(producer);
  if (database === undefined) {
    if (databases.size >= MAX_REMEMBERED_DATABASES) databases.clear(); // a sender inventing producers cannot grow it
    database = databaseFor(producer);
    databases.set(producer, database);
  }
  return database;
}
