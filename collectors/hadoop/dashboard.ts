import { defineDashboard, series, table, keyNumber, last, mean, max, min, row } from '../../dashboards/module';
import { Measurement, type QuerySpec, type Selection } from '../../dashboards/query';
import { HADOOP_CONTENT_SUMMARY, HADOOP_HBASE_MASTER, HADOOP_NAMENODE, HADOOP_RESOURCEMANAGER } from '../../schemas/kinds';

export default defineDashboard({
  uid: 'monit-hadoop',
  title: 'Hadoop',
  description: 'HDFS NameNodes (capacity, datanodes, blocks, HA, safe mode), YARN ResourceManagers, HBase masters and HDFS volumes per path.',
  statusModules: ['hadoop', 'hadoop-yarn', 'hadoop-hbase', 'hadoop-volumes'],
  build(registry) {
    const { fields, tags } = HADOOP_NAMENODE;
    const namenode = Measurement.of(registry, HADOOP_NAMENODE);
    const perNameNode = (...select: Selection[]): QuerySpec => ({ measurement: namenode, select, groupBy: [tags.namenode], alias: '$tag_namenode $col' });
    const yarn = HADOOP_RESOURCEMANAGER.fields;
    const resourceManager = Measurement.of(registry, HADOOP_RESOURCEMANAGER);
    const perResourceManager = (...select: Selection[]): QuerySpec => ({ measurement: resourceManager, select, groupBy: [HADOOP_RESOURCEMANAGER.tags.resourcemanager], alias: '$tag_resourcemanager $col' });
    const hbase = HADOOP_HBASE_MASTER.fields;
    const master = Measurement.of(registry, HADOOP_HBASE_MASTER);
    const perMaster = (...select: Selection[]): QuerySpec => ({ measurement: master, select, groupBy: [HADOOP_HBASE_MASTER.tags.hbase_master], alias: '$tag_hbase_master $col' });
    const volume = HADOOP_CONTENT_SUMMARY.fields;
    const summary = Measurement.of(registry, HADOOP_CONTENT_SUMMARY);
    const perPath = (...select: Selection[]): QuerySpec => ({ measurement: summary, select, groupBy: [HADOOP_CONTENT_SUMMARY.tags.path], alias: '$tag_path $col' });
    return {
      filters: [
        { tag: tags.namenode, from: namenode },
        { tag: HADOOP_RESOURCEMANAGER.tags.resourcemanager, from: resourceManager },
        { tag: HADOOP_HBASE_MASTER.tags.hbase_master, from: master },
        { tag: HADOOP_CONTENT_SUMMARY.tags.path, from: summary },
      ],
      panels: [
        row('HDFS'),
        series('HDFS capacity used', 'percent', [perNameNode(mean(fields.capacity_used_percent, 'used'))]),
        series('HDFS capacity', 'bytes', [perNameNode(mean(fields.capacity_used_bytes, 'used'), mean(fields.capacity_remaining_bytes, 'remaining'))]),
        series('Datanodes', 'short', [perNameNode(min(fields.datanodes_live, 'live'), max(fields.datanodes_dead, 'dead'), max(fields.datanodes_stale, 'stale'), max(fields.datanodes_decommissioning, 'decommissioning'))]),
        series('Problem blocks', 'short', [perNameNode(max(fields.blocks_missing, 'missing'), max(fields.blocks_corrupt, 'corrupt'), max(fields.blocks_under_replicated, 'under-replicated'), max(fields.volume_failures, 'volume failures'))]),
        table('NameNodes', { measurement: namenode, select: [last(fields.up), last(fields.ha_state), last(fields.safe_mode), last(fields.files_total), last(fields.blocks_total), last(fields.dead_datanodes)], groupBy: [tags.namenode] }),
        row('YARN'),
        series('NodeManagers', 'short', [perResourceManager(min(yarn.nodes_active, 'active'), max(yarn.nodes_lost, 'lost'), max(yarn.nodes_unhealthy, 'unhealthy'), max(yarn.nodes_decommissioning, 'decommissioning'))]),
        series('Applications', 'short', [perResourceManager(mean(yarn.apps_running, 'running'), mean(yarn.apps_pending, 'pending'), mean(yarn.apps_state_accepted, 'accepted'))]),
        series('YARN memory and vcores allocated', 'percent', [perResourceManager(mean(yarn.memory_allocated_percent, 'memory'), mean(yarn.vcores_allocated_percent, 'vcores'))]),
        series('Containers', 'short', [perResourceManager(mean(yarn.containers_allocated, 'allocated'), mean(yarn.containers_pending, 'pending'), mean(yarn.containers_reserved, 'reserved'))]),
        table('ResourceManagers', {
          measurement: resourceManager,
          select: [last(yarn.up), last(yarn.ha_state), last(yarn.apps_submitted), last(yarn.apps_failed), last(yarn.apps_killed), last(yarn.apps_state_finished), last(yarn.memory_total_bytes), last(yarn.vcores_total)],
          groupBy: [HADOOP_RESOURCEMANAGER.tags.resourcemanager],
        }),
        row('HBase'),
        series('Region servers', 'short', [perMaster(min(hbase.region_servers_live, 'live'), max(hbase.region_servers_dead, 'dead'))]),
        series('Regions in transition', 'short', [perMaster(max(hbase.regions_in_transition, 'in transition'), max(hbase.regions_in_transition_over_threshold, 'over threshold'))]),
        series('Oldest region in transition', 'ms', [perMaster(max(hbase.regions_in_transition_oldest_age_ms, 'age'))]),
        series('Regions per region server', 'none', [perMaster(mean(hbase.average_load, 'average load'))]),
        table('HBase masters', {
          measurement: master,
          select: [last(hbase.up), last(hbase.ha_state), last(hbase.regions_online), last(hbase.requests_total), last(hbase.dead_region_servers)],
          groupBy: [HADOOP_HBASE_MASTER.tags.hbase_master],
        }),
        row('HDFS volumes'),
        series('Bytes per path', 'bytes', [perPath(mean(volume.length_bytes, 'bytes'))]),
        series('Files per path', 'short', [perPath(mean(volume.files, 'files'))]),
        series('Quota used per path', 'percent', [perPath(mean(volume.space_quota_used_percent, 'space'), mean(volume.namespace_quota_used_percent, 'names'))]),
        table('Paths', {
          measurement: summary,
          select: [last(volume.up), last(volume.length_bytes), last(volume.space_consumed_bytes), last(volume.files), last(volume.directories), last(volume.space_quota_bytes), last(volume.namespace_quota), last(volume.error)],
          groupBy: [HADOOP_CONTENT_SUMMARY.tags.path],
        }),
      ],
      keyNumbers: [
        keyNumber('HDFS used', 'percent', { measurement: namenode, select: [max(fields.capacity_used_percent)] }),
        keyNumber('HDFS missing blocks', 'short', { measurement: namenode, select: [max(fields.blocks_missing)] }),
        keyNumber('YARN lost nodes', 'short', { measurement: resourceManager, select: [max(yarn.nodes_lost)] }),
        keyNumber('HBase dead region servers', 'short', { measurement: master, select: [max(hbase.region_servers_dead)] }),
      ],
    };
  },
});
