import { defineDashboard, keyNumber, last, max, mean, series, sum, table } from '../../dashboards/module';
import { Measurement, type QuerySpec, type Selection } from '../../dashboards/query';
import { XROOTD_OSS_SPACE, XROOTD_SUMMARY } from '../../schemas/kinds';

export default defineDashboard({
  uid: 'monit-xrootd',
  title: 'XRootD servers',
  description: 'XRootD server summaries (throughput, connections, logins, authentication failures, redirections) and space.',
  build(registry) {
    const summary = Measurement.of(registry, XROOTD_SUMMARY);
    const space = Measurement.of(registry, XROOTD_OSS_SPACE);
    const { fields, tags } = XROOTD_SUMMARY;
    const perServer = (...select: Selection[]): QuerySpec => ({ measurement: summary, select, groupBy: [tags.server], alias: '$tag_server $col' });
    return {
      filters: [
        { tag: tags.site, from: summary },
        { tag: tags.server, from: summary },
        { tag: tags.program, from: summary },
      ],
      panels: [
        series('Throughput per server', 'Bps', [perServer(mean(fields.link_in_rate, 'in'), mean(fields.link_out_rate, 'out'))]),
        series('Open connections', 'short', [perServer(mean(fields.connections))]),
        series('New connections per second', 'hertz', [perServer(mean(fields.connection_rate))]),
        series('Logins and authentication failures per second', 'hertz', [perServer(mean(fields.login_rate, 'logins'), mean(fields.auth_failure_rate, 'auth failures'))]),
        series('Redirections per second', 'hertz', [perServer(mean(fields.redirection_rate))]),
        series('Errors and delays per second', 'hertz', [perServer(mean(fields.error_rate, 'errors'), mean(fields.delay_rate, 'delays'))]),
        table('Servers', { measurement: summary, select: [last(fields.version), last(fields.uptime_s), max(fields.connections_peak), sum(fields.restarts)], groupBy: [tags.server, tags.site, tags.program] }),
        series('Space used per path', 'percent', [
          { measurement: space, select: [mean(XROOTD_OSS_SPACE.fields.used_percent)], groupBy: [XROOTD_OSS_SPACE.tags.server, XROOTD_OSS_SPACE.tags.path], alias: '$tag_server $tag_path' },
        ]),
      ],
      keyNumbers: [
        keyNumber('XRootD throughput out', 'Bps', { measurement: summary, select: [sum(fields.link_out_rate)] }),
        keyNumber('XRootD connections', 'short', { measurement: summary, select: [sum(fields.connections)] }),
        keyNumber('XRootD auth failures', 'hertz', { measurement: summary, select: [sum(fields.auth_failure_rate)] }),
      ],
    };
  },
});
