import path from 'node:path';
import { StateFile, type StateFileOptions } from '../../lib/state/stateFile';
import type { NodeSample } from './node-sample';

/** What is kept of a sample for the next run: the cumulative counters and when they were read. */
export interface StoredSample {
  timeSeconds: number;
  bootTimeSeconds?: number;
  cpuSeconds: Record<string, number>;
  network: Record<string, { receiveBytes: number; transmitBytes: number }>;
}

export function storedSample(sample: NodeSample): StoredSample {
  return { timeSeconds: sample.timeSeconds, bootTimeSeconds: sample.bootTimeSeconds, cpuSeconds: sample.cpuSeconds, network: sample.network };
}

/**
 * How much a counter grew. A counter that went down was reset (reboot, driver reload, exporter restart):
 * it counted from zero since, so its growth is its current value. Never negative.
 */
export function counterIncrease(previous: number, current: number, reset = false): number {
  if (reset || current < previous) return Math.max(0, current);
  return current - previous;
}

export interface CpuShares {
  busyPercent: number;
  iowaitPercent: number;
}

/** The interval between two samples of one host, or undefined when no rate can be computed from them. */
export interface Interval {
  seconds: number;
  /** The host rebooted in between: every counter restarted from zero. */
  rebooted: boolean;
}

export function intervalBetween(previous: StoredSample | undefined, current: NodeSample, maxSeconds: number): Interval | undefined {
  if (!previous) return undefined;
  const seconds = current.timeSeconds - previous.timeSeconds;
  if (!(seconds > 0) || seconds > maxSeconds) return undefined;
  const rebooted =
    previous.bootTimeSeconds !== undefined && current.bootTimeSeconds !== undefined && Math.abs(current.bootTimeSeconds - previous.bootTimeSeconds) >= 1;
  return { seconds, rebooted };
}

/** CPU time shares over the interval, summed over all CPUs; undefined when no CPU time passed. */
export function cpuShares(previous: StoredSample, current: NodeSample, interval: Interval): CpuShares | undefined {
  const byMode = new Map<string, number>();
  let total = 0;
  for (const [key, seconds] of Object.entries(current.cpuSeconds)) {
    const mode = (JSON.parse(key) as string[])[1];
    const before = previous.cpuSeconds[key];
    // A CPU that came online in between has no previous value: its whole count is new.
    const increase = counterIncrease(before ?? 0, seconds, interval.rebooted || before === undefined);
    byMode.set(mode, (byMode.get(mode) ?? 0) + increase);
    total += increase;
  }
  if (!(total > 0)) return undefined;
  const idle = byMode.get('idle') ?? 0;
  const iowait = byMode.get('iowait') ?? 0;
  return { busyPercent: (100 * (total - idle - iowait)) / total, iowaitPercent: (100 * iowait) / total };
}

export interface InterfaceRates {
  receiveBytesPerSecond: number;
  transmitBytesPerSecond: number;
}

/** Bytes per second per interface present in both samples. */
export function networkRates(previous: StoredSample, current: NodeSample, interval: Interval): Map<string, InterfaceRates> {
  const rates = new Map<string, InterfaceRates>();
  for (const [device, counters] of Object.entries(current.network)) {
    const before = previous.network[device];
    if (!before) continue;
    rates.set(device, {
      receiveBytesPerSecond: counterIncrease(before.receiveBytes, counters.receiveBytes, interval.rebooted) / interval.seconds,
      transmitBytesPerSecond: counterIncrease(before.transmitBytes, counters.transmitBytes, interval.rebooted) / interval.seconds,
    });
  }
  return rates;
}

/** The previous run's samples, per instance, kept in one JSON file in the collector's state folder. */
export const PREVIOUS_SAMPLES_FILE = 'previous-samples.json';

export const PREVIOUS_SAMPLES_STATE: StateFileOptions<Record<string, StoredSample>> = {
  initial: () => ({}),
  parse(value) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, StoredSample>;
  },
};

/** The previous samples' file of a state folder (for tools and tests; a run uses context.state). */
export function previousSamplesFile(stateDir: string): StateFile<Record<string, StoredSample>> {
  return new StateFile(path.join(stateDir, PREVIOUS_SAMPLES_FILE), PREVIOUS_SAMPLES_STATE);
}
