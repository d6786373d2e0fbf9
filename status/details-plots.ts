/**
 * The plots of a details page: the module's key time-series panels of its dashboard definition,
 * rendered with the dashboards' own query builder on the RP the dashboards choose for the range, or,
 * for a module without a dashboard, the mean of each numeric field its rule reads.
 */
import { databaseFor } from '../lib/documents/interpret';
import { isMissingDatabase, type Series } from '../lib/influx/influxdb';
import { clientOfDatabase, type InfluxSource } from '../lib/influx/instances';
import { qualifiedMeasurement, quoteIdentifier, quoteString, timeLiteral } from '../lib/influx/influxql';
import { schemaRegistry } from '../lib/documents/schemas';
import { moduleDashboards } from '../dashboards/modules';
import type { ModuleDashboard } from '../dashboards/module';
import type { PanelSpec } from '../dashboards/panels';
import { Measurement, renderQuery, type QuerySpec, type TimeContext } from '../dashboards/query';
import type { RetentionChoice } from '../downsample/retentions';
import { describeSeries } from './evaluate';
import type { ModuleRule, PartRule } from './rules';

/** Plots per page at most: the key panels, not the whole dashboard. */
export const MAX_PLOTS = 6;
/** Series per plot at most: those with the highest last value. */
export const MAX_SERIES = 10;
/**
 * Series one panel query reads at most (InfluxQL's SLIMIT, in InfluxDB's series key order): a page
 * view never pulls a measurement's every series (panda/jobs_derived has ~120k) into the gateway.
 */
export const MAX_SERIES_READ = 200;

export interface PlotSeries {
  name: string;
  /** One value per entry of the plot's `times`; null where this series has no bucket. */
  values: Array<number | null>;
  /** Over the range, from the plotted buckets (as Grafana's legend computes them). */
  last: number | null;
  min: number | null;
  max: number | null;
  mean: number | null;
  points: number;
}

export interface Plot {
  title: string;
  unit?: string;
  /** The InfluxQL statements it ran, with the range in place of $timeFilter. */
  queries: string[];
  /** Bucket times (epoch ms), ascending. */
  times: number[];
  series: PlotSeries[];
  /** Series the queries returned; only the MAX_SERIES with the highest last value are shown. */
  totalSeries: number;
  /** A query returned MAX_SERIES_READ series: the measurement may have more, not read. */
  truncated: boolean;
  /** The query failed: why. */
  error?: string;
}

/** One query of a panel: its InfluxQL for an RP and bucket length, and its Grafana legend alias. */
export interface PanelQuery {
  render: (time: TimeContext) => string;
  /** The database it reads, so it runs on the instance holding it. */
  database: string;
  alias?: string;
}

/** Where a module's plots come from. */
export interface PlotSource {
  kind: 'dashboard' | 'rule';
  /** The dashboards (uid and title) the panels come from. */
  dashboards: Array<{ uid: string; title: string }>;
  /** Panel titles and their queries (with Grafana's $timeFilter, still to be given the range). */
  panels: Array<{ title: string; unit?: string; queries: PanelQuery[] }>;
}

let dashboards: ModuleDashboard[] | undefined;
function allDashboards(): ModuleDashboard[] {
  dashboards ??= moduleDashboards();
  return dashboards;
}

const measurementName = (part: Pick<PartRule, 'producer' | 'type'>): string => `${part.producer}/${part.type}`;

/**
 * The key panels of a module: the dashboards listing it in statusModules (the one its rule's
 * `dashboard` names first), their time-series panels that read a measurement of its rule, in
 * dashboard order; if none reads one, the time-series panels of the first dashboard's first section.
 * At most MAX_PLOTS. Undefined when no dashboard shows the module.
 */
function dashboardPanels(rule: ModuleRule, from: ModuleDashboard[]): PlotSource | undefined {
  const candidates = from.filter((dashboard) => dashboard.statusModules.includes(rule.module));
  candidates.sort((a, b) => Number(rule.dashboard === `d/${b.uid}`) - Number(rule.dashboard === `d/${a.uid}`));
  if (candidates.length === 0) return undefined;
  const registry = schemaRegistry();
  const measurements = new Set(rule.parts.map(measurementName));
  const contents = candidates.map((dashboard) => ({ dashboard, panels: dashboard.build(registry).panels }));
  const isSeries = (panel: (typeof contents)[number]['panels'][number]): panel is PanelSpec => panel.kind === 'timeseries';
  let chosen = contents.flatMap(({ dashboard, panels }) =>
    panels.filter(isSeries).filter((panel) => panel.queries.some((query) => measurements.has(query.measurement.name))).map((panel) => ({ dashboard, panel })),
  );
  if (chosen.length === 0) {
    const { dashboard, panels } = contents[0];
    const start = panels.findIndex((panel) => panel.kind !== 'row');
    const end = panels.findIndex((panel, index) => index > start && panel.kind === 'row');
    chosen = panels.slice(start, end < 0 ? undefined : end).filter(isSeries).map((panel) => ({ dashboard, panel }));
  }
  chosen = chosen.slice(0, MAX_PLOTS);
  if (chosen.length === 0) return undefined;
  const used = [...new Set(chosen.map(({ dashboard }) => dashboard))];
  return {
    kind: 'dashboard',
    dashboards: used.map((dashboard) => ({ uid: dashboard.uid, title: dashboard.title })),
    panels: chosen.map(({ panel }) => ({ title: panel.title, unit: panel.unit, queries: panel.queries.map((query) => ({ render: (time: TimeContext) => renderQuery(query, [], time), database: query.measurement.database, alias: query.alias })) })),
  };
}

/**
 * A module without a dashboard (declared in config, or made of parts): the mean of each numeric field
 * its rule (each part) reads, one series per tag combination, within the rule's `where`.
 */
function rulePanels(rule: ModuleRule): PlotSource {
  const registry = schemaRegistry();
  const panels = rule.parts.flatMap((part) => {
    const schema = registry.get(part.producer, part.type);
    const whereTags = new Set(part.where.map(({ tag }) => tag));
    // Without a schema the field types are unknown: InfluxDB says if mean() does not apply.
    const fields = schema ? part.fields.filter((field) => ['int', 'float'].includes(schema.fields[field]?.type ?? '')) : part.fields;
    return fields.map((field) => {
      const title = `${rule.composite ? `${part.title}: ` : ''}mean(${field}) of ${measurementName(part)}`;
      if (schema) {
        const measurement = Measurement.of(registry, part.producer, part.type);
        const spec: QuerySpec = {
          measurement,
          select: [{ fn: 'mean', field }],
          where: part.where.map(({ tag, value }) => ({ key: tag, value })),
          groupBy: measurement.tags.filter((tag) => !whereTags.has(tag)),
        };
        return { title, unit: schema.fields[field]?.unit, queries: [{ render: (time: TimeContext) => renderQuery(spec, [], time), database: measurement.database }] };
      }
      const filter = part.where.map(({ tag, value }) => ` AND ${quoteIdentifier(tag)} = ${quoteString(value)}`).join('');
      const query = (time: TimeContext): string =>
        `SELECT mean(${quoteIdentifier(field)}) AS ${quoteIdentifier(field)} FROM ${qualifiedMeasurement(databaseFor(part.producer), time.rp, part.type)} WHERE $timeFilter${filter} GROUP BY time(${time.interval}), * fill(none)`;
      return { title, queries: [{ render: query, database: databaseFor(part.producer) }] };
    });
  });
  return { kind: 'rule', dashboards: [], panels: panels.slice(0, MAX_PLOTS) };
}

const sources = new WeakMap<ModuleRule, PlotSource>();

/** The plots' source of a module (worked out once per rule). */
export function plotSource(rule: ModuleRule, from?: ModuleDashboard[]): PlotSource {
  let source = from ? undefined : sources.get(rule);
  if (!source) {
    source = dashboardPanels(rule, from ?? allDashboards()) ?? rulePanels(rule);
    if (!from) sources.set(rule, source);
  }
  return source;
}

/** A series' name as Grafana's alias makes it ($tag_X, $col), or its column and tags. */
function seriesName(alias: string | undefined, column: string, tags: Record<string, string>, columns: number): string {
  if (!alias) return Object.keys(tags).length ? `${columns > 1 ? `${column} ` : ''}${describeSeries(tags)}` : column;
  const named = alias.replace(/\$tag_([A-Za-z0-9_]+)/g, (_, tag: string) => tags[tag] ?? '').replace(/\$col/g, column);
  return columns > 1 && !alias.includes('$col') ? `${named} ${column}` : named;
}

function statistics(values: number[]): Pick<PlotSeries, 'last' | 'min' | 'max' | 'mean' | 'points'> {
  if (values.length === 0) return { last: null, min: null, max: null, mean: null, points: 0 };
  return { last: values[values.length - 1], min: Math.min(...values), max: Math.max(...values), mean: values.reduce((sum, value) => sum + value, 0) / values.length, points: values.length };
}

/** The panel's InfluxQL for this range: the RP and buckets of `choice`, $timeFilter as the range, at most MAX_SERIES_READ series. */
export function rangeQuery(query: PanelQuery, choice: RetentionChoice, fromMs: number, toMs: number): string {
  const time: TimeContext = { rp: choice.rp, interval: choice.interval, intervalSeconds: String(choice.intervalSeconds) };
  const ranged = query.render(time).split('$timeFilter').join(`time > ${timeLiteral(fromMs)} AND time <= ${timeLiteral(toMs)}`);
  if (/\bSLIMIT\b/i.test(ranged)) return ranged;
  // SLIMIT comes before a trailing tz() in InfluxQL's grammar.
  const tz = /\s+tz\('[^']*'\)\s*$/i.exec(ranged);
  return tz ? `${ranged.slice(0, tz.index)} SLIMIT ${MAX_SERIES_READ}${tz[0]}` : `${ranged} SLIMIT ${MAX_SERIES_READ}`;
}

/** Runs one panel's queries over the range; the series with the highest last value are kept, on one time axis. */
export async function readPlot(
  influxdb: InfluxSource,
  panel: PlotSource['panels'][number],
  choice: RetentionChoice,
  fromMs: number,
  toMs: number,
): Promise<Plot> {
  const queries = panel.queries.map((query) => rangeQuery(query, choice, fromMs, toMs));
  const plot: Plot = { title: panel.title, unit: panel.unit, queries, times: [], series: [], totalSeries: 0, truncated: false };
  const found: Array<{ name: string; points: Map<number, number> }> = [];
  try {
    const answers = await Promise.all(queries.map((query, index) => clientOfDatabase(influxdb, panel.queries[index].database).query(query).then((results) => results[0] ?? ([] as Series[]))));
    answers.forEach((series, index) => {
      if (series.length >= MAX_SERIES_READ) plot.truncated = true;
      for (const one of series) {
        const columns = one.columns.filter((column) => column !== 'time');
        for (const column of columns) {
          const at = one.columns.indexOf(column);
          const points = new Map<number, number>();
          for (const row of one.values) if (typeof row[at] === 'number') points.set(Number(row[0]), row[at] as number);
          found.push({ name: seriesName(panel.queries[index].alias, column, one.tags ?? {}, columns.length), points });
        }
      }
    });
  } catch (error) {
    // A missing database means no data yet, as for the rules.
    if (!isMissingDatabase(error)) plot.error = (error as Error).message;
    return plot;
  }
  plot.totalSeries = found.length;
  const described = found.map((one) => {
    const times = [...one.points.keys()].sort((a, b) => a - b);
    return { ...one, times, stats: statistics(times.map((time) => one.points.get(time) as number)) };
  });
  described.sort((a, b) => (b.stats.last ?? -Infinity) - (a.stats.last ?? -Infinity) || a.name.localeCompare(b.name));
  const kept = described.slice(0, MAX_SERIES);
  plot.times = [...new Set(kept.flatMap((one) => one.times))].sort((a, b) => a - b);
  plot.series = kept.map((one) => ({ name: one.name, values: plot.times.map((time) => one.points.get(time) ?? null), ...one.stats }));
  return plot;
}
