import { defineSource } from '../source';
import { HADOOP_NAMENODE } from '../../schemas/kinds';

export default defineSource({
  description: "HDFS NameNodes' /jmx: capacity, datanodes live/dead/decommissioning, missing/corrupt/under-replicated blocks, safe mode",
  produces: [HADOOP_NAMENODE],
  collector: () => require('./collector') as typeof import('./collector'),
  dashboard: () => require('./dashboard') as typeof import('./dashboard'),
  demo: () => require('./demo') as typeof import('./demo'),
});
