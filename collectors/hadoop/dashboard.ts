import { defineDashboard, series, table, keyNumber, last, mean, max, min } from '../../dashboards/module';
import { Measurement, type QuerySpec, type Selection } from '../../dashboards/query';

export default defineDashboard({
  uid: 'monit-hadoop',
  title: 'Hadoop',
  description: 'HDFS NameNodes: capacity, datanodes, blocks, HA and safe mode.',
  build(registry) {
    const namenode = Measurement.of(registry, 'hadoop', 'namenode');
    const perNameNode = (...select: Selection[]): QuerySpec => ({ measurement: namenode, select, groupBy: ['namenode'], alias: '$tag_namenode $col' });
    return {
      filters: [{ tag: 'namenode', from: namenode }],
      panels: [
        series('HDFS capacity used', 'percent', [perNameNode(mean('capacity_used_percent', 'used'))]),
        series('HDFS capacity', 'bytes', [perNameNode(mean('capacity_used_bytes', 'used'), mean('capacity_remaining_bytes', 'remaining'))]),
        series('Datanodes', 'short', [perNameNode(min('datanodes_live', 'live'), max('datanodes_dead', 'dead'), max('datanodes_stale', 'stale'), max('datanodes_decommissioning', 'decommissioning'))]),
        series('Problem blocks', 'short', [perNameNode(max('blocks_missing', 'missing'), max('blocks_corrupt', 'corrupt'), max('blocks_under_replicated', 'under-replicated'), max('volume_failures', 'volume failures'))]),
        table('NameNodes', { measurement: namenode, select: [last('up'), last('ha_state'), last('safe_mode'), last('files_total'), last('blocks_total'), last('dead_datanodes')], groupBy: ['namenode'] }),
      ],
      keyNumbers: [
        keyNumber('HDFS used', 'percent', { measurement: namenode, select: [max('capacity_used_percent')] }),
        keyNumber('HDFS missing blocks', 'short', { measurement: namenode, select: [max('blocks_missing')] }),
      ],
    };
  },
});
