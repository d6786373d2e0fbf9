import { defineDashboard, keyNumber, last, max, mean, series, table } from '../../dashboards/module';
import { Measurement, type QuerySpec, type Selection } from '../../dashboards/query';
import { XROOTD_PROBE } from '../../schemas/kinds';

export default defineDashboard({
  uid: 'monit-xrdprobe',
  title: 'XRootD transfer probes',
  description: 'xrdcp of a known test file from (and a generated one to) each endpoint: success, duration, throughput.',
  build(registry) {
    const probe = Measurement.of(registry, XROOTD_PROBE);
    const { fields, tags } = XROOTD_PROBE;
    const perEndpoint = (...select: Selection[]): QuerySpec => ({ measurement: probe, select, groupBy: [tags.endpoint, tags.direction], alias: '$tag_endpoint $tag_direction' });
    return {
      filters: [
        { tag: tags.endpoint, from: probe },
        { tag: tags.site, from: probe },
      ],
      panels: [
        series('Transfer probes: duration', 'ms', [perEndpoint(mean(fields.duration_ms))]),
        series('Transfer probes: throughput', 'MBs', [perEndpoint(mean(fields.throughput_mbps))]),
        table('Transfer probes: latest result', { measurement: probe, select: [last(fields.success), last(fields.error_class), last(fields.error_message)], groupBy: [tags.endpoint, tags.site, tags.direction] }),
      ],
      keyNumbers: [keyNumber('Slowest XRootD probe', 'ms', { measurement: probe, select: [max(fields.duration_ms)] })],
    };
  },
});
