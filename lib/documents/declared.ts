import { ConfigError, type ConfigSection } from '../config/config';
import { documentId, type DocumentFactory } from './document';
import { SourceFailure } from './failures';
import { interpretDocument } from './interpret';
import { RESERVED_KEYS, type SchemaRegistry } from './schemas';
import type { FieldType, MonitDocument, Scalar, TypeSchema } from './types';

/**
 * Documents whose tags and fields an operator declares in config (sql columns, command outputs,
 * JSON values of web answers, values of log lines). When `schemas/<producer>/<type>.json` exists,
 * its types apply and the declaration is checked against it when the config is read; without one,
 * each field is a number unless declared `:string` or `:bool`.
 */

/** How a declared field becomes a document field when its measurement has no schema file. */
export type DeclaredKind = 'number' | 'string' | 'bool';

/** Field names in declaration order, each with its kind. */
export type DeclaredFields = Map<string, DeclaredKind>;

/** Names usable as tags, fields and measurements of declared documents. */
export const DECLARED_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Throws a ConfigError naming `[section] key` when `name` cannot be a tag or field; `hint` says how to rename it at the source. */
export function checkDeclaredName(section: ConfigSection, key: string, name: string, hint = 'rename it'): void {
  const where = `[${section.name}] ${key}`;
  if (!DECLARED_NAME.test(name)) throw new ConfigError(`${where}: '${name}' is not a usable tag/field name (letters, digits, _): ${hint}`);
  if (RESERVED_KEYS.has(name)) throw new ConfigError(`${where}: '${name}' is a reserved MONIT key: ${hint} (e.g. ${name}_name)`);
  if (name === 'time') throw new ConfigError(`${where}: 'time' cannot be a tag or field name: InfluxDB 1.x refuses or drops it: ${hint}`);
}

/** Reads "jobs, size, state:string, enabled:bool" (number by default); undefined when the key is absent. */
export function parseDeclaredFields(section: ConfigSection, key = 'fields', hint?: string): DeclaredFields | undefined {
  if (!section.has(key)) return undefined;
  const fields: DeclaredFields = new Map();
  for (const item of section.list(key)) {
    const [name, kind = 'number'] = item.split(':').map((part) => part.trim());
    if (kind !== 'number' && kind !== 'string' && kind !== 'bool') {
      throw new ConfigError(`${section.at()} ${key}: '${item}' has an unknown kind '${kind}' (number, string or bool)`);
    }
    checkDeclaredName(section, key, name, hint);
    if (fields.has(name)) throw new ConfigError(`${section.at()} ${key}: '${name}' is listed twice`);
    fields.set(name, kind);
  }
  return fields;
}

/** The declared kind a schema type corresponds to. */
export const KIND_OF_TYPE: Record<FieldType, DeclaredKind> = { int: 'number', float: 'number', bool: 'bool', string: 'string' };

/** What a value is converted to: the schema's type of the field when the schema has it, else its declared kind. */
export function targetType(schema: TypeSchema | undefined, field: string, kind: DeclaredKind): DeclaredKind | FieldType {
  return schema && Object.hasOwn(schema.fields, field) ? schema.fields[field].type : kind;
}

/**
 * Declarations sharing a measurement without a schema must agree on each field's kind: InfluxDB refuses
 * a point whose field changes type. Each item names the declaring section; throws a ConfigError naming both.
 */
export function checkSharedMeasurements(producer: string, declarations: ReadonlyArray<{ section: string; measurement: string; fields: DeclaredFields; schema: TypeSchema | undefined }>): void {
  const seen = new Map<string, { section: string; kind: string }>();
  for (const { section, measurement, fields, schema } of declarations) {
    if (schema) continue; // the schema types every field
    for (const [field, kind] of fields) {
      const key = `${measurement}/${field}`;
      const earlier = seen.get(key);
      if (earlier && earlier.kind !== kind) {
        throw new ConfigError(`[${section}] fields: '${field}' is ${kind} here but ${earlier.kind} in [${earlier.section}], and both write ${producer}/${measurement}: declare it the same way, or use another measurement`);
      }
      if (!earlier) seen.set(key, { section, kind });
    }
  }
}

/**
 * When `schemas/<producer>/<type>.json` exists, every declared tag and field must be in it, with a
 * compatible kind; throws a ConfigError naming the key and the schema file otherwise. Returns the schema,
 * if any.
 */
export function checkDeclaredAgainstSchema(
  registry: SchemaRegistry,
  producer: string,
  type: string,
  declared: { section: ConfigSection; tagsKey?: string; tags: readonly string[]; fieldsKey?: string; fields: DeclaredFields | undefined },
): TypeSchema | undefined {
  const schema = registry.get(producer, type);
  if (!schema) return undefined;
  const file = `schemas/${producer}/${type}.json`;
  const { section } = declared;
  for (const tag of declared.tags) {
    if (!Object.hasOwn(schema.tags, tag)) throw new ConfigError(`${section.at()} ${declared.tagsKey ?? 'tags'}: '${tag}' is not a tag of ${file} (tags: ${Object.keys(schema.tags).join(', ') || 'none'})`);
  }
  for (const [field, kind] of declared.fields ?? []) {
    const fieldSchema = Object.hasOwn(schema.fields, field) ? schema.fields[field] : undefined;
    if (!fieldSchema) throw new ConfigError(`${section.at()} ${declared.fieldsKey ?? 'fields'}: '${field}' is not a field of ${file} (fields: ${Object.keys(schema.fields).join(', ')})`);
    // A bare name declares the default kind, number: the schema's type decides then.
    if (kind !== 'number' && KIND_OF_TYPE[fieldSchema.type] !== kind) {
      throw new ConfigError(`${section.at()} ${declared.fieldsKey ?? 'fields'}: '${field}' is declared ${kind} but ${file} says ${fieldSchema.type}`);
    }
  }
  return schema;
}

/** What converting a raw value gives: a value, nothing (null), or why it could not be converted. */
export type Conversion = { value: Scalar | undefined } | { problem: string };

function quoted(raw: unknown): string {
  return JSON.stringify(String(raw)).slice(0, 60);
}

/** A JSON object or array, which no kind takes (its String() form would be "[object Object]" or "1,2"). */
function structure(raw: unknown): string | undefined {
  if (raw === null || typeof raw !== 'object' || raw instanceof Date || Buffer.isBuffer(raw)) return undefined;
  return Array.isArray(raw) ? 'a JSON array' : 'a JSON object';
}

function toNumber(raw: unknown): Conversion {
  if (raw === null || raw === undefined) return { value: undefined };
  if (raw instanceof Date) return { value: raw.getTime() }; // DATETIME/TIMESTAMP: UTC ms
  if (typeof raw === 'boolean') return { value: raw ? 1 : 0 };
  if (typeof raw === 'bigint') return Number.isSafeInteger(Number(raw)) ? { value: Number(raw) } : { problem: `${raw} is too large for a number` };
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  return Number.isFinite(value) ? { value } : { problem: `${quoted(raw)} is not a number` };
}

const KIND_WORDS: Record<DeclaredKind | FieldType, string> = { number: 'a number', float: 'a number', int: 'an integer', string: 'a text', bool: 'a boolean' };

/** Converts a raw value (a database cell, a JSON value, a text) to a declared kind or a schema type. */
export function convertDeclared(raw: unknown, kind: DeclaredKind | FieldType): Conversion {
  if (raw === null || raw === undefined) return { value: undefined };
  if (raw instanceof Date && Number.isNaN(raw.getTime())) return { problem: 'an invalid date' }; // toISOString() would throw
  const compound = structure(raw);
  if (compound) return { problem: `${compound} is not ${KIND_WORDS[kind]}` };
  switch (kind) {
    case 'string':
      return { value: raw instanceof Date ? raw.toISOString() : Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw) };
    case 'bool': {
      if (raw === true || raw === 1 || raw === '1' || raw === 'true') return { value: true };
      if (raw === false || raw === 0 || raw === '0' || raw === 'false') return { value: false };
      return { problem: `${quoted(raw)} is not a boolean (true/false or 1/0)` };
    }
    case 'int': {
      const converted = toNumber(raw);
      if ('value' in converted && converted.value !== undefined && !Number.isSafeInteger(converted.value)) return { problem: `${String(raw)} is not an integer` };
      return converted;
    }
    default:
      return toNumber(raw);
  }
}

/**
 * Builds a declared document: through the schema when `schemas/<producer>/<type>.json` exists, else
 * untyped (the gateway stores every number of an unknown type as a float, so a field never changes
 * type between runs). Throws a SourceFailure of class `mapping` when the document is invalid.
 */
export function buildDeclared(
  factory: DocumentFactory,
  registry: SchemaRegistry,
  producer: string,
  type: string,
  tags: Record<string, string>,
  fields: Record<string, Scalar>,
): MonitDocument {
  if (registry.get(producer, type)) {
    try {
      return factory.build(producer, type, tags, fields);
    } catch (error) {
      throw new SourceFailure('mapping', (error as Error).message);
    }
  }
  const document: MonitDocument = {
    producer,
    type,
    timestamp: factory.slotMs,
    host: factory.host,
    type_prefix: 'raw',
    _id: documentId(producer, type, tags, factory.slotMs),
    idb_tags: Object.keys(tags),
    idb_fields: Object.keys(fields),
    ...tags,
    ...fields,
  };
  const check = interpretDocument(document, registry);
  if (!check.ok) throw new SourceFailure('mapping', `invalid ${producer}/${type} document: ${check.reason}`);
  return document;
}
