import { millis, type ClusterInfo } from 'nats';

/**
 * nats-server's lost-quorum interval: a follower the leader has not heard from for this long is no longer
 * current. nats-server 2.9 sets a peer's `offline` only much later, so silence this long counts as offline.
 */
export const OFFLINE_AFTER_MS = 10_000;

export interface ReplicaCounts {
  current: number;
  lagging: number;
  offline: number;
  /** The offline followers' server names. */
  offlineNames: string[];
}

/** The stream's replicas by state, from its cluster info (the leader counts as current; no cluster: one current copy). */
export function replicaCounts(cluster: ClusterInfo | undefined): ReplicaCounts {
  const followers = cluster?.replicas ?? [];
  const offline = followers.filter((peer) => peer.offline || (!peer.current && millis(peer.active) >= OFFLINE_AFTER_MS)).map((peer) => peer.name);
  const currentFollowers = followers.filter((peer) => peer.current && !peer.offline).length;
  return { current: 1 + currentFollowers, lagging: followers.length - currentFollowers - offline.length, offline: offline.length, offlineNames: offline };
}

/**
 * Whether a replicated stream can store: it has a leader, and the leader with the followers that are
 * not offline are a majority of its replicas. A node surviving a majority's loss may still answer
 * stream info naming itself leader for a while; its followers' silence is what tells.
 */
export function hasMajority(cluster: ClusterInfo | undefined): boolean {
  if (!cluster) return true;
  if (!cluster.leader) return false;
  const replicas = 1 + (cluster.replicas?.length ?? 0);
  return replicas - replicaCounts(cluster).offline > replicas / 2;
}
