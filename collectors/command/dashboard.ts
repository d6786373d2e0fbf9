import { defineDashboard, series, table, keyNumber, last, mean, percentOf } from '../../dashboards/module';
import { Measurement, type QuerySpec, type Selection } from '../../dashboards/query';
import { COMMAND_RESULT } from '../../schemas/kinds';

export default defineDashboard({
  uid: 'monit-command',
  title: 'Commands',
  description: 'The configured commands and scripts: whether they end well, how long they take, their exit codes.',
  build(registry) {
    const { fields, tags } = COMMAND_RESULT;
    const results = Measurement.of(registry, COMMAND_RESULT);
    const perCommand = (selection: Selection): QuerySpec => ({ measurement: results, select: [selection], groupBy: [tags.command], alias: '$tag_command' });
    return {
      filters: [{ tag: tags.command, from: results }],
      panels: [
        series('Availability', 'percent', [perCommand(percentOf(fields.up))], { decimals: 1 }),
        series('Duration', 'ms', [perCommand(mean(fields.duration_ms))]),
        series('Exit code', 'none', [perCommand(last(fields.exit_code))]),
        table('Latest results', { measurement: results, select: [last(fields.up), last(fields.exit_code), last(fields.duration_ms), last(fields.values), last(fields.error_class), last(fields.reason)], groupBy: [tags.command] }),
      ],
      keyNumbers: [keyNumber('Commands up', 'percent', { measurement: results, select: [percentOf(fields.up)] }, { decimals: 0 })],
    };
  },
});
