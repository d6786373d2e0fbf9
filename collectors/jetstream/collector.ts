import { defineCollector } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import type { ConsumerInfo, StreamInfo } from 'nats';
import type { DocumentFactory } from '../../lib/documents/document';
import { writerSettings } from '../../writer/settings';
import { replicaCounts, type ReplicaCounts } from '../../lib/stream/replicas';
import { readJetStream } from './read';
import { JETSTREAM_CONSUMER, JETSTREAM_STREAM } from '../../schemas/kinds';

/** The dead-letter stream's last sequence at the previous run, by dead-letter stream name. */
type DeadLetterState = Record<string, number>;

const DEAD_LETTER_STATE = {
  initial: (): DeadLetterState => ({}),
  parse(value: unknown): DeadLetterState {
    if (typeof value !== 'object' || value === null || Object.values(value).some((sequence) => !Number.isSafeInteger(sequence))) {
      throw new Error('not a map of dead-letter stream names to sequences');
    }
    return value as DeadLetterState;
  },
};

export default defineCollector({
  async collect(context) {
    const timeoutMs = context.section.duration('timeout', '10s');
    // The writers' consumer, named where the writers read it.
    const consumerName = writerSettings(context.config).consumer;
    const reading = await readJetStream(context.config, { name: `monit-collectors ${context.job}`, consumer: consumerName, timeoutMs, signal: context.signal });
    for (const problem of reading.problems) context.problem(problem);
    const { stream, deadLetters, consumer, settings } = reading;

    const deadLetterState = context.state('dead-letters.json', DEAD_LETTER_STATE);
    const previous = deadLetterState.read();
    const next: DeadLetterState = {};
    let deadLettersNew: number | undefined;
    if (deadLetters) {
      const lastSeq = deadLetters.state.last_seq;
      const before = previous[deadLetters.config.name];
      // A last sequence below the previous one: the stream was made anew, so all its sequences are new.
      if (before !== undefined) deadLettersNew = lastSeq >= before ? lastSeq - before : lastSeq;
      next[deadLetters.config.name] = lastSeq;
    }

    const replicas = replicaCounts(stream.cluster);
    const documents: MonitDocument[] = [
      streamDocument(context.documents, stream, replicas, {
        dead_letters: deadLetters?.state.messages,
        dead_letter_bytes: deadLetters?.state.bytes,
        dead_letters_new: deadLettersNew,
      }),
    ];
    if (replicas.offline) context.problem(offlineProblem(stream, replicas));
    if (consumer) documents.push(consumerDocument(context.documents, settings.name, consumer));
    if (reading.packetStream) {
      // The XRootD packet stream: its own stream tag, no dead letters (a packet is never refused).
      const packetReplicas = replicaCounts(reading.packetStream.cluster);
      documents.push(streamDocument(context.documents, reading.packetStream, packetReplicas, {}));
      if (packetReplicas.offline) context.problem(offlineProblem(reading.packetStream, packetReplicas));
      for (const packetConsumer of reading.packetConsumers) documents.push(consumerDocument(context.documents, reading.packetStream.config.name, packetConsumer));
    }
    // The new dead letters count from this run only once its documents are in the spool.
    return { documents, commit: async () => deadLetterState.write(next) };
  },
});

function offlineProblem(stream: StreamInfo, replicas: ReplicaCounts): string {
  return `stream ${stream.config.name}: ${replicas.offline} of its ${stream.config.num_replicas} replicas offline (${replicas.offlineNames.join(', ')})`;
}

/** A jetstream/stream document of `stream`, with `extra` fields (the dead letters of the document stream). */
function streamDocument(factory: DocumentFactory, stream: StreamInfo, replicas: ReplicaCounts, extra: Record<string, number | undefined>): MonitDocument {
  return factory.build(
    JETSTREAM_STREAM,
    { stream: stream.config.name },
    {
      messages: stream.state.messages,
      bytes: stream.state.bytes,
      first_seq: stream.state.first_seq,
      last_seq: stream.state.last_seq,
      consumers: stream.state.consumer_count,
      replicas: stream.config.num_replicas,
      replicas_current: replicas.current,
      replicas_lagging: replicas.lagging,
      replicas_offline: replicas.offline,
      leader: stream.cluster?.leader,
      ...extra,
    },
  );
}

/** A jetstream/consumer document of the durable consumer `consumer` of stream `streamName`. */
function consumerDocument(factory: DocumentFactory, streamName: string, consumer: ConsumerInfo): MonitDocument {
  return factory.build(
    JETSTREAM_CONSUMER,
    { stream: streamName, consumer: consumer.name },
    {
      pending: consumer.num_pending,
      ack_pending: consumer.num_ack_pending,
      lag: consumer.num_pending + consumer.num_ack_pending,
      redelivered: consumer.num_redelivered,
      waiting: consumer.num_waiting,
      delivered_seq: consumer.delivered.stream_seq,
      ack_floor_seq: consumer.ack_floor.stream_seq,
    },
  );
}
