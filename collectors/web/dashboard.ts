import { defineDashboard, series, table, keyNumber, last, mean, min, percentOf } from '../../dashboards/module';
import { Measurement, type QuerySpec, type Selection } from '../../dashboards/query';
import { WEB_PROBE } from '../../schemas/kinds';

export default defineDashboard({
  uid: 'monit-web',
  title: 'Web',
  description: 'HTTP probes of the configured URLs: availability, latency, certificates.',
  build(registry) {
    const { fields, tags } = WEB_PROBE;
    const probe = Measurement.of(registry, WEB_PROBE);
    const perName = (selection: Selection): QuerySpec => ({ measurement: probe, select: [selection], groupBy: [tags.name], alias: '$tag_name' });
    return {
      filters: [{ tag: tags.name, from: probe }],
      panels: [
        series('Availability', 'percent', [perName(percentOf(fields.up))], { decimals: 1 }),
        series('Latency', 'ms', [perName(mean(fields.latency_ms))]),
        series('Certificate days left', 'd', [perName(min(fields.cert_days_left))]),
        table('Latest probe results', { measurement: probe, select: [last(fields.up), last(fields.status), last(fields.error_class), last(fields.latency_ms), min(fields.cert_days_left)], groupBy: [tags.name, tags.url] }),
      ],
      keyNumbers: [keyNumber('Web probes up', 'percent', { measurement: probe, select: [percentOf(fields.up)] }, { decimals: 0 })],
    };
  },
});
