/**
 * The downsampling job: 1h windows from raw, 1d windows from 1h, computed inside InfluxDB with
 * SELECT … INTO, one field aggregate per schema, watermarked so that no window is ever skipped.
 */
import pLimit from 'p-limit';
import { InfluxError, type InfluxClient } from '../lib/influx/influxdb';
import { quoteIdentifier, timeLiteral, qualifiedMeasurement } from '../lib/influx/influxql';
import type { Logger } from '../lib/run/log';
import { schemaRegistry, type SchemaRegistry } from '../lib/documents/schemas';
import type { TypeSchema } from '../lib/documents/types';
import { fieldGroups, intoStatement, mergeStoredTypes, planMeasurement, schemasByDatabase, type FieldAggregate, type StoredFieldType } from './plan';
import { Progress, type ProgressOutput } from './progress';
import { WatermarkStore } from './watermarks';
import { RESOLUTION_MS, type Resolution } from '../lib/run/slot';
import {
  SOURCE_RETENTION_POLICY,
  chunkRange,
  isoTime,
  parseRetentionDuration,
  windowCeil,
  windowFloor,
  type TimeRange,
} from './windows';

/** The databases downsampled when no explicit list is given: every MONIT producer's. */
export const DATABASE_PREFIX = 'monit_production_';

export const DEFAULT_LATE_WINDOWS: Record<Resolution, number> = { '1h': 3, '1d': 2 };
// Each statement has a fixed cost in InfluxDB per series of its measurement, on top of the points it
// reads, so chunks are long; but one must still end within the client's timeout ([downsample] statement_timeout).
export const DEFAULT_CHUNK_MS: Record<Resolution, number> = { '1h': 12 * 3_600_000, '1d': 7 * 86_400_000 };
export const DEFAULT_FIELDS_PER_QUERY = 50;
export const DEFAULT_CONCURRENCY = 2;

export interface DownsampleOptions {
  resolution: Resolution;
  influxdb: InfluxClient;
  /** Holds watermarks.json for this resolution (var/state/downsample-<resolution>). */
  stateDir: string;
  log: Logger;
  /** Backfill: recompute the windows overlapping [from, to) (UTC ms) instead of catching up. */
  from?: number;
  to?: number;
  /** "Now", for tests and replays; windows ending after it are not computed. */
  nowMs?: number;
  /** Windows before the watermark recomputed on every run, for points that arrived late. */
  lateWindows?: number;
  /** Time range of one INTO statement (rounded to whole windows). */
  chunkMs?: number;
  /** Fields per INTO statement; wider measurements are split into several statements. */
  fieldsPerQuery?: number;
  /** INTO statements run at once. */
  concurrency?: number;
  /** Databases to downsample; default every database named monit_production_*. */
  databases?: string[];
  /**
   * Whether this InfluxDB holds `database` (its producer's instance, lib/influx/instances.ts): the
   * others are left alone, even when an old copy of them is there. Default: every database.
   */
  holds?: (database: string) => boolean;
  /** Schemas giving each field's function; default the project's schemas/. */
  schemas?: SchemaRegistry;
  /**
   * 1d only: the 1h job's state folder. A day is then computed only once the 1h job has finished all
   * of its hours, so a 1d run after an outage never freezes a day made of missing hours.
   */
  sourceStateDir?: string;
  signal?: AbortSignal;
  /** Called once per failed measurement (default: logged as an error), e.g. the runner's problem(). */
  onProblem?: (message: string) => void;
  /** Where the backfill/catch-up progress goes; default stderr (a bar on a terminal, log lines otherwise). */
  progressOutput?: ProgressOutput;
}

export interface DownsampleResult {
  resolution: Resolution;
  backfill: boolean;
  databases: number;
  measurements: number;
  /** Windows computed, summed over measurements (a window of two measurements counts twice). */
  windows: number;
  /** SELECT … INTO statements run. */
  queries: number;
  /** Points InfluxDB reported written by those statements. */
  pointsWritten: number;
  /** Measurements that failed (their watermark stays where it was); one line each, for the heartbeat. */
  problems: string[];
}

/** One measurement's share of a run: its chunks and field groups, and how far it has got. */
interface MeasurementWork {
  database: string;
  measurement: string;
  chunks: TimeRange[];
  groups: FieldAggregate[][];
  /** Field groups still to run, per chunk. */
  pendingGroups: number[];
  /** Index of the oldest chunk not yet complete. */
  nextChunk: number;
  advancesWatermark: boolean;
  failed: boolean;
}

interface RetentionPolicyInfo {
  name: string;
  durationMs: number;
}

async function listDatabases(influxdb: InfluxClient, explicit: string[] | undefined, log: Logger, holds: (database: string) => boolean): Promise<string[]> {
  const [series = []] = await influxdb.query('SHOW DATABASES');
  const existing = (series[0]?.values ?? []).map((row) => String(row[0]));
  if (explicit?.length) {
    const mine = explicit.filter(holds);
    const missing = mine.filter((name) => !existing.includes(name));
    if (missing.length) log.warn(`databases not found in InfluxDB, skipped: ${missing.join(', ')}`);
    return mine.filter((name) => existing.includes(name));
  }
  return existing.filter((name) => name.startsWith(DATABASE_PREFIX) && holds(name)).sort();
}

async function retentionPolicies(influxdb: InfluxClient, database: string): Promise<Map<string, RetentionPolicyInfo>> {
  const [series = []] = await influxdb.query(`SHOW RETENTION POLICIES ON ${quoteIdentifier(database)}`);
  const policies = new Map<string, RetentionPolicyInfo>();
  const columns = series[0]?.columns ?? [];
  for (const row of series[0]?.values ?? []) {
    const name = String(row[columns.indexOf('name')]);
    policies.set(name, { name, durationMs: parseRetentionDuration(String(row[columns.indexOf('duration')])) });
  }
  return policies;
}

/** measurement → field → stored type, for the measurements that have points in `retentionPolicy`. */
async function storedFields(influxdb: InfluxClient, database: string, retentionPolicy: string): Promise<Map<string, Map<string, StoredFieldType>>> {
  const [series = []] = await influxdb.query(`SHOW FIELD KEYS ON ${quoteIdentifier(database)} FROM ${quoteIdentifier(retentionPolicy)}./.*/`);
  const measurements = new Map<string, Map<string, StoredFieldType>>();
  for (const one of series) {
    const typesByField = new Map<string, StoredFieldType[]>();
    for (const [field, type] of one.values) {
      const list = typesByField.get(String(field)) ?? [];
      list.push(String(type) as StoredFieldType);
      typesByField.set(String(field), list);
    }
    measurements.set(one.name, new Map([...typesByField].map(([field, types]) => [field, mergeStoredTypes(types)])));
  }
  return measurements;
}

/** Time of the oldest point of a measurement at or after `notBeforeMs`, or undefined when it has none. */
async function oldestPoint(influxdb: InfluxClient, database: string, retentionPolicy: string, measurement: string, notBeforeMs: number): Promise<number | undefined> {
  const where = Number.isFinite(notBeforeMs) ? ` WHERE time >= ${timeLiteral(notBeforeMs)}` : '';
  const rows = await influxdb.rows(`SELECT * FROM ${qualifiedMeasurement(database, retentionPolicy, measurement)}${where} LIMIT 1`);
  const time = rows[0]?.time;
  return typeof time === 'number' ? time : undefined;
}

function isUnreachable(error: unknown): boolean {
  return !(error instanceof InfluxError) || error.unreachable;
}

export async function runDownsample(options: DownsampleOptions): Promise<DownsampleResult> {
  const { resolution, influxdb, log } = options;
  const windowMs = RESOLUTION_MS[resolution];
  const sourceRetentionPolicy = SOURCE_RETENTION_POLICY[resolution];
  const targetRetentionPolicy = resolution;
  const nowMs = options.nowMs ?? Date.now();
  const completeEnd = windowFloor(nowMs, windowMs);
  const lateWindows = options.lateWindows ?? DEFAULT_LATE_WINDOWS[resolution];
  const backfill = options.from !== undefined || options.to !== undefined;
  if (backfill && (options.from === undefined || options.to === undefined)) throw new Error('backfill needs both --from and --to');
  if (backfill && options.from! >= options.to!) throw new Error(`--from (${isoTime(options.from!)}) must be before --to (${isoTime(options.to!)})`);

  const watermarks = WatermarkStore.load(options.stateDir);
  const upstream = resolution === '1d' && options.sourceStateDir ? WatermarkStore.load(options.sourceStateDir) : undefined;
  const schemas = schemasByDatabase(options.schemas ?? schemaRegistry());
  const databases = await listDatabases(influxdb, options.databases, log, options.holds ?? (() => true));
  const startedMs = Date.now();

  const work: MeasurementWork[] = [];
  let windows = 0;
  for (const database of databases) {
    const policies = await retentionPolicies(influxdb, database);
    const source = policies.get(sourceRetentionPolicy);
    const target = policies.get(targetRetentionPolicy);
    if (!source || !target) {
      log.warn(`${database}: no retention policy '${source ? targetRetentionPolicy : sourceRetentionPolicy}', skipped (the gateway creates raw, 1h and 1d)`);
      continue;
    }
    // Windows older than either retention are left alone: their source points are (partly) gone,
    // or their result would be dropped on write.
    const retentionFloor = windowCeil(nowMs - Math.min(source.durationMs, target.durationMs), windowMs);
    const fields = await storedFields(influxdb, database, sourceRetentionPolicy);
    for (const [measurement, types] of [...fields].sort(([a], [b]) => a.localeCompare(b))) {
      const where = `${database}.${sourceRetentionPolicy}.${measurement}`;
      const schema: TypeSchema | undefined = schemas.get(database)?.get(measurement);
      const plan = planMeasurement(schema, types, where);
      for (const note of plan.notes) log.info(note);
      if (!plan.aggregates.length) continue;

      const watermark = watermarks.get(database, measurement);
      let range: TimeRange;
      let advancesWatermark: boolean;
      if (backfill) {
        range = { startMs: Math.max(windowFloor(options.from!, windowMs), retentionFloor), endMs: Math.min(windowCeil(options.to!, windowMs), completeEnd) };
        // A backfill moves the watermark only when it continues the done range; never across a gap.
        advancesWatermark = watermark === undefined || range.startMs <= watermark;
      } else {
        let endMs = completeEnd;
        if (upstream) {
          const upstreamMark = upstream.get(database, measurement);
          if (upstreamMark === undefined) {
            log.debug(`${where}: the 1h job has not downsampled it yet, no day to compute`);
            continue;
          }
          endMs = Math.min(endMs, windowFloor(upstreamMark, windowMs));
        }
        let startMs: number;
        if (watermark !== undefined) {
          startMs = watermark - lateWindows * windowMs;
        } else {
          const oldest = await oldestPoint(influxdb, database, sourceRetentionPolicy, measurement, retentionFloor);
          if (oldest === undefined) continue;
          startMs = windowFloor(oldest, windowMs);
          log.info(`${where}: first run, starting at its oldest point ${isoTime(oldest)}`);
        }
        range = { startMs: Math.max(startMs, retentionFloor), endMs };
        advancesWatermark = true;
      }
      if (range.startMs >= range.endMs) continue;
      if (watermark !== undefined && !backfill && watermark < range.startMs) {
        log.warn(`${where}: windows ${isoTime(watermark)}..${isoTime(range.startMs)} were missed and are now past retention`);
      }
      const chunks = chunkRange(range, windowMs, options.chunkMs ?? DEFAULT_CHUNK_MS[resolution]);
      const groups = fieldGroups(plan.aggregates, options.fieldsPerQuery ?? DEFAULT_FIELDS_PER_QUERY);
      windows += (range.endMs - range.startMs) / windowMs;
      work.push({
        database,
        measurement,
        chunks,
        groups,
        pendingGroups: chunks.map(() => groups.length),
        nextChunk: 0,
        advancesWatermark,
        failed: false,
      });
    }
  }

  // Oldest chunks first across all measurements, so a run cut short leaves every watermark moving.
  const tasks = work
    .flatMap((item) => item.chunks.flatMap((chunk, chunkIndex) => item.groups.map((group) => ({ item, chunk, chunkIndex, group }))))
    .sort((a, b) => a.chunk.startMs - b.chunk.startMs);
  const catchingUp = work.some((item) => item.chunks.at(-1)!.endMs - item.chunks[0].startMs > (lateWindows + 1) * windowMs);
  const progress = backfill || catchingUp ? new Progress(`${resolution} queries`, tasks.length, log, options.progressOutput) : undefined;
  if (progress) {
    log.info(`${backfill ? 'backfill' : 'catching up'}: ${windows} ${resolution} windows over ${work.length} measurements in ${tasks.length} queries`);
  }

  const limit = pLimit(Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY));
  const problems: string[] = [];
  let queries = 0;
  let pointsWritten = 0;
  let fatal: unknown;

  const runTask = async ({ item, chunk, chunkIndex, group }: (typeof tasks)[number]): Promise<void> => {
    if (item.failed || fatal !== undefined || options.signal?.aborted) return;
    const statement = intoStatement({
      database: item.database,
      measurement: item.measurement,
      sourceRetentionPolicy,
      targetRetentionPolicy,
      interval: resolution,
      range: chunk,
      aggregates: group,
    });
    try {
      const [series = []] = await influxdb.query(statement);
      queries++;
      const written = series[0]?.values[0]?.[1];
      if (typeof written === 'number') pointsWritten += written;
    } catch (error) {
      if (isUnreachable(error)) {
        fatal ??= error;
        return;
      }
      item.failed = true;
      const message = `${item.database}.${item.measurement} ${isoTime(chunk.startMs)}..${isoTime(chunk.endMs)}: ${(error as Error).message}`;
      problems.push(message);
      const explained = `${message} (its watermark stays, the next run retries)`;
      if (options.onProblem) options.onProblem(explained);
      else log.error(explained);
      return;
    }
    item.pendingGroups[chunkIndex]--;
    const before = item.nextChunk;
    while (item.nextChunk < item.chunks.length && item.pendingGroups[item.nextChunk] === 0) item.nextChunk++;
    if (item.advancesWatermark && item.nextChunk > before) {
      const doneUntil = item.chunks[item.nextChunk - 1].endMs;
      const previous = watermarks.get(item.database, item.measurement);
      if (previous === undefined || doneUntil > previous) {
        watermarks.set(item.database, item.measurement, doneUntil);
        watermarks.save();
      }
    }
    progress?.advance(`${item.database}.${item.measurement} ${isoTime(chunk.startMs)}`);
  };

  try {
    await Promise.all(tasks.map((task) => limit(() => runTask(task))));
  } finally {
    progress?.stop();
  }
  if (fatal !== undefined) throw fatal;
  options.signal?.throwIfAborted();

  const seconds = ((Date.now() - startedMs) / 1000).toFixed(1);
  log.info(
    `${resolution}${backfill ? ` backfill ${isoTime(options.from!)}..${isoTime(options.to!)}` : ''}: ${work.length} measurements in ${databases.length} databases, ` +
      `${windows} windows, ${queries} queries, ${pointsWritten} points written in ${seconds} s` +
      (problems.length ? `, ${problems.length} measurements failed` : ''),
  );
  return { resolution, backfill, databases: databases.length, measurements: work.length, windows, queries, pointsWritten, problems };
}
