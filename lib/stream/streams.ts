import { DiscardPolicy, nanos, RetentionPolicy, StorageType, type JetStreamManager, type NatsError, type StreamConfig } from 'nats';
import { deadLetterPrefix } from './messages';
import { deadLetterStreamName, type StreamSettings } from './settings';

/** JetStream's error code for "stream not found". */
const STREAM_NOT_FOUND = 10059;

/** A stream [stream] describes could not be made as described (replicas above the cluster's size, a retention that cannot change...). */
export class StreamSetupError extends Error {
  override name = 'StreamSetupError';
}

/**
 * The two streams of [stream]:
 * - `<name>` on `<prefix>.>`, a work queue: a message is removed once a writer acknowledged it, so its
 *   size is the backlog, and when `max_bytes` is reached JetStream refuses new messages (the gateway
 *   answers 503, the senders' spools hold them) instead of dropping the oldest unwritten ones;
 * - `<name>_DEAD` on `<prefix>_dead.>`: the messages InfluxDB refused, kept for a person to look at.
 */
export function streamConfigs(settings: StreamSettings): StreamConfig[] {
  const common = {
    num_replicas: settings.replicas,
    duplicate_window: nanos(settings.duplicateWindowMs),
    max_age: nanos(settings.maxAgeMs),
    max_bytes: settings.maxBytes,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
  };
  return [
    { ...common, name: settings.name, subjects: [`${settings.subjectPrefix}.>`], retention: RetentionPolicy.Workqueue } as StreamConfig,
    { ...common, name: deadLetterStreamName(settings), subjects: [`${deadLetterPrefix(settings.subjectPrefix)}.>`], retention: RetentionPolicy.Limits } as StreamConfig,
  ];
}

function isStreamNotFound(error: unknown): boolean {
  return (error as NatsError).api_error?.err_code === STREAM_NOT_FOUND;
}

/**
 * Creates the stream and its dead-letter stream, or updates them to [stream]'s subjects, replicas and
 * limits. A setting JetStream cannot change in place (the retention, the storage) or cannot satisfy
 * (more replicas than servers) throws StreamSetupError naming the stream and JetStream's reason.
 */
export async function ensureStreams(manager: JetStreamManager, settings: StreamSettings): Promise<void> {
  for (const wanted of streamConfigs(settings)) {
    let existing: StreamConfig | undefined;
    try {
      existing = (await manager.streams.info(wanted.name)).config;
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
    try {
      if (!existing) {
        await manager.streams.add(wanted);
        continue;
      }
      if (existing.retention !== wanted.retention || existing.storage !== wanted.storage) {
        throw new StreamSetupError(
          `stream ${wanted.name} exists with ${existing.retention} retention and ${existing.storage} storage, not ${wanted.retention} and ${wanted.storage}: JetStream cannot change them in place (delete or rename the stream)`,
        );
      }
      const changed =
        existing.num_replicas !== wanted.num_replicas ||
        existing.duplicate_window !== wanted.duplicate_window ||
        existing.max_age !== wanted.max_age ||
        existing.max_bytes !== wanted.max_bytes ||
        existing.discard !== wanted.discard ||
        existing.subjects.join(' ') !== wanted.subjects.join(' ');
      if (changed) await manager.streams.update(wanted.name, { ...existing, ...wanted });
    } catch (error) {
      if (error instanceof StreamSetupError) throw error;
      throw new StreamSetupError(`cannot ${existing ? 'update' : 'create'} stream ${wanted.name} ([stream] replicas = ${settings.replicas}): ${(error as Error).message}`);
    }
  }
}
