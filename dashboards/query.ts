/**
 * InfluxQL for dashboard panels, built from schema names only. Every measurement, field and tag a
 * query names is looked up in the schema registry, so a renamed one stops the generator.
 */
import { databaseFor } from '../lib/documents/interpret';
import { quoteIdentifier, quoteString } from '../lib/influx/influxql';
import type { DocumentKind } from '../lib/documents/kinds';
import type { SchemaRegistry } from '../lib/documents/schemas';
import type { FieldSchema, TypeSchema } from '../lib/documents/types';

/** A producer/type of the registry, whose names are checked when used. */
export class Measurement {
  private constructor(readonly schema: TypeSchema) {}

  /** The measurement of a kind of schemas/kinds.ts (or of a producer and type named as strings). */
  static of(registry: SchemaRegistry, kind: Pick<DocumentKind, 'producer' | 'type'>): Measurement;
  static of(registry: SchemaRegistry, producer: string, type: string): Measurement;
  static of(registry: SchemaRegistry, kindOrProducer: Pick<DocumentKind, 'producer' | 'type'> | string, maybeType?: string): Measurement {
    const [producer, type] = typeof kindOrProducer === 'string' ? [kindOrProducer, maybeType ?? ''] : [kindOrProducer.producer, kindOrProducer.type];
    const schema = registry.get(producer, type);
    if (!schema) throw new Error(`dashboards: no schema ${producer}/${type} (schemas/${producer}/${type}.json)`);
    return new Measurement(schema);
  }

  get name(): string {
    return `${this.schema.producer}/${this.schema.type}`;
  }

  get database(): string {
    return databaseFor(this.schema.producer);
  }

  get tags(): string[] {
    return Object.keys(this.schema.tags);
  }

  /** The field's schema; a missing field is an error naming the schema file. */
  field(name: string): FieldSchema {
    const field = this.schema.fields[name];
    if (!field) throw new Error(`dashboards: ${this.name} has no field '${name}' (schemas/${this.name}.json)`);
    return field;
  }

  numericField(name: string): FieldSchema {
    const field = this.field(name);
    if (field.type !== 'int' && field.type !== 'float') throw new Error(`dashboards: ${this.name} field '${name}' is ${field.type}, not a number`);
    return field;
  }

  hasTag(name: string): boolean {
    return name in this.schema.tags;
  }

  tag(name: string): string {
    if (!this.hasTag(name)) throw new Error(`dashboards: ${this.name} has no tag '${name}' (schemas/${this.name}.json)`);
    return name;
  }

  /** "db"."rp"."measurement"; rp is a Grafana variable ($rp) or a fixed RP name. */
  from(rp: string): string {
    return `${quoteIdentifier(this.database)}.${quoteIdentifier(rp)}.${quoteIdentifier(this.schema.type)}`;
  }
}

export type Aggregate = 'mean' | 'sum' | 'max' | 'min' | 'last' | 'count';

/**
 * One column: fn(field), per second when `perSecond` (a sum over the bucket divided by its length),
 * or a ratio fn(field) / divideBy.fn(divideBy.field) of two fields of the same points (times
 * `multiplier`, e.g. 100 for percent).
 */
export interface Selection {
  fn: Aggregate;
  field: string;
  alias?: string;
  perSecond?: boolean;
  multiplier?: number;
  divideBy?: { fn: Aggregate; field: string };
}

/** key = value, key != value, a field compared with a number, or key matching one of `oneOf` exactly. */
export interface Condition {
  key: string;
  value?: string | boolean | number;
  op?: '=' | '!=' | '>' | '>=' | '<' | '<=';
  oneOf?: string[];
}

/** Which RP and time buckets a query reads: the dashboard's variables, or fixed values for a fixed range. */
export interface TimeContext {
  rp: string;
  interval: string;
  intervalSeconds: string;
}

export const VARIABLE_TIME: TimeContext = { rp: '$rp', interval: '$resolution', intervalSeconds: '$resolution_s' };

export interface QuerySpec {
  measurement: Measurement;
  select: Selection[];
  where?: Condition[];
  groupBy?: string[];
  /** time_series buckets by the RP's resolution; table gives one row per group over the whole range. */
  format?: 'time_series' | 'table';
  /** Grafana legend alias, e.g. "$tag_server $col". */
  alias?: string;
  /** Keep only the `limit` groups with the largest first column (InfluxQL top() over a subquery). */
  top?: { by: string; limit: number };
}

/** fn(field), checking that the field exists and that mean() and sum() read a number. */
function renderAggregate(measurement: Measurement, fn: Aggregate, name: string): string {
  const field = measurement.field(name);
  if ((fn === 'mean' || fn === 'sum') && field.type !== 'int' && field.type !== 'float') {
    throw new Error(`dashboards: ${fn}() of ${measurement.name} field '${name}', which is ${field.type}`);
  }
  return `${fn}(${quoteIdentifier(name)})`;
}

function renderSelection(measurement: Measurement, selection: Selection, time: TimeContext): string {
  if (selection.perSecond && selection.fn !== 'sum') throw new Error('dashboards: a per-second selection must be a sum');
  if (selection.perSecond && selection.divideBy) throw new Error('dashboards: a selection is either per second or a ratio, not both');
  if (selection.divideBy) {
    for (const name of [selection.field, selection.divideBy.field]) measurement.numericField(name);
  }
  let text = renderAggregate(measurement, selection.fn, selection.field);
  if (selection.divideBy) text += ` / ${renderAggregate(measurement, selection.divideBy.fn, selection.divideBy.field)}`;
  if (selection.perSecond) text += ` / ${time.intervalSeconds}`;
  if (selection.multiplier !== undefined) text += ` * ${selection.multiplier}`;
  return `${text} AS ${quoteIdentifier(selection.alias ?? selection.field)}`;
}

/** Escapes a value for an InfluxQL /regex/ literal, as Grafana does for variable values. */
export function regexEscape(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}\/]/g, '\\$&');
}

function renderCondition(measurement: Measurement, condition: Condition): string {
  const isTag = measurement.hasTag(condition.key);
  if (!isTag) measurement.field(condition.key);
  const key = quoteIdentifier(condition.key);
  if (condition.oneOf) return `${key} =~ /^(${condition.oneOf.map(regexEscape).join('|')})$/`;
  if (condition.value === undefined) throw new Error(`dashboards: condition on '${condition.key}' has neither value nor oneOf`);
  const ordering = condition.op !== undefined && condition.op !== '=' && condition.op !== '!=';
  if ((ordering || typeof condition.value === 'number') && (isTag || typeof condition.value !== 'number')) {
    // Tags are strings: InfluxQL would compare them as text, or not at all.
    throw new Error(`dashboards: condition ${condition.key} ${condition.op ?? '='} ${String(condition.value)} on ${measurement.name}: only a numeric field compares with a number`);
  }
  if (typeof condition.value === 'number') measurement.numericField(condition.key);
  const value = typeof condition.value === 'string' ? quoteString(condition.value) : String(condition.value);
  return `${key} ${condition.op ?? '='} ${value}`;
}

/**
 * The InfluxQL of one panel query. `filters` are the dashboard's tag variables; those the measurement has apply,
 * except on a tag the query fixes itself with = or oneOf (a "running jobs" panel stays so whatever job_status is chosen).
 */
export function renderQuery(spec: QuerySpec, filters: string[], time: TimeContext): string {
  const { measurement } = spec;
  const conditions = ['$timeFilter'];
  for (const condition of spec.where ?? []) conditions.push(renderCondition(measurement, condition));
  // Only = and oneOf fix a tag; a tag merely excluded (!=) still follows its variable.
  const fixed = new Set((spec.where ?? []).filter((condition) => condition.oneOf !== undefined || (condition.op ?? '=') === '=').map((condition) => condition.key));
  for (const tag of filters) {
    if (measurement.hasTag(tag) && !fixed.has(tag)) conditions.push(`${quoteIdentifier(tag)} =~ /^$${tag}$/`);
  }
  const groups = (spec.groupBy ?? []).map((tag) => quoteIdentifier(measurement.tag(tag)));
  const timeSeries = (spec.format ?? 'time_series') === 'time_series';
  if (timeSeries) groups.unshift(`time(${time.interval})`);
  const select = spec.select.map((selection) => renderSelection(measurement, selection, time)).join(', ');
  let query = `SELECT ${select} FROM ${measurement.from(time.rp)} WHERE ${conditions.join(' AND ')}`;
  if (groups.length) query += ` GROUP BY ${groups.join(', ')}`;
  if (timeSeries) query += ' fill(none)';
  if (spec.top) {
    const column = quoteIdentifier(spec.select[0].alias ?? spec.select[0].field);
    query = `SELECT top(${column}, ${quoteIdentifier(measurement.tag(spec.top.by))}, ${spec.top.limit}) AS ${column} FROM (${query})`;
  }
  return query;
}

/** SHOW TAG VALUES for a filter variable (tag values are kept per database, whatever the RP). */
export function tagValuesQuery(measurement: Measurement, tag: string): string {
  return `SHOW TAG VALUES ON ${quoteIdentifier(measurement.database)} FROM ${quoteIdentifier(measurement.schema.type)} WITH KEY = ${quoteIdentifier(measurement.tag(tag))}`;
}
