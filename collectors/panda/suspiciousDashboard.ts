/**
 * QMonit's "Suspicious sites", on the queue-level signal: the share of suspicious queues per cloud
 * (what the panda status module judges), the queues ranked by how far they left their band, and
 * the per-series flags (our rule, in the spirit of QMonit's "Suspicious sites" dashboard). The status module panda links here.
 */
import { defineDashboard, fieldUnit, keyNumber, last, mean, row, series, table } from '../../dashboards/module';
import { Measurement } from '../../dashboards/query';
import { PANDA_CLOUDS_DERIVED, PANDA_JOBS_DERIVED, PANDA_QUEUES_DERIVED } from '../../schemas/kinds';

export default defineDashboard({
  uid: 'monit-panda-suspicious',
  title: 'PanDA suspicious queues',
  description: 'Queues whose jobs left the band around their moving average, ranked by how far; the suspicious share per cloud the status judges; the series our per-series rule flags.',
  statusModules: ['panda'],
  kinds: [PANDA_QUEUES_DERIVED, PANDA_CLOUDS_DERIVED],
  build(registry) {
    const clouds = Measurement.of(registry, PANDA_CLOUDS_DERIVED);
    const queues = Measurement.of(registry, PANDA_QUEUES_DERIVED);
    const perSeries = Measurement.of(registry, PANDA_JOBS_DERIVED);
    const cloudFields = PANDA_CLOUDS_DERIVED.fields;
    const queueFields = PANDA_QUEUES_DERIVED.fields;
    const queueTags = PANDA_QUEUES_DERIVED.tags;
    const seriesTags = PANDA_JOBS_DERIVED.tags;
    const seriesFields = PANDA_JOBS_DERIVED.fields;
    const suspicious = { key: queueFields.suspicious, value: true };
    const jobs = fieldUnit(queues, queueFields.current);
    return {
      filters: [
        ...[queueTags.cloud, queueTags.country, queueTags.site, queueTags.tier, queueTags.queue].map((tag) => ({ tag, from: queues })),
        ...[seriesTags.prod_source, seriesTags.resource, seriesTags.job_status].map((tag) => ({ tag, from: perSeries })),
      ],
      panels: [
        row('Per cloud'),
        series('Suspicious share of the queues per cloud', 'percent', [
          { measurement: clouds, select: [mean(cloudFields.suspicious_share)], groupBy: [PANDA_CLOUDS_DERIVED.tags.cloud], alias: '$tag_cloud' },
        ], { description: 'Of the queues of the cloud the signal judged, the share flagged suspicious: what the panda status module compares with its threshold.' }),
        series('Suspicious queues per cloud', 'short', [
          { measurement: clouds, select: [mean(cloudFields.suspicious_queues)], groupBy: [PANDA_CLOUDS_DERIVED.tags.cloud], alias: '$tag_cloud' },
        ]),
        table(
          'Clouds',
          {
            measurement: clouds,
            select: [last(cloudFields.suspicious_share), last(cloudFields.suspicious_queues), last(cloudFields.queues), last(cloudFields.worst_queues)],
            groupBy: [PANDA_CLOUDS_DERIVED.tags.cloud],
          },
          { description: 'Newest point of the range per cloud, highest suspicious share first.', sortBy: { column: cloudFields.suspicious_share, descending: true }, columnUnits: { suspicious_share: 'percent' } },
        ),
        row('Suspicious queues'),
        table(
          'Suspicious queues, furthest outside their band first',
          {
            measurement: queues,
            select: [last(queueFields.outside_band), last(queueFields.current), last(queueFields.average), last(queueFields.lower), last(queueFields.upper), last(queueFields.reason)],
            where: [suspicious],
            groupBy: [queueTags.queue, queueTags.site, queueTags.cloud, queueTags.tier],
          },
          {
            description: 'Per queue flagged in the range, its newest flagged point: jobs in the signal states (current), their moving average, the band [lower, upper] and how many jobs the current value lies outside it.',
            sortBy: { column: queueFields.outside_band, descending: true },
            unit: jobs,
            height: 10,
          },
        ),
        series('Jobs outside the band, suspicious queues', jobs, [
          { measurement: queues, select: [mean(queueFields.outside_band)], where: [suspicious], groupBy: [queueTags.queue], alias: '$tag_queue' },
        ], { description: 'Only the buckets where the queue was flagged.' }),
        series('Current vs average, suspicious queues', jobs, [
          { measurement: queues, select: [mean(queueFields.current, 'current')], where: [suspicious], groupBy: [queueTags.queue], alias: '$tag_queue current' },
          { measurement: queues, select: [mean(queueFields.average, 'average')], where: [suspicious], groupBy: [queueTags.queue], alias: '$tag_queue average' },
        ]),
        row('Suspicious series (per-series rule)'),
        table(
          'Suspicious series',
          {
            measurement: perSeries,
            select: [last(seriesFields.current), last(seriesFields.avg_1h), last(seriesFields.avg_24h), last(seriesFields.avg_7d), last(seriesFields.reason)],
            where: [{ key: seriesFields.suspicious, value: true }],
            groupBy: [seriesTags.queue, seriesTags.site, seriesTags.cloud, seriesTags.prod_source, seriesTags.resource, seriesTags.job_status],
          },
          { description: "Our per-series rule ([panda] suspicious_windows and factors; QMonit publishes no rule of its own), per queue, prod source, resource type and state: the latest value in the range departs from its averages beyond the configured factors. Informative; the status judges the queues above." },
        ),
      ],
      keyNumbers: [
        keyNumber('PanDA suspicious queues', 'short', { measurement: queues, select: [{ fn: 'count', field: queueFields.current }], where: [suspicious] }),
      ],
      genericGroupBy: {
        [PANDA_QUEUES_DERIVED.type]: [queueTags.cloud],
      },
    };
  },
});
