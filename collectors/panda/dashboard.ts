import { defineDashboard, series, table, keyNumber, last, sum, perHour } from '../../dashboards/module';
import { Measurement, type QuerySpec } from '../../dashboards/query';

export default defineDashboard({
  uid: 'monit-panda',
  title: 'PanDA',
  description: 'PanDA jobs per cloud, site and queue by state, terminal jobs, and the queues QMonit flags as suspicious.',
  build(registry) {
    const jobs = Measurement.of(registry, 'panda', 'jobs');
    const terminal = Measurement.of(registry, 'panda', 'jobs_terminal');
    const derived = Measurement.of(registry, 'panda', 'jobs_derived');
    const queues = Measurement.of(registry, 'panda', 'queues');
    const byState = (tag: string): QuerySpec => ({ measurement: jobs, select: [sum('jobs')], groupBy: [tag, 'job_status'], alias: `$tag_${tag} $tag_job_status` });
    return {
      filters: ['cloud', 'site', 'queue', 'prod_source', 'resource', 'job_status'].map((tag) => ({ tag, from: jobs })),
      panels: [
        series('Jobs per cloud by state', 'short', [byState('cloud')]),
        series('Jobs per site by state', 'short', [byState('site')]),
        series('Jobs per queue by state', 'short', [byState('queue')]),
        series('Jobs reaching a terminal state per hour, per cloud', 'short', [
          { measurement: terminal, select: [perHour('jobs')], groupBy: ['cloud', 'job_status'], alias: '$tag_cloud $tag_job_status' },
        ]),
        table(
          'Suspicious queues',
          {
            measurement: derived,
            select: [last('current'), last('avg_1h'), last('avg_24h'), last('avg_7d'), last('reason')],
            where: [{ key: 'suspicious', value: true }],
            groupBy: ['queue', 'site', 'cloud', 'prod_source', 'resource', 'job_status'],
          },
          { description: 'Series whose latest value in the range departs from its averages beyond the configured factors (QMonit rule).' },
        ),
        table('Queues', { measurement: queues, select: [last('status'), last('jobs')], groupBy: ['queue', 'site', 'cloud', 'tier', 'queue_type'] }),
      ],
      keyNumbers: [
        keyNumber('PanDA running jobs', 'short', { measurement: jobs, select: [sum('jobs')], where: [{ key: 'job_status', value: 'running' }] }),
        keyNumber('PanDA suspicious series', 'short', { measurement: derived, select: [{ fn: 'count', field: 'current' }], where: [{ key: 'suspicious', value: true }] }),
      ],
      genericGroupBy: { jobs: ['cloud', 'job_status'], jobs_terminal: ['cloud', 'job_status'], jobs_derived: ['cloud', 'job_status'], queues: ['cloud'] },
    };
  },
});
