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
    const { fields, tags } = MONIT_COLLECTORS_RUN;
    const run = Measurement.of(registry, MONIT_COLLECTORS_RUN);
    const perJob = (selection: Selection): QuerySpec => ({ measurement: run, select: [selection], groupBy: [tags.job], alias: '$tag_job' });
    return {
      filters: [{ tag: tags.job, from: run }],
      panels: [
        table('Jobs', {
          measurement: run,
          select: [last(fields.ok), last(fields.timed_out), sum(fields.errors), mean(fields.duration_ms), sum(fields.documents_sent), sum(fields.documents_rejected), sum(fields.documents_dropped), last(fields.documents_spooled), last(fields.message), last(fields.credential), last(fields.credential_expiring)],
          groupBy: [tags.job],
        }),
        series('Run duration', 'ms', [perJob(mean(fields.duration_ms))]),
        series('Errors per hour', 'short', [perJob(perHour(fields.errors))]),
        series('Documents sent per second', 'cps', [perJob(perSecond(fields.documents_sent))]),
        series('Documents left in the spool', 'short', [perJob(last(fields.documents_spooled))]),
        // The proxy, certificate or token a run presented: the status turns its module degraded within its expiry_warning.
        series('Credential time left', 's', [perJob(last(fields.credential_expires_in_s))]),
      ],
      keyNumbers: [
        keyNumber('Job errors, last hour', 'short', { measurement: run, select: [sum(fields.errors)] }, { reduce: 'sum' }),
        keyNumber('Documents rejected, last hour', 'short', { measurement: run, select: [sum(fields.documents_rejected)] }, { reduce: 'sum' }),
      ],
    };
  },
};
