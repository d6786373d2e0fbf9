import { counterIncrease, cpuShares, intervalBetween, networkRates, type StoredSample } from './rates';
import type { NodeSample } from './node-sample';

const cpuKey = (cpu: string, mode: string): string => JSON.stringify([cpu, mode]);

function sample(timeSeconds: number, cpuSeconds: Record<string, number>, network: NodeSample['network'] = {}, bootTimeSeconds = 1000): NodeSample {
  return { timeSeconds, bootTimeSeconds, cpuCount: 0, cpuSeconds, memory: {}, filesystems: [], network };
}
const stored = (from: NodeSample): StoredSample => ({ ...from });

test('counterIncrease: growth, no change, and a reset counted from zero', () => {
  expect(counterIncrease(100, 250)).toBe(150);
  expect(counterIncrease(100, 100)).toBe(0);
  expect(counterIncrease(1000, 40)).toBe(40);
  expect(counterIncrease(100, 250, true)).toBe(250);
  expect(counterIncrease(100, -5)).toBe(0);
});

test('intervalBetween: none without a previous sample, for a zero or negative gap, or over the maximum; reboots detected', () => {
  const now = sample(2000, {});
  expect(intervalBetween(undefined, now, 3600)).toBeUndefined();
  expect(intervalBetween(stored(sample(2000, {})), now, 3600)).toBeUndefined();
  expect(intervalBetween(stored(sample(2500, {})), now, 3600)).toBeUndefined();
  expect(intervalBetween(stored(sample(1000 - 3601 + 1000, {})), now, 3600)).toBeUndefined();
  expect(intervalBetween(stored(sample(1400, {})), now, 3600)).toEqual({ seconds: 600, rebooted: false });
  expect(intervalBetween(stored(sample(1400, {}, {}, 500)), now, 3600)).toEqual({ seconds: 600, rebooted: true });
});

test('cpuShares sums per-CPU increases, so a CPU going offline does not make time run backwards', () => {
  const before = stored(sample(0, { [cpuKey('0', 'idle')]: 100, [cpuKey('0', 'user')]: 50, [cpuKey('1', 'idle')]: 100, [cpuKey('1', 'user')]: 50 }));
  // CPU 1 went offline; CPU 0 spent 10 s: 6 idle, 3 user, 1 iowait (a mode first seen now counts whole).
  const after = sample(10, { [cpuKey('0', 'idle')]: 106, [cpuKey('0', 'user')]: 53, [cpuKey('0', 'iowait')]: 1 });
  const shares = cpuShares(before, after, { seconds: 10, rebooted: false });
  expect(shares?.busyPercent).toBeCloseTo(30, 9);
  expect(shares?.iowaitPercent).toBeCloseTo(10, 9);
  expect(cpuShares(before, sample(10, { [cpuKey('0', 'idle')]: 100 }), { seconds: 10, rebooted: false })).toBeUndefined();
});

test('networkRates: only interfaces seen twice; resets and reboots never go negative', () => {
  const before = stored(sample(0, {}, { eth0: { receiveBytes: 1000, transmitBytes: 5000 }, eth1: { receiveBytes: 10, transmitBytes: 10 } }));
  const after = sample(10, {}, { eth0: { receiveBytes: 2000, transmitBytes: 300 }, eth2: { receiveBytes: 1, transmitBytes: 1 } });
  expect(networkRates(before, after, { seconds: 10, rebooted: false })).toEqual(
    new Map([['eth0', { receiveBytesPerSecond: 100, transmitBytesPerSecond: 30 }]]),
  );
  expect(networkRates(before, after, { seconds: 10, rebooted: true }).get('eth0')).toEqual({ receiveBytesPerSecond: 200, transmitBytesPerSecond: 30 });
});
