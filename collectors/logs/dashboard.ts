import { defineDashboard, series, table, keyNumber, last, sum, perHour } from '../../dashboards/module';
import { Measurement, type QuerySpec, type Selection } from '../../dashboards/query';
import { LOGS_PATTERN } from '../../schemas/kinds';

export default defineDashboard({
  uid: 'monit-logs',
  title: 'Logs',
  description: 'Log lines matching the configured patterns.',
  build(registry) {
    const { fields, tags } = LOGS_PATTERN;
    const pattern = Measurement.of(registry, LOGS_PATTERN);
    const perPattern = (selection: Selection): QuerySpec => ({ measurement: pattern, select: [selection], groupBy: [tags.pattern], alias: '$tag_pattern' });
    return {
      filters: [{ tag: tags.pattern, from: pattern }],
      panels: [
        series('Matching lines per hour', 'short', [perPattern(perHour(fields.matches))]),
        series('Lines read per hour', 'short', [perPattern(perHour(fields.lines))]),
        series('Time since the last match', 's', [perPattern(last(fields.last_match_age_s))]),
        table('Patterns', { measurement: pattern, select: [sum(fields.matches), sum(fields.lines), last(fields.files), last(fields.last_match_age_s)], groupBy: [tags.pattern] }),
      ],
      keyNumbers: [keyNumber('Log matches, last hour', 'short', { measurement: pattern, select: [sum(fields.matches)] }, { reduce: 'sum' })],
    };
  },
});
