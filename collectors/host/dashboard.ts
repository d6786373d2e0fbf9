import { defineDashboard, series, table, keyNumber, last, mean, sum, max } from '../../dashboards/module';
import { Measurement, type QuerySpec, type Selection } from '../../dashboards/query';

export default defineDashboard({
  uid: 'monit-host',
  title: 'Hosts',
  description: 'CPU, load, memory, filesystems and network of the hosts read through node_exporter.',
  build(registry) {
    const system = Measurement.of(registry, 'host', 'system');
    const filesystem = Measurement.of(registry, 'host', 'filesystem');
    const network = Measurement.of(registry, 'host', 'network');
    const perInstance = (...select: Selection[]): QuerySpec => ({ measurement: system, select, groupBy: ['instance'], alias: '$tag_instance $col' });
    return {
      filters: [
        { tag: 'instance', from: system },
        { tag: 'mountpoint', from: filesystem },
        { tag: 'interface', from: network },
      ],
      panels: [
        series('CPU busy', 'percent', [perInstance(mean('cpu_percent', 'busy'), mean('cpu_iowait_percent', 'iowait'))]),
        series('Load', 'none', [perInstance(mean('load1'), mean('load5'), mean('load15'))]),
        series('Memory used', 'percent', [perInstance(mean('memory_used_percent'))]),
        series('Filesystems used', 'percent', [{ measurement: filesystem, select: [mean('used_percent')], groupBy: ['instance', 'mountpoint'], alias: '$tag_instance $tag_mountpoint' }]),
        series('Network traffic', 'Bps', [{ measurement: network, select: [mean('receive_bytes_per_s', 'in'), mean('transmit_bytes_per_s', 'out')], groupBy: ['instance', 'interface'], alias: '$tag_instance $tag_interface $col' }]),
        table('Hosts', { measurement: system, select: [last('up'), last('error'), last('cpu_count'), last('memory_total_bytes'), last('uptime_s')], groupBy: ['instance'] }),
      ],
      keyNumbers: [
        keyNumber('Hosts up', 'short', { measurement: system, select: [sum('up')] }),
        keyNumber('Fullest filesystem', 'percent', { measurement: filesystem, select: [max('used_percent')] }),
      ],
    };
  },
});
