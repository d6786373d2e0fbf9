import type { PageAnswer } from '../lib/http/pages';
import type { InfluxSource } from '../lib/influx/instances';
import { retentionFor } from '../downsample/retentions';
import { combineParts, type ConditionDetail, explainPart, type PartExplanation, type WorstRanking } from './evaluate';
import { judgeParts } from './judgeParts';
import type { Value } from './condition';
import { MAX_SERIES, MAX_SERIES_READ, plotSource, readPlot, type Plot, type PlotSource } from './details-plots';
import { renderDetailsPage } from './details-page';
import { DAY_MS, HOUR_MS } from './history';
import type { ModuleRule } from './rules';
import type { StatusSettings } from './settings';
import type { ExpiringCache } from './cache';
import { type ModuleSnapshot, naModule, type StatusSnapshot } from './snapshot';
import { LIGHT_COLOURS, type ModuleState } from './states';

/** What a details page reads: InfluxDB, the rules, and the shared (cached) snapshot of every module. */
export interface DetailsContext {
  /** Each part and each plot query is read on its producer's instance. */
  influxdb: InfluxSource;
  settings: StatusSettings;
  snapshot: () => Promise<StatusSnapshot>;
  nowMs: () => number;
  /** The pages' cache of details, keyed by module and range. */
  cache: ExpiringCache<DetailsData>;
}

/** The ranges a details page offers, as links; the first is the default. */
export const DETAILS_RANGES = { '6h': 6 * HOUR_MS, '7d': 7 * DAY_MS, '30d': 30 * DAY_MS, '1y': 365 * DAY_MS } as const;
export type DetailsRange = keyof typeof DETAILS_RANGES;

/** What the page shows and `/status/module/<module>.json` serves. */
export interface DetailsData {
  module: string;
  title: string;
  range: DetailsRange;
  ranges: DetailsRange[];
  fromMs: number;
  toMs: number;
  /** The RP and bucket length the plots read, as the dashboards choose them for the range. */
  retentionPolicy: string;
  interval: string;
  /** The light as the main page shows it (the stored status documents). */
  status: Pick<ModuleSnapshot, 'state' | 'shown' | 'reason' | 'downtime' | 'evaluatedMs' | 'lastDataMs' | 'dashboardUrl'> & {
    /** The light's colour (documented in the JSON; the page takes it from `shown`). */
    colour: string;
  };
  /** The rule evaluated now against InfluxDB, condition by condition. */
  live: {
    evaluatedMs: number;
    state: ModuleState | null;
    reason: string | null;
    parts: Array<{ part: string; title: string; measurement: string; state: ModuleState; reason: string }>;
    conditions: ConditionDetail[];
    /** The worst series of the condition that decided the state (how it is ranked: `ranking`). */
    worst: { part: string; key: string; condition: string; series: string; value: Value; ranking: WorstRanking } | null;
    /** InfluxDB could not be read. */
    error?: string;
  };
  plotSource: Pick<PlotSource, 'kind' | 'dashboards'>;
  /** Series per plot at most (highest last value first). */
  maxSeries: number;
  /** Series a panel query reads at most (the first in InfluxDB's order); a plot that read as many says `truncated`. */
  maxSeriesRead: number;
  plots: Plot[];
}

const TEXT = 'text/plain; charset=utf-8';

/** The rule evaluated now, with the job's loop (judgeParts); InfluxDB unreachable or down is the page's error, not N/A parts. */
async function evaluateNow(context: DetailsContext, rule: ModuleRule, nowMs: number): Promise<DetailsData['live']> {
  const { influxdb, settings } = context;
  try {
    const explainedOf = await judgeParts(influxdb, settings.retentionPolicy, rule.parts, nowMs, explainPart, (status): PartExplanation => ({ status, conditions: [] }));
    const explained = rule.parts.map((part) => explainedOf.get(part) as PartExplanation);
    const module = combineParts(rule, explained.map((one) => one.status), nowMs);
    const conditions = explained.flatMap((one) => one.conditions);
    const deciding = explained.filter((one) => one.status.state === module.state).flatMap((one) => one.conditions.filter((condition) => condition.decided && condition.worst));
    const worst = deciding[0]?.worst ? { part: deciding[0].part, key: deciding[0].key, condition: deciding[0].text, ...deciding[0].worst } : null;
    return {
      evaluatedMs: nowMs,
      state: module.state,
      reason: module.reason,
      parts: explained.map(({ status }) => ({ part: status.part.name, title: status.part.title, measurement: `${status.part.producer}/${status.part.type}`, state: status.state, reason: status.reason })),
      conditions,
      worst,
    };
  } catch (error) {
    return { evaluatedMs: nowMs, state: null, reason: null, parts: [], conditions: [], worst: null, error: (error as Error).message };
  }
}

async function readDetails(context: DetailsContext, rule: ModuleRule, range: DetailsRange): Promise<DetailsData> {
  const toMs = context.nowMs();
  const fromMs = toMs - DETAILS_RANGES[range];
  const choice = retentionFor(DETAILS_RANGES[range], context.settings.retentionThresholds);
  const source = plotSource(rule);
  const [snapshot, live, plots] = await Promise.all([
    context.snapshot(),
    evaluateNow(context, rule, toMs),
    Promise.all(source.panels.map((panel) => readPlot(context.influxdb, panel, choice, fromMs, toMs))),
  ]);
  const module = snapshot.modules.find((one) => one.module === rule.module) ?? naModule(rule, 'never evaluated by the status job');
  return {
    module: rule.module,
    title: rule.title,
    range,
    ranges: Object.keys(DETAILS_RANGES) as DetailsRange[],
    fromMs,
    toMs,
    retentionPolicy: choice.rp,
    interval: choice.interval,
    status: {
      state: module.state,
      shown: module.shown,
      colour: LIGHT_COLOURS[module.shown],
      reason: module.reason,
      downtime: module.downtime,
      evaluatedMs: module.evaluatedMs,
      lastDataMs: module.lastDataMs,
      dashboardUrl: module.dashboardUrl,
    },
    live,
    plotSource: { kind: source.kind, dashboards: source.dashboards },
    maxSeries: MAX_SERIES,
    maxSeriesRead: MAX_SERIES_READ,
    plots,
  };
}

function isRange(text: string): text is DetailsRange {
  return Object.hasOwn(DETAILS_RANGES, text);
}

/** A module's details page (HTML) or its data (JSON), over `range` (6h, 7d, 30d or 1y; default 6h). */
export async function renderDetails(context: DetailsContext, module: string, range: string | undefined, format: 'html' | 'json'): Promise<PageAnswer> {
  const rangeText = range ?? '6h';
  if (!isRange(rangeText)) {
    return { status: 400, contentType: TEXT, body: `unknown range '${rangeText}': use one of ${Object.keys(DETAILS_RANGES).join(', ')}\n` };
  }
  const rule = context.settings.rules.find((one) => one.module === module);
  if (!rule) return { status: 404, contentType: TEXT, body: `no module '${module}': /status lists the modules\n` };
  const data = await context.cache(`${rule.module}\n${rangeText}`, () => readDetails(context, rule, rangeText));
  if (format === 'json') return { contentType: 'application/json', body: JSON.stringify(data, null, 2) + '\n' };
  return { contentType: 'text/html; charset=utf-8', body: renderDetailsPage(data) };
}
