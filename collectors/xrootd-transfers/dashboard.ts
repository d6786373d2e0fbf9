import { defineDashboard, series, table, keyNumber, mean, sum, perSecond } from '../../dashboards/module';
import { Measurement, type QuerySpec } from '../../dashboards/query';

export default defineDashboard({
  uid: 'monit-xrootd-transfers',
  title: 'XRootD transfers',
  description: 'File accesses from the XRootD detailed monitoring stream: local versus remote, top client sites, user statistics.',
  build(registry) {
    const transfers = Measurement.of(registry, 'xrootd-transfers', 'transfers');
    const users = Measurement.of(registry, 'xrootd-transfers', 'users');
    const servers = Measurement.of(registry, 'xrootd-transfers', 'servers');
    const byAccess = (field: string): QuerySpec => ({ measurement: transfers, select: [perSecond(field)], groupBy: ['access'], alias: '$tag_access' });
    return {
      filters: [
        { tag: 'server_site', from: transfers },
        { tag: 'client_site', from: transfers },
        { tag: 'access', from: transfers },
        { tag: 'user', from: users },
      ],
      panels: [
        series('Bytes read: local vs remote', 'Bps', [byAccess('bytes_read')]),
        series('Bytes written: local vs remote', 'Bps', [byAccess('bytes_written')]),
        series('Files opened: local vs remote', 'cps', [byAccess('files_opened')]),
        series('Bytes read per client site', 'Bps', [{ measurement: transfers, select: [perSecond('bytes_read')], groupBy: ['client_site'], alias: '$tag_client_site' }]),
        table('Top 10 client sites by bytes read', { measurement: transfers, select: [sum('bytes_read')], groupBy: ['client_site'], top: { by: 'client_site', limit: 10 } }, { unit: 'bytes', width: 12 }),
        table('Top 10 users by bytes read', { measurement: users, select: [sum('bytes_read')], groupBy: ['user'], top: { by: 'user', limit: 10 } }, { unit: 'bytes', width: 12 }),
        table('User statistics', {
          measurement: users,
          select: [
            sum('bytes_read'),
            sum('bytes_written'),
            sum('accesses_total'),
            sum('accesses_local'),
            sum('accesses_remote'),
            mean('local_access_ratio'),
            sum('transfers'),
            sum('remote_io'),
            mean('remote_io_ratio'),
            mean('vector_read_ratio'),
          ],
          groupBy: ['user'],
        }),
        series('Bytes read per user', 'Bps', [{ measurement: users, select: [perSecond('bytes_read')], groupBy: ['user'], alias: '$tag_user' }]),
        series('Monitoring stream: packets per second', 'cps', [
          { measurement: servers, select: [perSecond('packets', 'received'), perSecond('packets_lost', 'lost'), perSecond('packets_rejected', 'rejected')], groupBy: ['server'], alias: '$tag_server $col' },
        ]),
      ],
      keyNumbers: [keyNumber('Transfers: bytes read', 'Bps', { measurement: transfers, select: [perSecond('bytes_read')] })],
      genericGroupBy: { transfers: ['server_site', 'client_site', 'access'] },
    };
  },
});
