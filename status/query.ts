import { databaseFor } from '../lib/interpret';
import { type InfluxClient, InfluxError, type Series } from '../lib/influxdb';
import { qualifiedMeasurement, quoteIdentifier, quoteString, timeLiteral } from '../lib/influxql';
import { type AggregateFunction, aggregateKey, conditionAggregates, type Value } from './condition';
import type { Heartbeat, SeriesData } from './evaluate';
import type { ModuleRule } from './rules';

export const HEARTBEAT_PRODUCER = 'monit-collectors';
export const HEARTBEAT_TYPE = 'run';

/** InfluxQL's name for each aggregate; delta is last − first, computed here. */
const INFLUX_FUNCTIONS: Record<Exclude<AggregateFunction, 'delta'>, string> = {
  latest: 'last',
  first: 'first',
  mean: 'mean',
  min: 'min',
  max: 'max',
  sum: 'sum',
  count: 'count',
};

/** A missing database only means nobody wrote there yet: no data, not a failure. */
function isMissingDatabase(error: unknown): boolean {
  return error instanceof InfluxError && /database not found/i.test(error.message);
}

function timeRange(fromMs: number, toMs: number): string {
  return `time > ${timeLiteral(fromMs)} AND time <= ${timeLiteral(toMs)}`;
}

function seriesKey(tags: Record<string, string>): string {
  return JSON.stringify(Object.entries(tags).sort(([a], [b]) => a.localeCompare(b)));
}

/** Tags of a GROUP BY * series, without the empty values InfluxDB reports for absent tag keys. */
function presentTags(series: Series): Record<string, string> {
  return Object.fromEntries(Object.entries(series.tags ?? {}).filter(([, value]) => value !== ''));
}

function scalar(value: unknown): Value {
  return typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' ? value : null;
}

/** The latest heartbeat of every job seen in (sinceMs, nowMs]. */
export async function readHeartbeats(influxdb: InfluxClient, sinceMs: number, nowMs: number, retentionPolicy: string): Promise<Map<string, Heartbeat>> {
  const query =
    `SELECT "ok", "timed_out", "message" FROM ${qualifiedMeasurement(databaseFor(HEARTBEAT_PRODUCER), retentionPolicy, HEARTBEAT_TYPE)} ` +
    `WHERE ${timeRange(sinceMs, nowMs)} GROUP BY "job" ORDER BY time DESC LIMIT 1`;
  let series: Series[];
  try {
    [series = []] = await influxdb.query(query);
  } catch (error) {
    if (isMissingDatabase(error)) return new Map();
    throw error;
  }
  const heartbeats = new Map<string, Heartbeat>();
  for (const one of series) {
    const row = Object.fromEntries(one.columns.map((column, index) => [column, one.values[0]?.[index]]));
    heartbeats.set(one.tags?.job ?? '', {
      timeMs: Number(row.time),
      ok: row.ok === true,
      timedOut: row.timed_out === true,
      message: typeof row.message === 'string' ? row.message : '',
    });
  }
  return heartbeats;
}

/**
 * The series of a module's measurement that the rule looks at: for each, its newest point within the
 * freshness window and the aggregates its conditions read over the rule's window. Two statements in
 * one request; the aggregation runs in InfluxDB.
 */
export async function readModuleSeries(influxdb: InfluxClient, rule: ModuleRule, nowMs: number, retentionPolicy: string): Promise<SeriesData[]> {
  const from = qualifiedMeasurement(databaseFor(rule.producer), retentionPolicy, rule.type);
  const filter = rule.where.map(({ tag, value }) => ` AND ${quoteIdentifier(tag)} = ${quoteString(value)}`).join('');
  const operands = [...rule.unavailable, ...rule.degraded].flatMap((leveled) => conditionAggregates(leveled.condition));
  const columns = new Map<string, string>();
  for (const operand of operands) {
    const needed: Array<Exclude<AggregateFunction, 'delta'>> = operand.function === 'delta' ? ['latest', 'first'] : [operand.function];
    for (const fn of needed) columns.set(`${INFLUX_FUNCTIONS[fn]}_${operand.field}`, `${INFLUX_FUNCTIONS[fn]}(${quoteIdentifier(operand.field)})`);
  }
  const statements = [
    `SELECT ${rule.fields.map(quoteIdentifier).join(', ')} FROM ${from} WHERE ${timeRange(nowMs - rule.freshnessMs, nowMs)}${filter} GROUP BY * ORDER BY time DESC LIMIT 1`,
  ];
  if (columns.size) {
    const select = [...columns].map(([alias, expression]) => `${expression} AS ${quoteIdentifier(alias)}`).join(', ');
    statements.push(`SELECT ${select} FROM ${from} WHERE ${timeRange(nowMs - Math.max(rule.windowMs, rule.freshnessMs), nowMs)}${filter} GROUP BY *`);
  }
  let newest: Series[];
  let aggregated: Series[];
  try {
    [newest = [], aggregated = []] = await influxdb.query(statements.join('; '));
  } catch (error) {
    if (isMissingDatabase(error)) return [];
    throw error;
  }
  const aggregatesBySeries = new Map<string, Record<string, unknown>>();
  for (const one of aggregated) {
    aggregatesBySeries.set(seriesKey(presentTags(one)), Object.fromEntries(one.columns.map((column, index) => [column, one.values[0]?.[index]])));
  }
  return newest.map((one) => {
    const tags = presentTags(one);
    const row = aggregatesBySeries.get(seriesKey(tags)) ?? {};
    const values = new Map<string, Value>();
    for (const operand of operands) {
      const read = (fn: Exclude<AggregateFunction, 'delta'>): Value => scalar(row[`${INFLUX_FUNCTIONS[fn]}_${operand.field}`]);
      let value: Value;
      if (operand.function === 'delta') {
        const last = read('latest');
        const first = read('first');
        value = typeof last === 'number' && typeof first === 'number' ? last - first : last === null || first === null ? null : Number.NaN;
        if (Number.isNaN(value)) throw new Error(`delta(${operand.field}) needs numbers, got ${JSON.stringify(first)} and ${JSON.stringify(last)}`);
      } else value = read(operand.function);
      values.set(aggregateKey(operand), value);
    }
    return { tags, lastTimeMs: Number(one.values[0]?.[0]), values };
  });
}
