/**
 * What panda-derived computes above single series, from the histories it already holds in memory:
 * - the queue-level signal (panda/queues_derived): a queue's jobs in the signal's states against a band around
 *   their moving average;
 * - per cloud, how many queues the signal flags (panda/clouds_derived), which the panda status module judges;
 * - per DATADISK, the running analysis jobs of the queues reading from it and their moving averages
 *   (panda/datadisks_derived, QMonit's datadisks measurement).
 */
import type { DocumentFactory } from '../../lib/documents/document';
import type { FieldsOf } from '../../lib/documents/kinds';
import type { MonitDocument } from '../../lib/documents/types';
import { PANDA_CLOUDS_DERIVED, PANDA_DATADISKS_DERIVED, PANDA_QUEUES_DERIVED } from '../../schemas/kinds';
import { NONE, UNKNOWN, type QueueDirectory } from './cric';
import { coresPerJob } from './cores';
import { averageWithGapsAsZero, type SeriesHistory, type WindowPlan } from './derived';

/** The band and the minimum size of the queue-level signal ([panda] queue_band_factor, queue_min_jobs). */
export interface QueueBand {
  /** The band is [average / factor, average × factor]. */
  factor: number;
  /** Suspicious only when current and average differ by at least this many jobs. */
  minJobs: number;
}

/** The queue-level signal's settings: which series it sums, which average it compares with, its band. */
export interface QueueSignalRule extends QueueBand {
  /** Job statuses summed ([panda] queue_signal_states). */
  states: Set<string>;
  /** Name of the average compared with ([panda] queue_signal_average: 1h, 24h, ...). */
  average: string;
}

/** One queue's verdict. Without an average (no history) the queue is not judged: no band, never suspicious. */
export interface QueueVerdict {
  current: number;
  average?: number;
  lower?: number;
  upper?: number;
  /** Jobs outside the band (0 inside, or not judged). */
  outsideBand: number;
  suspicious: boolean;
  reason: string;
}

function shown(value: number): string {
  return String(Math.round(value * 100) / 100);
}

/** Judges a queue's current value against the band around its average. */
export function judgeQueue(current: number, average: number | undefined, band: QueueBand, averageName = 'average'): QueueVerdict {
  if (average === undefined) return { current, outsideBand: 0, suspicious: false, reason: '' };
  const lower = average / band.factor;
  const upper = average * band.factor;
  const outsideBand = current < lower ? lower - current : current > upper ? current - upper : 0;
  const suspicious = outsideBand > 0 && Math.abs(current - average) >= band.minJobs;
  const reason = !suspicious
    ? ''
    : current < lower
      ? `${current} is below avg_${averageName} ${shown(average)} / ${band.factor}`
      : `${current} is above ${band.factor} x avg_${averageName} ${shown(average)}`;
  return { current, average, lower, upper, outsideBand, suspicious, reason };
}

export interface QueueSignal extends QueueVerdict {
  queue: string;
}

/**
 * The signal of every queue with a series in the signal's states: current = the sum of those series' current
 * values (all prod sources and resource types), average = the sum of their averages with a missing point
 * counted as 0 (averageWithGapsAsZero): PanDA zero-fills the states of a prod source and resource type it
 * lists, but leaves out a combination without any job, so such a series has points only part of the time.
 * A series without that average had no point in its window: it adds 0. A queue none of whose series has the
 * average has no history and is not judged.
 */
export function queueSignals(histories: Iterable<SeriesHistory>, plans: WindowPlan[], rule: QueueSignalRule): QueueSignal[] {
  const index = plans.findIndex((plan) => plan.window.name === rule.average);
  const sums = new Map<string, { current: number; average: number; withAverage: boolean }>();
  for (const history of histories) {
    if (!rule.states.has(history.series.jobStatus)) continue;
    let sum = sums.get(history.series.queue);
    if (!sum) {
      sum = { current: 0, average: 0, withAverage: false };
      sums.set(history.series.queue, sum);
    }
    sum.current += history.current;
    const average = index < 0 ? NaN : averageWithGapsAsZero(history, index);
    if (!Number.isNaN(average)) {
      sum.average += average;
      sum.withAverage = true;
    }
  }
  return [...sums]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([queue, sum]) => ({ queue, ...judgeQueue(sum.current, sum.withAverage ? sum.average : undefined, rule, rule.average) }));
}

/** Most queues named in a cloud's worst_queues. */
export const WORST_QUEUES = 5;

export interface CloudSummary {
  cloud: string;
  /** Queues judged (with an average). */
  queues: number;
  suspiciousQueues: number;
  /** suspiciousQueues / queues in %, 0 when none is judged. */
  share: number;
  /** The suspicious queues furthest outside their band, worst first: "QUEUE (current vs avg AVERAGE)". */
  worstQueues: string;
}

/** Per cloud (cloudOf), the queues judged and flagged, sorted by cloud. Every cloud with a queue is listed. */
export function cloudSummaries(signals: Iterable<QueueSignal>, cloudOf: (queue: string) => string): CloudSummary[] {
  const clouds = new Map<string, { queues: number; suspicious: QueueSignal[] }>();
  for (const signal of signals) {
    const cloud = cloudOf(signal.queue);
    let entry = clouds.get(cloud);
    if (!entry) {
      entry = { queues: 0, suspicious: [] };
      clouds.set(cloud, entry);
    }
    if (signal.average !== undefined) entry.queues++;
    if (signal.suspicious) entry.suspicious.push(signal);
  }
  return [...clouds]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([cloud, entry]) => ({
      cloud,
      queues: entry.queues,
      suspiciousQueues: entry.suspicious.length,
      share: entry.queues === 0 ? 0 : (100 * entry.suspicious.length) / entry.queues,
      worstQueues: entry.suspicious
        .sort((a, b) => b.outsideBand - a.outsideBand || (a.queue < b.queue ? -1 : 1))
        .slice(0, WORST_QUEUES)
        .map((signal) => `${signal.queue} (${signal.current} vs avg ${shown(signal.average ?? 0)})`)
        .join(', '),
    }));
}

export interface DatadiskSums {
  datadisk: string;
  site: string;
  cloud: string;
  current: number;
  /** Cores of the current jobs. */
  cores: number;
  /** Sums of the series' averages in planWindows() order; NaN where no series has data. */
  averages: Float64Array;
  /** The same, each series' average times its cores per job (the queue's corecount for MCORE). */
  coreAverages: Float64Array;
}

/**
 * Per DATADISK (the queue's first read_lan DATADISK; none for 'none' and 'unknown'): the sums over the running
 * series of analysis prod sources of the queues reading from it. A series without an average adds 0 to it.
 * Its site and cloud are CRIC's (DDM endpoints, from panda's cache), as in panda/datadisks, whatever site the
 * queues reading from it are at.
 */
export function datadiskSums(histories: Iterable<SeriesHistory>, directory: QueueDirectory, analysisProdSources: Set<string>, windows: number): DatadiskSums[] {
  const disks = new Map<string, DatadiskSums>();
  for (const history of histories) {
    const { series } = history;
    if (series.jobStatus !== 'running' || !analysisProdSources.has(series.prodSource)) continue;
    const metadata = directory.lookUp(series.queue);
    if (metadata.datadisk === NONE || metadata.datadisk === UNKNOWN) continue;
    let disk = disks.get(metadata.datadisk);
    if (!disk) {
      const empty = (): Float64Array => new Float64Array(windows).fill(NaN);
      disk = { datadisk: metadata.datadisk, ...directory.datadiskLocation(metadata.datadisk), current: 0, cores: 0, averages: empty(), coreAverages: empty() };
      disks.set(metadata.datadisk, disk);
    }
    const cores = coresPerJob(series.resource, metadata);
    disk.current += history.current;
    disk.cores += history.current * cores;
    for (let index = 0; index < windows; index++) {
      const value = averageWithGapsAsZero(history, index);
      if (Number.isNaN(value)) continue;
      disk.averages[index] = (Number.isNaN(disk.averages[index]) ? 0 : disk.averages[index]) + value;
      disk.coreAverages[index] = (Number.isNaN(disk.coreAverages[index]) ? 0 : disk.coreAverages[index]) + value * cores;
    }
  }
  return [...disks.values()].sort((a, b) => (a.datadisk < b.datadisk ? -1 : a.datadisk > b.datadisk ? 1 : 0));
}

export interface AggregateSettings {
  rule: QueueSignalRule;
  analysisProdSources: Set<string>;
}

export interface AggregateSummary {
  queues: number;
  suspiciousQueues: number;
  clouds: number;
  datadisks: number;
}

/**
 * The queues_derived, clouds_derived and datadisks_derived documents of the slot, built when the runner asks
 * for them (after the jobs_derived documents); `finished` gets the counts.
 */
export function* aggregateDocuments(
  histories: () => Iterable<SeriesHistory>,
  directory: QueueDirectory,
  factory: DocumentFactory,
  settings: AggregateSettings,
  plans: WindowPlan[],
  finished: (summary: AggregateSummary) => void = () => undefined,
): Generator<MonitDocument> {
  const signals = queueSignals(histories(), plans, settings.rule);
  let suspiciousQueues = 0;
  for (const signal of signals) {
    const metadata = directory.lookUp(signal.queue);
    const fields: FieldsOf<typeof PANDA_QUEUES_DERIVED> = { current: signal.current, outside_band: signal.outsideBand, suspicious: signal.suspicious, reason: signal.reason };
    if (signal.average !== undefined) Object.assign(fields, { average: signal.average, lower: signal.lower, upper: signal.upper });
    if (signal.suspicious) suspiciousQueues++;
    yield factory.build(PANDA_QUEUES_DERIVED, { queue: signal.queue, site: metadata.site, cloud: metadata.cloud, country: metadata.country, tier: metadata.tier }, fields);
  }
  const clouds = cloudSummaries(signals, (queue) => directory.lookUp(queue).cloud);
  for (const cloud of clouds) {
    yield factory.build(
      PANDA_CLOUDS_DERIVED,
      { cloud: cloud.cloud },
      { queues: cloud.queues, suspicious_queues: cloud.suspiciousQueues, suspicious_share: cloud.share, worst_queues: cloud.worstQueues },
    );
  }
  const disks = datadiskSums(histories(), directory, settings.analysisProdSources, plans.length);
  for (const disk of disks) {
    const fields: FieldsOf<typeof PANDA_DATADISKS_DERIVED> = { current: disk.current, cores: disk.cores };
    for (const [index, plan] of plans.entries()) {
      if (Number.isNaN(disk.averages[index])) continue;
      fields[plan.window.field] = disk.averages[index];
      fields[`cores_${plan.window.field}`] = disk.coreAverages[index];
    }
    yield factory.build(PANDA_DATADISKS_DERIVED, { datadisk: disk.datadisk, site: disk.site, cloud: disk.cloud }, fields);
  }
  finished({ queues: signals.length, suspiciousQueues, clouds: clouds.length, datadisks: disks.length });
}
