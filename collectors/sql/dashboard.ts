import { defineDashboard, series, table, keyNumber, last, mean, percentOf } from '../../dashboards/module';
import { Measurement, type QuerySpec, type Selection } from '../../dashboards/query';
import { SQL_QUERY_STATUS } from '../../schemas/kinds';

export default defineDashboard({
  uid: 'monit-sql',
  title: 'SQL',
  description: 'The configured SQL queries: whether they answer, how long they take, how many rows they give.',
  build(registry) {
    const { fields, tags } = SQL_QUERY_STATUS;
    const status = Measurement.of(registry, SQL_QUERY_STATUS);
    const perQuery = (selection: Selection): QuerySpec => ({ measurement: status, select: [selection], groupBy: [tags.query_name], alias: '$tag_query_name' });
    return {
      filters: [{ tag: tags.query_name, from: status }],
      panels: [
        series('Availability', 'percent', [perQuery(percentOf(fields.up))], { decimals: 1 }),
        series('Duration', 'ms', [perQuery(mean(fields.duration_ms))]),
        series('Rows', 'short', [perQuery(mean(fields.rows))]),
        table('Latest results', { measurement: status, select: [last(fields.up), last(fields.rows), last(fields.duration_ms), last(fields.error), last(fields.message)], groupBy: [tags.query_name] }),
      ],
      keyNumbers: [keyNumber('SQL queries up', 'percent', { measurement: status, select: [percentOf(fields.up)] }, { decimals: 0 })],
    };
  },
});
