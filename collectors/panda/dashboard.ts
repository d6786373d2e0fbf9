/**
 * The PanDA dashboards: the main one ("PanDA") here, QMonit's three views in their own files. The
 * status module panda links to monit-panda-suspicious and panda-daod to monit-panda-daod, so these
 * uids are fixed.
 */
import { defineDashboard, fieldUnit, keyNumber, last, percentRatio, perHour, series, sum, table, mean, type DashboardDefinition } from '../../dashboards/module';
import { Measurement, type QuerySpec } from '../../dashboards/query';
import { PANDA_FEDERATIONS, PANDA_JOBS, PANDA_JOBS_DERIVED, PANDA_JOBS_TERMINAL, PANDA_QUEUES } from '../../schemas/kinds';
import daod from './daodDashboard';
import jobsMonitoring from './jobsDashboard';
import suspicious from './suspiciousDashboard';

const main = defineDashboard({
  uid: 'monit-panda',
  title: 'PanDA',
  description: 'PanDA jobs per cloud, site and queue by state, with their running cores and HS06; terminal jobs; pledged vs delivered HS06 per federation; the series the per-series rule flags as suspicious.',
  kinds: [PANDA_JOBS, PANDA_JOBS_TERMINAL, PANDA_QUEUES, PANDA_FEDERATIONS, PANDA_JOBS_DERIVED],
  build(registry) {
    const jobs = Measurement.of(registry, PANDA_JOBS);
    const terminal = Measurement.of(registry, PANDA_JOBS_TERMINAL);
    const derived = Measurement.of(registry, PANDA_JOBS_DERIVED);
    const queues = Measurement.of(registry, PANDA_QUEUES);
    const federations = Measurement.of(registry, PANDA_FEDERATIONS);
    const tags = PANDA_JOBS.tags;
    const { fields } = PANDA_JOBS;
    const { fields: derivedFields } = PANDA_JOBS_DERIVED;
    const { fields: federationFields } = PANDA_FEDERATIONS;
    const hs06 = fieldUnit(jobs, fields.hs06);
    const byState = (tag: string): QuerySpec => ({ measurement: jobs, select: [sum(fields.jobs)], groupBy: [tag, tags.job_status], alias: `$tag_${tag} $tag_job_status` });
    const running = (field: string, tag: string): QuerySpec => ({ measurement: jobs, select: [sum(field)], where: [{ key: tags.job_status, value: 'running' }], groupBy: [tag], alias: `$tag_${tag}` });
    // Jobs by state, then the cores and HS06 of the running ones, side by side per level.
    const perLevel = (tag: string, level: string) => [
      series(`Jobs per ${level} by state`, 'short', [byState(tag)]),
      series(`Running cores per ${level}`, fieldUnit(jobs, fields.cores), [running(fields.cores, tag)], { width: 6 }),
      series(`Running HS06 per ${level}`, hs06, [running(fields.hs06, tag)], { width: 6 }),
    ];
    // Federations without a known pledge carry no cpu_pledge_hs06, so the condition leaves them out.
    const pledgeKnown = [{ key: federationFields.cpu_pledge_hs06, op: '>' as const, value: 0 }];
    return {
      filters: [tags.cloud, tags.site, tags.queue, tags.prod_source, tags.resource, tags.job_status].map((tag) => ({ tag, from: jobs })),
      panels: [
        ...perLevel(tags.cloud, 'cloud'),
        ...perLevel(tags.site, 'site'),
        ...perLevel(tags.queue, 'queue'),
        series(
          'Pledged vs delivered HS06 per federation',
          hs06,
          [
            { measurement: federations, select: [mean(federationFields.cpu_pledge_hs06, 'pledged')], where: pledgeKnown, groupBy: [PANDA_FEDERATIONS.tags.federation], alias: '$tag_federation pledged' },
            { measurement: federations, select: [mean(federationFields.running_hs06, 'delivered')], where: pledgeKnown, groupBy: [PANDA_FEDERATIONS.tags.federation], alias: '$tag_federation delivered' },
          ],
          { description: "CPU pledged to ATLAS for the quarter (WLCG CRIC) against the HS06 of the running jobs of the federation's queues; federations whose pledge is unknown are left out." },
        ),
        table(
          'Delivered share of the pledge per federation',
          {
            measurement: federations,
            select: [
              last(federationFields.cpu_pledge_hs06, 'pledged_hs06'),
              last(federationFields.running_hs06, 'delivered_hs06'),
              percentRatio(federationFields.running_hs06, federationFields.cpu_pledge_hs06, 'delivered_percent'),
              last(federationFields.running_cores),
              last(federationFields.queues),
            ],
            where: pledgeKnown,
            groupBy: [PANDA_FEDERATIONS.tags.federation],
          },
          {
            description: 'Newest point of the range per federation with a known pledge: delivered HS06 as a percentage of the pledge, lowest first.',
            width: 12,
            sortBy: { column: 'delivered_percent' },
            columnUnits: { delivered_percent: 'percent', pledged_hs06: hs06, delivered_hs06: hs06 },
          },
        ),
        series(
          'Jobs reaching a terminal state per hour, per cloud',
          'short',
          [{ measurement: terminal, select: [perHour(PANDA_JOBS_TERMINAL.fields.jobs)], groupBy: [tags.cloud, tags.job_status], alias: '$tag_cloud $tag_job_status' }],
          { width: 24 },
        ),
        table(
          'Queues',
          {
            measurement: queues,
            select: [last(PANDA_QUEUES.fields.status), last(PANDA_QUEUES.fields.jobs), last(PANDA_QUEUES.fields.running_cores), last(PANDA_QUEUES.fields.running_hs06), last(PANDA_QUEUES.fields.corepower)],
            groupBy: [PANDA_QUEUES.tags.queue, PANDA_QUEUES.tags.site, PANDA_QUEUES.tags.cloud, PANDA_QUEUES.tags.tier, PANDA_QUEUES.tags.queue_type],
          },
          { sortBy: { column: PANDA_QUEUES.fields.running_cores, descending: true }, columnUnits: { running_hs06: hs06, corepower: hs06 } },
        ),
      ],
      keyNumbers: [
        keyNumber('PanDA running jobs', 'short', { measurement: jobs, select: [sum(fields.jobs)], where: [{ key: tags.job_status, value: 'running' }] }),
        keyNumber('PanDA running cores', 'short', { measurement: jobs, select: [sum(fields.cores)], where: [{ key: tags.job_status, value: 'running' }] }),
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

/** The main dashboard first: the source's own, the one a status light without another link opens. */
const dashboards: readonly DashboardDefinition[] = [main, jobsMonitoring, suspicious, daod];
export default dashboards;
