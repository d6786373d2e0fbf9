import { ErrorCode, type JetStreamClient, type NatsError, type PubAck } from 'nats';
import { encodeMessage, type StreamPoint } from './messages';
import type { StreamSettings } from './settings';

/** Why JetStream did not store a message: it is not there or has no leader, it did not answer in time, it refused (limits), or the message is over max_payload. */
export type PublishFailure = 'no_responders' | 'timeout' | 'refused' | 'too_large' | 'connection';

/**
 * The stream could not store a batch (all of it or part of it): the gateway answers 503, the sender
 * sends again, and the message ids keep what was stored once. `reason` 'too_large' is the one failure
 * tied to a document (`index`): it will never fit, whatever the sender does.
 */
export class StreamPublishError extends Error {
  override name = 'StreamPublishError';
  constructor(
    message: string,
    readonly reason: PublishFailure,
    /** The point of `points` whose publish failed first. */
    readonly index: number,
    override readonly cause?: Error,
  ) {
    super(message);
  }
}

export interface PublishResult {
  /** Messages JetStream acknowledged, duplicates included. */
  stored: number;
  /** Of these, the ones it already had (same message id within the duplicate window). */
  duplicates: number;
}

/** Publishes in flight at once: enough to keep a replicated stream busy, bounded so a 10,000-document request holds few timers. */
const IN_FLIGHT = 1024;

function failureOf(error: unknown): PublishFailure {
  const code = (error as NatsError).code;
  if ((error as NatsError).api_error) return 'refused';
  if (code === ErrorCode.NoResponders) return 'no_responders';
  if (code === ErrorCode.Timeout) return 'timeout';
  if (code === ErrorCode.MaxPayloadExceeded) return 'too_large';
  return 'connection';
}

/**
 * Publishes one message per point (lib/stream/messages.ts) with up to IN_FLIGHT acknowledgements
 * awaited at once, and resolves only when JetStream acknowledged every one: stored on a majority of
 * the stream's replicas. A duplicate acknowledgement counts as stored. Otherwise it waits for the
 * publishes in flight, then rejects with a StreamPublishError for the first that failed.
 */
export async function publishPoints(
  jetstream: JetStreamClient,
  settings: Pick<StreamSettings, 'name' | 'subjectPrefix' | 'publishTimeoutMs'>,
  points: readonly StreamPoint[],
): Promise<PublishResult> {
  const result: PublishResult = { stored: 0, duplicates: 0 };
  let failure: StreamPublishError | undefined;
  const inFlight = new Set<Promise<void>>();
  const publishOne = async (index: number): Promise<void> => {
    const message = encodeMessage(settings.subjectPrefix, points[index]);
    let ack: PubAck;
    try {
      ack = await jetstream.publish(message.subject, message.payload, {
        headers: message.headers,
        timeout: settings.publishTimeoutMs,
        expect: { streamName: settings.name },
      });
    } catch (error) {
      const reason = failureOf(error);
      const text = (error as NatsError).api_error?.description ?? (error as Error).message;
      failure ??= new StreamPublishError(`stream ${settings.name} did not store the message of ${points[index].producer} on ${message.subject} (${reason}): ${text}`, reason, index, error as Error);
      return;
    }
    result.stored++;
    if (ack.duplicate) result.duplicates++;
  };
  for (let index = 0; index < points.length && !failure; index++) {
    const publish = publishOne(index).finally(() => inFlight.delete(publish));
    inFlight.add(publish);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  return result;
}
