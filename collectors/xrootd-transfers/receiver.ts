/**
 * The detailed-monitoring UDP receiver: every datagram goes to the on-disk queue as it came,
 * never parsed here. Datagrams arriving while a batch is being written and synced, or within
 * `flushIntervalMs` of the previous write, form the next batch: one write and one fdatasync per
 * batch, and the socket is drained meanwhile.
 */
import dgram from 'node:dgram';
import path from 'node:path';
import type { Config } from '../../lib/config/config';
import type { Logger } from '../../lib/run/log';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { queueBytes, QueueWriter, RecordBatch } from './queue';

export const RECEIVER_JOB = 'xrootd-detailed-receiver';
export const SECTION = 'xrootd-transfers';

export interface ReceiverOptions {
  host: string;
  /** 0 picks a free port (tests, bench). */
  port: number;
  queueDir: string;
  /** Length of one queue segment. */
  segmentMs: number;
  /** Least time between two batch writes: fewer, bigger writes and syncs (datagrams wait in memory meanwhile). */
  flushIntervalMs: number;
  /** Receive buffer asked of the kernel, so bursts wait there while a batch syncs. */
  socketBufferBytes: number;
  /** Above this queue size, datagrams are dropped and counted instead of filling the disk. */
  maxQueueBytes: number;
  log?: Logger;
  /** The receive clock (tests replace it to put packets into chosen slots). */
  now?: () => number;
}

export interface ReceiverStats {
  received: number;
  written: number;
  dropped: number;
  batches: number;
  writeErrors: number;
}

export interface RunningReceiver {
  port: number;
  stats: ReceiverStats;
  /** Resolves when everything received so far is durably in the queue. */
  flushed(): Promise<void>;
  /** Stops receiving, writes what is pending and closes the segment. */
  stop(): Promise<void>;
}

/** Reads the receiver's settings from [xrootd-transfers]. */
export function receiverOptions(config: Config): ReceiverOptions {
  const section = config.section(SECTION);
  const listen = section.hostPort('receiver_listen', '127.0.0.1:9930');
  return {
    host: listen.host,
    port: listen.port,
    queueDir: section.path('queue_dir', path.join('var', 'queue', SECTION)),
    segmentMs: section.duration('receiver_segment', '10s'),
    flushIntervalMs: section.duration('receiver_flush_interval', '0ms'),
    socketBufferBytes: section.int('receiver_socket_buffer', 32 * 1024 * 1024, { min: 65536 }),
    maxQueueBytes: section.int('queue_max_bytes', 4 * 1024 * 1024 * 1024, { min: 1 }),
  };
}

export async function startReceiver(options: ReceiverOptions): Promise<RunningReceiver> {
  const now = options.now ?? Date.now;
  const writer = new QueueWriter(options.queueDir, options.segmentMs);
  const trimmed = writer.recover();
  if (trimmed > 0) options.log?.warn(`trimmed ${trimmed} bytes of a record cut short by a previous stop`);
  const stats: ReceiverStats = { received: 0, written: 0, dropped: 0, batches: 0, writeErrors: 0 };
  let pending = new RecordBatch();
  let writing: Promise<void> | undefined;
  let queueSize = queueBytes(options.queueDir);
  let queueFull = false;

  let lastWriteMs = 0;
  const writeLoop = async (): Promise<void> => {
    while (pending.length > 0) {
      const wait = lastWriteMs + options.flushIntervalMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      lastWriteMs = Date.now();
      const batch = pending;
      pending = new RecordBatch();
      try {
        await writer.append(batch, now());
        stats.written += batch.length;
        stats.batches += 1;
        queueSize += batch.bytes;
      } catch (error) {
        stats.writeErrors += 1;
        stats.dropped += batch.length;
        options.log?.error(`queue write failed, ${batch.length} datagrams lost: ${(error as Error).message}`);
      }
    }
  };
  const kick = (): void => {
    if (!writing) writing = writeLoop().finally(() => (writing = undefined));
  };

  // The "ip:port" of each sender, made once: servers are few and send many datagrams.
  const senders = new Map<string, Map<number, Buffer>>();
  const senderBytes = (address: string, port: number): Buffer => {
    let ports = senders.get(address);
    if (!ports) {
      if (senders.size > 100_000) senders.clear();
      ports = new Map();
      senders.set(address, ports);
    }
    let sender = ports.get(port);
    if (!sender) {
      if (ports.size > 1000) ports.clear();
      sender = Buffer.from(`${address}:${port}`, 'latin1').subarray(0, 255);
      ports.set(port, sender);
    }
    return sender;
  };
  const socket = dgram.createSocket({ type: options.host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: options.socketBufferBytes });
  socket.on('message', (message, remote) => {
    stats.received += 1;
    if (queueFull) {
      stats.dropped += 1;
      return;
    }
    pending.add(now(), senderBytes(remote.address, remote.port), message);
    kick();
  });
  socket.on('error', (error) => options.log?.error(`receiver socket: ${error.message}`));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port, options.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });

  // Closes idle segments so the aggregator sees them, and re-measures the queue (the aggregator shrinks it).
  const housekeeping = setInterval(() => {
    void (async () => {
      await writing;
      await writer.closeIfOver(now()).catch((error: Error) => options.log?.error(`closing a queue segment: ${error.message}`));
      queueSize = queueBytes(options.queueDir);
      const full = queueSize >= options.maxQueueBytes;
      if (full !== queueFull) options.log?.[full ? 'error' : 'info'](full ? `queue holds ${queueSize} bytes, dropping datagrams` : 'queue below its limit again');
      queueFull = full;
    })();
  }, Math.min(1000, options.segmentMs));
  housekeeping.unref();

  const flushed = async (): Promise<void> => {
    while (writing || pending.length > 0) {
      kick();
      await writing;
    }
  };
  return {
    port: socket.address().port,
    stats,
    flushed,
    stop: async () => {
      clearInterval(housekeeping);
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      await flushed();
      await writer.closeCurrent();
    },
  };
}

/** Runs the receiver until `signal` aborts, logging its counters every minute. */
export async function runDetailedReceiver(config: Config, log: Logger, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  const options = { ...receiverOptions(config), log };
  const receiver = await startReceiver(options);
  log.info(`listening on ${options.host}:${receiver.port}/udp, queue in ${path.relative(PROJECT_ROOT, options.queueDir) || options.queueDir}`);
  const report = (): void => {
    const { received, written, dropped, batches, writeErrors } = receiver.stats;
    log.info(`datagrams received=${received} queued=${written} dropped=${dropped} batches=${batches} write_errors=${writeErrors}`);
  };
  const reporter = setInterval(report, 60_000);
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  clearInterval(reporter);
  await receiver.stop();
  report();
}
