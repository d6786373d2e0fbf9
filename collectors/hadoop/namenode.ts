import { SourceFailure } from '../../lib/documents/failures';
import { count, optionalCount, type JmxBean } from './jmx';

export const BEANS = {
  state: 'Hadoop:service=NameNode,name=FSNamesystemState',
  info: 'Hadoop:service=NameNode,name=NameNodeInfo',
  /** Optional: corrupt blocks (not in the two beans above). */
  namesystem: 'Hadoop:service=NameNode,name=FSNamesystem',
  /** Optional: the HA state (active, standby). */
  status: 'Hadoop:service=NameNode,name=NameNodeStatus',
} as const;

export interface NameNodeBeans {
  state: JmxBean | undefined;
  info: JmxBean | undefined;
  namesystem: JmxBean | undefined;
  status: JmxBean | undefined;
}

export type NameNodeFields = Record<string, number | string | boolean | undefined>;

/** Node names of NameNodeInfo's DeadNodes (a JSON object serialized as a string), sorted. */
function deadNodeNames(info: JmxBean): string[] {
  if (typeof info.DeadNodes !== 'string' || info.DeadNodes === '') return [];
  try {
    return Object.keys(JSON.parse(info.DeadNodes) as Record<string, unknown>).sort();
  } catch {
    throw new SourceFailure('malformed', `${BEANS.info} DeadNodes is not JSON`);
  }
}

/**
 * The NameNode's health from its MBeans. FSNamesystemState and NameNodeInfo are required; the
 * others only add corrupt blocks and the HA state when the daemon has them.
 */
export function nameNodeFields(beans: NameNodeBeans): NameNodeFields {
  const { state, info, namesystem, status } = beans;
  if (!state) throw new SourceFailure('malformed', `the NameNode has no ${BEANS.state} bean (is this a NameNode?)`);
  if (!info) throw new SourceFailure('malformed', `the NameNode has no ${BEANS.info} bean (is this a NameNode?)`);
  const total = count(state, 'CapacityTotal', BEANS.state);
  const used = count(state, 'CapacityUsed', BEANS.state);
  if (typeof state.FSState !== 'string') throw new SourceFailure('malformed', `${BEANS.state} FSState is missing`);
  const safeModeText = typeof info.Safemode === 'string' ? info.Safemode.trim() : '';
  const dead = deadNodeNames(info);
  const haState = typeof status?.State === 'string' ? status.State : typeof namesystem?.['tag.HAState'] === 'string' ? String(namesystem['tag.HAState']) : undefined;
  return {
    up: 1,
    ha_state: haState,
    safe_mode: state.FSState.toLowerCase() === 'safemode' || safeModeText !== '',
    safe_mode_message: safeModeText ? safeModeText.split('\n')[0].slice(0, 300) : undefined,
    capacity_total_bytes: total,
    capacity_used_bytes: used,
    capacity_remaining_bytes: count(state, 'CapacityRemaining', BEANS.state),
    capacity_used_percent: total > 0 ? Math.round((used / total) * 100 * 1000) / 1000 : undefined,
    datanodes_live: count(state, 'NumLiveDataNodes', BEANS.state),
    datanodes_dead: count(state, 'NumDeadDataNodes', BEANS.state),
    datanodes_decommissioning: count(state, 'NumDecommissioningDataNodes', BEANS.state),
    datanodes_stale: optionalCount(state, 'NumStaleDataNodes'),
    dead_datanodes: dead.length ? dead.join(',').slice(0, 500) : undefined,
    volume_failures: optionalCount(state, 'VolumeFailuresTotal'),
    blocks_total: count(state, 'BlocksTotal', BEANS.state),
    blocks_missing: count(info, 'NumberOfMissingBlocks', BEANS.info),
    blocks_corrupt: optionalCount(namesystem, 'CorruptBlocks'),
    blocks_under_replicated: count(state, 'UnderReplicatedBlocks', BEANS.state),
    files_total: count(state, 'FilesTotal', BEANS.state),
  };
}
