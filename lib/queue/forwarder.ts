/**
 * The stream route of a receiver (issue 22, item 4): the receiver queues every datagram on its local
 * disk as always, and this forwarder publishes the closed segments of that queue to the XRootD packet
 * stream (lib/stream/packetStreams.ts), removing a segment only once JetStream stored all of it. While
 * the stream cannot store (down, full, no leader), the datagrams stay in the local queue, bounded by
 * queue_max_bytes as on the local route, and are published when it can again: nothing is lost.
 *
 * A message is a run of whole records of one closed segment, at most MAX_MESSAGE_BYTES and within one
 * 10-minute slot of receive time. Closed segments never change, so a message is fixed by where it
 * starts, which is its id: publishing it again after a crash is stored once within the stream's
 * duplicate window, and the consumer skips it after that (its place is not after what it read).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { MsgHdrs, NatsConnection, NatsError } from 'nats';
import { slotStart } from '../run/slot';
import type { Logger } from '../run/log';
import { writeFileDurably } from '../state/durableFile';
import { decodeRecords } from './records';
import { commitRead, listSegments, type QueuePosition } from './segments';

/** At most this many bytes of records in one message (under NATS' default max_payload of 1 MiB). */
export const MAX_MESSAGE_BYTES = 512 * 1024;
/** The forwarder's place in the queue, beside the segments (readers take only .open and .seg files). */
export const FORWARDER_POSITION_FILE = 'stream-position.json';

/** The records of one message, and where they are in the queue. */
export interface QueueChunk {
  segment: string;
  /** Where its first record starts. */
  offset: number;
  /** The records as the segment holds them (lib/queue/records.ts). */
  data: Buffer;
  packets: number;
  /** The position after it, to store once it is published. */
  position: QueuePosition;
}

/**
 * Reads the closed segments of a queue as chunks, from a stored position on. The segment in hand is
 * kept in memory, so a large segment is read once however many chunks it makes.
 */
export class ChunkReader {
  private cached: { name: string; data: Buffer } | undefined;

  constructor(
    readonly dir: string,
    private readonly maxBytes = MAX_MESSAGE_BYTES,
  ) {}

  next(from: QueuePosition | undefined): QueueChunk | undefined {
    const alreadyRead = new Set(from?.consumed ?? []);
    const consumed: string[] = [];
    for (const segment of listSegments(this.dir)) {
      if (segment.open) return undefined; // written still: it is published once closed
      const read = from?.consumed ? alreadyRead.has(segment.name) : from !== undefined && segment.name < from.segment;
      if (read) {
        consumed.push(segment.name); // read by a run whose removal did not happen
        continue;
      }
      const data = this.segmentData(segment.name, segment.file);
      const start = from && segment.name === from.segment ? from.offset : 0;
      let end = start;
      let packets = 0;
      let slot: number | undefined;
      for (const record of decodeRecords(data, start)) {
        const recordSlot = slotStart(record.receivedMs);
        if (packets > 0 && (record.end - start > this.maxBytes || recordSlot !== slot)) break;
        slot = recordSlot;
        end = record.end;
        packets += 1;
      }
      if (packets === 0) {
        consumed.push(segment.name); // read to its end
        continue;
      }
      if (end >= data.length) consumed.push(segment.name);
      return { segment: segment.name, offset: start, data: data.subarray(start, end), packets, position: { segment: segment.name, offset: end, consumed } };
    }
    return undefined;
  }

  /** The position after the segments read to their end and not removed yet (nothing to publish in them). */
  drained(from: QueuePosition | undefined): QueuePosition | undefined {
    const alreadyRead = new Set(from?.consumed ?? []);
    const consumed: string[] = [];
    let last: QueuePosition | undefined;
    for (const segment of listSegments(this.dir)) {
      if (segment.open) break;
      const read = from?.consumed ? alreadyRead.has(segment.name) : from !== undefined && segment.name < from.segment;
      const start = from && segment.name === from.segment ? from.offset : 0;
      if (!read && start < statSync(segment.file).size) break;
      consumed.push(segment.name);
      last = { segment: segment.name, offset: start, consumed };
    }
    return last && { ...last, consumed: [...consumed] };
  }

  private segmentData(name: string, file: string): Buffer {
    if (this.cached?.name !== name) this.cached = { name, data: readFileSync(file) };
    return this.cached.data;
  }
}

/** What publishes one message: resolves once JetStream stored it (a duplicate counts), rejects otherwise. */
export type PublishMessage = (subject: string, data: Buffer, headers: MsgHdrs) => Promise<void>;

export interface ForwarderOptions {
  queueDir: string;
  /** The subject of this receiver's messages (packetSubject). */
  subject: string;
  /** The receiver's name, in each message's id and headers. */
  receiver: string;
  /** Connects (again) to the stream; called at the start and after a failure. */
  connect(): Promise<{ connection: NatsConnection; publish: PublishMessage }>;
  /** Makes the headers of a message starting at `place` (packetHeaders). */
  headers(receiver: string, place: { segment: string; offset: number }): MsgHdrs;
  log: Logger;
  /** How often the queue is looked at for newly closed segments (default 1 s). */
  pollMs?: number;
  /** First wait after a failure, doubled up to maxRetryMs (defaults 1 s and 30 s). */
  retryMs?: number;
  maxRetryMs?: number;
}

export interface ForwarderCounters {
  /** Messages and packets the stream stored (duplicates included). */
  messages: number;
  published: number;
  /** Publishes or connections that failed (their packets stay queued and are published again). */
  publishErrors: number;
}

export interface RunningForwarder {
  counters: ForwarderCounters;
  /** Whether the last attempt failed (the queue grows until the stream stores again). */
  failing(): boolean;
  /** Publishes what is closed now, then stops (at most one publish in flight is awaited). */
  stop(): Promise<void>;
}

export function formatForwarderCounters(counters: ForwarderCounters): string {
  return `published=${counters.published} messages=${counters.messages} publish_errors=${counters.publishErrors}`;
}

function readPosition(file: string): QueuePosition | undefined {
  if (!existsSync(file)) return undefined;
  const value = JSON.parse(readFileSync(file, 'utf8')) as { position?: QueuePosition };
  return value.position;
}

/** Starts publishing the queue's closed segments in order, one message at a time (so each receiver's messages keep their order in the stream). */
export function startForwarder(options: ForwarderOptions): RunningForwarder {
  const { log, queueDir } = options;
  const pollMs = options.pollMs ?? 1000;
  const retryMs = options.retryMs ?? 1000;
  const maxRetryMs = options.maxRetryMs ?? 30_000;
  const positionFile = path.join(queueDir, FORWARDER_POSITION_FILE);
  const reader = new ChunkReader(queueDir);
  const counters: ForwarderCounters = { messages: 0, published: 0, publishErrors: 0 };
  let position = readPosition(positionFile);
  let stopping = false;
  let failing = false;
  let wake: (() => void) | undefined;
  let client: { connection: NatsConnection; publish: PublishMessage } | undefined;

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  const store = (reached: QueuePosition | undefined): void => {
    commitRead(queueDir, reached, (value) => writeFileDurably(positionFile, JSON.stringify({ position: value })));
    position = reached;
  };

  const loop = async (): Promise<void> => {
    let delay = retryMs;
    while (!stopping || reader.next(position)) {
      const chunk = reader.next(position);
      if (!chunk) {
        const drained = reader.drained(position);
        if (drained?.consumed?.length) store(drained);
        await wait(pollMs);
        continue;
      }
      try {
        client ??= await options.connect();
        await client.publish(options.subject, chunk.data, options.headers(options.receiver, { segment: chunk.segment, offset: chunk.offset }));
      } catch (error) {
        counters.publishErrors += 1;
        // A connection closed for good (not one that reconnects by itself) is made again at the next attempt.
        if (client?.connection.isClosed()) client = undefined;
        if (!failing) log.warn(`cannot publish to the stream, packets stay in ${queueDir} and are published when it stores again (retrying): ${(error as NatsError).message}`);
        failing = true;
        if (stopping) return; // they stay queued for the next start
        await wait(delay);
        delay = Math.min(delay * 2, maxRetryMs);
        continue;
      }
      if (failing) log.info('the stream stores again');
      failing = false;
      delay = retryMs;
      counters.messages += 1;
      counters.published += chunk.packets;
      store(chunk.position);
    }
  };
  const running = loop().catch((error: Error) => log.error(`stream forwarder stopped: ${error.message}`));

  return {
    counters,
    failing: () => failing,
    stop: async () => {
      stopping = true;
      wake?.();
      await running;
      await client?.connection.drain().catch(() => undefined);
    },
  };
}
