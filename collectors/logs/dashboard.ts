import { defineDashboard, series, table, keyNumber, last, sum, perHour } from '../../dashboards/module';
import { Measurement, type QuerySpec, type Selection } from '../../dashboards/query';

export default defineDashboard({
  uid: 'monit-logs',
  title: 'Logs',
  description: 'Log lines matching the configured patterns.',
  build(registry) {
    const pattern = Measurement.of(registry, 'logs', 'pattern');
    const perPattern = (selection: Selection): QuerySpec => ({ measurement: pattern, select: [selection], groupBy: ['pattern'], alias: '$tag_pattern' });
    return {
      filters: [{ tag: 'pattern', from: pattern }],
      panels: [
        series('Matching lines per hour', 'short', [perPattern(perHour('matches'))]),
        series('Lines read per hour', 'short', [perPattern(perHour('lines'))]),
        series('Time since the last match', 's', [perPattern(last('last_match_age_s'))]),
        table('Patterns', { measurement: pattern, select: [sum('matches'), sum('lines'), last('files'), last('last_match_age_s')], groupBy: ['pattern'] }),
      ],
      keyNumbers: [keyNumber('Log matches, last hour', 'short', { measurement: pattern, select: [sum('matches')] }, { reduce: 'sum' })],
    };
  },
});
