import { defineSource } from '../source';
import { LOGS_CONSUMER_BATCH, LOGS_PATTERN } from '../../schemas/kinds';

export default defineSource({
  description: 'Counts regex matches per pattern in log files, and values of their named groups (offsets kept across runs; rotation and truncation handled)',
  // logs/consumer_batch: the values of the Consumer lines of the demo and the EventIndex example.
  produces: [LOGS_PATTERN, LOGS_CONSUMER_BATCH],
  collector: () => require('./collector') as typeof import('./collector'),
  dashboard: () => require('./dashboard') as typeof import('./dashboard'),
  demo: () => require('./demo') as typeof import('./demo'),
});
