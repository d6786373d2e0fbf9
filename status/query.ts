import { databaseFor } from '../lib/documents/interpret';
import { HEARTBEAT } from '../lib/run/jobRunner';
import { type InfluxClient, isMissingDatabase, rowsOf, type Series } from '../lib/influx/influxdb';
import { qualifiedMeasurement, quoteIdentifier, quoteString, timeLiteral } from '../lib/influx/influxql';
import { type AggregateFunction, aggregateKey, type Condition, type Operand, RuleEvaluationError, type Value } from './condition';
import type { Heartbeat, SeriesData } from './evaluate';
import { leveledAggregates, type PartRule } from './rules';


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

function timeRange(fromMs: number, toMs: number): string {
  return `time > ${timeLiteral(fromMs)} AND time <= ${timeLiteral(toMs)}`;
}

/** Tags of a GROUP BY * series, without the empty values InfluxDB reports for absent tag keys. */
function presentTags(series: Series): Record<string, string> {
  return Object.fromEntries(Object.entries(series.tags ?? {}).filter(([, value]) => value !== ''));
}

function scalar(value: unknown): Value {
  return typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' ? value : null;
}

/** The credential a heartbeat reports, when it has all three fields (older heartbeats have none). */
function credentialOf(name: unknown, expiresInSeconds: unknown, expiring: unknown): Heartbeat['credential'] {
  if (typeof name !== 'string' || name === '' || typeof expiresInSeconds !== 'number' || typeof expiring !== 'boolean') return undefined;
  return { name, expiresInSeconds, expiring };
}

/** The latest heartbeat of every job seen in (sinceMs, nowMs]. */
export async function readHeartbeats(influxdb: InfluxClient, sinceMs: number, nowMs: number, retentionPolicy: string): Promise<Map<string, Heartbeat>> {
  const { fields } = HEARTBEAT;
  const query =
    `SELECT ${[fields.ok, fields.timed_out, fields.message, fields.credential, fields.credential_expires_in_s, fields.credential_expiring].map(quoteIdentifier).join(', ')} FROM ${qualifiedMeasurement(databaseFor(HEARTBEAT.producer), retentionPolicy, HEARTBEAT.type)} ` +
    `WHERE ${timeRange(sinceMs, nowMs)} GROUP BY ${quoteIdentifier(HEARTBEAT.tags.job)} ORDER BY time DESC LIMIT 1`;
  let series: Series[];
  try {
    [series = []] = await influxdb.query(query);
  } catch (error) {
    if (isMissingDatabase(error)) return new Map();
    throw error;
  }
  const heartbeats = new Map<string, Heartbeat>();
  for (const one of series) {
    const row = rowsOf(one)[0] ?? {};
    heartbeats.set(one.tags?.[HEARTBEAT.tags.job] ?? '', {
      timeMs: Number(row.time),
      ok: row[fields.ok] === true,
      timedOut: row[fields.timed_out] === true,
      message: String(row[fields.message] ?? ''),
      credential: credentialOf(row[fields.credential], row[fields.credential_expires_in_s], row[fields.credential_expiring]),
    });
  }
  return heartbeats;
}

/** A prefilter condition as an InfluxQL WHERE expression; every value is quoted or a checked literal. */
export function prefilterClause(condition: Condition): string {
  switch (condition.kind) {
    case 'compare': {
      const operand = (side: Operand): string => {
        if (side.kind === 'aggregate') return quoteIdentifier(side.field);
        if (typeof side.value === 'string') return quoteString(side.value);
        if (typeof side.value === 'boolean') return side.value ? 'true' : 'false';
        if (!Number.isFinite(side.value)) throw new Error(`not a finite number: ${side.value}`);
        return String(side.value);
      };
      const comparator = condition.comparator === '==' ? '=' : condition.comparator;
      return `${operand(condition.left)} ${comparator} ${operand(condition.right)}`;
    }
    case 'and':
    case 'or':
      return `(${condition.items.map(prefilterClause).join(` ${condition.kind.toUpperCase()} `)})`;
    case 'not':
      throw new Error('a prefilter cannot use not');
  }
}

/** A series named by the tags it has. */
export type SeriesTags = Record<string, string>;

export interface PartData {
  /**
   * Time of the newest point within the freshness window (the part's `where` applies, its prefilter does not).
   * For a prefiltered part whose remembered series had a point within ReadPartOptions.rememberedWithinMs:
   * that series' newest point, so at most that much older than the newest of all.
   */
  lastDataMs?: number;
  /** A prefiltered part's series that held lastDataMs, to be checked first at the next run. */
  newestSeries?: SeriesTags;
  /** The series with points in the rule's window (after the prefilter), with the aggregates the conditions read. */
  series: SeriesData[];
}

/** At most this many points passing a prefilter are read to find their series; more: the plain statement. */
export const PASSING_POINTS_READ = 5000;
/** At most this many values of one tag narrow the aggregate statement; more: the plain statement. */
export const NARROWING_VALUES = 500;

/** A WHERE term keeping the series whose `key` has one of `values` ('' matches the series without the key). */
function anyTagValue(key: string, values: Iterable<string>): string {
  return `(${[...values].sort().map((value) => `${quoteIdentifier(key)} = ${quoteString(value)}`).join(' OR ')})`;
}

/** The measurement's tag keys: from its schema, or asked of InfluxDB when it has none. */
async function tagKeysOf(influxdb: InfluxClient, rule: PartRule): Promise<string[]> {
  if (rule.tagKeys) return rule.tagKeys;
  const [keySeries = []] = await influxdb.query(`SHOW TAG KEYS ON ${quoteIdentifier(databaseFor(rule.producer))} FROM ${quoteIdentifier(rule.type)}`);
  return (keySeries[0]?.values ?? []).map((row) => String(row[0]));
}

/** The tags as columns of a statement without GROUP BY (tag_0, tag_1, ...: aliases keep them apart from fields). */
function tagColumns(tagKeys: string[]): string[] {
  return tagKeys.map((key, index) => `${quoteIdentifier(key)}::tag AS ${quoteIdentifier(`tag_${index}`)}`);
}

/**
 * The newest point of a prefiltered part (one over very many series), and the series holding it. InfluxDB
 * 1.6's cost is per series, so checking every series costs about as much as a bare count over them: the
 * series that held the newest point at the previous run is checked alone first (`remembered`, over a
 * window of its own), and when it has a point there, the part is fresh. Only otherwise is every series
 * read, the selector bringing the tags of the point it selects. A series is named by the tags it has:
 * a statement naming only those may match more series, whose points are as good a proof of freshness.
 */
async function newestOfManySeries(
  influxdb: InfluxClient,
  fromWhere: string,
  field: string,
  tagKeys: string[],
  remembered: { series: SeriesTags; fromWhere: string } | undefined,
): Promise<{ timeMs?: number; series?: SeriesTags }> {
  const newest = `SELECT last(${quoteIdentifier(field)})`;
  const sameSeries = Object.entries(remembered?.series ?? {}).map(([key, value]) => ` AND ${quoteIdentifier(key)} = ${quoteString(value)}`);
  if (remembered && sameSeries.length > 0) {
    const timeMs = await newestTime(influxdb, `${newest} FROM ${remembered.fromWhere}${sameSeries.join('')}`);
    if (timeMs !== undefined) return { timeMs, series: remembered.series };
  }
  const [[all] = []] = await influxdb.query(`${[newest, ...tagColumns(tagKeys)].join(', ')} FROM ${fromWhere}`);
  const row = all?.values[0];
  if (!all || !row || typeof row[0] !== 'number') return {};
  const series = Object.fromEntries(
    tagKeys.flatMap((key, index) => {
      const value = row[all.columns.indexOf(`tag_${index}`)];
      return typeof value === 'string' && value !== '' ? [[key, value]] : [];
    }),
  );
  return { timeMs: row[0], series: Object.keys(series).length > 0 ? series : undefined };
}

/** The time of the point a single selector without GROUP BY selects (InfluxDB returns it as the row's time). */
async function newestTime(influxdb: InfluxClient, statement: string): Promise<number | undefined> {
  const [[one] = []] = await influxdb.query(statement);
  const timeMs = one?.values[0]?.[0];
  return typeof timeMs === 'number' ? timeMs : undefined;
}

/**
 * How a prefiltered aggregate statement can read fewer series: InfluxDB groups every series of the window
 * (GROUP BY *) before it drops those with no passing point, so when few of many series pass the grouping
 * costs far more than finding the passing points (figures: bench/RESULTS.md, "Status job at PanDA scale").
 * So the passing points are read first, without GROUP BY, with the series' tags as columns; the aggregate
 * statement then also names the values of the tag that tells those series apart best. It keeps its
 * prefilter, so it returns the same series as without the narrowing. `undefined`: no narrowing (too many
 * passing points or values, or no tags); `false`: no point passes.
 */
async function passingSeriesTerm(influxdb: InfluxClient, tagKeys: string[], window: string, aggregated: string[], prefilter: string): Promise<string | false | undefined> {
  if (tagKeys.length === 0) return undefined;
  // A point counts only with a value for a field the aggregates read (as in GROUP BY *); aliases keep tag and field columns apart.
  const fields = aggregated.map((field, index) => `${quoteIdentifier(field)} AS ${quoteIdentifier(`field_${index}`)}`);
  const [[passing] = []] = await influxdb.query(`SELECT ${[...fields, ...tagColumns(tagKeys)].join(', ')} FROM ${window} AND ${prefilter} LIMIT ${PASSING_POINTS_READ + 1}`);
  const rows = passing?.values ?? [];
  if (rows.length === 0) return false;
  if (rows.length > PASSING_POINTS_READ) return undefined;
  let best: { key: string; values: Set<string> } | undefined;
  for (const [index, key] of tagKeys.entries()) {
    const column = passing.columns.indexOf(`tag_${index}`);
    const values = new Set(rows.map((row) => (typeof row[column] === 'string' ? row[column] : '')));
    if (!best || values.size > best.values.size) best = { key, values };
  }
  if (!best || best.values.size > NARROWING_VALUES) return undefined;
  return anyTagValue(best.key, best.values);
}

export interface ReadPartOptions {
  /** For a prefiltered part: the series that held its newest point at the previous run (PartData.newestSeries). */
  newestSeries?: SeriesTags;
  /**
   * How recent the remembered series' point must be to stand for the part's newest (default: the freshness
   * window); the status job gives its period, so a series that stopped being written is soon dropped.
   */
  rememberedWithinMs?: number;
}

/**
 * What one part (a single-measurement module's, or one of a module's parts) reads, in statements
 * aggregated in InfluxDB: the time of the newest point (one selector without GROUP BY; for a prefiltered
 * part the remembered series first, see newestOfManySeries), and per series the aggregates its conditions
 * read over the window (with a prefilter, only over the series with a passing point: see passingSeriesTerm).
 */

export async function readPartData(influxdb: InfluxClient, rule: PartRule, nowMs: number, retentionPolicy: string, options: ReadPartOptions = {}): Promise<PartData> {
  const from = qualifiedMeasurement(databaseFor(rule.producer), retentionPolicy, rule.type);
  const filter = rule.where.map(({ tag, value }) => ` AND ${quoteIdentifier(tag)} = ${quoteString(value)}`).join('');
  const operands = [...rule.unavailable, ...rule.degraded].flatMap(leveledAggregates);
  const columns = new Map<string, string>();
  for (const operand of operands) {
    const needed: Array<Exclude<AggregateFunction, 'delta'>> = operand.function === 'delta' ? ['latest', 'first'] : [operand.function];
    for (const aggregateFunction of needed) columns.set(`${INFLUX_FUNCTIONS[aggregateFunction]}_${operand.field}`, `${INFLUX_FUNCTIONS[aggregateFunction]}(${quoteIdentifier(operand.field)})`);
  }
  const fromFreshness = `${from} WHERE ${timeRange(nowMs - rule.freshnessMs, nowMs)}${filter}`;
  const window = `${from} WHERE ${timeRange(nowMs - rule.windowMs, nowMs)}${filter}`;
  const prefilter = rule.prefilter ? prefilterClause(rule.prefilter) : undefined;
  // A prefiltered part's tag keys serve both statements; asked once, and only for such a part.
  const tagKeys = prefilter ? tagKeysOf(influxdb, rule) : undefined;
  tagKeys?.catch(() => undefined); // awaited by both statements below
  const rememberedFromMs = nowMs - Math.min(rule.freshnessMs, options.rememberedWithinMs ?? rule.freshnessMs);
  const remembered = options.newestSeries && { series: options.newestSeries, fromWhere: `${from} WHERE ${timeRange(rememberedFromMs, nowMs)}${filter}` };
  const newest = async (): Promise<{ timeMs?: number; series?: SeriesTags }> => {
    if (tagKeys) return newestOfManySeries(influxdb, fromFreshness, rule.fields[0], await tagKeys, remembered);
    return { timeMs: await newestTime(influxdb, `SELECT last(${quoteIdentifier(rule.fields[0])}) FROM ${fromFreshness}`) };
  };
  const aggregate = async (): Promise<Series[]> => {
    if (!columns.size) return [];
    const select = [...columns].map(([alias, expression]) => `${expression} AS ${quoteIdentifier(alias)}`).join(', ');
    let narrowing = '';
    if (prefilter && tagKeys) {
      const term = await passingSeriesTerm(influxdb, await tagKeys, window, [...new Set(operands.map((operand) => operand.field))], prefilter);
      if (term === false) return [];
      narrowing = ` AND ${prefilter}${term ? ` AND ${term}` : ''}`;
    }
    const [series = []] = await influxdb.query(`SELECT ${select} FROM ${window}${narrowing} GROUP BY *`);
    return series;
  };
  let newestPoint: { timeMs?: number; series?: SeriesTags };
  let aggregated: Series[];
  try {
    // One request per statement: to several, InfluxDB 1.6 answers a missing database with "not executed".
    [newestPoint, aggregated] = await Promise.all([newest(), aggregate()]);
  } catch (error) {
    if (isMissingDatabase(error)) return { series: [] };
    throw error;
  }
  const series = aggregated.map((one): SeriesData => {
    const row = rowsOf(one)[0] ?? {};
    const values = new Map<string, Value>();
    for (const operand of operands) {
      const read = (aggregateFunction: Exclude<AggregateFunction, 'delta'>): Value => scalar(row[`${INFLUX_FUNCTIONS[aggregateFunction]}_${operand.field}`]);
      let value: Value;
      if (operand.function === 'delta') {
        const last = read('latest');
        const first = read('first');
        if (last === null || first === null) value = null;
        else if (typeof last === 'number' && typeof first === 'number') value = last - first;
        else throw new RuleEvaluationError(`delta(${operand.field}) needs numbers, got ${JSON.stringify(first)} and ${JSON.stringify(last)}`);
      } else value = read(operand.function);
      values.set(aggregateKey(operand), value);
    }
    return { tags: presentTags(one), values };
  });
  return { lastDataMs: newestPoint.timeMs, newestSeries: newestPoint.series, series };
}
