/**
 * The XRootD packet stream (issue 22, item 4): receivers publish the datagrams they queued to
 * `<[stream] name>_XROOTD` on `<prefix>_xrootd.<kind>.<receiver token>`, and one accounting job per
 * kind consumes them through a durable consumer. See lib/stream/README.md, "XRootD packets".
 *
 * A message is a run of records of one closed queue segment, in the queue's own record format
 * (lib/queue/records.ts), never spanning a segment or a 10-minute slot: its content is fixed by its
 * place in the receiver's queue, which names it (the message id), so a publish sent again is stored once.
 */
import { DiscardPolicy, nanos, RetentionPolicy, StorageType, connect, headers as natsHeaders, type JetStreamManager, type JsMsg, type MsgHdrs, type NatsConnection, type StreamConfig } from 'nats';
import type { Config } from '../config/config';
import { decodeRecords, type QueuedPacket } from '../queue/records';
import { MESSAGE_ID_HEADER, producerToken } from './messages';
import type { Logger } from '../run/log';
import { connectionOptions, streamSettings, type StreamSettings } from './settings';
import { describeConsumerDifferences, describeDifferences, ensureConsumers, ensureStreams, type WantedConsumer } from './streams';

/** The two XRootD monitoring streams: summary reports (`xrootd`) and detailed packets (`xrootd-transfers`). */
export type PacketKind = 'summary' | 'detailed';

/** The receiver that published a message, and where its records start in that receiver's queue. */
export const RECEIVER_HEADER = 'Xrootd-Receiver';
export const SEGMENT_HEADER = 'Xrootd-Segment';
export const OFFSET_HEADER = 'Xrootd-Offset';

/** Bytes of messages one run reads at most, by default. */
const DEFAULT_MAX_READ_BYTES = 256 * 1024 * 1024;
/** Deliveries a consumer may have unacknowledged at once: one run takes a whole backlog, held messages included. */
const MAX_ACK_PENDING = 20_000;

export function packetStreamName(settings: Pick<StreamSettings, 'name'>): string {
  return `${settings.name}_XROOTD`;
}

/** `<prefix>_xrootd`: the packet subjects, apart from the documents' `<prefix>.>`. */
export function packetSubjectPrefix(settings: Pick<StreamSettings, 'subjectPrefix'>): string {
  return `${settings.subjectPrefix}_xrootd`;
}

/** `<prefix>_xrootd.<kind>.<receiver token>`: the subject of one receiver's packets. */
export function packetSubject(settings: Pick<StreamSettings, 'subjectPrefix'>, kind: PacketKind, receiver: string): string {
  return `${packetSubjectPrefix(settings)}.${kind}.${producerToken(receiver)}`;
}

/** The durable consumer of a kind: one accounting job each. */
export function packetConsumerName(kind: PacketKind): string {
  return `xrootd-${kind}`;
}

/**
 * A work queue (an acknowledged message is removed; each kind has its own consumer, on its own
 * subjects), `discard = new`: when full, publishes are refused and the receivers keep the datagrams in
 * their local queue until there is room. Replicas, window, age and size are [stream]'s.
 */
export function packetStreamConfig(settings: StreamSettings): StreamConfig {
  return {
    name: packetStreamName(settings),
    subjects: [`${packetSubjectPrefix(settings)}.>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    num_replicas: settings.replicas,
    duplicate_window: nanos(settings.duplicateWindowMs),
    max_age: nanos(settings.maxAgeMs),
    max_bytes: settings.maxBytes,
  } as StreamConfig;
}

/** The config section whose `queue = stream` and `stream_ack_wait` a kind's receivers and accounting job read. */
export const PACKET_SECTIONS: Readonly<Record<PacketKind, string>> = { summary: 'xrootd', detailed: 'xrootd-transfers' };

/** The durable consumer of `kind` (on its subjects only), as `[<section>] stream_ack_wait` = `ackWaitMs` describes it. */
export function packetConsumer(settings: StreamSettings, kind: PacketKind, ackWaitMs: number): WantedConsumer {
  return {
    stream: packetStreamName(settings),
    name: packetConsumerName(kind),
    ackWaitMs,
    maxAckPending: MAX_ACK_PENDING,
    filterSubject: `${packetSubjectPrefix(settings)}.${kind}.>`,
    keys: { ack_wait: `[${PACKET_SECTIONS[kind]}] stream_ack_wait`, max_ack_pending: 'the packet reader', filter_subject: '[stream] subject_prefix' },
  };
}

/**
 * Creates the packet stream when missing, and with `consumer` that consumer; an existing one is kept
 * (ensureStreams, ensureConsumers), its differences warned on `log`.
 */
async function preparePacketStream(manager: JetStreamManager, settings: StreamSettings, log: Logger | undefined, consumer?: WantedConsumer): Promise<void> {
  const streams = await ensureStreams(manager, settings, { streams: [packetStreamConfig(settings)] });
  if (streams.differences.length) log?.warn(describeDifferences(streams.differences));
  if (!consumer) return;
  const consumers = await ensureConsumers(manager, settings, [consumer]);
  if (consumers.differences.length) log?.warn(describeConsumerDifferences(consumers.differences));
}

/**
 * A connection to [stream]'s servers for the packet stream (connectStream's sibling: it makes only this
 * stream when missing; an existing one's differences from [stream] are warned on `log`).
 */
export async function connectPacketStream(config: Config, name: string, log?: Logger): Promise<{ settings: StreamSettings; connection: NatsConnection }> {
  const settings = streamSettings(config);
  const connection = await connect(connectionOptions(config, settings, name));
  try {
    await preparePacketStream(await connection.jetstreamManager(), settings, log);
  } catch (error) {
    await connection.close();
    throw error;
  }
  return { settings, connection };
}

/** Where a message's records start in its receiver's queue; later places sort after (segment names sort in time order). */
export interface QueuePlace {
  segment: string;
  offset: number;
}

function isAfter(place: QueuePlace, reached: QueuePlace | undefined): boolean {
  if (!reached) return true;
  if (place.segment !== reached.segment) return place.segment > reached.segment;
  return place.offset > reached.offset;
}

/** The headers of a message starting at `place` of `receiver`'s queue; its id names that place. */
export function packetHeaders(receiver: string, place: QueuePlace): MsgHdrs {
  const headers = natsHeaders();
  headers.set(MESSAGE_ID_HEADER, `${receiver}:${place.segment}:${place.offset}`);
  headers.set(RECEIVER_HEADER, receiver);
  headers.set(SEGMENT_HEADER, place.segment);
  headers.set(OFFSET_HEADER, String(place.offset));
  return headers;
}

/** A run that started while messages given to an earlier, uncommitted run still wait for ack_wait: it must read nothing. */
export class EarlierRunPending extends Error {
  override name = 'EarlierRunPending';
}

export interface PacketReadOptions {
  /**
   * Leave a receiver's messages from the first one holding a packet received at or after this time
   * (UTC ms) on: they are handed back (nak) at the acknowledgement, for a later run.
   */
  before?: number;
  /** Stop fetching once this many packets were read (the rest waits for the next run). */
  maxPackets?: number;
  /** Stop fetching once messages of this many bytes were read (default 256 MiB): a run's memory stays bounded after a long outage. */
  maxBytes?: number;
  /** The job's deadline: fetching stops and the run fails. */
  signal?: AbortSignal;
  /** Per subject, the place read up to by earlier runs (from the consumer's state): messages at or before it are duplicates. */
  reached: Record<string, QueuePlace>;
  /**
   * How long a delivered message waits for its acknowledgement before it is delivered again (a run that
   * failed): the consumer's ack_wait when this creates it; an existing consumer keeps its own (stream-setup applies it).
   */
  ackWaitMs: number;
  /** The connection's name, as the server lists it. */
  name: string;
  /** Where the packet stream's and the consumer's kept settings (not this host's) are warned. */
  log?: Logger;
}

export interface PacketRead {
  /** The packets, each receiver's in its queue's order. */
  packets: QueuedPacket[];
  messages: number;
  /** Messages left for a later run (`before`), handed back. */
  held: number;
  /** Messages whose place an earlier run had already read (published again): acknowledged, not read. */
  duplicates: number;
  /** `reached` moved on by what was read: store it with the consumer's state before acknowledge(). */
  reached: Record<string, QueuePlace>;
  /** Acknowledges what was read (and the duplicates), hands back the held messages. Call once the state is stored. */
  acknowledge(): Promise<void>;
  /** Hands every message back at once (a dry run), rather than after ack_wait. */
  release(): Promise<void>;
}

interface Fetched {
  seq: number;
  subject: string;
  reply: string;
  place: QueuePlace | undefined;
  data: Uint8Array;
}

/** A payload as a Buffer over the same bytes. */
const bufferOf = (data: Uint8Array): Buffer => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/**
 * The subject a delivery's acknowledgement goes to. The nats package's JsMsg has it (`reply`) but does
 * not declare it; acknowledging by it lets a run close its connection after reading and acknowledge later.
 */
function replyOf(message: JsMsg): string {
  const reply = (message as JsMsg & { reply?: unknown }).reply;
  if (typeof reply !== 'string' || !reply.startsWith('$JS.ACK.')) throw new Error(`message ${message.seq} on ${message.subject} has no acknowledgement subject`);
  return reply;
}

function placeOf(headers: MsgHdrs | undefined): QueuePlace | undefined {
  const segment = headers?.get(SEGMENT_HEADER);
  const offset = Number(headers?.get(OFFSET_HEADER));
  return segment && Number.isInteger(offset) ? { segment, offset } : undefined;
}

/**
 * Reads `kind`'s pending messages through its durable consumer, in stream order, and closes the
 * connection: nothing is acknowledged until acknowledge() (a new connection; an acknowledgement is a
 * publish to the delivery's reply subject). A run that never acknowledges leaves every message for a
 * delivery after ack_wait.
 */
export async function readPacketStream(config: Config, kind: PacketKind, options: PacketReadOptions): Promise<PacketRead> {
  const settings = streamSettings(config);
  let connection: NatsConnection;
  try {
    connection = await connect(connectionOptions(config, settings, options.name));
  } catch (error) {
    throw new Error(`cannot read the XRootD packet stream: no [stream] server answered (${settings.servers.join(', ')}): ${(error as Error).message}`);
  }
  const fetched: Fetched[] = [];
  try {
    const manager = await connection.jetstreamManager();
    await preparePacketStream(manager, settings, options.log, packetConsumer(settings, kind, options.ackWaitMs));
    const consumer = await connection.jetstream().consumers.get(packetStreamName(settings), packetConsumerName(kind));
    let packets = 0;
    let bytes = 0;
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_READ_BYTES;
    for (;;) {
      if (options.signal?.aborted) throw new Error('deadline reached while reading the packet stream');
      const batch = await consumer.fetch({ max_messages: 256, expires: 1000 });
      let count = 0;
      for await (const message of batch) {
        count += 1;
        fetched.push({ seq: message.seq, subject: message.subject, reply: replyOf(message), place: placeOf(message.headers), data: message.data });
        packets += [...decodeRecords(bufferOf(message.data))].length;
        bytes += message.data.byteLength;
      }
      // The messages not fetched come after these in every receiver's order: the next run reads them.
      if (count === 0 || bytes >= maxBytes || (options.maxPackets !== undefined && packets >= options.maxPackets)) break;
    }
    // Messages given to an earlier run that did not commit are not given again before ack_wait: reading
    // later messages of the same receivers now would break their order, and skip those as read.
    const info = await manager.consumers.info(packetStreamName(settings), packetConsumerName(kind));
    const waiting = info.num_ack_pending - new Set(fetched.map((message) => message.seq)).size;
    if (waiting > 0) {
      for (const message of fetched) connection.publish(message.reply, '-NAK');
      await connection.flush();
      throw new EarlierRunPending(
        `${waiting} messages of consumer ${packetConsumerName(kind)} were given to an earlier run that did not commit; they are given again ${(info.config.ack_wait ?? nanos(options.ackWaitMs)) / 1e9} s (the consumer's ack_wait) after it: this run reads nothing, the next one reads them in order`,
      );
    }
  } finally {
    await connection.close();
  }

  // Stream order is each receiver's publish order; a delivered-again copy is read once.
  fetched.sort((a, b) => a.seq - b.seq);
  const reached = { ...options.reached };
  const packets: QueuedPacket[] = [];
  const acknowledged: string[] = [];
  const handedBack: string[] = [];
  const heldSubjects = new Set<string>();
  let previous: { seq: number; answers: string[] } | undefined;
  let messages = 0;
  let duplicates = 0;
  let heldCount = 0;
  for (const message of fetched) {
    // nats-server before 2.11 can deliver a message twice in one pull (see writer/writer.ts): a copy is answered as the first one was.
    if (message.seq === previous?.seq) {
      previous.answers.push(message.reply);
      continue;
    }
    messages += 1;
    const records = [...decodeRecords(bufferOf(message.data))];
    if (heldSubjects.has(message.subject) || (options.before !== undefined && records.some((record) => record.receivedMs >= options.before!))) {
      // Later messages of the same receiver wait too, so its packets keep their order.
      heldSubjects.add(message.subject);
      heldCount += 1;
      handedBack.push(message.reply);
      previous = { seq: message.seq, answers: handedBack };
      continue;
    }
    if (message.place && !isAfter(message.place, reached[message.subject])) {
      duplicates += 1;
      acknowledged.push(message.reply);
      previous = { seq: message.seq, answers: acknowledged };
      continue;
    }
    for (const record of records) packets.push({ receivedMs: record.receivedMs, sender: record.sender, packet: record.packet });
    if (message.place) reached[message.subject] = message.place;
    acknowledged.push(message.reply);
    previous = { seq: message.seq, answers: acknowledged };
  }

  return {
    packets,
    messages,
    held: heldCount,
    duplicates,
    reached,
    acknowledge: () => answer(config, settings, options.name, acknowledged, handedBack),
    release: () => answer(config, settings, options.name, [], [...acknowledged, ...handedBack]),
  };
}

/** Acknowledges (`+ACK`) and hands back (`-NAK`) deliveries by their reply subjects, on a connection of its own. */
async function answer(config: Config, settings: StreamSettings, name: string, acknowledged: string[], handedBack: string[]): Promise<void> {
  if (acknowledged.length === 0 && handedBack.length === 0) return;
  const connection = await connect(connectionOptions(config, settings, name));
  try {
    for (const reply of acknowledged) connection.publish(reply, '+ACK');
    for (const reply of handedBack) connection.publish(reply, '-NAK');
    await connection.flush();
  } finally {
    await connection.close();
  }
}

/**
 * What a receiver's forwarder (lib/queue/forwarder.ts) needs to publish `kind`'s packets as `receiver`:
 * its subject, and a connection to [stream] that makes the packet stream and publishes one message,
 * resolving once JetStream stored it (a duplicate counts as stored).
 */
export function packetForwarding(config: Config, kind: PacketKind, receiver: string, log?: Logger) {
  const settings = streamSettings(config);
  let warned = false;
  return {
    subject: packetSubject(settings, kind, receiver),
    receiver,
    headers: packetHeaders,
    connect: async () => {
      // A connection made again after a failure warns no more: once per receiver.
      const { connection } = await connectPacketStream(config, `xrootd-${kind}-receiver ${receiver}`, warned ? undefined : log);
      warned = true;
      const jetstream = connection.jetstream();
      return {
        connection,
        publish: async (subject: string, data: Buffer, headers: MsgHdrs): Promise<void> => {
          await jetstream.publish(subject, data, { headers, timeout: settings.publishTimeoutMs, expect: { streamName: packetStreamName(settings) } });
        },
      };
    },
  };
}
