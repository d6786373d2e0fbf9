/**
 * A UDP receiver that only queues: every datagram goes to the disk packet queue as it came, never
 * parsed here, so it keeps up with many senders; a collector consumes the queue. Datagrams arriving
 * while a batch is written and synced (or within `flushIntervalMs` of the previous write) form the
 * next batch: one write and one fdatasync per batch, while the socket keeps being drained. A datagram
 * counts as queued only once its batch is synced.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import type { Logger } from '../run/log';
import { formatForwarderCounters, startForwarder, type ForwarderOptions, type RunningForwarder } from './forwarder';
import { RecordBatch, senderBytes } from './records';
import { QueueSize, QueueWriter } from './segments';

export interface ReceiverOptions {
  /** What the log calls the datagrams, e.g. "xrd.report packets". */
  what: string;
  /** Listen address; port 0 picks a free one (see RunningReceiver.port). */
  host: string;
  port: number;
  queueDir: string;
  /** Receive time covered by one queue segment (default 10 s). */
  segmentMs?: number;
  /** Least time between two batch writes: fewer, bigger writes and syncs (datagrams wait in memory meanwhile). */
  flushIntervalMs?: number;
  /** Receive buffer asked of the kernel, so bursts wait there while a batch syncs. */
  socketBufferBytes?: number;
  /** While the queue holds this many bytes, datagrams are dropped (and counted): the disk stays bounded. */
  maxQueueBytes: number;
  /** Datagrams waiting in memory for the disk, at most (bytes); beyond it they are dropped rather than let memory grow. */
  maxPendingBytes?: number;
  /** Whether a datagram belongs to this stream; the others are counted as rejected and not queued. */
  accept?(datagram: Buffer): boolean;
  log: Logger;
  /** The receive clock (tests replace it to put packets into chosen slots). */
  now?: () => number;
}

/** The counters of a receiver, logged under these names (write_errors for writeErrors). */
export interface ReceiverCounters {
  received: number;
  /** Written to the queue and synced. */
  queued: number;
  /** Lost: the queue or the memory waiting for the disk was full, or the disk refused them. */
  dropped: number;
  /** Not of this stream (options.accept said no). */
  rejected: number;
  /** Batch writes (each one write and one fdatasync). */
  batches: number;
  /** Batch writes that failed (their datagrams are counted as dropped). */
  writeErrors: number;
}

export interface RunningReceiver {
  port: number;
  counters: ReceiverCounters;
  /** Resolves once everything received so far is durably in the queue (or dropped). */
  flushed(): Promise<void>;
  /** The senders seen since the last call, with their datagram counts, most first (at most MAX_SENDERS_COUNTED of them). */
  takeSenders(): { senders: Array<[string, number]>; uncounted: number };
  /** Resolves with the socket's error if it fails after listening (it never resolves otherwise). */
  failed(): Promise<Error>;
  /** Stops receiving, writes what is pending and closes the segment. */
  stop(): Promise<void>;
}

/** Distinct senders counted between two reports; datagrams of further ones are only summed. */
const MAX_SENDERS_COUNTED = 10_000;
/** Senders named in a report line. */
const SENDERS_LOGGED = 10;

/** The senders as one log line: `senders: 10.0.0.1:1094 (120), 10.0.0.2:1094 (7)` (the busiest, then how many more). */
export function formatSenders({ senders, uncounted }: { senders: Array<[string, number]>; uncounted: number }): string {
  if (senders.length === 0 && uncounted === 0) return 'senders: none';
  const named = senders.slice(0, SENDERS_LOGGED).map(([sender, count]) => `${sender} (${count})`);
  const more = senders.length - named.length;
  return `senders: ${named.join(', ')}${more > 0 ? `, and ${more} more (${senders.slice(SENDERS_LOGGED).reduce((sum, [, count]) => sum + count, 0)} datagrams)` : ''}${uncounted > 0 ? `, and ${uncounted} datagrams of senders past ${MAX_SENDERS_COUNTED}` : ''}`;
}

/** The counters as one log line: `received=1 queued=1 dropped=0 rejected=0 batches=1 write_errors=0`. */
export function formatCounters(counters: ReceiverCounters): string {
  const { received, queued, dropped, rejected, batches, writeErrors } = counters;
  return `received=${received} queued=${queued} dropped=${dropped} rejected=${rejected} batches=${batches} write_errors=${writeErrors}`;
}

export async function startReceiver(options: ReceiverOptions): Promise<RunningReceiver> {
  const { log } = options;
  const now = options.now ?? Date.now;
  const segmentMs = options.segmentMs ?? 10_000;
  const flushIntervalMs = options.flushIntervalMs ?? 0;
  const maxPendingBytes = options.maxPendingBytes ?? 64 * 1024 * 1024;
  const writer = new QueueWriter(options.queueDir, segmentMs);
  const counters: ReceiverCounters = { received: 0, queued: 0, dropped: 0, rejected: 0, batches: 0, writeErrors: 0 };
  let pending = new RecordBatch();
  let writing: Promise<void> | undefined;
  // Measured again every second and whenever a batch does not fit (the consumer shrinks the queue); between, what this receiver wrote is added.
  const size = new QueueSize(options.queueDir);
  let queueSize = size.measure();
  let dropWarned = false;

  const drop = (count: number, why: string): void => {
    counters.dropped += count;
    if (!dropWarned) log.warn(`dropping packets: ${why}`);
    dropWarned = true;
  };

  let lastWriteMs = 0;
  const writeLoop = async (): Promise<void> => {
    while (pending.length > 0) {
      const wait = lastWriteMs + flushIntervalMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      lastWriteMs = Date.now();
      const batch = pending;
      pending = new RecordBatch();
      if (queueSize + batch.bytes > options.maxQueueBytes) queueSize = size.measure();
      const room = Math.max(0, options.maxQueueBytes - queueSize);
      if (batch.bytes > room) {
        const left = batch.keepWithin(room);
        drop(left, `the queue ${options.queueDir} holds ${queueSize} bytes (queue_max_bytes ${options.maxQueueBytes}): is its collector running?`);
      }
      if (batch.length === 0) continue;
      try {
        await writer.append(batch, now());
        counters.queued += batch.length;
        counters.batches += 1;
        queueSize += batch.bytes;
        dropWarned = false;
      } catch (error) {
        counters.writeErrors += 1;
        drop(batch.length, `cannot write to ${options.queueDir}: ${(error as Error).message}`);
        log.error(`queue write failed, ${batch.length} datagrams lost: ${(error as Error).message}`);
      }
    }
  };
  // Nothing is written before the socket is bound and the previous run's segment closed.
  let ready = false;
  const kick = (): void => {
    if (ready) writing ??= writeLoop().finally(() => (writing = undefined));
  };

  // The "ip:port" of each sender, made once: servers are few and send many datagrams.
  const senders = new Map<string, Map<number, Buffer>>();
  const senderOf = (address: string, port: number): Buffer => {
    let ports = senders.get(address);
    if (!ports) {
      if (senders.size > 100_000) senders.clear();
      ports = new Map();
      senders.set(address, ports);
    }
    let sender = ports.get(port);
    if (!sender) {
      if (ports.size > 1000) ports.clear();
      sender = senderBytes(`${address}:${port}`);
      ports.set(port, sender);
    }
    return sender;
  };

  // Datagrams per sender since the last report, keyed by the cached sender buffer (no string per datagram).
  let senderCounts = new Map<Buffer, number>();
  let uncountedSenders = 0;
  const countSender = (sender: Buffer): void => {
    const count = senderCounts.get(sender);
    if (count !== undefined) senderCounts.set(sender, count + 1);
    else if (senderCounts.size < MAX_SENDERS_COUNTED) senderCounts.set(sender, 1);
    else uncountedSenders += 1;
  };

  const socket = dgram.createSocket({ type: options.host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: options.socketBufferBytes ?? 32 * 1024 * 1024 });
  socket.on('message', (datagram, remote) => {
    counters.received += 1;
    const sender = senderOf(remote.address, remote.port);
    countSender(sender);
    if (options.accept && !options.accept(datagram)) {
      counters.rejected += 1;
      return;
    }
    if (pending.bytes >= maxPendingBytes) {
      drop(1, `${pending.bytes} bytes of datagrams wait for the disk`);
      return;
    }
    pending.add(now(), sender, datagram);
    kick();
  });
  socket.bind(options.port, options.host);
  try {
    await once(socket, 'listening'); // rejects with the socket's error, e.g. EADDRINUSE
  } catch (error) {
    throw new Error(`cannot listen on udp ${options.host}:${options.port}: ${(error as Error).message}`);
  }
  // Only now: a second receiver started by mistake on the same address fails above, before it could
  // close the segment the running one writes.
  const trimmed = writer.recover();
  if (trimmed > 0) log.warn(`trimmed ${trimmed} bytes of a record cut short by a previous stop`);
  ready = true;
  kick();
  let failure: Error | undefined;
  const failureListeners: Array<(error: Error) => void> = [];
  socket.on('error', (error) => {
    failure = error;
    log.error(`udp socket failed: ${error.message}`);
    for (const listener of failureListeners) listener(error);
  });

  // Closes idle segments so the consumer sees them, and measures the queue again.
  const housekeeping = setInterval(() => {
    void (async () => {
      await writing;
      await writer.closeIfOver(now()).catch((error: Error) => log.error(`closing a queue segment: ${error.message}`));
      queueSize = size.measure();
    })();
  }, Math.min(1000, segmentMs));
  housekeeping.unref();

  const flushed = async (): Promise<void> => {
    while (writing || pending.length > 0) {
      kick();
      await writing;
    }
  };
  let stopped: Promise<void> | undefined;
  return {
    port: socket.address().port,
    counters,
    flushed,
    takeSenders: () => {
      // Several buffers can name one sender after the cache was cleared: summed by name.
      const byName = new Map<string, number>();
      for (const [sender, count] of senderCounts) {
        const name = sender.toString('latin1');
        byName.set(name, (byName.get(name) ?? 0) + count);
      }
      const taken = { senders: [...byName].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)), uncounted: uncountedSenders };
      senderCounts = new Map();
      uncountedSenders = 0;
      return taken;
    },
    failed: () => (failure ? Promise.resolve(failure) : new Promise<Error>((resolve) => failureListeners.push(resolve))),
    stop: () => {
      stopped ??= (async () => {
        clearInterval(housekeeping);
        await new Promise<void>((resolve) => {
          try {
            socket.close(() => resolve());
          } catch {
            resolve(); // already closed after an error
          }
        });
        await flushed();
        await writer.closeCurrent();
      })();
      return stopped;
    },
  };
}

/** The stream route: what the forwarder of the queue needs (its queue and log are the receiver's). */
export type ForwardOptions = Omit<ForwarderOptions, 'queueDir' | 'log'>;

/**
 * Runs a receiver until `signal` aborts, logging its counters every minute and at the stop. Rejects
 * when the socket fails, so the supervisor restarts it. With `forward`, the queue's closed segments
 * are published to the packet stream (lib/queue/forwarder.ts) and removed once stored.
 */
export async function runReceiver(options: ReceiverOptions & { forward?: ForwardOptions }, signal: AbortSignal, reportEveryMs = 60_000): Promise<void> {
  if (signal.aborted) return;
  const receiver = await startReceiver(options);
  const queue = path.relative(PROJECT_ROOT, options.queueDir) || options.queueDir;
  let forwarder: RunningForwarder | undefined;
  if (options.forward) forwarder = startForwarder({ ...options.forward, queueDir: options.queueDir, log: options.log });
  const route = options.forward ? `, published from there to the stream as ${options.forward.subject}` : '';
  options.log.info(`listening for ${options.what} on udp ${options.host}:${receiver.port}, queue in ${queue}${route}`);
  const report = (): void => {
    options.log.info(`${options.what} ${formatSenders(receiver.takeSenders())}`);
    options.log.info(`${options.what}: ${formatCounters(receiver.counters)}${forwarder ? ` ${formatForwarderCounters(forwarder.counters)}` : ''}`);
  };
  const reporter = setInterval(report, reportEveryMs);
  const aborted = new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true }));
  const error = await Promise.race([aborted, receiver.failed()]);
  clearInterval(reporter);
  await receiver.stop();
  // After the receiver closed its segment, so that what it queued last is published too (if the stream stores).
  await forwarder?.stop();
  report();
  if (error) throw error;
}
