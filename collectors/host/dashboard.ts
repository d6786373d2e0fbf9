import { defineDashboard, keyNumber, last, max, mean, series, sum, table } from '../../dashboards/module';
import { Measurement, type QuerySpec, type Selection } from '../../dashboards/query';
import { HOST_FILESYSTEM, HOST_NETWORK, HOST_SYSTEM } from '../../schemas/kinds';

export default defineDashboard({
  uid: 'monit-host',
  title: 'Hosts',
  description: 'CPU, load, memory, filesystems and network of the hosts read through node_exporter.',
  build(registry) {
    const system = Measurement.of(registry, HOST_SYSTEM);
    const filesystem = Measurement.of(registry, HOST_FILESYSTEM);
    const network = Measurement.of(registry, HOST_NETWORK);
    const { fields } = HOST_SYSTEM;
    const perInstance = (...select: Selection[]): QuerySpec => ({ measurement: system, select, groupBy: [HOST_SYSTEM.tags.instance], alias: '$tag_instance $col' });
    return {
      filters: [
        { tag: HOST_SYSTEM.tags.instance, from: system },
        { tag: HOST_FILESYSTEM.tags.mountpoint, from: filesystem },
        { tag: HOST_NETWORK.tags.interface, from: network },
      ],
      panels: [
        series('CPU busy', 'percent', [perInstance(mean(fields.cpu_percent, 'busy'), mean(fields.cpu_iowait_percent, 'iowait'))]),
        series('Load', 'none', [perInstance(mean(fields.load1), mean(fields.load5), mean(fields.load15))]),
        series('Memory used', 'percent', [perInstance(mean(fields.memory_used_percent))]),
        series('Filesystems used', 'percent', [
          { measurement: filesystem, select: [mean(HOST_FILESYSTEM.fields.used_percent)], groupBy: [HOST_FILESYSTEM.tags.instance, HOST_FILESYSTEM.tags.mountpoint], alias: '$tag_instance $tag_mountpoint' },
        ]),
        series('Network traffic', 'Bps', [
          {
            measurement: network,
            select: [mean(HOST_NETWORK.fields.receive_bytes_per_s, 'in'), mean(HOST_NETWORK.fields.transmit_bytes_per_s, 'out')],
            groupBy: [HOST_NETWORK.tags.instance, HOST_NETWORK.tags.interface],
            alias: '$tag_instance $tag_interface $col',
          },
        ]),
        table('Hosts', {
          measurement: system,
          select: [last(fields.up), last(fields.error), last(fields.cpu_count), last(fields.memory_total_bytes), last(fields.uptime_s)],
          groupBy: [HOST_SYSTEM.tags.instance],
        }),
      ],
      keyNumbers: [
        keyNumber('Hosts up', 'short', { measurement: system, select: [sum(fields.up)] }),
        keyNumber('Fullest filesystem', 'percent', { measurement: filesystem, select: [max(HOST_FILESYSTEM.fields.used_percent)] }),
      ],
    };
  },
});
