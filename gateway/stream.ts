/**
 * The gateway's side of the stream route: one connection to [stream] (lib/stream), made at start-up
 * in the background and made again whenever it is lost for good, so that a gateway that cannot reach
 * the stream still starts and answers 503 until it can.
 */
import type { JetStreamManager } from 'nats';
import type { Config } from '../lib/config/config';
import type { Logger } from '../lib/run/log';
import { connectStream, type StreamClient } from '../lib/stream/client';
import { hasMajority } from '../lib/stream/replicas';
import { describeDifferences } from '../lib/stream/streams';
import type { StreamPoint } from '../lib/stream/messages';
import { StreamPublishError, type PublishResult } from '../lib/stream/publish';

/** The first wait between two connection attempts, doubled after each failure up to MAX_RETRY_MS. */
const FIRST_RETRY_MS = 500;
/** Bounded: a JetStream API call can time out for seconds while a node is down, and the gateway must come back soon after. */
const MAX_RETRY_MS = 10_000;
/** How long /ping waits for JetStream's answer about the stream. */
const PING_TIMEOUT_MS = 2000;

/** What the gateway needs of the stream: publish a request's documents, tell /ping its state, close. */
export interface StreamPublisher {
  /** Resolves once JetStream stored every point; a StreamPublishError, or StreamUnavailableError while not connected. */
  publish(points: readonly StreamPoint[]): Promise<PublishResult>;
  /** Undefined when the stream answers, else why not (for /ping). */
  problem(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Not connected to [stream] (yet): the request is answered 503, nothing acknowledged. */
export class StreamUnavailableError extends Error {
  override name = 'StreamUnavailableError';
}

/** A StreamPublisher on [stream] of `config`, connecting as `gateway <pid>`. */
/** How long /ping reports a publish that failed for want of the stream, unless one succeeds before. */
const FAILED_PUBLISH_MEMORY_MS = 10_000;

export class GatewayStream implements StreamPublisher {
  private client: StreamClient | undefined;
  private manager: JetStreamManager | undefined;
  private lastError = 'not connected yet';
  private closing = false;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  /** Why the last publish could not be stored, and when; forgotten once one is, or FAILED_PUBLISH_MEMORY_MS later. */
  private failedPublish: { reason: string; atMs: number } | undefined;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly connect: (config: Config, name: string) => Promise<StreamClient> = connectStream,
  ) {}

  /** Starts connecting in the background; returns at once. */
  start(): void {
    this.loop ??= this.connectLoop();
  }

  private async connectLoop(): Promise<void> {
    let wait = FIRST_RETRY_MS;
    let failures = 0;
    /** The reason last warned about: each distinct one is a warning, its repeats only debug lines. */
    let warned: string | undefined;
    while (!this.closing) {
      try {
        const client = await this.connect(this.config, `gateway ${process.pid}`);
        if (this.closing) {
          await client.close();
          return;
        }
        this.manager = await client.connection.jetstreamManager({ timeout: PING_TIMEOUT_MS, checkAPI: false });
        this.client = client;
        this.log.info(`connected to stream ${client.settings.name} on ${client.settings.servers.join(', ')}${failures ? ` after ${failures} failed attempts` : ''}`);
        if (client.kept.length) this.log.warn(describeDifferences(client.kept));
        failures = 0;
        warned = undefined;
        wait = FIRST_RETRY_MS;
        // The client reconnects by itself for as long as it lives; it closes for good only on errors
        // such as refused credentials. Then the gateway connects afresh, as at start-up.
        const closed = await client.connection.closed();
        this.client = undefined;
        this.manager = undefined;
        if (this.closing) return;
        this.lastError = `the connection closed: ${closed instanceof Error ? closed.message : 'without an error'}`;
        this.log.warn(`stream connection lost for good, connecting again: ${this.lastError}`);
      } catch (error) {
        failures++;
        this.lastError = (error as Error).message;
        if (this.lastError !== warned) {
          warned = this.lastError;
          this.log.warn(`cannot connect to the stream (answering 503 until it can; trying again every ${MAX_RETRY_MS / 1000} s at most): ${this.lastError}`);
        } else this.log.debug(`stream connection attempt ${failures} failed: ${this.lastError}`);
      }
      if (this.closing) return;
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        setTimeout(resolve, wait).unref();
      });
      wait = Math.min(wait * 2, MAX_RETRY_MS);
    }
  }

  async publish(points: readonly StreamPoint[]): Promise<PublishResult> {
    if (!this.client) throw new StreamUnavailableError(`not connected to the stream: ${this.lastError}`);
    try {
      const result = await this.client.publish(points);
      this.failedPublish = undefined;
      return result;
    } catch (error) {
      // too_large refuses one document; every other reason means the stream cannot store now.
      if (error instanceof StreamPublishError && error.reason !== 'too_large') this.failedPublish = { reason: error.message, atMs: Date.now() };
      throw error;
    }
  }

  async problem(): Promise<string | undefined> {
    if (!this.client || !this.manager) return `not connected: ${this.lastError}`;
    // What POSTs meet is what /ping says, for a while: a node that lost the majority may still answer stream info
    // as if it could store. Only for a while, or a load balancer that stopped sending would never see it recover.
    if (this.failedPublish && Date.now() - this.failedPublish.atMs < FAILED_PUBLISH_MEMORY_MS) return `the last publish failed: ${this.failedPublish.reason}`;
    try {
      const info = await this.manager.streams.info(this.client.settings.name);
      // A node that lost the majority still answers stream info (naming itself leader for a while) but stores nothing.
      if (!hasMajority(info.cluster)) return `stream ${this.client.settings.name} has no majority of its ${info.config.num_replicas} replicas (leader ${info.cluster?.leader || 'none'}): it cannot store`;
      return undefined;
    } catch (error) {
      return `stream ${this.client.settings.name} does not answer: ${(error as Error).message}`;
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.wakeUp?.();
    const client = this.client;
    this.client = undefined;
    await client?.close().catch((error: Error) => this.log.warn(`closing the stream connection: ${error.message}`));
    await this.loop;
  }
}
