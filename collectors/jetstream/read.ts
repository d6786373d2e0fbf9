/**
 * Reads the stream route's JetStream state through the nats client's JetStreamManager: the stream of
 * [stream], its dead-letter stream and the writers' consumer, and the XRootD packet stream with its
 * accounting consumers when it exists. It only reads: a stream or consumer that does not exist is
 * reported, never made.
 */
import { connect, type ConsumerInfo, type NatsConnection, type NatsError, type StreamInfo } from 'nats';
import type { Config } from '../../lib/config/config';
import { SourceFailure } from '../../lib/documents/failures';
import { natsFailureClass } from '../../lib/stream/failures';
import { PACKET_SECTIONS, packetConsumerName, packetStreamName, type PacketKind } from '../../lib/stream/packetStreams';
import { connectionOptions, deadLetterStreamName, streamSettings, type StreamSettings } from '../../lib/stream/settings';

/** JetStream's error codes for "stream not found" and "consumer not found". */
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

export interface JetStreamReading {
  settings: StreamSettings;
  stream: StreamInfo;
  /** Undefined when the dead-letter stream does not exist (no writer has run yet). */
  deadLetters?: StreamInfo;
  /** Undefined when the consumer does not exist (no writer has run yet). */
  consumer?: ConsumerInfo;
  /** The XRootD packet stream; undefined when it does not exist (no receiver has `queue = stream`). */
  packetStream?: StreamInfo;
  /** The packet stream's accounting consumers that exist, in PACKET_SECTIONS order. */
  packetConsumers: ConsumerInfo[];
  /** What could not be read without spoiling the rest. */
  problems: string[];
}

const errorCode = (error: unknown): number | undefined => (error as NatsError).api_error?.err_code;

/**
 * Connects to [stream]'s servers as `name` and reads the stream, its dead letters and `consumer`. A
 * server that cannot be reached, a JetStream that does not answer in `timeoutMs`, or a stream that does
 * not exist throws a SourceFailure naming the servers and the class (schemas/failures.json).
 */
export async function readJetStream(config: Config, options: { name: string; consumer: string; timeoutMs: number; signal: AbortSignal }): Promise<JetStreamReading> {
  const settings = streamSettings(config);
  const where = `JetStream at ${settings.servers.join(', ')}`;
  const failure = (error: unknown, doing: string): SourceFailure => {
    if (options.signal.aborted) return new SourceFailure('aborted', `${where}: stopped at the job's deadline while ${doing}`);
    const failureClass = natsFailureClass(error);
    return new SourceFailure(failureClass, `${where}: ${doing} failed (${failureClass}): ${(error as Error).message}`);
  };
  let connection: NatsConnection;
  try {
    connection = await connect({ ...connectionOptions(config, settings, options.name), timeout: options.timeoutMs });
  } catch (error) {
    throw failure(error, 'connecting');
  }
  const abort = (): void => void connection.close();
  options.signal.addEventListener('abort', abort, { once: true });
  try {
    let doing = 'asking JetStream for its account';
    try {
      const manager = await connection.jetstreamManager({ timeout: options.timeoutMs });
      doing = `reading stream ${settings.name}`;
      const stream = await manager.streams.info(settings.name).catch((error: unknown) => {
        if (errorCode(error) === STREAM_NOT_FOUND) {
          throw new SourceFailure('not_found', `${where}: stream ${settings.name} does not exist: no gateway or writer of the stream route has made it yet ([stream] name)`);
        }
        throw error;
      });
      const problems: string[] = [];
      const deadLetterName = deadLetterStreamName(settings);
      doing = `reading stream ${deadLetterName}`;
      const deadLetters = await manager.streams.info(deadLetterName).catch((error: unknown) => {
        if (errorCode(error) !== STREAM_NOT_FOUND) throw error;
        problems.push(`${where}: the dead-letter stream ${deadLetterName} does not exist (made by the first gateway or writer)`);
        return undefined;
      });
      doing = `reading consumer ${options.consumer} of stream ${settings.name}`;
      const consumer = await manager.consumers.info(settings.name, options.consumer).catch((error: unknown) => {
        if (errorCode(error) !== CONSUMER_NOT_FOUND) throw error;
        problems.push(`${where}: stream ${settings.name} has no consumer ${options.consumer}: no writer ([writer] consumer) has started yet`);
        return undefined;
      });
      const packetName = packetStreamName(settings);
      doing = `reading stream ${packetName}`;
      const packetStream = await manager.streams.info(packetName).catch((error: unknown) => {
        if (errorCode(error) !== STREAM_NOT_FOUND) throw error;
        return undefined;
      });
      const packetConsumers: ConsumerInfo[] = [];
      for (const kind of packetStream ? (Object.keys(PACKET_SECTIONS) as PacketKind[]) : []) {
        const name = packetConsumerName(kind);
        doing = `reading consumer ${name} of stream ${packetName}`;
        const info = await manager.consumers.info(packetName, name).catch((error: unknown) => {
          if (errorCode(error) !== CONSUMER_NOT_FOUND) throw error;
          return undefined;
        });
        if (info) packetConsumers.push(info);
      }
      return { settings, stream, deadLetters, consumer, packetStream, packetConsumers, problems };
    } catch (error) {
      if (error instanceof SourceFailure) throw error;
      throw failure(error, doing);
    }
  } finally {
    options.signal.removeEventListener('abort', abort);
    await connection.close();
  }
}
