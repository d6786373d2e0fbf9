/**
 * A writer: one member of the durable pull consumer the writers share. It fetches batches, writes each
 * producer's lines to the InfluxDB instance that holds it, and acknowledges a message only once InfluxDB
 * stored its point (or, refused for good, once it is in the dead-letter stream). See writer/README.md.
 */
import { AckPolicy, DeliverPolicy, headers as natsHeaders, nanos, type Consumer, type JetStreamClient, type JetStreamManager, type JsMsg, type NatsConnection, type NatsError } from 'nats';
import { databaseFor } from '../lib/documents/interpret';
import { InfluxError } from '../lib/influx/influxdb';
import type { InfluxInstance, InfluxInstances } from '../lib/influx/instances';
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
import { ensureStreams } from '../lib/stream/streams';
import { WriterMetrics } from './metrics';
import type { WriterSettings } from './settings';

/** JetStream's error code for "consumer not found". */
const CONSUMER_NOT_FOUND = 10014;

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

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

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

  constructor(private readonly options: WriterOptions) {
    this.jetstream = options.connection.jetstream();
  }

  /** Creates or updates the streams and the durable consumer of [writer]. */
  async prepare(): Promise<void> {
    const { stream, settings } = this.options;
    this.manager = await this.options.connection.jetstreamManager();
    await ensureStreams(this.manager, stream);
    const wanted = { ack_wait: nanos(settings.ackWaitMs), max_ack_pending: settings.maxAckPending };
    try {
      const existing = await this.manager.consumers.info(stream.name, settings.consumer);
      if (existing.config.ack_wait !== wanted.ack_wait || existing.config.max_ack_pending !== wanted.max_ack_pending) {
        await this.manager.consumers.update(stream.name, settings.consumer, wanted);
      }
    } catch (error) {
      if ((error as NatsError).api_error?.err_code !== CONSUMER_NOT_FOUND) throw error;
      await this.manager.consumers.add(stream.name, {
        ...wanted,
        durable_name: settings.consumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        // Never given up on: a refused point goes to the dead letters, an unavailable InfluxDB is waited for.
        max_deliver: -1,
      });
    }
    this.consumer = await this.jetstream.consumers.get(stream.name, settings.consumer);
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
    if (!this.consumer) await this.prepare();
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

  /** Writes one fetched batch, acknowledges what is stored or dead-lettered, and hands the rest back with a delay. */
  async handle(messages: JsMsg[]): Promise<BatchOutcome> {
    const stop = this.metrics.writeSeconds.startTimer();
    const outcome: BatchOutcome = { written: 0, deadLetters: 0, retried: 0 };
    const groups = new Map<string, Group>();
    const refused: Array<{ message: JsMsg; producer?: string; reason: string }> = [];
    for (const message of messages) {
      if (message.info.redeliveryCount > 1) this.metrics.redeliveries.inc();
      let point: Required<StreamPoint>;
      try {
        point = decodeMessage(this.options.stream.subjectPrefix, message);
      } catch (error) {
        refused.push({ message, reason: `not a message of the stream's format: ${(error as Error).message}` });
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
          item.message.ack();
          this.metrics.pointsWritten.inc({ producer: item.point.producer });
          outcome.written++;
        }
        for (const { item, reason } of refusedItems) refused.push({ message: item.message, producer: item.point.producer, reason: `InfluxDB refused the point: ${reason}` });
      }),
    );
    for (const letter of refused) {
      if (await this.deadLetter(letter.message, letter.producer, letter.reason)) outcome.deadLetters++;
      else outcome.retried++;
    }
    // The acknowledgements leave before the next fetch (and before an exit after SIGTERM).
    await this.options.connection.flush();
    stop();
    return outcome;
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

  /**
   * Writes `items`; a refusal for their content (400: a type conflict, a bad line; 413: too large) is
   * split in halves until each refused line stands alone. InfluxDB 1.x stores the other lines of a
   * partial write without naming the refused ones; writing them again is idempotent. Any other
   * failure means InfluxDB cannot store now: it is thrown.
   */
  private async writeChunk(group: Group, items: Item[], refused: Array<{ item: Item; reason: string }>): Promise<void> {
    try {
      await this.writeLines(group, items.map((item) => item.point.line).join('\n'));
    } catch (error) {
      if (!(error instanceof InfluxError) || (error.status !== 400 && error.status !== 413)) throw error;
      if (items.length === 1) {
        refused.push({ item: items[0], reason: error.body.trim() || error.message });
        return;
      }
      const middle = Math.ceil(items.length / 2);
      await this.writeChunk(group, items.slice(0, middle), refused);
      await this.writeChunk(group, items.slice(middle), refused);
    }
  }

  /**
   * Moves a message to the dead-letter stream, on `<prefix>_dead.<producer token>` with its reason, then
   * acknowledges it. False when the dead-letter stream did not store it: the message comes again later.
   */
  private async deadLetter(message: JsMsg, producer: string | undefined, reason: string): Promise<boolean> {
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
    message.ack();
    return true;
  }
}
