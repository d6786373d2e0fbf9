import path from 'node:path';
import pLimit from 'p-limit';
import type { DocumentFactory } from '../../lib/documents/document';
import type { FieldsOf } from '../../lib/documents/kinds';
import type { MonitDocument } from '../../lib/documents/types';
import { type InfluxClient, isMissingDatabase, type RetentionPolicy, type Series } from '../../lib/influx/influxdb';
import { anyOfRegex, qualifiedMeasurement, quoteIdentifier, timeLiteral } from '../../lib/influx/influxql';
import type { Logger } from '../../lib/run/log';
import { RESOLUTION_MS, TEN_MINUTES_MS, type Resolution } from '../../lib/run/slot';
import { StateFile } from '../../lib/state/stateFile';
import { PANDA_JOBS, PANDA_JOBS_DERIVED, PANDA_JOBS_TERMINAL } from '../../schemas/kinds';
import { AVERAGE_CACHE_FILE, AVERAGE_CACHE_STATE, AverageCache, type CachedEntries } from './averageCache';
import { SlotStore } from './slotStore';
import type { QueueDirectory } from './cric';
import { keyOfSeries, parseSeriesKey, seriesKey, seriesTags, type SeriesId } from './documents';
import type { JobCount } from './jobStatistics';
import { averageWindows, type AverageWindow, SERIES_TAGS } from './names';
import { judge, type SuspiciousRule } from './suspicious';

/** The job count of jobs and jobs_terminal, the value every average is taken of. */
const JOBS_FIELD = PANDA_JOBS.fields.jobs;

/** Where one moving average is read from. */
export interface WindowPlan {
  window: AverageWindow;
  retentionPolicy: RetentionPolicy;
  /**
   * Window counts (jobs_terminal) are summed by downsampling: an hourly point holds up to 6 slots, a daily
   * one up to 144. Dividing its mean by this gives the average per slot. Gauges are averaged, so 1.
   */
  terminalDivisor: number;
}

export interface HistoryOptions {
  useRawUpToMs: number;
  use1hUpToMs: number;
}

/** Short windows come from raw data, medium ones from the 1h RP, long ones from the 1d RP (7d and 30d by default). */
export function planWindows(options: HistoryOptions): WindowPlan[] {
  return averageWindows().map((window) => {
    if (window.durationMs <= options.useRawUpToMs) return { window, retentionPolicy: 'raw', terminalDivisor: 1 };
    if (window.durationMs <= options.use1hUpToMs) return { window, retentionPolicy: '1h', terminalDivisor: RESOLUTION_MS['1h'] / TEN_MINUTES_MS };
    return { window, retentionPolicy: '1d', terminalDivisor: RESOLUTION_MS['1d'] / TEN_MINUTES_MS };
  });
}

/**
 * How far into its hour (day) a retention policy's new point lands: downsample-1h runs at :15 and
 * downsample-1d at 00:35 (cli/registry.ts), so the first slot that sees it starts at :20 (00:40).
 */
function landingOffsetMs(retentionPolicy: Resolution): number {
  return retentionPolicy === '1h' ? 20 * 60_000 : 40 * 60_000;
}

/**
 * The times [from, to) a window's average covers at `slotMs`, as QMonit takes its points:
 * - raw: the 10-minute points of the window ending with the slot's own point, [slot + 10 min − window, slot + 10 min);
 * - 1h (1d): the hourly (daily) points of the last whole hours (days) downsampled by then, up to the newest,
 *   which a slot sees from :20 (00:40) on (landingOffsetMs); so 7d from 1d is the 7 days before today from
 *   00:40, the 7 days before yesterday until then.
 */
export function windowRange(plan: WindowPlan, slotMs: number): [number, number] {
  if (plan.retentionPolicy === 'raw') return [slotMs + TEN_MINUTES_MS - plan.window.durationMs, slotMs + TEN_MINUTES_MS];
  const resolutionMs = RESOLUTION_MS[plan.retentionPolicy];
  const landed = slotMs - landingOffsetMs(plan.retentionPolicy);
  const endMs = landed - (((landed % resolutionMs) + resolutionMs) % resolutionMs);
  return [endMs - plan.window.durationMs, endMs];
}

/**
 * The InfluxQL of one average over windowRange() of one measurement, one row per series, with `condition`
 * (already quoted) added to the WHERE clause when given.
 */
export function averageStatement(database: string, measurement: string, plan: WindowPlan, slotMs: number, condition?: string): string {
  const [fromMs, toMs] = windowRange(plan, slotMs);
  const where = `time >= ${timeLiteral(fromMs)} AND time < ${timeLiteral(toMs)}${condition ? ` AND ${condition}` : ''}`;
  return (
    `SELECT mean(${quoteIdentifier(JOBS_FIELD)}) FROM ${qualifiedMeasurement(database, plan.retentionPolicy, measurement)} ` +
    `WHERE ${where} GROUP BY ${SERIES_TAGS.map(quoteIdentifier).join(', ')}`
  );
}

/** One series' current value and averages (NaN where there is no data), in planWindows() order. */
export interface SeriesHistory {
  series: SeriesId;
  current: number;
  averages: Float64Array;
  /**
   * Per window, the share of its slots with data in which the series has a point (the slot store's windows;
   * undefined or 1 elsewhere). average × coverage counts a missing point as no job, which sums over series need.
   */
  coverage?: Float64Array;
}

/** The series' mean per slot with data over a window, a missing point counting as 0 (what sums over series need). */
export function averageWithGapsAsZero(history: SeriesHistory, index: number): number {
  return history.averages[index] * (history.coverage?.[index] ?? 1);
}

/** What the derived quantities keep between runs, in panda-derived's state folder. */
export interface DerivedState {
  /** The folder of the slot store (its own binary format, slotStore.ts). */
  dir: string;
  /** The cached 7d and 30d averages (a state file: context.state). */
  averages: StateFile<CachedEntries>;
  /** False in a dry run: both are read, neither is written. */
  writable: boolean;
}

/** The state kept in `dir`, for tools and tests that have no job context. */
export function derivedStateIn(dir: string, writable = true): DerivedState {
  return { dir, averages: new StateFile(path.join(dir, AVERAGE_CACHE_FILE), AVERAGE_CACHE_STATE, writable), writable };
}

export interface DerivedOptions extends HistoryOptions {
  client: InfluxClient;
  database: string;
  slotMs: number;
  terminalStates: Set<string>;
  /** The statuses with averages and documents ([panda] average_states); undefined: every status. */
  averageStates?: Set<string>;
  /** Keeps only the series panda sends (e.g. the selected prod sources). */
  selected: (series: SeriesId) => boolean;
  /** A series missing now but seen within this long before the slot still gets a document (current 0). */
  forgetAfterMs: number;
  log: Logger;
  /** The slot store and the 7d/30d cache kept between runs; none: both start empty and are not kept. */
  state?: DerivedState;
  /** Aborts the queries in flight (the run's deadline). */
  signal?: AbortSignal;
}

/** The retention policies of the database, or undefined when the database does not exist (yet). */
async function retentionPoliciesOf(client: InfluxClient, database: string): Promise<Set<string> | undefined> {
  try {
    const [series = []] = await client.query(`SHOW RETENTION POLICIES ON ${quoteIdentifier(database)}`);
    return new Set((series[0]?.values ?? []).map((row) => String(row[0])));
  } catch (error) {
    if (isMissingDatabase(error)) return undefined;
    throw error;
  }
}

/** Grouped queries sent at once: InfluxDB plans each on one core, so two keep a 2-core server busy. */
export const HISTORY_QUERIES_AT_ONCE = 2;

const MEASUREMENTS = [PANDA_JOBS.type, PANDA_JOBS_TERMINAL.type];

const TAGS = PANDA_JOBS.tags;

function seriesOf(tags: Record<string, string> = {}): SeriesId {
  return { queue: tags[TAGS.queue] ?? '', prodSource: tags[TAGS.prod_source] ?? '', resource: tags[TAGS.resource] ?? '', jobStatus: tags[TAGS.job_status] ?? '' };
}

/** Whether a status's points belong to `measurement` by its current classification (a status moved to terminal_states leaves its old gauge history out). */
function belongsTo(measurement: string, jobStatus: string, terminalStates: Set<string>): boolean {
  return terminalStates.has(jobStatus) === (measurement === PANDA_JOBS_TERMINAL.type);
}

/** Whether a status gets averages and documents. */
function isAveraged(jobStatus: string, averageStates: Set<string> | undefined): boolean {
  return averageStates === undefined || averageStates.has(jobStatus);
}

/**
 * The WHERE condition reading only the averaged statuses that belong to `measurement`: '' for every status
 * (no condition), undefined when none does (nothing to read there). InfluxDB selects those series by its index.
 */
function statusCondition(measurement: string, source: { terminalStates: Set<string>; averageStates?: Set<string> }): string | undefined {
  if (!source.averageStates) return '';
  const statuses = [...source.averageStates].filter((jobStatus) => belongsTo(measurement, jobStatus, source.terminalStates)).sort();
  return statuses.length === 0 ? undefined : `${quoteIdentifier(TAGS.job_status)} =~ ${anyOfRegex(statuses)}`;
}

/** Both conditions, ANDed; either may be empty. */
function bothConditions(first: string | undefined, second: string): string | undefined {
  return [first, second].filter(Boolean).join(' AND ') || undefined;
}

/**
 * One average of `measurement` for every series with data in the window (window counts per slot) to `take`,
 * for the statuses that belong to the measurement (belongsTo); only of the queues `part` selects (queueParts).
 */
async function readAverages(plan: WindowPlan, measurement: string, options: DerivedOptions, take: (key: string, value: number) => void, part: QueuePart): Promise<void> {
  const statuses = statusCondition(measurement, options);
  if (statuses === undefined) return;
  const divisor = measurement === PANDA_JOBS_TERMINAL.type ? plan.terminalDivisor : 1;
  const statement = averageStatement(options.database, measurement, plan, options.slotMs, bothConditions(part.condition, statuses));
  const onSeries = (one: Series): void => {
    const series = seriesOf(one.tags);
    if (!belongsTo(measurement, series.jobStatus, options.terminalStates) || !isAveraged(series.jobStatus, options.averageStates)) return;
    const value = one.values[0]?.[one.columns.indexOf('mean')];
    if (typeof value === 'number') take(seriesKey(series), value / divisor);
  };
  // A part of unknown size is streamed; each piece is then a whole series, since a mean() series has one row.
  return part.bounded ? options.client.querySeries(statement, onSeries, { signal: options.signal }) : options.client.queryPieces(statement, onSeries, { signal: options.signal });
}

/**
 * Queues named in one grouped query: its answer then stays a few MB at production shape, small enough to take
 * whole (InfluxClient.querySeries), which InfluxDB produces faster than a chunked answer; and splitting a read
 * into parts costs InfluxDB next to nothing.
 */
export const QUEUES_PER_QUERY = 500;

/**
 * A part of a grouped read: its WHERE condition on the queue, and its share of the current queues (for its
 * cost: the queues PanDA no longer lists count as none, so their parts go last).
 */
export interface QueuePart {
  condition?: string;
  share: number;
  /** It names at most QUEUES_PER_QUERY queues, so its answer is taken whole; otherwise it is streamed. */
  bounded: boolean;
}

/**
 * Splits a grouped read of `queues` (undefined: every queue) into parts of at most QUEUES_PER_QUERY queues.
 * Every queue means the current ones, in parts, and one part for the queues PanDA no longer lists but
 * InfluxDB still has history of.
 */
export function queueParts(queues: Set<string> | undefined, currentQueues: Set<string>): QueuePart[] {
  const named = [...(queues ?? currentQueues)].sort();
  if (named.length === 0) return queues ? [] : [{ share: 1, bounded: false }];
  const size = Math.ceil(named.length / Math.ceil(named.length / QUEUES_PER_QUERY));
  const parts: QueuePart[] = [];
  for (let from = 0; from < named.length; from += size) {
    const part = named.slice(from, from + size);
    parts.push({ condition: `${quoteIdentifier(TAGS.queue)} =~ ${anyOfRegex(part)}`, share: part.length / Math.max(1, currentQueues.size), bounded: true });
  }
  if (!queues) parts.push({ condition: `${quoteIdentifier(TAGS.queue)} !~ ${anyOfRegex(named)}`, share: 0, bounded: false });
  return parts;
}

/** Points per series a window's query reads: the measure of its cost once a day of history exists. */
function pointsPerSeries(plan: WindowPlan): number {
  return plan.window.durationMs / (plan.retentionPolicy === 'raw' ? TEN_MINUTES_MS : RESOLUTION_MS[plan.retentionPolicy]);
}

/**
 * The settings the slot store and the cached averages depend on: which statuses are window counts
 * (jobs_terminal), and which are averaged (`*`: every one).
 */
export function fingerprintOf(terminalStates: Set<string>, averageStates?: Set<string>): string {
  return `${[...terminalStates].sort().join(',')} ${averageStates ? [...averageStates].sort().join(',') : '*'}`;
}

/** One history query, with a rough cost (relative units at production scale) to order them by. */
interface ReadTask {
  cost: number;
  read: () => Promise<void>;
}

/** A grouped mean(): a fixed cost for the GROUP BY over every series, plus the decoding of its points; `share` of the series. */
function meanCost(plan: WindowPlan, share: number): number {
  return (6 + pointsPerSeries(plan) / 24) * share;
}

/** A read of raw slots without GROUP BY: a small fixed cost, plus a little per slot. */
function slotReadCost([fromMs, toMs]: [number, number]): number {
  return 1.5 + (0.25 * (toMs - fromMs)) / TEN_MINUTES_MS;
}

/**
 * Which raw slots each run reads into the slot store: the last hour again (points can come late, e.g. a spool
 * replayed after an outage), back to any slot of the last 6 hours that had no point when read, and one hour
 * more of the past until the store holds all its slots.
 */
const SLOT_READS = { recentMs: 3_600_000, lateMs: 6 * 3_600_000, fillMs: 3_600_000 };

/** The InfluxQL reading the raw points of [from, to) of one measurement, with the series tags as columns; `condition` (already quoted) added when given. */
export function slotStatement(database: string, measurement: string, [fromMs, toMs]: [number, number], condition?: string): string {
  // No GROUP BY: InfluxDB sends one long series of rows, far cheaper to produce than 100,000 small ones.
  return (
    `SELECT ${[JOBS_FIELD, ...SERIES_TAGS].map(quoteIdentifier).join(', ')} FROM ${qualifiedMeasurement(database, 'raw', measurement)} ` +
    `WHERE time >= ${timeLiteral(fromMs)} AND time < ${timeLiteral(toMs)}${condition ? ` AND ${condition}` : ''}`
  );
}

/** Where raw points are read from: the InfluxDB, its database, which statuses each measurement holds and which are averaged. */
type PointSource = Pick<DerivedOptions, 'client' | 'database' | 'terminalStates' | 'averageStates' | 'signal'>;

/** The raw points of [from, to) of `measurement`, each to `take`, for the averaged statuses that belong to it (belongsTo). */
async function readPoints(
  source: PointSource,
  measurement: string,
  range: [number, number],
  take: (queue: string, prodSource: string, resource: string, jobStatus: string, timeMs: number, value: number) => void,
): Promise<void> {
  const statuses = statusCondition(measurement, source);
  if (statuses === undefined) return;
  await source.client.queryPieces(
    slotStatement(source.database, measurement, range, statuses),
    (piece) => {
      const [timeAt, jobsAt, queueAt, prodSourceAt, resourceAt, statusAt] = ['time', JOBS_FIELD, ...SERIES_TAGS].map((column) => piece.columns.indexOf(column));
      for (const row of piece.values) {
        const value = row[jobsAt];
        const jobStatus = String(row[statusAt] ?? '');
        if (typeof value !== 'number' || !belongsTo(measurement, jobStatus, source.terminalStates) || !isAveraged(jobStatus, source.averageStates)) continue;
        take(String(row[queueAt] ?? ''), String(row[prodSourceAt] ?? ''), String(row[resourceAt] ?? ''), jobStatus, Number(row[timeAt]), value);
      }
    },
    { signal: source.signal },
  );
}

/** Reads the raw points of `range` of `measurement` into the store (the averaged statuses of that measurement only); the range must be begun (SlotStore.beginRead). */
export function readSlots(store: SlotStore, measurement: string, range: [number, number], options: PointSource): Promise<void> {
  return readPoints(options, measurement, range, (queue, prodSource, resource, jobStatus, timeMs, value) => store.put(keyOfSeries(queue, prodSource, resource, jobStatus), timeMs, value));
}

/**
 * The job counts panda sent for the slot: its points of jobs and jobs_terminal at the slot, each status from
 * the measurement it belongs to now, of the selected series of the averaged statuses only.
 */
export async function readSlotCounts(source: PointSource & { slotMs: number; selected: (series: SeriesId) => boolean }): Promise<JobCount[]> {
  const counts: JobCount[] = [];
  for (const measurement of MEASUREMENTS) {
    await readPoints(source, measurement, [source.slotMs, source.slotMs + TEN_MINUTES_MS], (queue, prodSource, resource, jobStatus, _timeMs, jobs) => {
      const count = { queue, prodSource, resource, jobStatus, jobs };
      if (source.selected(count)) counts.push(count);
    });
  }
  return counts;
}

/**
 * Groups of queues whose cached 1h (1d) averages are renewed one per slot: group g at :20 + g × 10 minutes
 * (00:40 + g × 10 minutes), so each run reads a sixth of the 7d window instead of the :20 run reading it all.
 */
export const RENEWAL_GROUPS = 6;

/**
 * Reads every moving average with queries over all series at once (or parts of up to QUEUES_PER_QUERY queues),
 * never one per series, and joins them with the current values; only of the averaged statuses (averageStates):
 * - the raw windows (1h to 24h, the current point included) from the slot store, which each run brings up to
 *   date with the newest points (SLOT_READS); a window it does not hold whole yet is read with grouped mean()s;
 * - the 1h and 1d retention policies' windows (7d, 30d) from their cache, each renewal group of queues re-read
 *   with a grouped mean() at its own slot (windowRange).
 * At most HISTORY_QUERIES_AT_ONCE queries at a time, the costliest first; each answer streamed, or taken whole
 * when a part bounds its size. Without `state`, both start empty.
 */
export async function readHistory(current: JobCount[], options: DerivedOptions): Promise<Map<string, SeriesHistory>> {
  const plans = planWindows(options);
  const histories = new Map<string, SeriesHistory>();
  const currentQueues = new Set<string>();
  for (const count of current) {
    if (!options.selected(count) || !isAveraged(count.jobStatus, options.averageStates)) continue;
    histories.set(seriesKey(count), { series: count, current: count.jobs, averages: new Float64Array(plans.length).fill(NaN) });
    currentQueues.add(count.queue);
  }
  const retentionPolicies = await retentionPoliciesOf(options.client, options.database);
  if (!retentionPolicies) {
    options.log.info(`derived quantities: database ${options.database} does not exist yet, so there is no history`);
    return histories;
  }
  const settingsFingerprint = fingerprintOf(options.terminalStates, options.averageStates);
  // Both read from disk while the first queries are sent.
  const slots = Math.ceil(options.useRawUpToMs / TEN_MINUTES_MS);
  const { state } = options;
  const storeLoad = state ? SlotStore.open(state.dir, slots, settingsFingerprint, state.writable) : Promise.resolve(SlotStore.inMemory(slots, settingsFingerprint));
  const cacheLoad = state ? AverageCache.open(state.averages, options.log) : Promise.resolve(AverageCache.inMemory());
  /** A new series (not current) gets a document only when it has data within forgetAfterMs. */
  const record = (index: number, key: string, value: number, coverage = 1): void => {
    let history = histories.get(key);
    if (!history) {
      if (plans[index].window.durationMs > options.forgetAfterMs) return;
      const series = parseSeriesKey(key);
      if (!options.selected(series) || !isAveraged(series.jobStatus, options.averageStates)) return;
      history = { series, current: 0, averages: new Float64Array(plans.length).fill(NaN) };
      histories.set(key, history);
    }
    history.averages[index] = value;
    if (coverage < 1) {
      history.coverage ??= new Float64Array(plans.length).fill(1);
      history.coverage[index] = coverage;
    }
  };
  const limit = pLimit(HISTORY_QUERIES_AT_ONCE);
  // On the first failure the query in the other lane is stopped too (and with the run at its deadline).
  const stop = new AbortController();
  const lane: DerivedOptions = { ...options, signal: options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal };
  const reads: Array<Promise<void>> = [];
  /** Queues reads, costliest first, so that the two lanes end together. */
  const start = (tasks: ReadTask[]): void => {
    for (const task of tasks.sort((a, b) => b.cost - a.cost)) {
      const read = limit(task.read);
      read.catch(() => undefined); // handled below, by Promise.all; until then a failure is not "unhandled"
      reads.push(read);
    }
  };
  const available = [...plans.keys()].filter((index) => {
    const plan = plans[index];
    if (retentionPolicies.has(plan.retentionPolicy)) return true;
    options.log.warn(`derived quantities: ${options.database} has no retention policy ${plan.retentionPolicy}, so avg_${plan.window.name} is left out`);
    return false;
  });

  // The raw windows: the newest slots into the slot store, and a mean() for each window it does not hold whole.
  const rawWindows = available.filter((index) => plans[index].retentionPolicy === 'raw');
  const store = rawWindows.length > 0 ? await storeLoad : undefined;
  const tasks: ReadTask[] = [];
  if (store) {
    store.reserve(histories.size); // a first run's rows at once; a store that holds them already is left as it is
    for (const range of store.planReads(options.slotMs, SLOT_READS)) {
      store.beginRead(range[0], range[1]);
      for (const measurement of MEASUREMENTS) tasks.push({ cost: slotReadCost(range), read: () => readSlots(store, measurement, range, lane) });
    }
  }
  const fromStore = rawWindows.filter((index) => store?.holds(options.slotMs, plans[index].window.durationMs));
  const everyQueue = queueParts(undefined, currentQueues);
  for (const index of rawWindows.filter((index) => !fromStore.includes(index))) {
    for (const measurement of MEASUREMENTS) {
      for (const part of everyQueue) {
        tasks.push({ cost: meanCost(plans[index], part.share), read: () => readAverages(plans[index], measurement, lane, (key, value) => record(index, key, value), part) });
      }
    }
  }
  // The two costliest go out while the average cache (large at production scale) is read; the rest after.
  tasks.sort((a, b) => b.cost - a.cost);
  start(tasks.splice(0, HISTORY_QUERIES_AT_ONCE));
  const cache = await cacheLoad;
  for (const index of available) {
    const plan = plans[index];
    if (plan.retentionPolicy === 'raw') continue;
    // A 1h (1d) retention policy gets one new point an hour (a day); each group's renewal comes at its own slot,
    // whose windowRange() ends where that of the period's first renewal (:20, 00:40) does.
    const resolution: Resolution = plan.retentionPolicy;
    const validFor = (group: number): string => {
      const offsetMs = landingOffsetMs(resolution) + group * TEN_MINUTES_MS;
      const period = Math.floor((options.slotMs - offsetMs) / RESOLUTION_MS[resolution]);
      return `${resolution} ${period} ${group}/${RENEWAL_GROUPS} ${settingsFingerprint}`;
    };
    const renewal = cache.renewal(plan.window.field, RENEWAL_GROUPS, validFor, currentQueues, (key, value) => record(index, key, value));
    if (renewal.queues?.size === 0) {
      renewal.finish();
      continue;
    }
    options.log.debug(`derived quantities: avg_${plan.window.name} read for ${renewal.queues ? `${renewal.queues.size} queues` : 'every queue'}`);
    // Recorded as they come; cached only once every part of both measurements is read (a failure fails the whole history).
    const take = (key: string, value: number): void => {
      renewal.take(key, value);
      record(index, key, value);
    };
    const parts = queueParts(renewal.queues, currentQueues);
    let partsToRead = parts.length * MEASUREMENTS.length;
    for (const measurement of MEASUREMENTS) {
      for (const part of parts) {
        tasks.push({
          cost: meanCost(plan, part.share),
          read: async () => {
            await readAverages(plan, measurement, lane, take, part);
            if (--partsToRead === 0) renewal.finish();
          },
        });
      }
    }
  }
  start(tasks);
  try {
    await Promise.all(reads);
  } catch (error) {
    limit.clearQueue(); // the run reports the first failure; queries not started yet are not sent
    stop.abort();
    throw error;
  }
  if (store) {
    const durations = fromStore.map((index) => plans[index].window.durationMs);
    store.means(options.slotMs, durations, (key, window, value, coverage) => record(fromStore[window], key, value, coverage));
    store.save(options.slotMs);
  }
  cache.save();
  return histories;
}

/**
 * The jobs_derived documents (current value, moving averages, suspicious flag and reason), built one at a time
 * as the runner takes them; `finished` gets the counts once all are built.
 */
export function* derivedDocuments(
  histories: Iterable<SeriesHistory>,
  directory: QueueDirectory,
  factory: DocumentFactory,
  rule: SuspiciousRule,
  plans: WindowPlan[],
  finished: (summary: { documents: number; suspicious: number }) => void = () => undefined,
): Generator<MonitDocument> {
  let documents = 0;
  let suspicious = 0;
  for (const history of histories) {
    const averages = new Map<string, number>();
    const fields: FieldsOf<typeof PANDA_JOBS_DERIVED> = { current: history.current };
    for (const [index, plan] of plans.entries()) {
      const value = history.averages[index];
      if (Number.isNaN(value)) continue;
      averages.set(plan.window.name, value);
      fields[plan.window.field] = value;
    }
    const verdict = judge(history.current, averages, rule);
    if (verdict.suspicious) suspicious++;
    fields.suspicious = verdict.suspicious;
    fields.reason = verdict.reason;
    documents++;
    yield factory.build(PANDA_JOBS_DERIVED, seriesTags(history.series, directory.lookUp(history.series.queue)), fields);
  }
  finished({ documents, suspicious });
}
