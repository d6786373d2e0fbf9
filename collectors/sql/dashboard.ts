import { defineDashboard, series, table, keyNumber, last, mean, percentOf } from '../../dashboards/module';
import { Measurement, type QuerySpec, type Selection } from '../../dashboards/query';

export default defineDashboard({
  uid: 'monit-sql',
  title: 'SQL',
  description: 'The configured SQL queries: whether they answer, how long they take, how many rows they give.',
  build(registry) {
    const status = Measurement.of(registry, 'sql', 'query_status');
    const perQuery = (selection: Selection): QuerySpec => ({ measurement: status, select: [selection], groupBy: ['query_name'], alias: '$tag_query_name' });
    return {
      filters: [{ tag: 'query_name', from: status }],
      panels: [
        series('Availability', 'percent', [perQuery(percentOf('up'))], { decimals: 1 }),
        series('Duration', 'ms', [perQuery(mean('duration_ms'))]),
        series('Rows', 'short', [perQuery(mean('rows'))]),
        table('Latest results', { measurement: status, select: [last('up'), last('rows'), last('duration_ms'), last('error'), last('message')], groupBy: ['query_name'] }),
      ],
      keyNumbers: [keyNumber('SQL queries up', 'percent', { measurement: status, select: [percentOf('up')] }, { decimals: 0 })],
    };
  },
});
