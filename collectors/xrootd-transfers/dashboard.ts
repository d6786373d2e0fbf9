import { defineDashboard, series, table, keyNumber, mean, sum, perSecond } from '../../dashboards/module';
import { Measurement, type QuerySpec } from '../../dashboards/query';
import { XROOTD_FILES_CLOSES, XROOTD_TRANSFERS_CACHE, XROOTD_TRANSFERS_REDIRECTIONS, XROOTD_TRANSFERS_SERVERS, XROOTD_TRANSFERS_TPC, XROOTD_TRANSFERS_TRANSFERS, XROOTD_TRANSFERS_USERS } from '../../schemas/kinds';

export default defineDashboard({
  uid: 'monit-xrootd-transfers',
  title: 'XRootD transfers',
  description: 'File accesses from the XRootD detailed monitoring stream: local versus remote, top client sites, user statistics.',
  build(registry) {
    const transfers = Measurement.of(registry, XROOTD_TRANSFERS_TRANSFERS);
    const users = Measurement.of(registry, XROOTD_TRANSFERS_USERS);
    const servers = Measurement.of(registry, XROOTD_TRANSFERS_SERVERS);
    const redirections = Measurement.of(registry, XROOTD_TRANSFERS_REDIRECTIONS);
    const tpc = Measurement.of(registry, XROOTD_TRANSFERS_TPC);
    const cache = Measurement.of(registry, XROOTD_TRANSFERS_CACHE);
    const byAccess = (field: string): QuerySpec => ({ measurement: transfers, select: [perSecond(field)], groupBy: [XROOTD_TRANSFERS_TRANSFERS.tags.access], alias: '$tag_access' });
    // Rankings: the largest sums first, as the viewer sees them (top() alone keeps InfluxDB's order).
    const rank = (title: string, measurement: Measurement, tag: string, field: string) =>
      table(title, { measurement, select: [sum(field)], groupBy: [tag], top: { by: tag, limit: 10 } }, { unit: 'bytes', width: 12, sortBy: { column: field, descending: true } });
    const rankServerSites = (field: string, title: string) => rank(title, transfers, XROOTD_TRANSFERS_TRANSFERS.tags.server_site, field);
    return {
      filters: [
        { tag: XROOTD_TRANSFERS_TRANSFERS.tags.server_site, from: transfers },
        { tag: XROOTD_TRANSFERS_TRANSFERS.tags.client_site, from: transfers },
        { tag: XROOTD_TRANSFERS_TRANSFERS.tags.access, from: transfers },
        { tag: XROOTD_TRANSFERS_TRANSFERS.tags.access_mode, from: transfers },
        { tag: XROOTD_TRANSFERS_TRANSFERS.tags.vo, from: transfers },
        { tag: XROOTD_TRANSFERS_USERS.tags.user, from: users },
      ],
      panels: [
        series('Bytes read: local vs remote', 'Bps', [byAccess(XROOTD_TRANSFERS_TRANSFERS.fields.bytes_read)]),
        series('Bytes written: local vs remote', 'Bps', [byAccess(XROOTD_TRANSFERS_TRANSFERS.fields.bytes_written)]),
        series('Files opened: local vs remote', 'cps', [byAccess(XROOTD_TRANSFERS_TRANSFERS.fields.files_opened)]),
        series('Bytes read per client site', 'Bps', [{ measurement: transfers, select: [perSecond(XROOTD_TRANSFERS_TRANSFERS.fields.bytes_read)], groupBy: [XROOTD_TRANSFERS_TRANSFERS.tags.client_site], alias: '$tag_client_site' }]),
        series('Bytes read: copy vs remote I/O', 'Bps', [{ measurement: transfers, select: [perSecond(XROOTD_TRANSFERS_TRANSFERS.fields.bytes_read)], groupBy: [XROOTD_TRANSFERS_TRANSFERS.tags.access_mode], alias: '$tag_access_mode' }]),
        series('Bytes read by VO', 'Bps', [{ measurement: transfers, select: [perSecond(XROOTD_TRANSFERS_TRANSFERS.fields.bytes_read)], groupBy: [XROOTD_TRANSFERS_TRANSFERS.tags.vo], alias: '$tag_vo' }]),
        rank('Top 10 client sites by bytes read', transfers, XROOTD_TRANSFERS_TRANSFERS.tags.client_site, XROOTD_TRANSFERS_TRANSFERS.fields.bytes_read),
        rank('Top 10 users by bytes read', users, XROOTD_TRANSFERS_USERS.tags.user, XROOTD_TRANSFERS_USERS.fields.bytes_read),
        table('User statistics', {
          measurement: users,
          select: [
            sum(XROOTD_TRANSFERS_USERS.fields.bytes_read),
            sum(XROOTD_TRANSFERS_USERS.fields.bytes_written),
            sum(XROOTD_TRANSFERS_USERS.fields.accesses_total),
            sum(XROOTD_TRANSFERS_USERS.fields.accesses_local),
            sum(XROOTD_TRANSFERS_USERS.fields.accesses_remote),
            mean(XROOTD_TRANSFERS_USERS.fields.local_access_ratio),
            sum(XROOTD_TRANSFERS_USERS.fields.transfers),
            sum(XROOTD_TRANSFERS_USERS.fields.remote_io),
            mean(XROOTD_TRANSFERS_USERS.fields.remote_io_ratio),
            mean(XROOTD_TRANSFERS_USERS.fields.vector_read_ratio),
          ],
          groupBy: [XROOTD_TRANSFERS_USERS.tags.user],
        }),
        series('Bytes read per user', 'Bps', [{ measurement: users, select: [perSecond(XROOTD_TRANSFERS_USERS.fields.bytes_read)], groupBy: [XROOTD_TRANSFERS_USERS.tags.user], alias: '$tag_user' }]),
        // Rankings panels.
        series('Bytes served per server site', 'Bps', [{ measurement: transfers, select: [perSecond(XROOTD_TRANSFERS_TRANSFERS.fields.bytes_read)], groupBy: [XROOTD_TRANSFERS_TRANSFERS.tags.server_site], alias: '$tag_server_site' }]),
        rankServerSites(XROOTD_TRANSFERS_TRANSFERS.fields.bytes_read, 'Top 10 server sites by bytes served (read by clients)'),
        rankServerSites(XROOTD_TRANSFERS_TRANSFERS.fields.bytes_written, 'Top 10 server sites by bytes written to them'),
        // Redirections panels.
        series('Redirected opens by scope: local, same cloud, other cloud', 'cps', [
          { measurement: redirections, select: [perSecond(XROOTD_TRANSFERS_REDIRECTIONS.fields.open_redirects)], groupBy: [XROOTD_TRANSFERS_REDIRECTIONS.tags.scope], alias: '$tag_scope' },
        ]),
        table('Redirections per redirector and scope', {
          measurement: redirections,
          select: [sum(XROOTD_TRANSFERS_REDIRECTIONS.fields.open_redirects), sum(XROOTD_TRANSFERS_REDIRECTIONS.fields.redirects)],
          groupBy: [XROOTD_TRANSFERS_REDIRECTIONS.tags.server, XROOTD_TRANSFERS_REDIRECTIONS.tags.scope],
        }),
        // Third-party copy and cache panels.
        series('Third-party copies: bytes per remote site', 'Bps', [{ measurement: tpc, select: [perSecond(XROOTD_TRANSFERS_TPC.fields.bytes)], groupBy: [XROOTD_TRANSFERS_TPC.tags.remote_site], alias: '$tag_remote_site' }]),
        series('Third-party copies and failures per protocol', 'cps', [
          { measurement: tpc, select: [perSecond(XROOTD_TRANSFERS_TPC.fields.transfers, 'copies'), perSecond(XROOTD_TRANSFERS_TPC.fields.transfers_failed, 'failed')], groupBy: [XROOTD_TRANSFERS_TPC.tags.protocol], alias: '$tag_protocol $col' },
        ]),
        table('Third-party copies by server and remote site', {
          measurement: tpc,
          select: [sum(XROOTD_TRANSFERS_TPC.fields.transfers), sum(XROOTD_TRANSFERS_TPC.fields.transfers_failed), sum(XROOTD_TRANSFERS_TPC.fields.bytes), sum(XROOTD_TRANSFERS_TPC.fields.transfer_seconds)],
          groupBy: [XROOTD_TRANSFERS_TPC.tags.server_site, XROOTD_TRANSFERS_TPC.tags.remote_site, XROOTD_TRANSFERS_TPC.tags.protocol],
        }),
        series('XCache: hit, miss and bypass bytes per cache', 'Bps', [
          { measurement: cache, select: [perSecond(XROOTD_TRANSFERS_CACHE.fields.bytes_hit, 'hit'), perSecond(XROOTD_TRANSFERS_CACHE.fields.bytes_miss, 'miss'), perSecond(XROOTD_TRANSFERS_CACHE.fields.bytes_bypass, 'bypass')], groupBy: [XROOTD_TRANSFERS_CACHE.tags.server], alias: '$tag_server $col' },
        ]),
        series('Monitoring stream: packets per second', 'cps', [
          { measurement: servers, select: [perSecond(XROOTD_TRANSFERS_SERVERS.fields.packets, 'received'), perSecond(XROOTD_TRANSFERS_SERVERS.fields.packets_lost, 'lost'), perSecond(XROOTD_TRANSFERS_SERVERS.fields.packets_rejected, 'rejected'), perSecond(XROOTD_TRANSFERS_SERVERS.fields.packets_duplicate, 'duplicate')], groupBy: [XROOTD_TRANSFERS_SERVERS.tags.server], alias: '$tag_server $col' },
        ]),
      ],
      keyNumbers: [keyNumber('Transfers: bytes read', 'Bps', { measurement: transfers, select: [perSecond(XROOTD_TRANSFERS_TRANSFERS.fields.bytes_read)] })],
      genericGroupBy: {
        [XROOTD_TRANSFERS_TRANSFERS.type]: [XROOTD_TRANSFERS_TRANSFERS.tags.server_site, XROOTD_TRANSFERS_TRANSFERS.tags.client_site, XROOTD_TRANSFERS_TRANSFERS.tags.access],
      },
      // Per-file records are one point per close, not a series: their times and sizes plot nothing meaningful.
      genericExclude: {
        [XROOTD_FILES_CLOSES.type]: [XROOTD_FILES_CLOSES.fields.open_time, XROOTD_FILES_CLOSES.fields.close_time],
      },
    };
  },
});
