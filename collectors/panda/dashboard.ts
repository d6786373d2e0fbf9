import { defineDashboard, keyNumber, last, perHour, series, sum, table } from '../../dashboards/module';
import { Measurement, type QuerySpec } from '../../dashboards/query';
import { PANDA_JOBS, PANDA_JOBS_DERIVED, PANDA_JOBS_TERMINAL, PANDA_QUEUES } from '../../schemas/kinds';

export default defineDashboard({
  uid: 'monit-panda',
  title: 'PanDA',
  description: 'PanDA jobs per cloud, site and queue by state, terminal jobs, and the queues QMonit flags as suspicious.',
  build(registry) {
    const jobs = Measurement.of(registry, PANDA_JOBS);
    const terminal = Measurement.of(registry, PANDA_JOBS_TERMINAL);
    const derived = Measurement.of(registry, PANDA_JOBS_DERIVED);
    const queues = Measurement.of(registry, PANDA_QUEUES);
    const tags = PANDA_JOBS.tags;
    const { fields: derivedFields } = PANDA_JOBS_DERIVED;
    const byState = (tag: string): QuerySpec => ({ measurement: jobs, select: [sum(PANDA_JOBS.fields.jobs)], groupBy: [tag, tags.job_status], alias: `$tag_${tag} $tag_job_status` });
    return {
      filters: [tags.cloud, tags.site, tags.queue, tags.prod_source, tags.resource, tags.job_status].map((tag) => ({ tag, from: jobs })),
      panels: [
        series('Jobs per cloud by state', 'short', [byState(tags.cloud)]),
        series('Jobs per site by state', 'short', [byState(tags.site)]),
        series('Jobs per queue by state', 'short', [byState(tags.queue)]),
        series('Jobs reaching a terminal state per hour, per cloud', 'short', [
          { measurement: terminal, select: [perHour(PANDA_JOBS_TERMINAL.fields.jobs)], groupBy: [tags.cloud, tags.job_status], alias: '$tag_cloud $tag_job_status' },
        ]),
        table(
          'Suspicious queues',
          {
            measurement: derived,
            select: [last(derivedFields.current), last(derivedFields.avg_1h), last(derivedFields.avg_24h), last(derivedFields.avg_7d), last(derivedFields.reason)],
            where: [{ key: derivedFields.suspicious, value: true }],
            groupBy: [tags.queue, tags.site, tags.cloud, tags.prod_source, tags.resource, tags.job_status],
          },
          { description: 'Series whose latest value in the range departs from its averages beyond the configured factors (QMonit rule).' },
        ),
        table('Queues', {
          measurement: queues,
          select: [last(PANDA_QUEUES.fields.status), last(PANDA_QUEUES.fields.jobs)],
          groupBy: [PANDA_QUEUES.tags.queue, PANDA_QUEUES.tags.site, PANDA_QUEUES.tags.cloud, PANDA_QUEUES.tags.tier, PANDA_QUEUES.tags.queue_type],
        }),
      ],
      keyNumbers: [
        keyNumber('PanDA running jobs', 'short', { measurement: jobs, select: [sum(PANDA_JOBS.fields.jobs)], where: [{ key: tags.job_status, value: 'running' }] }),
        keyNumber('PanDA suspicious series', 'short', { measurement: derived, select: [{ fn: 'count', field: derivedFields.current }], where: [{ key: derivedFields.suspicious, value: true }] }),
      ],
      genericGroupBy: {
        [PANDA_JOBS.type]: [tags.cloud, tags.job_status],
        [PANDA_JOBS_TERMINAL.type]: [tags.cloud, tags.job_status],
        [PANDA_JOBS_DERIVED.type]: [tags.cloud, tags.job_status],
        [PANDA_QUEUES.type]: [PANDA_QUEUES.tags.cloud],
      },
    };
  },
});
