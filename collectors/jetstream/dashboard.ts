import { defineDashboard, keyNumber, last, max, mean, series, sum, table } from '../../dashboards/module';
import { Measurement, type QuerySpec, type Selection } from '../../dashboards/query';
import { JETSTREAM_CONSUMER, JETSTREAM_STREAM } from '../../schemas/kinds';
import { PACKET_SECTIONS, packetConsumerName, type PacketKind } from '../../lib/stream/packetStreams';

/** The XRootD accounting consumers: left out of the writers' key number (the writers' consumer name is configurable). */
const ACCOUNTING_CONSUMERS = (Object.keys(PACKET_SECTIONS) as PacketKind[]).map(packetConsumerName);

export default defineDashboard({
  uid: 'monit-jetstream',
  title: 'JetStream stream',
  description: "The stream route's JetStream streams (documents, and XRootD packets when used): the consumers' lag, redeliveries, dead letters, bytes held and replicas.",
  build(registry) {
    const stream = Measurement.of(registry, JETSTREAM_STREAM);
    const consumer = Measurement.of(registry, JETSTREAM_CONSUMER);
    const { fields, tags } = JETSTREAM_STREAM;
    const consumerFields = JETSTREAM_CONSUMER.fields;
    const perStream = (...select: Selection[]): QuerySpec => ({ measurement: stream, select, groupBy: [tags.stream], alias: '$tag_stream $col' });
    const perConsumer = (...select: Selection[]): QuerySpec => ({ measurement: consumer, select, groupBy: [JETSTREAM_CONSUMER.tags.stream, JETSTREAM_CONSUMER.tags.consumer], alias: '$tag_consumer $col' });
    return {
      filters: [{ tag: tags.stream, from: stream }],
      panels: [
        series("Consumers' lag", 'short', [perConsumer(mean(consumerFields.pending, 'pending'), mean(consumerFields.ack_pending, 'ack pending'))]),
        series('Redelivered, unacknowledged', 'short', [perConsumer(mean(consumerFields.redelivered, 'redelivered'))]),
        series('Dead letters', 'short', [perStream(mean(fields.dead_letters, 'held'), sum(fields.dead_letters_new, 'new'))]),
        series('Bytes held', 'bytes', [perStream(mean(fields.bytes, 'stream'), mean(fields.dead_letter_bytes, 'dead letters'))]),
        series('Replicas', 'short', [perStream(mean(fields.replicas_current, 'current'), mean(fields.replicas_lagging, 'lagging'), mean(fields.replicas_offline, 'offline'))]),
        table('Stream', { measurement: stream, select: [last(fields.messages), last(fields.last_seq), last(fields.replicas), last(fields.leader), last(fields.consumers), last(fields.dead_letters)], groupBy: [tags.stream] }),
        table('Consumers', {
          measurement: consumer,
          select: [last(consumerFields.lag), last(consumerFields.ack_pending), last(consumerFields.redelivered), last(consumerFields.waiting), last(consumerFields.ack_floor_seq)],
          groupBy: [JETSTREAM_CONSUMER.tags.stream, JETSTREAM_CONSUMER.tags.consumer],
        }),
      ],
      keyNumbers: [
        keyNumber("Writers' lag", 'short', {
          measurement: consumer,
          select: [last(consumerFields.lag)],
          where: ACCOUNTING_CONSUMERS.map((name) => ({ key: JETSTREAM_CONSUMER.tags.consumer, op: '!=' as const, value: name })),
        }),
        keyNumber('Replicas offline', 'short', { measurement: stream, select: [max(fields.replicas_offline)] }),
        keyNumber('Dead letters held', 'short', { measurement: stream, select: [last(fields.dead_letters)] }),
      ],
    };
  },
});
