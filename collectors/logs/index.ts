import { defineSource } from '../source';
import { LOGS_PATTERN } from '../../schemas/kinds';

export default defineSource({
  description: 'Counts regex matches per pattern in log files (offsets kept across runs; rotation and truncation handled)',
  produces: [LOGS_PATTERN],
  collector: () => require('./collector') as typeof import('./collector'),
  dashboard: () => require('./dashboard') as typeof import('./dashboard'),
  demo: () => require('./demo') as typeof import('./demo'),
});
