import { defineSource } from '../source';
import { TEN_MINUTES_MS } from '../../lib/run/slot';
import {
  PANDA_CLOUDS_DERIVED,
  PANDA_DATADISKS,
  PANDA_DATADISKS_DERIVED,
  PANDA_FEDERATIONS,
  PANDA_JOBS,
  PANDA_JOBS_DERIVED,
  PANDA_JOBS_TERMINAL,
  PANDA_QUEUES,
  PANDA_QUEUES_DERIVED,
} from '../../schemas/kinds';
import { DERIVED_JOB } from './names';

export default defineSource({
  description: 'PanDA job counts, cores and HS06 per queue, prod source, resource type and status, with CRIC tags; federation pledges; the DAOD distribution',
  produces: [PANDA_JOBS, PANDA_JOBS_TERMINAL, PANDA_QUEUES, PANDA_FEDERATIONS, PANDA_DATADISKS, PANDA_JOBS_DERIVED, PANDA_QUEUES_DERIVED, PANDA_CLOUDS_DERIVED, PANDA_DATADISKS_DERIVED],
  // No node flags: without the history, panda's heap stays small uncapped too (bench/panda.ts measures both jobs both ways).
  collector: () => require('./collector') as typeof import('./collector'),
  jobs: [
    {
      name: DERIVED_JOB,
      description: "PanDA moving averages (jobs_derived), the queue-level signal per queue and cloud, DATADISK averages, from panda's documents of the slot and their history in InfluxDB",
      // Minute 5: after every collector of the slot (spread over minutes 0-4, panda among them), so panda's
      // documents are in; before replay (7) and status (8), which reads panda/jobs_derived of the slot.
      schedule: '5-59/10 * * * *',
      // Not scheduled without [panda]; its settings stay there (the registry adds that section to its own).
      needsSection: 'panda',
      // The wait for panda ([panda-derived] wait_for_panda) and the history read, ended before the next slot's run.
      defaultDeadline: '4m',
      // V8 grows its heap lazily: capped, it collects before the RSS grows far past the history's live data.
      nodeFlags: ['--max-old-space-size=320'],
      load: async () => {
        const { default: job } = require('./derivedJob') as typeof import('./derivedJob');
        return { name: DERIVED_JOB, periodMs: TEN_MINUTES_MS, run: (context) => job.collect(context) };
      },
    },
  ],
  // CRIC (and WLCG CRIC) and the placement source have their own trust and identity.
  tlsSources: ['cric', 'placement'],
  dashboard: () => require('./dashboard') as typeof import('./dashboard'),
  demo: () => require('./demo') as typeof import('./demo'),
});
