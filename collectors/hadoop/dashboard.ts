import { defineDashboard, series, table, keyNumber, last, mean, max, min } from '../../dashboards/module';
import { Measurement, type QuerySpec, type Selection } from '../../dashboards/query';
import { HADOOP_NAMENODE } from '../../schemas/kinds';

export default defineDashboard({
  uid: 'monit-hadoop',
  title: 'Hadoop',
  description: 'HDFS NameNodes: capacity, datanodes, blocks, HA and safe mode.',
  build(registry) {
    const { fields, tags } = HADOOP_NAMENODE;
    const namenode = Measurement.of(registry, HADOOP_NAMENODE);
    const perNameNode = (...select: Selection[]): QuerySpec => ({ measurement: namenode, select, groupBy: [tags.namenode], alias: '$tag_namenode $col' });
    return {
      filters: [{ tag: tags.namenode, from: namenode }],
      panels: [
        series('HDFS capacity used', 'percent', [perNameNode(mean(fields.capacity_used_percent, 'used'))]),
        series('HDFS capacity', 'bytes', [perNameNode(mean(fields.capacity_used_bytes, 'used'), mean(fields.capacity_remaining_bytes, 'remaining'))]),
        series('Datanodes', 'short', [perNameNode(min(fields.datanodes_live, 'live'), max(fields.datanodes_dead, 'dead'), max(fields.datanodes_stale, 'stale'), max(fields.datanodes_decommissioning, 'decommissioning'))]),
        series('Problem blocks', 'short', [perNameNode(max(fields.blocks_missing, 'missing'), max(fields.blocks_corrupt, 'corrupt'), max(fields.blocks_under_replicated, 'under-replicated'), max(fields.volume_failures, 'volume failures'))]),
        table('NameNodes', { measurement: namenode, select: [last(fields.up), last(fields.ha_state), last(fields.safe_mode), last(fields.files_total), last(fields.blocks_total), last(fields.dead_datanodes)], groupBy: [tags.namenode] }),
      ],
      keyNumbers: [
        keyNumber('HDFS used', 'percent', { measurement: namenode, select: [max(fields.capacity_used_percent)] }),
        keyNumber('HDFS missing blocks', 'short', { measurement: namenode, select: [max(fields.blocks_missing)] }),
      ],
    };
  },
});
