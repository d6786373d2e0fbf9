/**
 * QMonit's "DAOD distribution": per DATADISK, the analysis jobs running on the queues that read from
 * it against the data placed on it, their shares, and the moving averages of those jobs. The status
 * module panda-daod links here.
 */
import { defineDashboard, fieldUnit, last, mean, percentRatio, row, series, sum, table } from '../../dashboards/module';
import { Measurement, type QuerySpec } from '../../dashboards/query';
import { PANDA_DATADISKS, PANDA_DATADISKS_DERIVED } from '../../schemas/kinds';

export default defineDashboard({
  uid: 'monit-panda-daod',
  title: 'DAOD distribution',
  description: 'Per DATADISK: running analysis jobs and cores of the queues reading from it against the bytes and files placed on it, their shares, and the moving averages of those jobs.',
  statusModules: ['panda-daod'],
  kinds: [PANDA_DATADISKS, PANDA_DATADISKS_DERIVED],
  build(registry) {
    const datadisks = Measurement.of(registry, PANDA_DATADISKS);
    const averages = Measurement.of(registry, PANDA_DATADISKS_DERIVED);
    const { fields, tags } = PANDA_DATADISKS;
    const averageFields = PANDA_DATADISKS_DERIVED.fields;
    const perDatadisk = (field: string): QuerySpec => ({ measurement: datadisks, select: [sum(field)], groupBy: [tags.datadisk], alias: '$tag_datadisk' });
    const jobs = fieldUnit(datadisks, fields.running_jobs);
    return {
      filters: [tags.cloud, tags.site, tags.datadisk].map((tag) => ({ tag, from: datadisks })),
      panels: [
        row('Jobs against data'),
        table(
          'DATADISKs: running analysis against placed data',
          {
            measurement: datadisks,
            select: [
              last(fields.running_share),
              last(fields.bytes_share),
              percentRatio(fields.running_share, fields.bytes_share, 'running_per_bytes_share'),
              last(fields.running_jobs),
              last(fields.running_cores),
              last(fields.queues),
              last(fields.bytes),
              last(fields.files),
              last(fields.placement_age),
            ],
            groupBy: [tags.datadisk, tags.site, tags.cloud],
          },
          {
            description:
              'Newest point of the range per DATADISK, largest share of the running analysis jobs first. running_per_bytes_share: the running share as a percentage of the bytes share; above 100 the DATADISK draws more analysis than its share of the data, below 100 less.',
            sortBy: { column: fields.running_share, descending: true },
            columnUnits: {
              running_share: 'percent',
              bytes_share: 'percent',
              running_per_bytes_share: 'percent',
              bytes: fieldUnit(datadisks, fields.bytes),
              placement_age: fieldUnit(datadisks, fields.placement_age),
            },
            height: 10,
          },
        ),
        series('Share of the running analysis jobs per DATADISK', 'percent', [
          { measurement: datadisks, select: [mean(fields.running_share)], groupBy: [tags.datadisk], alias: '$tag_datadisk' },
        ]),
        series('Share of the bytes placed per DATADISK', 'percent', [{ measurement: datadisks, select: [mean(fields.bytes_share)], groupBy: [tags.datadisk], alias: '$tag_datadisk' }]),
        series('Running analysis jobs per DATADISK', jobs, [perDatadisk(fields.running_jobs)]),
        series('Running analysis cores per DATADISK', fieldUnit(datadisks, fields.running_cores), [perDatadisk(fields.running_cores)]),
        series('Bytes placed per DATADISK', fieldUnit(datadisks, fields.bytes), [perDatadisk(fields.bytes)]),
        series('Files placed per DATADISK', fieldUnit(datadisks, fields.files), [perDatadisk(fields.files)]),
        row('Moving averages'),
        table(
          'Running analysis jobs per DATADISK: current and moving averages',
          {
            measurement: averages,
            select: [last(averageFields.current), last(averageFields.avg_1h), last(averageFields.avg_6h), last(averageFields.avg_12h), last(averageFields.avg_24h), last(averageFields.avg_7d), last(averageFields.avg_30d)],
            groupBy: [PANDA_DATADISKS_DERIVED.tags.datadisk, PANDA_DATADISKS_DERIVED.tags.site, PANDA_DATADISKS_DERIVED.tags.cloud],
          },
          { description: 'Newest point of the range per DATADISK (QMonit averages: 1h to 24h over 10-minute points, 7d and 30d over daily ones).', sortBy: { column: averageFields.current, descending: true }, unit: jobs },
        ),
        table(
          'Cores of the running analysis jobs per DATADISK: current and moving averages',
          {
            measurement: averages,
            select: [
              last(averageFields.cores),
              last(averageFields.cores_avg_1h),
              last(averageFields.cores_avg_6h),
              last(averageFields.cores_avg_12h),
              last(averageFields.cores_avg_24h),
              last(averageFields.cores_avg_7d),
              last(averageFields.cores_avg_30d),
            ],
            groupBy: [PANDA_DATADISKS_DERIVED.tags.datadisk, PANDA_DATADISKS_DERIVED.tags.site, PANDA_DATADISKS_DERIVED.tags.cloud],
          },
          { description: 'The same averages in cores: each series times its cores per job (CRIC corecount for MCORE).', sortBy: { column: averageFields.cores, descending: true }, unit: jobs },
        ),
        series('Running analysis jobs per DATADISK, 24h average', jobs, [
          { measurement: averages, select: [mean(averageFields.avg_24h)], groupBy: [PANDA_DATADISKS_DERIVED.tags.datadisk], alias: '$tag_datadisk' },
        ]),
        series('Running analysis jobs per DATADISK, 7d average', jobs, [
          { measurement: averages, select: [mean(averageFields.avg_7d)], groupBy: [PANDA_DATADISKS_DERIVED.tags.datadisk], alias: '$tag_datadisk' },
        ]),
      ],
      keyNumbers: [],
      genericGroupBy: {
        [PANDA_DATADISKS.type]: [tags.datadisk],
        [PANDA_DATADISKS_DERIVED.type]: [PANDA_DATADISKS_DERIVED.tags.datadisk],
      },
    };
  },
});
