import { AckPolicy, DeliverPolicy, DiscardPolicy, nanos, RetentionPolicy, StorageType, type ConsumerConfig, type JetStreamManager, type NatsError, type StreamConfig } from 'nats';
import { deadLetterPrefix } from './messages';
import { deadLetterStreamName, type StreamSettings } from './settings';

/** JetStream's error codes for "stream not found" and "consumer not found". */
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;
/**
 * JetStream refusals that pass by themselves: "JetStream system temporarily unavailable" (no meta
 * leader yet, right after a cluster start) and "no suitable peers for placement" (fewer servers up
 * than the replicas; a server still starting, or down).
 */
const NO_SUITABLE_PEERS = 10005;
const TRANSIENT_CODES: ReadonlySet<number> = new Set([10008, NO_SUITABLE_PEERS]);

/**
 * A stream [stream] describes could not be made as described (replicas above the cluster's size, a
 * retention that cannot change...). `transient`: JetStream could not do it now (no leader, a server
 * down), trying again later may work; otherwise no retry can (a config to fix, or a stream to delete).
 */
export class StreamSetupError extends Error {
  override name = 'StreamSetupError';
  constructor(
    message: string,
    readonly transient = false,
  ) {
    super(message);
  }
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

/** Whether a stream of that name exists. */
export async function streamExists(manager: JetStreamManager, name: string): Promise<boolean> {
  try {
    await manager.streams.info(name);
    return true;
  } catch (error) {
    if (isStreamNotFound(error)) return false;
    throw error;
  }
}

/** One setting of an existing stream that is not [stream]'s. */
export interface StreamDifference {
  stream: string;
  /** As [stream] names it: replicas, duplicate_window, max_age, max_bytes, subjects, discard. */
  setting: string;
  existing: string;
  configured: string;
}

/** What ensureStreams found and did. */
export interface StreamsOutcome {
  created: string[];
  /** Settings of existing streams that differ from [stream]'s: kept as they are, unless `apply`. */
  differences: StreamDifference[];
  /** Streams updated to [stream]'s settings (only with `apply`). */
  updated: string[];
}

const durationText = (nanoseconds: number): string => (nanoseconds ? `${nanoseconds / 1e6} ms` : 'none');
const bytesText = (bytes: number): string => (bytes < 0 ? 'unlimited' : `${bytes}`);

function differencesOf(existing: StreamConfig, wanted: StreamConfig): StreamDifference[] {
  const compared: Array<[setting: string, existing: string, configured: string]> = [
    ['replicas', `${existing.num_replicas}`, `${wanted.num_replicas}`],
    ['duplicate_window', durationText(existing.duplicate_window), durationText(wanted.duplicate_window)],
    ['max_age', durationText(existing.max_age), durationText(wanted.max_age)],
    ['max_bytes', bytesText(existing.max_bytes), bytesText(wanted.max_bytes)],
    ['subjects', existing.subjects.join(' '), wanted.subjects.join(' ')],
    ['discard', `${existing.discard}`, `${wanted.discard}`],
  ];
  return compared.filter(([, was, configured]) => was !== configured).map(([setting, was, configured]) => ({ stream: wanted.name, setting, existing: was, configured }));
}

/** One line for a log: what differs, and how to apply [stream]'s settings. */
export function describeDifferences(differences: readonly StreamDifference[]): string {
  const parts = differences.map((difference) => `${difference.stream} ${difference.setting} is ${difference.existing}, [stream] says ${difference.configured}`);
  return `existing stream settings kept (set by another host or an earlier config; \`./run.sh stream-setup\` applies [stream]'s): ${parts.join('; ')}`;
}

/** A StreamSetupError for JetStream's refusal `error` to `action` `what` (`stream MONIT`), transient when JetStream could not answer now. */
function setupError(action: string, what: string, settings: StreamSettings, error: unknown): StreamSetupError {
  const code = (error as NatsError).api_error?.err_code;
  // JetStream says the same while a server is down as when the replicas exceed the cluster's size.
  const hint = code === NO_SUITABLE_PEERS ? ` (fewer JetStream servers up than ${settings.replicas}: one is down or starting, or the cluster has fewer)` : '';
  return new StreamSetupError(`cannot ${action} ${what} ([stream] replicas = ${settings.replicas}): ${(error as Error).message}${hint}`, code === undefined || TRANSIENT_CODES.has(code));
}

/**
 * Creates the streams when missing: `streams`, by default the stream and its dead-letter stream
 * (streamConfigs). An existing one is kept as it is, its differences from [stream] returned (each host
 * starts with its own config: a start never lowers the replicas nor undoes another host's settings);
 * `apply` (`./run.sh stream-setup`) updates them to [stream]'s. A retention or storage JetStream cannot
 * change in place, or a setting it cannot satisfy (more replicas than servers), throws a
 * StreamSetupError naming the stream and JetStream's reason.
 */
export async function ensureStreams(
  manager: JetStreamManager,
  settings: StreamSettings,
  options: { apply?: boolean; streams?: readonly StreamConfig[] } = {},
): Promise<StreamsOutcome> {
  const outcome: StreamsOutcome = { created: [], differences: [], updated: [] };
  for (const wanted of options.streams ?? streamConfigs(settings)) {
    let existing: StreamConfig | undefined;
    try {
      existing = (await manager.streams.info(wanted.name)).config;
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
    if (!existing) {
      try {
        await manager.streams.add(wanted);
      } catch (error) {
        throw setupError('create', `stream ${wanted.name}`, settings, error);
      }
      outcome.created.push(wanted.name);
      continue;
    }
    if (existing.retention !== wanted.retention || existing.storage !== wanted.storage) {
      throw new StreamSetupError(
        `stream ${wanted.name} exists with ${existing.retention} retention and ${existing.storage} storage, not ${wanted.retention} and ${wanted.storage}: JetStream cannot change them in place (delete or rename the stream)`,
      );
    }
    const differences = differencesOf(existing, wanted);
    outcome.differences.push(...differences);
    if (!options.apply || !differences.length) continue;
    try {
      await manager.streams.update(wanted.name, { ...existing, ...wanted });
    } catch (error) {
      throw setupError('update', `stream ${wanted.name}`, settings, error);
    }
    outcome.updated.push(wanted.name);
  }
  return outcome;
}

/**
 * A durable pull consumer as this host's config describes it. `keys` names the config key behind each
 * compared setting, for the messages (`[writer] ack_wait`).
 */
export interface WantedConsumer {
  stream: string;
  name: string;
  ackWaitMs: number;
  maxAckPending: number;
  /** Only the messages on these subjects; none: the whole stream. */
  filterSubject?: string;
  keys: { ack_wait: string; max_ack_pending: string; filter_subject: string };
}

/** One setting of an existing consumer that is not this host's. */
export interface ConsumerDifference {
  stream: string;
  consumer: string;
  setting: 'ack_wait' | 'max_ack_pending' | 'filter_subject';
  /** The config key that sets it here: `[writer] ack_wait`. */
  key: string;
  existing: string;
  configured: string;
}

/** What ensureConsumers found and did; consumers are named `<stream>/<consumer>`. */
export interface ConsumersOutcome {
  created: string[];
  /** Settings of existing consumers that differ from this host's: kept as they are, unless `apply`. */
  differences: ConsumerDifference[];
  /** Consumers updated to this host's settings (only with `apply`). */
  updated: string[];
}

/** The config JetStream gets for a consumer: explicit acknowledgements, from the stream's first message, never given up on. */
function consumerConfig(wanted: WantedConsumer): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: wanted.name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(wanted.ackWaitMs),
    max_ack_pending: wanted.maxAckPending,
    // A refused point goes to the dead letters, an unavailable InfluxDB or a failed run is waited for.
    max_deliver: -1,
    ...(wanted.filterSubject ? { filter_subject: wanted.filterSubject } : {}),
  };
}

function consumerDifferencesOf(existing: ConsumerConfig, wanted: WantedConsumer): ConsumerDifference[] {
  const compared: Array<[setting: ConsumerDifference['setting'], existing: string, configured: string]> = [
    ['ack_wait', durationText(existing.ack_wait ?? 0), durationText(nanos(wanted.ackWaitMs))],
    ['max_ack_pending', `${existing.max_ack_pending}`, `${wanted.maxAckPending}`],
    ['filter_subject', existing.filter_subject || 'none', wanted.filterSubject || 'none'],
  ];
  return compared
    .filter(([, was, configured]) => was !== configured)
    .map(([setting, was, configured]) => ({ stream: wanted.stream, consumer: wanted.name, setting, key: wanted.keys[setting], existing: was, configured }));
}

/** One line for a log: what differs, and how to apply this host's settings. */
export function describeConsumerDifferences(differences: readonly ConsumerDifference[]): string {
  const parts = differences.map((difference) => `consumer ${difference.consumer} of ${difference.stream}: ${difference.setting} is ${difference.existing}, ${difference.key} says ${difference.configured}`);
  const filter = differences.some((difference) => difference.setting === 'filter_subject')
    ? ' (a consumer on other subjects than [stream] subject_prefix names reads none of the messages published with it: run stream-setup)'
    : '';
  return `existing consumer settings kept (set by another host or an earlier config; \`./run.sh stream-setup\` applies this host's)${filter}: ${parts.join('; ')}`;
}

/**
 * The durable consumers' counterpart of ensureStreams: creates a missing one; an existing one is kept as
 * it is, its differences returned (two hosts with another ack_wait would otherwise change it back and
 * forth at each start); `apply` (`./run.sh stream-setup`) updates ack_wait, max_ack_pending and the
 * filter subject to this host's. Their streams must exist.
 */
export async function ensureConsumers(manager: JetStreamManager, settings: StreamSettings, consumers: readonly WantedConsumer[], options: { apply?: boolean } = {}): Promise<ConsumersOutcome> {
  const outcome: ConsumersOutcome = { created: [], differences: [], updated: [] };
  for (const wanted of consumers) {
    const what = `consumer ${wanted.name} of stream ${wanted.stream}`;
    let existing: ConsumerConfig | undefined;
    try {
      existing = (await manager.consumers.info(wanted.stream, wanted.name)).config;
    } catch (error) {
      if ((error as NatsError).api_error?.err_code !== CONSUMER_NOT_FOUND) throw error;
    }
    const config = consumerConfig(wanted);
    if (!existing) {
      try {
        await manager.consumers.add(wanted.stream, config);
      } catch (error) {
        throw setupError('create', what, settings, error);
      }
      outcome.created.push(`${wanted.stream}/${wanted.name}`);
      continue;
    }
    const differences = consumerDifferencesOf(existing, wanted);
    outcome.differences.push(...differences);
    if (!options.apply || !differences.length) continue;
    try {
      await manager.consumers.update(wanted.stream, wanted.name, { ack_wait: config.ack_wait, max_ack_pending: config.max_ack_pending, filter_subject: config.filter_subject });
    } catch (error) {
      throw setupError('update', what, settings, error);
    }
    outcome.updated.push(`${wanted.stream}/${wanted.name}`);
  }
  return outcome;
}
