import { nanos, type PeerInfo } from 'nats';
import { hasMajority, OFFLINE_AFTER_MS } from './replicas';

const peer = (name: string, current: boolean, silentMs: number, offline = false): PeerInfo => ({ name, current, offline, active: nanos(silentMs), lag: 0 });

test('a stream can store with a leader and a majority of its replicas not offline', () => {
  expect(hasMajority(undefined)).toBe(true); // a server without a cluster: its one copy
  expect(hasMajority({ leader: 'a' })).toBe(true); // R1 in a cluster
  expect(hasMajority({ leader: '', replicas: [peer('b', true, 100), peer('c', true, 100)] })).toBe(false);
  // R3: one follower silent past OFFLINE_AFTER_MS still leaves two of three.
  expect(hasMajority({ leader: 'a', replicas: [peer('b', false, OFFLINE_AFTER_MS), peer('c', true, 100)] })).toBe(true);
  // Both silent (or said offline): the leader alone is one of three, whatever it says of itself.
  expect(hasMajority({ leader: 'a', replicas: [peer('b', false, OFFLINE_AFTER_MS), peer('c', false, 5, true)] })).toBe(false);
  // Behind but heard from lately: still counted, as RAFT does until its election timeout.
  expect(hasMajority({ leader: 'a', replicas: [peer('b', false, OFFLINE_AFTER_MS - 1), peer('c', false, OFFLINE_AFTER_MS - 1)] })).toBe(true);
  // R5 with two followers gone: three of five.
  expect(hasMajority({ leader: 'a', replicas: [peer('b', true, 1), peer('c', true, 1), peer('d', false, 60_000), peer('e', false, 60_000)] })).toBe(true);
});
