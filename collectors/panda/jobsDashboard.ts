/**
 * QMonit's "Jobs Monitoring" views (QMonit README; its filters are the tags writeJobStats.py writes):
 * jobs and cores by state, resource type and prod source, running vs queued, terminal jobs and the
 * failed share, HS06; every CRIC tag of the jobs as a filter.
 */
import { defineDashboard, fieldUnit, keyNumber, last, perHour, row, series, sum, table } from '../../dashboards/module';
import { Measurement, type Condition, type QuerySpec } from '../../dashboards/query';
import { PANDA_JOBS, PANDA_JOBS_TERMINAL, PANDA_QUEUES } from '../../schemas/kinds';

/** PanDA's states of a job not running yet (waiting for a pilot, or its pilot starting it): "queued" on this dashboard. */
export const QUEUED_STATES = ['defined', 'assigned', 'waiting', 'activated', 'sent', 'starting'];

export default defineDashboard({
  uid: 'monit-panda-jobs',
  title: 'PanDA jobs monitoring',
  description: "QMonit's Jobs Monitoring: jobs, cores and HS06 by state, resource type and prod source; running vs queued; terminal jobs and the failed share; filters on every CRIC tag.",
  statusModules: ['panda'],
  // Its numbers are all on the PanDA dashboard's regular panels already.
  kinds: [],
  build(registry) {
    const jobs = Measurement.of(registry, PANDA_JOBS);
    const terminal = Measurement.of(registry, PANDA_JOBS_TERMINAL);
    const queues = Measurement.of(registry, PANDA_QUEUES);
    const tags = PANDA_JOBS.tags;
    const { fields } = PANDA_JOBS;
    const cores = fieldUnit(jobs, fields.cores);
    const hs06 = fieldUnit(jobs, fields.hs06);
    const isRunning: Condition = { key: tags.job_status, value: 'running' };
    const isQueued: Condition = { key: tags.job_status, oneOf: QUEUED_STATES };
    const total = (field: string, where: Condition[], alias: string): QuerySpec => ({ measurement: jobs, select: [sum(field, alias)], where, alias });
    const per = (field: string, tag: string, where: Condition[] = []): QuerySpec => ({ measurement: jobs, select: [sum(field)], where, groupBy: [tag], alias: `$tag_${tag}` });
    const terminalPerHour = (field: string, tag: string, where: Condition[] = []): QuerySpec => ({ measurement: terminal, select: [perHour(field)], where, groupBy: [tag], alias: `$tag_${tag}` });
    const now = (title: string, unit: string, query: QuerySpec, reduce?: 'sum') => keyNumber(title, unit, query, reduce ? { reduce } : {});
    const filterTags = [
      tags.cloud, tags.country, tags.site, tags.queue, tags.federation, tags.tier, tags.nucleus, tags.queue_type, tags.queue_resource_type, tags.site_state,
      tags.harvester, tags.pilot_manager, tags.workflow, tags.container_type, tags.fts_server, tags.pledged, tags.prod_source, tags.resource, tags.job_status,
    ];
    return {
      filters: filterTags.map((tag) => ({ tag, from: jobs })),
      panels: [
        row('Now'),
        now('Running jobs', 'short', total(fields.jobs, [isRunning], 'running')),
        now('Running cores', cores, total(fields.cores, [isRunning], 'running')),
        now('Running HS06', hs06, total(fields.hs06, [isRunning], 'running')),
        now('Queued jobs', 'short', total(fields.jobs, [isQueued], 'queued')),
        now('Jobs finished, last hour', 'short', { measurement: terminal, select: [sum(PANDA_JOBS_TERMINAL.fields.jobs)], where: [{ key: tags.job_status, value: 'finished' }] }, 'sum'),
        now('Jobs failed, last hour', 'short', { measurement: terminal, select: [sum(PANDA_JOBS_TERMINAL.fields.jobs)], where: [{ key: tags.job_status, value: 'failed' }] }, 'sum'),
        row('By state'),
        series('Jobs by state', 'short', [per(fields.jobs, tags.job_status)]),
        series('Cores by state', cores, [per(fields.cores, tags.job_status)]),
        series('Running vs queued jobs', 'short', [total(fields.jobs, [isRunning], 'running'), total(fields.jobs, [isQueued], 'queued')], {
          description: `Queued: the states before a pilot runs the job (${QUEUED_STATES.join(', ')}).`,
        }),
        series('Running vs queued cores', cores, [total(fields.cores, [isRunning], 'running'), total(fields.cores, [isQueued], 'queued')]),
        row('By resource type and prod source'),
        series('Running jobs by resource type', 'short', [per(fields.jobs, tags.resource, [isRunning])]),
        series('Running cores by resource type', cores, [per(fields.cores, tags.resource, [isRunning])]),
        series('Running jobs by prod source', 'short', [per(fields.jobs, tags.prod_source, [isRunning])]),
        series('Running cores by prod source', cores, [per(fields.cores, tags.prod_source, [isRunning])]),
        series('Queued jobs by resource type', 'short', [per(fields.jobs, tags.resource, [isQueued])]),
        series('Queued jobs by prod source', 'short', [per(fields.jobs, tags.prod_source, [isQueued])]),
        row('Terminal jobs'),
        series('Jobs reaching a terminal state per hour, by state', 'short', [terminalPerHour(PANDA_JOBS_TERMINAL.fields.jobs, tags.job_status)]),
        series('Share of terminal jobs by state (failed share)', 'short', [terminalPerHour(PANDA_JOBS_TERMINAL.fields.jobs, tags.job_status)], {
          stacking: 'percent',
          description: 'Each terminal state as a share of all jobs that reached one in the bucket (the axis is the share, the tooltip the jobs per hour); the failed band is the failed share.',
        }),
        series('Failed jobs per hour, per cloud', 'short', [terminalPerHour(PANDA_JOBS_TERMINAL.fields.jobs, tags.cloud, [{ key: tags.job_status, value: 'failed' }])]),
        series('Cores of terminal jobs per hour, by state', cores, [terminalPerHour(PANDA_JOBS_TERMINAL.fields.cores, tags.job_status)]),
        row('HS06 and where the cores run'),
        series('Running HS06 per cloud', hs06, [per(fields.hs06, tags.cloud, [isRunning])]),
        series('Running HS06 per federation', hs06, [per(fields.hs06, tags.federation, [isRunning])]),
        series('Running HS06 by resource type', hs06, [per(fields.hs06, tags.resource, [isRunning])]),
        series('Running HS06 per tier', hs06, [per(fields.hs06, tags.tier, [isRunning])]),
        series('Running cores per queue type', cores, [per(fields.cores, tags.queue_type, [isRunning])]),
        series('Running cores per harvester instance', cores, [per(fields.cores, tags.harvester, [isRunning])]),
        table(
          'Queues by running cores',
          {
            measurement: queues,
            select: [last(PANDA_QUEUES.fields.running_cores), last(PANDA_QUEUES.fields.running_hs06), last(PANDA_QUEUES.fields.jobs), last(PANDA_QUEUES.fields.corecount), last(PANDA_QUEUES.fields.corepower), last(PANDA_QUEUES.fields.status)],
            groupBy: [PANDA_QUEUES.tags.queue, PANDA_QUEUES.tags.site, PANDA_QUEUES.tags.cloud, PANDA_QUEUES.tags.federation, PANDA_QUEUES.tags.tier, PANDA_QUEUES.tags.queue_type, PANDA_QUEUES.tags.harvester],
          },
          { description: 'Newest point of the range per queue (CRIC description and its running jobs).', sortBy: { column: PANDA_QUEUES.fields.running_cores, descending: true }, columnUnits: { running_hs06: hs06, corepower: hs06 } },
        ),
      ],
      keyNumbers: [],
    };
  },
});
