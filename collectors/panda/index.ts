import { defineSource } from '../source';
import { PANDA_JOBS, PANDA_JOBS_DERIVED, PANDA_JOBS_TERMINAL, PANDA_QUEUES } from '../../schemas/kinds';

export default defineSource({
  description: 'PanDA job counts per queue, prod source, resource type and status, enriched from CRIC, with moving averages and suspicious flags',
  produces: [PANDA_JOBS, PANDA_JOBS_TERMINAL, PANDA_QUEUES, PANDA_JOBS_DERIVED],
  collector: () => require('./collector') as typeof import('./collector'),
  // V8 grows its heap lazily: a run whose live data is about 220 MB peaks far higher uncapped (bench/RESULTS.md).
  nodeFlags: ['--max-old-space-size=320'],
  dashboard: () => require('./dashboard') as typeof import('./dashboard'),
  demo: () => require('./demo') as typeof import('./demo'),
});
