import { MONIT_COLLECTORS_RUN } from '../schemas/kinds';
import { series, table, keyNumber, last, mean, sum, perSecond, perHour, type ModuleDashboard } from './module';
import { Measurement, type QuerySpec, type Selection } from './query';

/** The heartbeat of every job (monit-collectors/run): not a source's, so it lives here. */
export const JOBS_DASHBOARD: ModuleDashboard = {
  uid: 'monit-jobs',
  title: 'Collector jobs',
  description: "Every job's heartbeat: runs, errors, duration, documents sent, spooled and rejected; and the status job's decisions.",
  statusModules: [],
  kinds: [MONIT_COLLECTORS_RUN],
  build(registry) {
    const run = Measurement.of(registry, 'monit-collectors', 'run');
    const perJob = (selection: Selection): QuerySpec => ({ measurement: run, select: [selection], groupBy: ['job'], alias: '$tag_job' });
    return {
      filters: [{ tag: 'job', from: run }],
      panels: [
        table('Jobs', {
          measurement: run,
          select: [last('ok'), last('timed_out'), sum('errors'), mean('duration_ms'), sum('documents_sent'), sum('documents_rejected'), sum('documents_dropped'), last('documents_spooled'), last('message')],
          groupBy: ['job'],
        }),
        series('Run duration', 'ms', [perJob(mean('duration_ms'))]),
        series('Errors per hour', 'short', [perJob(perHour('errors'))]),
        series('Documents sent per second', 'cps', [perJob(perSecond('documents_sent'))]),
        series('Documents left in the spool', 'short', [perJob(last('documents_spooled'))]),
      ],
      keyNumbers: [
        keyNumber('Job errors, last hour', 'short', { measurement: run, select: [sum('errors')] }, { reduce: 'sum' }),
        keyNumber('Documents rejected, last hour', 'short', { measurement: run, select: [sum('documents_rejected')] }, { reduce: 'sum' }),
      ],
    };
  },
};
