import dgram from 'node:dgram';
import { once } from 'node:events';
import type { Config } from '../../lib/config/config';
import type { Logger } from '../../lib/run/log';
import { PacketQueue } from './packetQueue';
import { xrootdSettings } from './settings';

/**
 * The push side of the xrootd collector (seed 002's dumper): a long-running UDP receiver that writes
 * every xrd.report packet durably to the on-disk queue and does nothing else, so it keeps up with
 * many servers. The 10-minute collector consumes the queue.
 */
export interface ReceiverOptions {
  /** Listen address; port 0 picks a free one (see RunningReceiver.port). */
  host: string;
  port: number;
  queueDir: string;
  /** While the queue holds this many packets, new ones are dropped (and counted): the disk stays bounded. */
  maxQueuedPackets: number;
  log: Logger;
  /** Stops the receiver; runReceiver() then resolves once the packets received so far are on disk. */
  signal?: AbortSignal;
  /** How often the counters are logged. */
  statsIntervalMs?: number;
}

export interface ReceiverCounters {
  received: number;
  queued: number;
  /** Packets lost because the queue was full or the disk refused them. */
  dropped: number;
  /** Packets that are not summary reports (e.g. detailed monitoring sent to the wrong port). */
  rejected: number;
}

export interface RunningReceiver {
  port: number;
  counters: ReceiverCounters;
  /** Resolves once every packet received so far is on disk (or dropped). */
  idle(): Promise<void>;
  /** Resolves with the socket's error if it fails after listening (it never resolves otherwise). */
  failed(): Promise<Error>;
  /** Closes the socket and waits for the pending packets to be written. */
  stop(): Promise<void>;
}

/** Packets waiting in memory for the disk; beyond this the receiver drops rather than grows. */
const MAX_PENDING = 20_000;
const BATCH = 500;
const REPORT_START = Buffer.from('<statistics');

export async function startReceiver(options: ReceiverOptions): Promise<RunningReceiver> {
  const queue = new PacketQueue(options.queueDir);
  await queue.clearStaleTmp();
  let queuedEstimate = (await queue.list()).length;
  const counters: ReceiverCounters = { received: 0, queued: 0, dropped: 0, rejected: 0 };
  const pending: Array<{ data: Buffer; receivedMs: number }> = [];
  let writing = false;
  let drained: Promise<void> = Promise.resolve();
  let fullWarned = false;

  const drop = (count: number, why: string): void => {
    counters.dropped += count;
    if (!fullWarned) options.log.warn(`dropping packets: ${why}`);
    fullWarned = true;
  };

  const writeBatch = async (batch: Array<{ data: Buffer; receivedMs: number }>): Promise<void> => {
    if (queuedEstimate + batch.length > options.maxQueuedPackets) queuedEstimate = (await queue.list()).length;
    const room = Math.max(0, options.maxQueuedPackets - queuedEstimate);
    if (room < batch.length) {
      drop(batch.length - room, `the queue ${options.queueDir} holds ${queuedEstimate} packets (queue_max_packets ${options.maxQueuedPackets}): is the xrootd collector running?`);
      batch = batch.slice(0, room);
    }
    if (batch.length === 0) return;
    try {
      await queue.add(batch);
      counters.queued += batch.length;
      queuedEstimate += batch.length;
      fullWarned = false;
    } catch (error) {
      drop(batch.length, `cannot write to ${options.queueDir}: ${(error as Error).message}`);
    }
  };

  const kick = (): void => {
    if (writing) return;
    writing = true;
    drained = (async () => {
      try {
        while (pending.length) await writeBatch(pending.splice(0, BATCH));
      } finally {
        writing = false;
      }
    })();
  };

  const socket = dgram.createSocket({ type: options.host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 8 * 1024 * 1024 });
  socket.on('message', (data) => {
    counters.received += 1;
    if (!data.subarray(0, REPORT_START.length).equals(REPORT_START)) {
      counters.rejected += 1;
      return;
    }
    if (pending.length >= MAX_PENDING) {
      drop(1, `${MAX_PENDING} packets wait for the disk`);
      return;
    }
    pending.push({ data, receivedMs: Date.now() });
    kick();
  });
  socket.bind(options.port, options.host);
  try {
    await once(socket, 'listening'); // rejects with the socket's error, e.g. EADDRINUSE
  } catch (error) {
    throw new Error(`cannot listen on udp ${options.host}:${options.port}: ${(error as Error).message}`);
  }
  let failure: Error | undefined;
  const failureListeners: Array<(error: Error) => void> = [];
  socket.on('error', (error) => {
    failure = error;
    options.log.error(`udp socket failed: ${error.message}`);
    for (const listener of failureListeners) listener(error);
  });
  const port = socket.address().port;
  options.log.info(`listening for xrd.report packets on udp ${options.host}:${port}, queue ${options.queueDir}`);

  const logCounters = (): void =>
    options.log.info(`received ${counters.received}, queued ${counters.queued}, dropped ${counters.dropped}, not reports ${counters.rejected}`);
  const timer = setInterval(logCounters, options.statsIntervalMs ?? 10 * 60_000);
  timer.unref();

  let stopped: Promise<void> | undefined;
  const idle = async (): Promise<void> => {
    while (writing) await drained;
  };
  return {
    port,
    counters,
    idle,
    failed: () => (failure ? Promise.resolve(failure) : new Promise<Error>((resolve) => failureListeners.push(resolve))),
    stop: () => {
      stopped ??= (async () => {
        clearInterval(timer);
        await new Promise<void>((resolve) => {
          try {
            socket.close(() => resolve());
          } catch {
            resolve(); // already closed after an error
          }
        });
        await idle();
        logCounters();
      })();
      return stopped;
    },
  };
}

/** Runs the receiver until options.signal aborts. Rejects when the socket fails, so a supervisor restarts it. */
export async function runReceiver(options: ReceiverOptions): Promise<void> {
  if (options.signal?.aborted) return;
  const receiver = await startReceiver(options);
  const aborted = new Promise<undefined>((resolve) => options.signal?.addEventListener('abort', () => resolve(undefined), { once: true }));
  const error = await Promise.race([aborted, receiver.failed()]);
  await receiver.stop();
  if (error) throw error;
}

/** `./run.sh xrootd-receiver`: the receiver with [xrootd-receiver] listen and queue_max_packets, and [xrootd] queue_dir. */
export function runReceiverFromConfig(config: Config, log: Logger, signal: AbortSignal): Promise<void> {
  const settings = xrootdSettings(config);
  return runReceiver({
    host: settings.receiverListen.host,
    port: settings.receiverListen.port,
    queueDir: settings.queueDir,
    maxQueuedPackets: settings.queueMaxPackets,
    log,
    signal,
  });
}
