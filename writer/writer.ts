/**
 * A writer: one member of the durable pull consumer the writers share. It fetches batches, writes each
 * producer's lines to the InfluxDB instance that holds it, and acknowledges a message only once InfluxDB
 * stored its point (or, refused for good, once it is in the dead-letter stream). See writer/README.md.
 */
import { headers as natsHeaders, type Consumer, type JetStreamClient, type JetStreamManager, type JsMsg, type NatsConnection } from 'nats';
import { databaseFor } from '../lib/documents/interpret';
import { InfluxError } from '../lib/influx/influxdb';
import type { InfluxInstance, InfluxInstances } from '../lib/influx/instances';
import { writeIsolatingRefused } from '../lib/influx/refusedLines';
import type { Logger } from '../lib/run/log';
import {
  decodeMessage,
  deadLetterPrefix,
  MESSAGE_ID_HEADER,
  ORIGIN_SEQUENCE_HEADER,
  ORIGIN_SUBJECT_HEADER,
  PRODUCER_HEADER,
  REASON_HEADER,
  type StreamPoint,
} from '../lib/stream/messages';
import { deadLetterStreamName, type StreamSettings } from '../lib/stream/settings';
import { describeConsumerDifferences, describeDifferences, ensureConsumers, ensureStreams, type WantedConsumer } from '../lib/stream/streams';
import { WriterMetrics } from './metrics';
import type { WriterSettings } from './settings';
import { retryUntilReady, sleep } from './startup';

/** The durable consumer all writers share, as [writer] describes it (on the whole stream). */
export function writerConsumer(stream: StreamSettings, settings: WriterSettings): WantedConsumer {
  return {
    stream: stream.name,
    name: settings.consumer,
    ackWaitMs: settings.ackWaitMs,
    maxAckPending: settings.maxAckPending,
    keys: { ack_wait: '[writer] ack_wait', max_ack_pending: '[writer] max_ack_pending', filter_subject: 'the writer (the whole stream)' },
  };
}

export interface WriterOptions {
  connection: NatsConnection;
  stream: StreamSettings;
  settings: WriterSettings;
  instances: InfluxInstances;
  log: Logger;
}

interface Item {
  message: JsMsg;
  point: Required<StreamPoint>;
}

/** A message this writer stored and acknowledged: what a second delivery of its sequence is compared with. */
interface StoredPoint {
  producer: string;
  line: string;
}

/** How many batches' worth of stored and acknowledged messages a writer remembers by stream sequence (Writer.handle). */
const REMEMBERED_BATCHES = 4;

interface Group {
  instance: InfluxInstance;
  database: string;
  items: Item[];
}

/** What the writer does with a batch, for tests and logs. */
export interface BatchOutcome {
  written: number;
  deadLetters: number;
  /** Messages handed back for a later redelivery (InfluxDB or the dead-letter stream unavailable). */
  retried: number;
}

/** A header value on one line: NATS headers end at a line break. */
const oneLine = (text: string): string => text.replace(/[\r\n]+/g, ' ').trim();

export class Writer {
  readonly metrics = new WriterMetrics();
  private readonly jetstream: JetStreamClient;
  private manager: JetStreamManager | undefined;
  private consumer: Consumer | undefined;
  /** Databases created (with their retention policies) on each instance, or being created. */
  private readonly databases = new Map<string, Promise<void>>();
  /** Instances whose last write failed: their recovery is logged once. */
  private readonly failing = new Set<string>();
  /** Stream sequence → producer and line of the messages this writer stored and acknowledged lately (oldest first). */
  private readonly stored = new Map<number, StoredPoint>();

  constructor(private readonly options: WriterOptions) {
    this.jetstream = options.connection.jetstream();
  }

  /** Whether the stream and consumer settings kept (not this host's) were logged: once per writer. */
  private keptLogged = false;

  /**
   * Creates the streams and the durable consumer of [writer] when missing; existing ones are kept as
   * they are, their differences warned once (`./run.sh stream-setup` applies them). While JetStream
   * does not answer (no leader yet, a timeout, a server down) it tries again with a capped backoff
   * (writer/startup.ts); a StreamSetupError no retry fixes is thrown. False when `signal` aborted first.
   */
  async prepare(signal: AbortSignal = new AbortController().signal): Promise<boolean> {
    const ready = await retryUntilReady(`preparing stream ${this.options.stream.name} and consumer ${this.options.settings.consumer}`, () => this.prepareOnce(), { signal, log: this.options.log });
    return ready === true;
  }

  private async prepareOnce(): Promise<true> {
    const { stream, settings } = this.options;
    this.manager = await this.options.connection.jetstreamManager();
    const streams = await ensureStreams(this.manager, stream);
    const consumers = await ensureConsumers(this.manager, stream, [writerConsumer(stream, settings)]);
    if (!this.keptLogged) {
      if (streams.differences.length) this.options.log.warn(describeDifferences(streams.differences));
      if (consumers.differences.length) this.options.log.warn(describeConsumerDifferences(consumers.differences));
    }
    this.keptLogged = true;
    this.consumer = await this.jetstream.consumers.get(stream.name, settings.consumer);
    return true;
  }

  /** The consumer's backlog: messages not delivered yet plus those delivered and not acknowledged. */
  async lag(): Promise<number> {
    const manager = this.manager ?? (await this.options.connection.jetstreamManager());
    const info = await manager.consumers.info(this.options.stream.name, this.options.settings.consumer);
    const lag = info.num_pending + info.num_ack_pending;
    this.metrics.lag.set(lag);
    return lag;
  }

  /** Fetches and writes batches until `signal` aborts; the batch in hand is finished and acknowledged first. */
  async run(signal: AbortSignal): Promise<void> {
    if (!this.consumer && !(await this.prepare(signal))) return;
    let fetchFailed = false;
    while (!signal.aborted) {
      let messages: JsMsg[];
      try {
        messages = await this.fetch(signal);
        if (fetchFailed) this.options.log.info(`fetching from stream ${this.options.stream.name} works again`);
        fetchFailed = false;
      } catch (error) {
        if (!fetchFailed) this.options.log.warn(`cannot fetch from stream ${this.options.stream.name} (retrying every ${this.options.settings.retryDelayMs} ms): ${(error as Error).message}`);
        fetchFailed = true;
        await sleep(this.options.settings.retryDelayMs, signal);
        continue;
      }
      if (messages.length) await this.handle(messages);
    }
  }

  /** One batch: full, or what came within batch_wait, or what came before `signal` aborted. */
  private async fetch(signal: AbortSignal): Promise<JsMsg[]> {
    const consumer = this.consumer as Consumer;
    const messages: JsMsg[] = [];
    const batch = await consumer.fetch({ max_messages: this.options.settings.batchSize, expires: this.options.settings.batchWaitMs });
    // Stopping ends the loop with what came so far; whatever JetStream still sends is delivered again after ack_wait.
    const stop = (): void => batch.stop();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const message of batch) messages.push(message);
    } finally {
      signal.removeEventListener('abort', stop);
    }
    return messages;
  }

  /**
   * Writes one fetched batch, acknowledges what is stored or dead-lettered, and hands the rest back with a delay.
   *
   * A message is one stream sequence, handled once however many times it came. nats-server before 2.11
   * (nats-io/nats-server#5305) can deliver one message twice in a row when a pull request expires while
   * it sends redeliveries: once from its redelivery queue (delivery count 2 or more), once more as if new
   * (delivery count 1, the consumer's position stepped back over it). Both copies can land in one batch,
   * or the second in the next one: the copies of a batch are written and counted once, acknowledged
   * together, and a message whose point this writer stored and acknowledged lately is acknowledged
   * again without a second write.
   */
  async handle(messages: JsMsg[]): Promise<BatchOutcome> {
    const stop = this.metrics.writeSeconds.startTimer();
    const outcome: BatchOutcome = { written: 0, deadLetters: 0, retried: 0 };
    const groups = new Map<string, Group>();
    const refused: Array<{ message: JsMsg; producer?: string; reason: string }> = [];
    // Stream sequence → the deliveries of that message in this batch, the first one handled for all.
    const deliveries = new Map<number, JsMsg[]>();
    for (const message of messages) {
      const copies = deliveries.get(message.seq);
      if (copies) copies.push(message);
      else deliveries.set(message.seq, [message]);
    }
    const acknowledge = (message: JsMsg): void => {
      for (const copy of deliveries.get(message.seq) ?? [message]) copy.ack();
    };
    for (const [sequence, copies] of deliveries) {
      const message = copies[0];
      if (copies.some((copy) => copy.info.redeliveryCount > 1)) this.metrics.redeliveries.inc();
      let point: Required<StreamPoint>;
      try {
        point = decodeMessage(this.options.stream.subjectPrefix, message);
      } catch (error) {
        refused.push({ message, reason: `not a message of the stream's format: ${(error as Error).message}` });
        continue;
      }
      const stored = this.stored.get(sequence);
      if (stored !== undefined && stored.producer === point.producer && stored.line === point.line) {
        // Stored and acknowledged by this writer already: that acknowledgement was lost, or came after this copy left.
        acknowledge(message);
        continue;
      }
      const instance = this.options.instances.forProducer(point.producer);
      const database = databaseFor(point.producer);
      const key = `${instance.name}\u0000${database}`;
      const group = groups.get(key) ?? { instance, database, items: [] };
      group.items.push({ message, point });
      groups.set(key, group);
    }
    await Promise.all(
      [...groups.values()].map(async (group) => {
        const refusedItems: Array<{ item: Item; reason: string }> = [];
        try {
          await this.writeChunk(group, group.items, refusedItems);
        } catch (error) {
          this.unavailable(group.instance, error);
          for (const item of group.items) this.retryLater(item.message);
          outcome.retried += group.items.length;
          return;
        }
        this.available(group.instance);
        const refusedMessages = new Set(refusedItems.map(({ item }) => item.message));
        for (const item of group.items) {
          if (refusedMessages.has(item.message)) continue;
          acknowledge(item.message);
          this.remember(item);
          this.metrics.pointsWritten.inc({ producer: item.point.producer });
          outcome.written++;
        }
        for (const { item, reason } of refusedItems) refused.push({ message: item.message, producer: item.point.producer, reason: `InfluxDB refused the point: ${reason}` });
      }),
    );
    for (const letter of refused) {
      if (await this.deadLetter(letter.message, letter.producer, letter.reason, acknowledge)) outcome.deadLetters++;
      else outcome.retried++;
    }
    // The acknowledgements leave before the next fetch (and before an exit after SIGTERM). A connection
    // lost meanwhile (its server killed) rejects the flush: the acknowledgements not sent yet are lost,
    // their messages come again after ack_wait and are written again as the same points.
    await this.options.connection.flush().catch((error: Error) => this.options.log.warn(`the acknowledgements of a batch may not have reached the stream, its messages may come again: ${error.message}`));
    stop();
    return outcome;
  }

  /** Remembers a stored and acknowledged message, forgetting the oldest beyond REMEMBERED_BATCHES batches. */
  private remember(item: Item): void {
    this.stored.delete(item.message.seq);
    // The point's own strings: no copy per message.
    this.stored.set(item.message.seq, { producer: item.point.producer, line: item.point.line });
    // Trimmed a batch at a time rather than at each message.
    const limit = REMEMBERED_BATCHES * this.options.settings.batchSize;
    if (this.stored.size <= limit + this.options.settings.batchSize) return;
    for (const sequence of this.stored.keys()) {
      if (this.stored.size <= limit) break;
      this.stored.delete(sequence);
    }
  }

  private unavailable(instance: InfluxInstance, error: unknown): void {
    this.metrics.writeErrors.inc({ kind: error instanceof InfluxError && !error.unreachable ? 'refused' : 'unreachable' });
    if (this.failing.has(instance.name)) return;
    this.failing.add(instance.name);
    this.options.log.warn(`InfluxDB ${instance.settings.url} (${instance.section}) cannot store: its messages stay in the stream and come again: ${(error as Error).message}`);
  }

  private available(instance: InfluxInstance): void {
    if (this.failing.delete(instance.name)) this.options.log.info(`InfluxDB ${instance.settings.url} (${instance.section}) stores again`);
  }

  /** A nak with a delay that doubles at each delivery, so an unavailable InfluxDB is not hammered while the stream holds the backlog. */
  private retryLater(message: JsMsg): void {
    const { retryDelayMs, maxRetryDelayMs } = this.options.settings;
    const deliveries = Math.max(1, message.info.redeliveryCount);
    message.nak(Math.min(retryDelayMs * 2 ** Math.min(deliveries - 1, 30), maxRetryDelayMs));
  }

  private async ensureDatabase(instance: InfluxInstance, database: string): Promise<void> {
    const key = `${instance.name}\u0000${database}`;
    let pending = this.databases.get(key);
    if (!pending) {
      // The same databases and retention policies as the gateway's direct route makes.
      pending = instance.client.ensureDatabase(database, instance.settings.durations);
      this.databases.set(key, pending);
      pending.catch(() => this.databases.delete(key));
    }
    await pending;
  }

  private async writeLines(group: Group, lines: string): Promise<void> {
    await this.ensureDatabase(group.instance, group.database);
    try {
      await group.instance.client.write(group.database, lines);
    } catch (error) {
      if (!(error instanceof InfluxError && error.status === 404 && /database not found/.test(error.body))) throw error;
      // Dropped behind our back: create it again.
      this.databases.delete(`${group.instance.name}\u0000${group.database}`);
      await this.ensureDatabase(group.instance, group.database);
      await group.instance.client.write(group.database, lines);
    }
  }

  /** Writes `items`; those InfluxDB refused for their content go to `refused` (writeIsolatingRefused), any other failure is thrown. */
  private async writeChunk(group: Group, items: Item[], refused: Array<{ item: Item; reason: string }>): Promise<void> {
    const lines = await writeIsolatingRefused(
      items.length,
      (from, to) => items.slice(from, to).map((item) => item.point.line).join('\n'),
      (body) => this.writeLines(group, body),
    );
    for (const { index, reason } of lines) refused.push({ item: items[index], reason });
  }

  /**
   * Moves a message to the dead-letter stream, on `<prefix>_dead.<producer token>` with its reason, then
   * acknowledges it. False when the dead-letter stream did not store it: the message comes again later.
   */
  private async deadLetter(message: JsMsg, producer: string | undefined, reason: string, acknowledge: (message: JsMsg) => void): Promise<boolean> {
    const { stream } = this.options;
    const headers = natsHeaders();
    const id = message.headers?.get(MESSAGE_ID_HEADER) || `${stream.name}-${message.seq}`;
    headers.set(MESSAGE_ID_HEADER, id);
    if (producer !== undefined) headers.set(PRODUCER_HEADER, oneLine(producer));
    headers.set(REASON_HEADER, oneLine(reason));
    headers.set(ORIGIN_SUBJECT_HEADER, message.subject);
    headers.set(ORIGIN_SEQUENCE_HEADER, String(message.seq));
    const subject = `${deadLetterPrefix(stream.subjectPrefix)}${message.subject.slice(stream.subjectPrefix.length)}`;
    try {
      await this.jetstream.publish(subject, message.data, { headers, timeout: stream.publishTimeoutMs, expect: { streamName: deadLetterStreamName(stream) } });
    } catch (error) {
      this.options.log.warn(`cannot move message ${message.seq} (${message.subject}) to stream ${deadLetterStreamName(stream)}, it comes again later: ${(error as Error).message}`);
      this.retryLater(message);
      return false;
    }
    this.options.log.warn(`message ${message.seq} (${message.subject}) moved to stream ${deadLetterStreamName(stream)}: ${oneLine(reason)}`);
    this.metrics.deadLetters.inc({ producer: producer ?? '' });
    acknowledge(message);
    return true;
  }
}
