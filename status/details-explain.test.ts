/** explainPart: what the details page says of each condition, next to the state evaluatePart decides. */
import { Config } from '../lib/config/config';
import { SchemaRegistry } from '../lib/documents/schemas';
import type { Value } from './condition';
import { evaluatePart, explainPart, type EvaluationInput, type Heartbeat, type SeriesData } from './evaluate';
import { loadRules, type PartRule } from './rules';

const NOW = Date.UTC(2026, 11, 6, 9, 5);
const MINUTE = 60e3;

function part(body: string): PartRule {
  const config = Config.parse(`[status]\ndefault_rules =\n[status.module.m]\nmeasurement = demo/probe\n${body}`, 'test.cfg');
  return loadRules(config, { registry: new SchemaRegistry([]) })[0].parts[0];
}

const WEB = part(`
fields = up, latency_ms
unavailable = latest(up) == 0
unavailable_reason = {series} down
degraded = mean(latency_ms) > 500 and latest(up) == 1
degraded_reason = {series} slow: {value} ms
degraded_2 = mean(latency_ms) > 300
degraded_2_reason = {series} slowish: {value} ms
`);

const heartbeat: Heartbeat = { timeMs: NOW - 3 * MINUTE, ok: true, timedOut: false, message: '' };

function series(url: string, up: Value, latency: Value): SeriesData {
  return { tags: { url }, values: new Map<string, Value>([['latest(up)', up], ['mean(latency_ms)', latency]]) };
}

function input(data: SeriesData[], extra: Partial<EvaluationInput> = {}): EvaluationInput {
  return { nowMs: NOW, heartbeat, lastDataMs: NOW - 5 * MINUTE, series: data, ...extra };
}

describe('explainPart', () => {
  test('gives every condition with its holds, matches, values and the deciding series; the state is evaluatePart\'s', () => {
    const data = input([series('c', 1, 900), series('a', 1, 100), series('b', 1, 700)]);
    const explained = explainPart(WEB, data);
    expect(explained.status).toEqual(evaluatePart(WEB, data));
    expect(explained.status).toMatchObject({ state: 'degraded', reason: 'b slow: 700 ms' });
    expect(explained.conditions.map((condition) => [condition.key, condition.text, condition.holds, condition.decided, condition.matches, condition.seriesCount])).toEqual([
      ['unavailable', 'latest(up) == 0', false, false, 0, 3],
      ['degraded', 'mean(latency_ms) > 500 and latest(up) == 1', true, true, 2, 3],
      ['degraded_2', 'mean(latency_ms) > 300', true, false, 2, 3],
    ]);
    const decided = explained.conditions[1];
    // The worst: of the series it holds for (mean > 500, up == 1), the largest mean, computed here; the reason still names b.
    const holding = data.series.filter((one) => Number(one.values.get('mean(latency_ms)')) > 500 && one.values.get('latest(up)') === 1);
    const largest = holding.reduce((worst, one) => (Number(one.values.get('mean(latency_ms)')) > Number(worst.values.get('mean(latency_ms)')) ? one : worst));
    expect([largest.tags.url, largest.values.get('mean(latency_ms)')]).toEqual(['c', 900]);
    expect(decided.worst).toEqual({ series: largest.tags.url, value: largest.values.get('mean(latency_ms)'), ranking: { order: 'largest', operand: 'mean(latency_ms)' } });
    // Series it holds for first (worst first), each with every aggregate the condition reads.
    expect(decided.values).toEqual([
      { series: 'c', holds: true, values: { 'mean(latency_ms)': 900, 'latest(up)': 1 } },
      { series: 'b', holds: true, values: { 'mean(latency_ms)': 700, 'latest(up)': 1 } },
      { series: 'a', holds: false, values: { 'mean(latency_ms)': 100, 'latest(up)': 1 } },
    ]);
    expect(explained.conditions[0].worst).toBeNull();
  });

  test('no condition decides when the heartbeat or a credential does, though one holds', () => {
    const slow = [series('a', 1, 900)];
    const failed = explainPart(WEB, input(slow, { heartbeat: { ...heartbeat, ok: false, message: 'boom' } }));
    expect(failed.status).toMatchObject({ state: 'unavailable', reason: 'collector m failed: boom' });
    expect(failed.conditions.map((condition) => [condition.key, condition.holds, condition.decided])).toEqual([
      ['unavailable', false, false],
      ['degraded', true, false],
      ['degraded_2', true, false],
    ]);
    const expiring = explainPart(WEB, input(slow, { credential: { name: 'X.509 proxy', expiresInSeconds: 3600, expiring: true, reportedMs: NOW - MINUTE } }));
    expect(expiring.status.reason).toMatch(/^X\.509 proxy expires in/);
    expect(expiring.conditions.some((condition) => condition.decided)).toBe(false);
  });

  test('data that does not fit a condition: that condition carries the error, the part is N/A as evaluatePart says', () => {
    const odd = input([series('a', 'yes', 100)]);
    const explained = explainPart(WEB, odd);
    expect(explained.status).toEqual(evaluatePart(WEB, odd));
    expect(explained.status.state).toBe('na');
    expect(explained.conditions[0]).toMatchObject({ key: 'unavailable', holds: false, decided: false, error: `cannot compare "yes" with 0 in 'latest(up) == 0'` });
  });

  test('the worst of a < condition is the smallest value, not the first name; a threshold on the left flips the direction', () => {
    const low = part(`
fields = free_gb
degraded = min(free_gb) < 50
degraded_reason = {series} low: {value} GB
unavailable = 5 >= latest(free_gb)
unavailable_reason = {series} full
`);
    const disk = (url: string, free: number): SeriesData => ({ tags: { url }, values: new Map<string, Value>([['min(free_gb)', free], ['latest(free_gb)', free]]) });
    const data = input([disk('a', 40), disk('b', 100), disk('c', 12), disk('d', 30)]);
    const explained = explainPart(low, data);
    // The reason names the first in name order; the worst is the smallest, computed here.
    expect(explained.status).toMatchObject({ state: 'degraded', reason: 'a low: 40 GB' });
    const holding = data.series.filter((one) => Number(one.values.get('min(free_gb)')) < 50);
    const smallest = [...holding].sort((x, y) => Number(x.values.get('min(free_gb)')) - Number(y.values.get('min(free_gb)')));
    expect(smallest.map((one) => one.tags.url)).toEqual(['c', 'd', 'a']);
    const degraded = explained.conditions.find((condition) => condition.key === 'degraded');
    expect(degraded?.worst).toEqual({ series: 'c', value: 12, ranking: { order: 'smallest', operand: 'min(free_gb)' } });
    expect(degraded?.values.map((one) => one.series)).toEqual([...smallest.map((one) => one.tags.url), 'b']);
    // 5 >= latest(free_gb) is latest(free_gb) <= 5: ranked by the smallest.
    const full = explainPart(low, input([disk('a', 4), disk('b', 1), disk('c', 12)]));
    expect(full.status).toMatchObject({ state: 'unavailable', reason: 'a full' });
    expect(full.conditions[0].worst).toEqual({ series: 'b', value: 1, ranking: { order: 'smallest', operand: 'latest(free_gb)' } });
  });

  test('==, != and or keep the first series the condition holds for (the reason\'s), and say why', () => {
    const mixed = part(`
fields = up, latency_ms
unavailable = latest(up) != 1
unavailable_reason = {series} down
degraded = mean(latency_ms) > 500 or latest(up) == 2
degraded_reason = {series} odd
`);
    const data = input([series('c', 1, 900), series('a', 2, 100), series('b', 1, 700)]);
    const [unavailable, degraded] = explainPart(mixed, data).conditions;
    expect(unavailable.worst).toEqual({ series: 'a', value: 2, ranking: { order: 'first', why: '!= has no direction' } });
    expect(degraded.worst).toEqual({ series: 'a', value: 2, ranking: { order: 'first', why: 'the series are not compared on one value (or)' } });
    expect(degraded.values.map((one) => one.series)).toEqual(['a', 'b', 'c']);
  });

  test('at most 10 series per condition, those it holds for first', () => {
    const many = Array.from({ length: 14 }, (_, index) => series(`u${String(index).padStart(2, '0')}`, index === 12 ? 0 : 1, 100));
    const [unavailable] = explainPart(WEB, input(many)).conditions;
    expect(unavailable).toMatchObject({ holds: true, decided: true, matches: 1, seriesCount: 14, worst: { series: 'u12', value: 0 } });
    expect(unavailable.values).toHaveLength(10);
    expect(unavailable.values[0]).toEqual({ series: 'u12', holds: true, values: { 'latest(up)': 0 } });
  });
});
