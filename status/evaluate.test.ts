import { Config } from '../lib/config';
import { SchemaRegistry } from '../lib/schemas';
import type { Value } from './condition';
import { evaluateModule, type Heartbeat, type SeriesData } from './evaluate';
import { loadRules, type ModuleRule } from './rules';

const NOW = Date.UTC(2026, 10, 22, 12, 5);
const MINUTE = 60e3;

function rule(body: string): ModuleRule {
  const config = Config.parse(`[status]\ndefault_rules =\n[status.module.m]\nmeasurement = demo/probe\n${body}`, 'test.cfg');
  return loadRules(config, { registry: new SchemaRegistry([]) })[0];
}

const WEB = rule(`
fields = up, latency_ms
freshness = 30m
unavailable = latest(up) == 0
unavailable_reason = {series} down ({matches} failing)
degraded = mean(latency_ms) > 500
degraded_reason = {series} slow: {value} ms
degraded_2 = max(latency_ms) > 5000
degraded_2_reason = peak {value} ms
`);

const goodHeartbeat: Heartbeat = { timeMs: NOW - 3 * MINUTE, ok: true, timedOut: false, message: '' };

function series(tags: Record<string, string>, values: Record<string, Value>, ageMs = 5 * MINUTE): SeriesData {
  return { tags, lastTimeMs: NOW - ageMs, values: new Map(Object.entries(values)) };
}

const healthy = (url: string) => series({ url }, { 'latest(up)': 1, 'mean(latency_ms)': 100, 'max(latency_ms)': 200 });

describe('heartbeat', () => {
  test('no heartbeat from the collector → N/A, even with fresh data', () => {
    const status = evaluateModule(WEB, { nowMs: NOW, series: [healthy('a')] });
    expect(status).toMatchObject({ state: 'na', code: 3, reason: 'no heartbeat from collector m in the last 30m' });
  });

  test('a heartbeat older than heartbeat_freshness → N/A; one just inside counts', () => {
    const old = { ...goodHeartbeat, timeMs: NOW - 30 * MINUTE };
    expect(evaluateModule(WEB, { nowMs: NOW, heartbeat: old, series: [healthy('a')] }).state).toBe('na');
    const recent = { ...goodHeartbeat, timeMs: NOW - 30 * MINUTE + 1 };
    expect(evaluateModule(WEB, { nowMs: NOW, heartbeat: recent, series: [healthy('a')] }).state).toBe('available');
  });

  test('the latest heartbeat says failed → unavailable with its message, even with healthy data', () => {
    const failed = { ...goodHeartbeat, ok: false, message: 'connect ECONNREFUSED' };
    expect(evaluateModule(WEB, { nowMs: NOW, heartbeat: failed, series: [healthy('a')] })).toMatchObject({
      state: 'unavailable',
      code: 2,
      reason: 'collector m failed: connect ECONNREFUSED',
      lastDataMs: NOW - 5 * MINUTE,
    });
    const timedOut = { ...goodHeartbeat, ok: false, timedOut: true, message: '' };
    expect(evaluateModule(WEB, { nowMs: NOW, heartbeat: timedOut, series: [] })).toMatchObject({ state: 'unavailable', reason: 'collector m timed out' });
  });

  test('collector = none skips the heartbeat', () => {
    const noCollector = { ...WEB, collector: undefined };
    expect(evaluateModule(noCollector, { nowMs: NOW, series: [healthy('a')] }).state).toBe('available');
  });
});

describe('freshness', () => {
  test('no series → N/A naming the measurement and window', () => {
    expect(evaluateModule(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, series: [] })).toMatchObject({ state: 'na', reason: 'no data in demo/probe in the last 30m' });
  });

  test('series older than the freshness window are ignored; exactly at the edge is stale', () => {
    const stale = series({ url: 'a' }, { 'latest(up)': 0 }, 30 * MINUTE);
    expect(evaluateModule(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, series: [stale] }).state).toBe('na');
    const fresh = series({ url: 'a' }, { 'latest(up)': 0 }, 30 * MINUTE - 1);
    expect(evaluateModule(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, series: [fresh] }).state).toBe('unavailable');
    // A stale series that would be down does not spoil a module whose other series are fresh and healthy.
    expect(evaluateModule(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, series: [stale, healthy('b')] })).toMatchObject({ state: 'available', lastDataMs: NOW - 5 * MINUTE });
  });

  test('data from the future (after now) is not counted', () => {
    const future = series({ url: 'a' }, { 'latest(up)': 1 }, -MINUTE);
    expect(evaluateModule(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, series: [future] }).state).toBe('na');
  });
});

describe('levels', () => {
  test('all healthy → available', () => {
    expect(evaluateModule(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, series: [healthy('a'), healthy('b')] })).toMatchObject({
      state: 'available',
      code: 0,
      reason: 'all checks pass',
      lastDataMs: NOW - 5 * MINUTE,
      evaluatedMs: NOW,
    });
  });

  test('any series down → unavailable, the reason naming the first and counting all', () => {
    const down = (url: string) => series({ url }, { 'latest(up)': 0, 'mean(latency_ms)': 900 });
    const status = evaluateModule(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, series: [healthy('a'), down('z'), down('c')] });
    expect(status).toMatchObject({ state: 'unavailable', code: 2, reason: 'c down (2 failing)' });
  });

  test('unavailable wins over degraded; degraded conditions are tried in order', () => {
    const slow = series({ url: 'a' }, { 'latest(up)': 1, 'mean(latency_ms)': 812.345678, 'max(latency_ms)': 9000 });
    expect(evaluateModule(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, series: [slow] })).toMatchObject({ state: 'degraded', code: 1, reason: 'a slow: 812.3 ms' });
    const spiky = series({ url: 'a' }, { 'latest(up)': 1, 'mean(latency_ms)': 100, 'max(latency_ms)': 9000 });
    expect(evaluateModule(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, series: [spiky] })).toMatchObject({ state: 'degraded', reason: 'peak 9000 ms' });
    const downAndSlow = series({ url: 'a' }, { 'latest(up)': 0, 'mean(latency_ms)': 900 });
    expect(evaluateModule(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, series: [downAndSlow] }).state).toBe('unavailable');
  });

  test('a module without conditions is available while its data is fresh', () => {
    const plain = rule('fields = up\n');
    expect(evaluateModule(plain, { nowMs: NOW, heartbeat: goodHeartbeat, series: [series({}, {})] })).toMatchObject({ state: 'available' });
  });

  test('series with several tags are named key=value', () => {
    const disk = rule('fields = used\nunavailable = used > 98\nunavailable_reason = {value}% on {series}\n');
    const full = series({ mountpoint: '/data', instance: 'n1' }, { 'latest(used)': 99.5 });
    expect(evaluateModule(disk, { nowMs: NOW, heartbeat: goodHeartbeat, series: [full] }).reason).toBe('99.5% on instance=n1, mountpoint=/data');
  });
});

describe('a rule that throws on odd data', () => {
  test('marks only its module N/A with the reason', () => {
    const odd = series({ url: 'a' }, { 'latest(up)': 'yes' });
    const status = evaluateModule(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, series: [odd] });
    expect(status).toMatchObject({ state: 'na', code: 3, lastDataMs: NOW - 5 * MINUTE });
    expect(status.reason).toBe(`rule failed: cannot compare "yes" with 0 in 'latest(up) == 0'`);
    const other = evaluateModule({ ...WEB, module: 'n', title: 'n' }, { nowMs: NOW, heartbeat: goodHeartbeat, series: [healthy('a')] });
    expect(other.state).toBe('available');
  });
});
