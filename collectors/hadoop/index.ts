import { defineSource } from '../source';
import { HADOOP_CONTENT_SUMMARY, HADOOP_HBASE_MASTER, HADOOP_NAMENODE, HADOOP_RESOURCEMANAGER } from '../../schemas/kinds';

export default defineSource({
  description: 'Hadoop: HDFS NameNodes (/jmx), YARN ResourceManagers (REST), HBase masters (/jmx) and per-path HDFS volumes (WebHDFS GETCONTENTSUMMARY)',
  produces: [HADOOP_NAMENODE, HADOOP_RESOURCEMANAGER, HADOOP_HBASE_MASTER, HADOOP_CONTENT_SUMMARY],
  collector: () => require('./collector') as typeof import('./collector'),
  dashboard: () => require('./dashboard') as typeof import('./dashboard'),
  demo: () => require('./demo') as typeof import('./demo'),
});
