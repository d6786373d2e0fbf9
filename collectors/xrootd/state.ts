import type { QueuePosition } from '../../lib/queue/segments';
import type { StateFileOptions } from '../../lib/state/stateFile';
import type { QueuePlace } from '../../lib/stream/packetStreams';
import type { Sample } from './aggregate';

/**
 * What the collector keeps between runs (var/state/xrootd/samples.json): the last sample of each
 * server process, for the next rates, and its position in the queue. Both are written in one commit,
 * so a crash never lets them disagree.
 */
export interface CollectorState {
  servers: Record<string, Sample>;
  queue?: QueuePosition;
  /** [xrootd] queue = stream: per receiver subject, the place in its queue read up to (later messages only are read). */
  stream?: Record<string, QueuePlace>;
  /**
   * From the state of an older version, which queued one file per packet: the `.pkt` files whose
   * documents were committed but which may not have been removed (they are removed, never read).
   */
  consumedPacketFiles?: string[];
}

export const STATE_FILE = 'samples.json';

/** Samples older than this are forgotten: a server silent for that long starts afresh. */
const FORGET_AFTER_S = 30 * 24 * 3600;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const collectorState: StateFileOptions<CollectorState> = {
  initial: () => ({ servers: {} }),
  parse(value) {
    if (!isObject(value) || !isObject(value.servers)) throw new Error('not the xrootd collector state (no servers object)');
    const state: CollectorState = { servers: value.servers as Record<string, Sample> };
    if (value.queue !== undefined) {
      const queue = value.queue;
      if (!isObject(queue) || typeof queue.segment !== 'string' || typeof queue.offset !== 'number') throw new Error('its queue position is not { segment, offset }');
      state.queue = queue as unknown as QueuePosition;
    }
    if (value.stream !== undefined) {
      if (!isObject(value.stream)) throw new Error('its stream places are not an object');
      state.stream = value.stream as Record<string, QueuePlace>;
    }
    // An older version named the packet files it had consumed in `consumed`.
    if (Array.isArray(value.consumed)) state.consumedPacketFiles = value.consumed.filter((name): name is string => typeof name === 'string');
    return state;
  },
};

/** The samples worth keeping: those of servers heard from within FORGET_AFTER_S of the newest one. */
export function recentSamples(servers: Record<string, Sample>): Record<string, Sample> {
  const newest = Math.max(0, ...Object.values(servers).map((sample) => sample.time));
  return Object.fromEntries(Object.entries(servers).filter(([, sample]) => sample.time >= newest - FORGET_AFTER_S));
}
