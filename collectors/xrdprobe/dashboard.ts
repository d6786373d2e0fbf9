import { defineDashboard, keyNumber, last, matrix, max, mean, series, table } from '../../dashboards/module';
import { Measurement, type Condition, type QuerySpec, type Selection } from '../../dashboards/query';
import { XROOTD_PROBE } from '../../schemas/kinds';
import type { Direction } from './probe';

export default defineDashboard({
  uid: 'monit-xrdprobe',
  title: 'XRootD transfer probes',
  description: 'xrdcp of a known test file from (and a generated one to) each endpoint: success, duration, throughput, and the site-to-site matrix of probes run from several sites.',
  build(registry) {
    const probe = Measurement.of(registry, XROOTD_PROBE);
    const { fields, tags } = XROOTD_PROBE;
    // Probes from several hosts stay apart; documents without source_site (older versions) keep their own series.
    const perEndpoint = (...select: Selection[]): QuerySpec => ({ measurement: probe, select, groupBy: [tags.source_site, tags.endpoint, tags.direction], alias: '$tag_source_site $tag_endpoint $tag_direction' });
    // Probes that name no source site, or endpoints without a site, have no cell.
    const named: Condition[] = [
      { key: tags.source_site, op: '!=', value: '' },
      { key: tags.site, op: '!=', value: '' },
    ];
    const rateMatrix = (direction: Direction, title: string) =>
      matrix(title, { measurement: probe, select: [mean(fields.throughput_mbps)], where: [{ key: tags.direction, value: direction }, ...named] }, tags.source_site, tags.site, {
        unit: 'MBs',
        width: 12,
        description: 'Mean throughput of the successful probes in the range: one row per site the probes ran from (source_site), one column per endpoint site (site). An empty cell: no successful probe.',
      });
    return {
      filters: [
        { tag: tags.source_site, from: probe },
        { tag: tags.endpoint, from: probe },
        { tag: tags.site, from: probe },
      ],
      panels: [
        rateMatrix('download', 'Site-to-site transfer rate: downloads (rows read from columns)'),
        rateMatrix('upload', 'Site-to-site transfer rate: uploads (rows wrote to columns)'),
        series('Transfer probes: duration', 'ms', [perEndpoint(mean(fields.duration_ms))]),
        series('Transfer probes: throughput', 'MBs', [perEndpoint(mean(fields.throughput_mbps))]),
        table('Transfer probes: latest result', { measurement: probe, select: [last(fields.success), last(fields.error_class), last(fields.error_message)], groupBy: [tags.source_site, tags.endpoint, tags.site, tags.direction] }),
      ],
      keyNumbers: [keyNumber('Slowest XRootD probe', 'ms', { measurement: probe, select: [max(fields.duration_ms)] })],
    };
  },
});
