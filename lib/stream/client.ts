import { connect, type NatsConnection } from 'nats';
import type { Config } from '../config/config';
import type { StreamPoint } from './messages';
import { publishPoints, type PublishResult } from './publish';
import { connectionOptions, streamSettings, type StreamSettings } from './settings';
import { ensureStreams, type StreamDifference } from './streams';

/** A publisher's side of [stream]: connected, its streams made, ready for publishPoints. */
export interface StreamClient {
  settings: StreamSettings;
  connection: NatsConnection;
  /** Settings of the existing streams that differ from [stream]'s, kept as they are (for a warning). */
  kept: StreamDifference[];
  /** publishPoints on this connection: resolves once every point is stored, else a StreamPublishError. */
  publish(points: readonly StreamPoint[]): Promise<PublishResult>;
  /** Waits for what is in flight, then closes the connection. */
  close(): Promise<void>;
}

/**
 * Connects to [stream]'s servers (reconnecting for as long as the client lives) as `name`, and creates
 * its streams when missing (an existing stream is kept as it is: `kept`). A ConfigError names a bad key; a StreamSetupError a stream that cannot be made.
 */
export async function connectStream(config: Config, name: string): Promise<StreamClient> {
  const settings = streamSettings(config);
  const connection = await connect(connectionOptions(config, settings, name));
  let kept: StreamDifference[];
  try {
    kept = (await ensureStreams(await connection.jetstreamManager(), settings)).differences;
  } catch (error) {
    await connection.close();
    throw error;
  }
  const jetstream = connection.jetstream();
  return {
    settings,
    connection,
    kept,
    publish: (points) => publishPoints(jetstream, settings, points),
    close: () => connection.drain(),
  };
}
