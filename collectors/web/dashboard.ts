import { defineDashboard, series, table, keyNumber, last, mean, min, percentOf } from '../../dashboards/module';
import { Measurement, type QuerySpec, type Selection } from '../../dashboards/query';

export default defineDashboard({
  uid: 'monit-web',
  title: 'Web',
  description: 'HTTP probes of the configured URLs: availability, latency, certificates.',
  build(registry) {
    const probe = Measurement.of(registry, 'web', 'probe');
    const perName = (selection: Selection): QuerySpec => ({ measurement: probe, select: [selection], groupBy: ['name'], alias: '$tag_name' });
    return {
      filters: [{ tag: 'name', from: probe }],
      panels: [
        series('Availability', 'percent', [perName(percentOf('up'))], { decimals: 1 }),
        series('Latency', 'ms', [perName(mean('latency_ms'))]),
        series('Certificate days left', 'd', [perName(min('cert_days_left'))]),
        table('Latest probe results', { measurement: probe, select: [last('up'), last('status'), last('error_class'), last('latency_ms'), min('cert_days_left')], groupBy: ['name', 'url'] }),
      ],
      keyNumbers: [keyNumber('Web probes up', 'percent', { measurement: probe, select: [percentOf('up')] }, { decimals: 0 })],
    };
  },
});
