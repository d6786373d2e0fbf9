import { defineSource } from '../source';
import { JETSTREAM_CONSUMER, JETSTREAM_STREAM } from '../../schemas/kinds';

export default defineSource({
  description: "The stream route's NATS JetStream stream: backlog, replicas, dead letters, and the writers' consumer (pending, ack pending, redeliveries)",
  produces: [JETSTREAM_STREAM, JETSTREAM_CONSUMER],
  collector: () => require('./collector') as typeof import('./collector'),
  dashboard: () => require('./dashboard') as typeof import('./dashboard'),
});
