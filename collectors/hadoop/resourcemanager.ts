/**
 * A YARN ResourceManager through its REST API (hadoop-yarn-site ResourceManagerRest.md):
 * /ws/v1/cluster/info (clusterInfo.haState), /ws/v1/cluster/metrics (clusterMetrics, as in
 * ClusterMetricsInfo.java) and /ws/v1/cluster/appstatistics (appStatInfo.statItem, one per
 * YarnApplicationState). Counts only: /ws/v1/cluster/apps lists every application and is huge.
 */
import { SourceFailure } from '../../lib/documents/failures';
import { withoutCredentials } from '../../lib/http/credentials';
import { fetchJson } from '../../lib/http/get';
import type { FieldsOf } from '../../lib/documents/kinds';
import type { ClientTls } from '../../lib/tls/clientTls';
import type { HADOOP_RESOURCEMANAGER } from '../../schemas/kinds';
import { optionalWholeNumber, percent, routeUrl, wholeNumber } from './endpoint';

export type ResourceManagerFields = FieldsOf<typeof HADOOP_RESOURCEMANAGER>;

const MEBIBYTE = 1024 * 1024;

/** YarnApplicationState values, each to its field (appstatistics without `states` lists them all). */
const APP_STATE_FIELDS = {
  NEW: 'apps_state_new',
  NEW_SAVING: 'apps_state_new_saving',
  SUBMITTED: 'apps_state_submitted',
  ACCEPTED: 'apps_state_accepted',
  RUNNING: 'apps_state_running',
  FINISHED: 'apps_state_finished',
  FAILED: 'apps_state_failed',
  KILLED: 'apps_state_killed',
} as const satisfies Record<string, keyof ResourceManagerFields>;
type AppState = keyof typeof APP_STATE_FIELDS;

export interface RestRequest {
  timeoutMs: number;
  signal: AbortSignal;
  tls?: ClientTls;
}

function objectAt(answer: unknown, key: string, url: string): Record<string, unknown> {
  const value = typeof answer === 'object' && answer !== null ? (answer as Record<string, unknown>)[key] : undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SourceFailure('malformed', `ResourceManager ${url}: the answer has no "${key}" object`);
  return value as Record<string, unknown>;
}

/** The RM's counts are never negative. */
function count(object: Record<string, unknown>, key: string, where: string): number {
  return wholeNumber(object, key, where, 0);
}

function optionalCount(object: Record<string, unknown>, key: string): number | undefined {
  return optionalWholeNumber(object, key, 0);
}

/** The fields of clusterMetrics: applications, containers, memory (MB → bytes), vcores and NodeManagers by state. */
export function clusterMetricsFields(metrics: Record<string, unknown>): ResourceManagerFields {
  const where = 'clusterMetrics';
  const number = (key: string): number => count(metrics, key, where);
  const memoryTotal = number('totalMB');
  const memoryAllocated = number('allocatedMB');
  const vcoresTotal = number('totalVirtualCores');
  const vcoresAllocated = number('allocatedVirtualCores');
  return {
    apps_submitted: number('appsSubmitted'),
    apps_completed: number('appsCompleted'),
    apps_failed: number('appsFailed'),
    apps_killed: number('appsKilled'),
    apps_pending: number('appsPending'),
    apps_running: number('appsRunning'),
    containers_allocated: number('containersAllocated'),
    containers_pending: number('containersPending'),
    containers_reserved: number('containersReserved'),
    memory_total_bytes: memoryTotal * MEBIBYTE,
    memory_allocated_bytes: memoryAllocated * MEBIBYTE,
    memory_available_bytes: number('availableMB') * MEBIBYTE,
    memory_reserved_bytes: number('reservedMB') * MEBIBYTE,
    memory_allocated_percent: percent(memoryAllocated, memoryTotal),
    vcores_total: vcoresTotal,
    vcores_allocated: vcoresAllocated,
    vcores_available: number('availableVirtualCores'),
    vcores_reserved: number('reservedVirtualCores'),
    vcores_allocated_percent: percent(vcoresAllocated, vcoresTotal),
    nodes_total: number('totalNodes'),
    nodes_active: number('activeNodes'),
    nodes_lost: number('lostNodes'),
    nodes_unhealthy: number('unhealthyNodes'),
    nodes_decommissioned: number('decommissionedNodes'),
    nodes_rebooted: number('rebootedNodes'),
    // Added in Hadoop 2.8/3.x: absent from older ResourceManagers.
    nodes_decommissioning: optionalCount(metrics, 'decommissioningNodes'),
    nodes_shutdown: optionalCount(metrics, 'shutdownNodes'),
  };
}

/** Applications by state from appStatInfo: every state of APP_STATE_FIELDS must be counted once. */
export function appStatisticsFields(statistics: Record<string, unknown>): ResourceManagerFields {
  // Jersey's JSON gives a list; some configurations give a lone item as an object.
  const items = Array.isArray(statistics.statItem) ? (statistics.statItem as unknown[]) : statistics.statItem === undefined ? [] : [statistics.statItem];
  const fields: ResourceManagerFields = {};
  for (const item of items) {
    if (typeof item !== 'object' || item === null) throw new SourceFailure('malformed', `appStatInfo statItem is not an object: ${JSON.stringify(item)}`);
    const { state } = item as { state?: unknown };
    // The documentation's example writes states in lower case; the enum serialises in upper case.
    const name = typeof state === 'string' ? state.toUpperCase() : '';
    if (!Object.hasOwn(APP_STATE_FIELDS, name)) continue; // a state of a newer YARN: not in the schema
    fields[APP_STATE_FIELDS[name as AppState]] = count(item as Record<string, unknown>, 'count', `appStatInfo ${name}`);
  }
  const missing = (Object.keys(APP_STATE_FIELDS) as AppState[]).filter((state) => fields[APP_STATE_FIELDS[state]] === undefined);
  if (missing.length) throw new SourceFailure('malformed', `appStatInfo has no count for ${missing.join(', ')}`);
  return fields;
}

/**
 * Reads one ResourceManager. A standby answers /ws/v1/cluster/info itself but redirects the other
 * routes to the active one (RMWebAppFilter), so a standby gives only its state: the active
 * ResourceManager's document has the figures, and they are not counted twice.
 */
export async function readResourceManager(baseUrl: string, request: RestRequest): Promise<ResourceManagerFields> {
  const get = (route: string): Promise<unknown> => fetchJson(routeUrl(baseUrl, route).href, { source: 'ResourceManager', ...request });
  const shown = (route: string): string => withoutCredentials(routeUrl(baseUrl, route).href);
  const infoUrl = shown('ws/v1/cluster/info');
  const info = objectAt(await get('ws/v1/cluster/info'), 'clusterInfo', infoUrl);
  if (typeof info.haState !== 'string') throw new SourceFailure('malformed', `ResourceManager ${infoUrl}: clusterInfo has no haState`);
  const haState = info.haState.toLowerCase();
  if (haState !== 'active') return { up: 1, ha_state: haState };
  const [metrics, statistics] = await Promise.all([get('ws/v1/cluster/metrics'), get('ws/v1/cluster/appstatistics')]);
  return {
    up: 1,
    ha_state: haState,
    ...clusterMetricsFields(objectAt(metrics, 'clusterMetrics', shown('ws/v1/cluster/metrics'))),
    ...appStatisticsFields(objectAt(statistics, 'appStatInfo', shown('ws/v1/cluster/appstatistics'))),
  };
}
