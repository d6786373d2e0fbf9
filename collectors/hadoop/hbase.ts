/**
 * An HBase master's /jmx. The bean and attribute names are those of hbase-hadoop-compat
 * MetricsMasterSource.java (Master,sub=Server: numRegionServers, numDeadRegionServers, averageLoad,
 * clusterRequests, tags as "tag.<name>") and MetricsAssignmentManagerSource.java
 * (Master,sub=AssignmentManager: ritCount, ritCountOverThreshold, ritOldestAge; HBase 1.x spells it
 * "AssignmentManger").
 */
import { SourceFailure } from '../../lib/documents/failures';
import type { FieldsOf } from '../../lib/documents/kinds';
import type { HADOOP_HBASE_MASTER } from '../../schemas/kinds';
import { count, optionalCount, type JmxBean } from './jmx';

export type HBaseMasterFields = FieldsOf<typeof HADOOP_HBASE_MASTER>;

/** One request for both beans: the servlet takes a JMX pattern. */
export const MASTER_BEANS_QUERY = 'Hadoop:service=HBase,name=Master,sub=*';
export const SERVER_BEAN = 'Hadoop:service=HBase,name=Master,sub=Server';
const ASSIGNMENT_BEANS = ['Hadoop:service=HBase,name=Master,sub=AssignmentManager', 'Hadoop:service=HBase,name=Master,sub=AssignmentManger'];

/** host:port of each server in tag.deadRegionServers ("host,port,startcode;host,port,startcode"), sorted. */
function deadServerNames(server: JmxBean): string[] {
  const text = server['tag.deadRegionServers'];
  if (typeof text !== 'string' || text.trim() === '') return [];
  return text
    .split(';')
    .map((name) => name.trim())
    .filter(Boolean)
    .map((name) => {
      const [host, port] = name.split(',');
      return port ? `${host}:${port}` : host;
    })
    .sort();
}

/**
 * The master's health from its beans. The Server bean is required; a backup master (tag.isActiveMaster
 * false) gives only its state, as its counts are zeros until it becomes active.
 */
export function hbaseMasterFields(beans: JmxBean[]): HBaseMasterFields {
  const server = beans.find((bean) => bean.name === SERVER_BEAN);
  if (!server) throw new SourceFailure('malformed', `the master has no ${SERVER_BEAN} bean (is this an HBase master?)`);
  const active = server['tag.isActiveMaster'];
  if (active !== 'true' && active !== 'false') throw new SourceFailure('malformed', `${SERVER_BEAN} tag.isActiveMaster is not "true" or "false": ${JSON.stringify(active)}`);
  if (active === 'false') return { up: 1, ha_state: 'backup' };
  const averageLoad = server.averageLoad;
  if (typeof averageLoad !== 'number' || !Number.isFinite(averageLoad)) throw new SourceFailure('malformed', `${SERVER_BEAN} averageLoad is not a number: ${JSON.stringify(averageLoad)}`);
  const assignment = beans.find((bean) => ASSIGNMENT_BEANS.includes(String(bean.name)));
  const dead = deadServerNames(server);
  return {
    up: 1,
    ha_state: 'active',
    region_servers_live: count(server, 'numRegionServers', SERVER_BEAN),
    region_servers_dead: count(server, 'numDeadRegionServers', SERVER_BEAN),
    region_servers_draining: optionalCount(server, 'numDrainingRegionServers'),
    dead_region_servers: dead.length ? dead.join(',').slice(0, 500) : undefined,
    average_load: Math.round(averageLoad * 1000) / 1000,
    regions_online: optionalCount(server, 'onlineRegionCount'),
    regions_offline: optionalCount(server, 'offlineRegionCount'),
    requests_total: optionalCount(server, 'clusterRequests'),
    // The AssignmentManager's bean: required of an active master, whose regions it assigns.
    ...(assignment ? ritFields(assignment) : missingAssignment()),
  };
}

function ritFields(assignment: JmxBean): HBaseMasterFields {
  const name = String(assignment.name);
  return {
    regions_in_transition: count(assignment, 'ritCount', name),
    regions_in_transition_over_threshold: count(assignment, 'ritCountOverThreshold', name),
    regions_in_transition_oldest_age_ms: count(assignment, 'ritOldestAge', name),
  };
}

function missingAssignment(): never {
  throw new SourceFailure('malformed', `the active master has no ${ASSIGNMENT_BEANS[0]} bean`);
}
