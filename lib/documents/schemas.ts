import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { SCHEMAS_DIR } from '../config/paths';
import type { TypeSchema } from './types';

/** Keys of a MONIT document that are metadata, never tags or fields (`metadata`, `monit_hdfs_path`: see gateway/README.md). */
export const RESERVED_KEYS = new Set(['producer', 'type', 'timestamp', 'host', 'type_prefix', '_id', 'idb_tags', 'idb_fields', 'data', 'metadata', 'monit_hdfs_path']);

/** ajv options shared by the run-time compile and the build-time standalone code. */
export const AJV_OPTIONS = { allErrors: true, strict: true, allowUnionTypes: true } as const;

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}

export const ENVELOPE_SCHEMA_FILE = path.join(SCHEMAS_DIR, 'envelope.schema.json');
export const TYPE_SCHEMA_FILE = path.join(SCHEMAS_DIR, 'type.schema.json');
/** Written by `npm run build` (scripts/build/compileValidators.ts): ajv's standalone code, so a cron run skips compiling. */
export const PRECOMPILED_VALIDATORS = path.join(__dirname, 'validators.generated.js');

interface Validators {
  envelope: ValidateFunction;
  typeSchema: ValidateFunction<TypeSchema>;
}

function loadValidators(): Validators {
  if (existsSync(PRECOMPILED_VALIDATORS)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(PRECOMPILED_VALIDATORS) as Validators;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { default: Ajv } = require('ajv') as typeof import('ajv');
  const ajv = new Ajv(AJV_OPTIONS);
  return { envelope: ajv.compile(readJson(ENVELOPE_SCHEMA_FILE) as object), typeSchema: ajv.compile<TypeSchema>(readJson(TYPE_SCHEMA_FILE) as object) };
}

const validators = loadValidators();
const typeSchemaValidator = validators.typeSchema;
export const validateEnvelope: ValidateFunction = validators.envelope;

/** Explains ajv errors in one line a person can act on. */
export function describeAjvErrors(validator: ValidateFunction): string {
  return (validator.errors ?? [])
    .map((error) => {
      const where = error.instancePath ? error.instancePath.slice(1).replace(/\//g, '.') : 'document';
      const extra = error.keyword === 'additionalProperties' ? ` '${String(error.params.additionalProperty)}'` : '';
      return `${where} ${error.message}${extra}`;
    })
    .join('; ');
}

export const UNITS_FILE = path.join(SCHEMAS_DIR, 'units.json');

let units: Set<string> | undefined;
/** The units schemas/units.json defines: the only ones a field may have. */
function knownUnits(): Set<string> {
  units ??= new Set(Object.keys((readJson(UNITS_FILE) as { units: Record<string, unknown> }).units));
  return units;
}

/** Checks one type schema's content beyond its JSON Schema: names that would collide in InfluxDB, units. */
function checkTypeSchema(schema: TypeSchema, file: string): void {
  if (!typeSchemaValidator(schema)) throw new Error(`${file}: ${describeAjvErrors(typeSchemaValidator)}`);
  const expected = path.join(schema.producer, `${schema.type}.json`);
  if (!file.endsWith(expected)) throw new Error(`${file}: must be stored as schemas/${expected}`);
  for (const name of [...Object.keys(schema.tags), ...Object.keys(schema.fields)]) {
    if (RESERVED_KEYS.has(name)) throw new Error(`${file}: '${name}' is a reserved MONIT key and cannot be a tag or field`);
    if (name === 'time') throw new Error(`${file}: 'time' cannot be a tag or field: InfluxDB 1.x refuses or drops it`);
  }
  for (const tag of Object.keys(schema.tags)) {
    if (Object.hasOwn(schema.fields, tag)) throw new Error(`${file}: '${tag}' is both a tag and a field`);
  }
  const units = knownUnits();
  for (const [name, field] of Object.entries(schema.fields)) {
    if (!units.has(field.unit)) throw new Error(`${file}: field '${name}' has unit '${field.unit}', which schemas/units.json does not define (${[...units].map((unit) => `'${unit}'`).join(', ')})`);
  }
}

/** All producer/type schemas under schemas/, read once. */
/** MONIT's database naming: monit_production_<producer>, '-' turned into '_'. */
export function databaseFor(producer: string): string {
  return `monit_production_${producer.replace(/-/g, '_')}`;
}

/**
 * Two producer spellings among `producers` that write one database ('my-app', 'my_app'), which would
 * overwrite each other's points, or undefined.
 */
export function spellingConflict(producers: Iterable<string>): { earlier: string; later: string; database: string } | undefined {
  const producerOfDatabase = new Map<string, string>();
  for (const producer of producers) {
    const database = databaseFor(producer);
    const earlier = producerOfDatabase.get(database);
    if (earlier !== undefined && earlier !== producer) return { earlier, later: producer, database };
    producerOfDatabase.set(database, producer);
  }
  return undefined;
}

export class SchemaRegistry {
  private readonly byKey = new Map<string, TypeSchema>();

  constructor(schemas: TypeSchema[] = []) {
    const conflict = spellingConflict(schemas.map((schema) => schema.producer));
    if (conflict) {
      throw new Error(`schemas: producers '${conflict.earlier}' and '${conflict.later}' write the same database ${conflict.database} ('-' becomes '_'); keep one spelling`);
    }
    for (const schema of schemas) this.byKey.set(SchemaRegistry.key(schema.producer, schema.type), schema);
  }

  static key(producer: string, type: string): string {
    return `${producer}/${type}`;
  }

  static load(dir: string = SCHEMAS_DIR): SchemaRegistry {
    const schemas: TypeSchema[] = [];
    if (existsSync(dir)) {
      for (const producer of readdirSync(dir, { withFileTypes: true })) {
        if (!producer.isDirectory()) continue;
        for (const file of readdirSync(path.join(dir, producer.name))) {
          if (!file.endsWith('.json')) continue;
          const full = path.join(dir, producer.name, file);
          const schema = readJson(full) as TypeSchema;
          checkTypeSchema(schema, full);
          schemas.push(schema);
        }
      }
    }
    return new SchemaRegistry(schemas);
  }

  get(producer: string, type: string): TypeSchema | undefined {
    return this.byKey.get(SchemaRegistry.key(producer, type));
  }

  /** Like get(), but a missing schema is a developer's mistake. */
  require(producer: string, type: string): TypeSchema {
    const schema = this.get(producer, type);
    if (!schema) throw new Error(`no schema for producer '${producer}' type '${type}': add schemas/${producer}/${type}.json`);
    return schema;
  }

  all(): TypeSchema[] {
    return [...this.byKey.values()];
  }
}

let defaultRegistry: SchemaRegistry | undefined;
/** The registry of the project's schemas/ folder, loaded on first use. */
export function schemaRegistry(): SchemaRegistry {
  defaultRegistry ??= SchemaRegistry.load();
  return defaultRegistry;
}
