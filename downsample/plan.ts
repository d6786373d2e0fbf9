/** Which aggregate each field gets, and the SELECT … INTO statement that applies it. */
import { qualifiedMeasurement, quoteIdentifier, timeLiteral } from '../lib/influx/influxql';
import type { SchemaRegistry } from '../lib/documents/schemas';
import type { DownsampleFunction, TypeSchema } from '../lib/documents/types';
import type { TimeRange } from './windows';

/** A field type as InfluxDB reports it in SHOW FIELD KEYS. */
export type StoredFieldType = 'float' | 'integer' | 'string' | 'boolean';

export interface FieldAggregate {
  field: string;
  function: DownsampleFunction;
}

/** What InfluxDB 1.6 can compute per stored type (mean/sum of strings or booleans are refused). */
const ALLOWED: Record<StoredFieldType, readonly DownsampleFunction[]> = {
  float: ['mean', 'sum', 'max', 'min', 'last'],
  integer: ['mean', 'sum', 'max', 'min', 'last'],
  boolean: ['max', 'min', 'last'],
  string: ['last'],
};

/** The default for measurements and fields no schema describes: mean for numbers, last otherwise. */
export function defaultFunction(type: StoredFieldType): DownsampleFunction {
  return type === 'float' || type === 'integer' ? 'mean' : 'last';
}

/** One field's stored type; a field stored with several types (across shards) counts as its least numeric one. */
export function mergeStoredTypes(types: StoredFieldType[]): StoredFieldType {
  for (const weakest of ['string', 'boolean', 'float'] as const) if (types.includes(weakest)) return weakest;
  return 'integer';
}

/** database name → producer schemas, following the MONIT mapping monit_production_<producer with - as _>. */
export function schemasByDatabase(registry: SchemaRegistry): Map<string, Map<string, TypeSchema>> {
  const map = new Map<string, Map<string, TypeSchema>>();
  for (const schema of registry.all()) {
    const database = `monit_production_${schema.producer.replace(/-/g, '_')}`;
    let types = map.get(database);
    if (!types) map.set(database, (types = new Map()));
    if (!types.has(schema.type)) types.set(schema.type, schema);
  }
  return map;
}

export interface MeasurementPlan {
  aggregates: FieldAggregate[];
  /** Why the plan departs from the schema (or that there is none), for the log. */
  notes: string[];
}

/**
 * The aggregates for one measurement, from its schema when it has one and the stored field types.
 * Fields the schema lists but that are not stored are skipped: there is nothing to aggregate.
 */
export function planMeasurement(schema: TypeSchema | undefined, storedTypes: Map<string, StoredFieldType>, where: string): MeasurementPlan {
  const notes: string[] = [];
  const aggregates: FieldAggregate[] = [];
  if (!schema) notes.push(`${where}: no schema, using mean for numeric fields and last for the others`);
  const unlisted: string[] = [];
  for (const [field, type] of [...storedTypes].sort(([a], [b]) => a.localeCompare(b))) {
    let wanted = schema?.fields[field]?.downsample;
    if (schema && !wanted) unlisted.push(field);
    wanted ??= defaultFunction(type);
    if (!ALLOWED[type].includes(wanted)) {
      notes.push(`${where}: field '${field}' is stored as ${type}, which ${wanted}() cannot aggregate; using last`);
      wanted = 'last';
    }
    aggregates.push({ field, function: wanted });
  }
  if (unlisted.length) notes.push(`${where}: fields not in the schema, using the default: ${unlisted.join(', ')}`);
  return { aggregates, notes };
}

export interface IntoQuery {
  database: string;
  measurement: string;
  sourceRetentionPolicy: string;
  targetRetentionPolicy: string;
  /** "1h" or "1d": the GROUP BY time interval. */
  interval: string;
  range: TimeRange;
  aggregates: FieldAggregate[];
}

/**
 * SELECT mean("x") AS "x", … INTO db.target.m FROM db.source.m WHERE <range> GROUP BY time(…), *:
 * field names unchanged, every tag kept as a tag, nothing written for empty windows.
 */
export function intoStatement(query: IntoQuery): string {
  const select = query.aggregates.map(({ field, function: aggregate }) => `${aggregate}(${quoteIdentifier(field)}) AS ${quoteIdentifier(field)}`).join(', ');
  return (
    `SELECT ${select} INTO ${qualifiedMeasurement(query.database, query.targetRetentionPolicy, query.measurement)}` +
    ` FROM ${qualifiedMeasurement(query.database, query.sourceRetentionPolicy, query.measurement)}` +
    ` WHERE time >= ${timeLiteral(query.range.startMs)} AND time < ${timeLiteral(query.range.endMs)}` +
    ` GROUP BY time(${query.interval}), * fill(none)`
  );
}

/** Splits a plan's aggregates into groups of at most `size` fields (one INTO statement each). */
export function fieldGroups(aggregates: FieldAggregate[], size: number): FieldAggregate[][] {
  const groups: FieldAggregate[][] = [];
  for (let i = 0; i < aggregates.length; i += Math.max(1, size)) groups.push(aggregates.slice(i, i + Math.max(1, size)));
  return groups;
}
