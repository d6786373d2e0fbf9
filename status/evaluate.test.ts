import { Config } from '../lib/config/config';
import { SchemaRegistry } from '../lib/documents/schemas';
import { aggregateKey, type Value } from './condition';
import { combineParts, type EvaluationInput, evaluateModule, type Heartbeat, partCredential, type PartStatus, type SeriesData } from './evaluate';
import type { ModuleState } from './states';
import { leveledAggregates, loadRules, type ModuleRule, type PartRule } from './rules';

const NOW = Date.UTC(2026, 10, 22, 12, 5);
const MINUTE = 60e3;

/** A single-measurement module is its one part. */
const evaluate = (module: ModuleRule, input: EvaluationInput) => evaluateModule(module, [input]);

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

function series(tags: Record<string, string>, values: Record<string, Value>): SeriesData {
  return { tags, values: new Map(Object.entries(values)) };
}

/** Data whose newest point is 5 minutes old. */
const FRESH = NOW - 5 * MINUTE;

const healthy = (url: string) => series({ url }, { 'latest(up)': 1, 'mean(latency_ms)': 100, 'max(latency_ms)': 200 });

describe('heartbeat', () => {
  test('no heartbeat from the collector → N/A, even with fresh data', () => {
    const status = evaluate(WEB, { nowMs: NOW, lastDataMs: FRESH, series: [healthy('a')] });
    expect(status).toMatchObject({ state: 'na', code: 3, reason: 'no heartbeat from collector m in the last 30m' });
  });

  test('a heartbeat older than heartbeat_freshness → N/A; one just inside counts', () => {
    const old = { ...goodHeartbeat, timeMs: NOW - 30 * MINUTE };
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: old, lastDataMs: FRESH, series: [healthy('a')] }).state).toBe('na');
    const recent = { ...goodHeartbeat, timeMs: NOW - 30 * MINUTE + 1 };
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: recent, lastDataMs: FRESH, series: [healthy('a')] }).state).toBe('available');
  });

  test('the latest heartbeat says failed → unavailable with its message, even with healthy data', () => {
    const failed = { ...goodHeartbeat, ok: false, message: 'connect ECONNREFUSED' };
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: failed, lastDataMs: FRESH, series: [healthy('a')] })).toMatchObject({
      state: 'unavailable',
      code: 2,
      reason: 'collector m failed: connect ECONNREFUSED',
      lastDataMs: FRESH,
    });
    const timedOut = { ...goodHeartbeat, ok: false, timedOut: true, message: '' };
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: timedOut, series: [] })).toMatchObject({ state: 'unavailable', reason: 'collector m timed out' });
  });

  test('a credential expiring within its warning → degraded with the time left from now; an unavailable condition, a failed run or no data still win', () => {
    // Reported 3 minutes ago with 5h 10m left: 5h 7m left now.
    const credential = (name: string, expiresInSeconds: number) => ({ name, expiresInSeconds, expiring: true, reportedMs: NOW - 3 * MINUTE });
    const proxy = credential('X.509 proxy of panda', 5 * 3600 + 600);
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, credential: proxy, lastDataMs: FRESH, series: [healthy('a')] })).toMatchObject({
      state: 'degraded',
      code: 1,
      reason: 'X.509 proxy of panda expires in 5h',
      lastDataMs: FRESH,
    });
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, credential: credential('bearer token of cric', 45 * 60), lastDataMs: FRESH, series: [healthy('a')] }).reason).toBe(
      'bearer token of cric expires in 42m',
    );
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, credential: credential('X.509 proxy of panda', 60), lastDataMs: FRESH, series: [healthy('a')] })).toMatchObject({
      state: 'degraded',
      reason: 'X.509 proxy of panda has expired since the last run (the next run fails unless it is renewed)',
    });
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, credential: { ...proxy, expiring: false }, lastDataMs: FRESH, series: [healthy('a')] }).state).toBe('available');
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, credential: proxy, lastDataMs: FRESH, series: [series({ url: 'a' }, { 'latest(up)': 0 })] }).state).toBe('unavailable');
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: { ...goodHeartbeat, ok: false, message: 'expired' }, credential: proxy, lastDataMs: FRESH, series: [healthy('a')] }).state).toBe('unavailable');
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, credential: proxy, series: [] }).state).toBe('na');
  });

  test("the credential looked at: the collector's and the single-measurement module's own job's fresh heartbeats, the one expiring first within its warning", () => {
    const beat = (expiresInSeconds: number, expiring: boolean, timeMs = NOW - 3 * MINUTE): Heartbeat => ({ ...goodHeartbeat, timeMs, credential: { name: `proxy ${expiresInSeconds}`, expiresInSeconds, expiring } });
    const modulePart = (name: string, collector: string): PartRule =>
      loadRules(Config.parse(`[status]\ndefault_rules =\n[status.module.${name}]\ncollector = ${collector}\nmeasurement = demo/probe\nfields = up\n`, 'test.cfg'), { registry: new SchemaRegistry([]) })[0].parts[0];
    const panda = modulePart('panda', 'panda-derived');
    // panda-derived gates the module and uses no credential; panda's own run reports the proxy.
    expect(partCredential(panda, new Map([['panda-derived', goodHeartbeat], ['panda', beat(3600, true)]]), NOW)).toMatchObject({ name: 'proxy 3600', reportedMs: NOW - 3 * MINUTE });
    expect(partCredential(panda, new Map([['panda', beat(3600, false)]]), NOW)).toBeUndefined();
    expect(partCredential(panda, new Map([['panda', beat(3600, true, NOW - 30 * MINUTE)]]), NOW)).toBeUndefined();
    expect(partCredential(panda, new Map([['panda', beat(7200, true)], ['panda-derived', beat(3600, true)]]), NOW)?.name).toBe('proxy 3600');
    expect(partCredential(modulePart('panda', 'none'), new Map([['panda', beat(3600, true)]]), NOW)).toBeUndefined();
    expect(partCredential(modulePart('other', 'panda-derived'), new Map([['panda', beat(3600, true)]]), NOW)).toBeUndefined();
    // A part of a module with parts looks at its own collector only, not at a job named like the module or the part.
    const part = loadRules(
      Config.parse(`[status]\ndefault_rules =\n[status.module.panda]\nparts = jobs\n[status.part.jobs]\ncollector = panda-derived\nmeasurement = demo/probe\nfields = up\n`, 'test.cfg'),
      { registry: new SchemaRegistry([]) },
    )[0].parts[0];
    expect(partCredential(part, new Map([['panda', beat(3600, true)], ['jobs', beat(3600, true)]]), NOW)).toBeUndefined();
    expect(partCredential(part, new Map([['panda-derived', beat(3600, true)]]), NOW)?.name).toBe('proxy 3600');
  });

  test('collector = none skips the heartbeat', () => {
    const noCollector = rule('fields = up, latency_ms\ncollector = none\n');
    expect(evaluate(noCollector, { nowMs: NOW, lastDataMs: FRESH, series: [healthy('a')] }).state).toBe('available');
  });
});

describe('freshness', () => {
  test('no data → N/A naming the measurement and window', () => {
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, series: [] })).toMatchObject({ state: 'na', reason: 'no data in demo/probe in the last 30m' });
  });

  test('newest data exactly at the edge of the freshness window is stale; a millisecond later it is fresh', () => {
    const down = [series({ url: 'a' }, { 'latest(up)': 0 })];
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: NOW - 30 * MINUTE, series: down })).toMatchObject({ state: 'na', lastDataMs: undefined });
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: NOW - 30 * MINUTE + 1, series: down })).toMatchObject({ state: 'unavailable', lastDataMs: NOW - 30 * MINUTE + 1 });
  });

  test('data from the future (after now) is not counted', () => {
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: NOW + MINUTE, series: [healthy('a')] }).state).toBe('na');
  });

  test('fresh data without any series in the window (all filtered out) is available', () => {
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: FRESH, series: [] }).state).toBe('available');
  });
});

describe('levels', () => {
  test('all healthy → available', () => {
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: FRESH, series: [healthy('a'), healthy('b')] })).toMatchObject({
      state: 'available',
      code: 0,
      reason: 'all checks pass',
      lastDataMs: FRESH,
      evaluatedMs: NOW,
    });
  });

  test('any series down → unavailable, the reason naming the first and counting all', () => {
    const down = (url: string) => series({ url }, { 'latest(up)': 0, 'mean(latency_ms)': 900 });
    const status = evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: FRESH, series: [healthy('a'), down('z'), down('c')] });
    expect(status).toMatchObject({ state: 'unavailable', code: 2, reason: 'c down (2 failing)' });
  });

  test('unavailable wins over degraded; degraded conditions are tried in order', () => {
    const slow = series({ url: 'a' }, { 'latest(up)': 1, 'mean(latency_ms)': 812.345678, 'max(latency_ms)': 9000 });
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: FRESH, series: [slow] })).toMatchObject({ state: 'degraded', code: 1, reason: 'a slow: 812.3 ms' });
    const spiky = series({ url: 'a' }, { 'latest(up)': 1, 'mean(latency_ms)': 100, 'max(latency_ms)': 9000 });
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: FRESH, series: [spiky] })).toMatchObject({ state: 'degraded', reason: 'peak 9000 ms' });
    const downAndSlow = series({ url: 'a' }, { 'latest(up)': 0, 'mean(latency_ms)': 900 });
    expect(evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: FRESH, series: [downAndSlow] }).state).toBe('unavailable');
  });

  test('a module without conditions is available while its data is fresh', () => {
    const plain = rule('fields = up\n');
    expect(evaluate(plain, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: FRESH, series: [series({}, {})] })).toMatchObject({ state: 'available' });
  });

  test('series with several tags are named key=value', () => {
    const disk = rule('fields = used\nunavailable = used > 98\nunavailable_reason = {value}% on {series}\n');
    const full = series({ mountpoint: '/data', instance: 'n1' }, { 'latest(used)': 99.5 });
    expect(evaluate(disk, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: FRESH, series: [full] }).reason).toBe('99.5% on instance=n1, mountpoint=/data');
  });
});

describe('a rule that throws on odd data', () => {
  test('marks only its module N/A with the reason', () => {
    const odd = series({ url: 'a' }, { 'latest(up)': 'yes' });
    const status = evaluate(WEB, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: FRESH, series: [odd] });
    expect(status).toMatchObject({ state: 'na', code: 3, lastDataMs: FRESH });
    expect(status.reason).toBe(`rule failed: cannot compare "yes" with 0 in 'latest(up) == 0'`);
    const other = evaluate({ ...WEB, module: 'n', title: 'n' }, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: FRESH, series: [healthy('a')] });
    expect(other.state).toBe('available');
  });
});

describe('a reason naming a field of the matched series ({FIELD})', () => {
  const CLOUDS = rule(`
fields = share, queues, worst
degraded = latest(share) >= 20
degraded_reason = cloud {series}: {value}% of {queues} queues, worst {worst}
`);

  test('the field is read as its latest value, besides what the condition reads', () => {
    expect(CLOUDS.parts[0].degraded[0].reasonFields).toEqual(['queues', 'worst']);
    expect(leveledAggregates(CLOUDS.parts[0].degraded[0]).map(aggregateKey)).toEqual(['latest(share)', 'latest(queues)', 'latest(worst)']);
    // A field the condition already reads with latest() is not read twice.
    const again = rule(`fields = share\ndegraded = latest(share) >= 20\ndegraded_reason = {share}% ({value})`);
    expect(leveledAggregates(again.parts[0].degraded[0]).map(aggregateKey)).toEqual(['latest(share)']);
  });

  test('the reason shows the value of the series that decided, not of another', () => {
    const cloud = (name: string, share: number, worst: string): SeriesData => series({ cloud: name }, { 'latest(share)': share, 'latest(queues)': 200, 'latest(worst)': worst });
    const status = evaluate(CLOUDS, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: FRESH, series: [cloud('DE', 2, 'A (1 vs avg 90)'), cloud('US', 25.5, 'B (0 vs avg 400), C (3 vs avg 120)')] });
    expect(status).toMatchObject({ state: 'degraded', reason: 'cloud US: 25.5% of 200 queues, worst B (0 vs avg 400), C (3 vs avg 120)' });
    // A series without the field says so, as {value} does.
    const bare = series({ cloud: 'FR' }, { 'latest(share)': 30 });
    expect(evaluate(CLOUDS, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: FRESH, series: [bare] }).reason).toBe('cloud FR: 30% of no value queues, worst no value');
    expect(evaluate(CLOUDS, { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: FRESH, series: [cloud('DE', 2, '')] }).state).toBe('available');
  });
});

describe('a module made of parts', () => {
  const IMPORT = loadRules(
    Config.parse(
      `[status]\ndefault_rules =\n[status.module.import]\nparts = bookkeeping, log\n` +
        `[status.part.bookkeeping]\ntitle = Bookkeeping\nmeasurement = sql/import\nfields = up\n` +
        `[status.part.log]\ntitle = Import log\nmeasurement = logs/import\nfields = errors\n`,
      'test.cfg',
    ),
    { registry: new SchemaRegistry([]) },
  )[0];
  const [BOOKKEEPING, LOG] = IMPORT.parts;
  const part = (rule: PartRule, state: ModuleState, reason: string, lastDataMs?: number): PartStatus => ({ part: rule, state, reason, lastDataMs });

  // ARGO's AND (ARGOeu/argo-streaming automation/default.ops.json), written out with OK = available,
  // WARNING = degraded, UNKNOWN = na, CRITICAL = unavailable: every pair of the truth table.
  const ARGO_AND: Array<[ModuleState, ModuleState, ModuleState]> = [
    ['available', 'available', 'available'],
    ['available', 'degraded', 'degraded'],
    ['available', 'na', 'na'],
    ['available', 'unavailable', 'unavailable'],
    ['degraded', 'degraded', 'degraded'],
    ['degraded', 'na', 'na'],
    ['degraded', 'unavailable', 'unavailable'],
    ['na', 'na', 'na'],
    ['na', 'unavailable', 'unavailable'],
    ['unavailable', 'unavailable', 'unavailable'],
  ];

  test.each(ARGO_AND)('%s and %s → %s, whichever part is which', (a, b, expected) => {
    for (const [first, second] of [[a, b], [b, a]]) {
      const status = combineParts(IMPORT, [part(BOOKKEEPING, first, 'one'), part(LOG, second, 'two')], NOW);
      expect(status).toMatchObject({ module: 'import', state: expected, code: { available: 0, degraded: 1, unavailable: 2, na: 3 }[expected] });
    }
  });

  test('the reason names every part in the deciding state with its reason; all available says so', () => {
    expect(combineParts(IMPORT, [part(BOOKKEEPING, 'degraded', '3 tasks late'), part(LOG, 'unavailable', '12 errors')], NOW).reason).toBe('Import log: 12 errors');
    expect(combineParts(IMPORT, [part(BOOKKEEPING, 'degraded', '3 tasks late'), part(LOG, 'degraded', '12 errors')], NOW).reason).toBe('Bookkeeping: 3 tasks late; Import log: 12 errors');
    expect(combineParts(IMPORT, [part(BOOKKEEPING, 'available', 'all checks pass'), part(LOG, 'available', 'all checks pass')], NOW).reason).toBe('all checks pass');
  });

  test("last_data_ms is the newest data of the deciding parts: not the other parts'", () => {
    // The stale log part decides N/A and saw no fresh data: the module shows none, though bookkeeping has fresh data.
    expect(combineParts(IMPORT, [part(BOOKKEEPING, 'available', 'ok', FRESH), part(LOG, 'na', 'no data')], NOW).lastDataMs).toBeUndefined();
    expect(combineParts(IMPORT, [part(BOOKKEEPING, 'degraded', 'late', FRESH - MINUTE), part(LOG, 'available', 'ok', FRESH)], NOW).lastDataMs).toBe(FRESH - MINUTE);
    expect(combineParts(IMPORT, [part(BOOKKEEPING, 'available', 'ok', FRESH - MINUTE), part(LOG, 'available', 'ok', FRESH)], NOW).lastDataMs).toBe(FRESH);
  });

  test('each part is decided with its own heartbeat, freshness and conditions', () => {
    const inputs = (log: Partial<EvaluationInput>): EvaluationInput[] => [
      { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: FRESH, series: [] },
      { nowMs: NOW, heartbeat: goodHeartbeat, lastDataMs: FRESH, series: [], ...log },
    ];
    expect(evaluateModule(IMPORT, inputs({}))).toMatchObject({ state: 'available', lastDataMs: FRESH });
    expect(evaluateModule(IMPORT, inputs({ heartbeat: undefined }))).toMatchObject({ state: 'na', reason: 'Import log: no heartbeat from collector logs in the last 30m' });
    expect(evaluateModule(IMPORT, inputs({ lastDataMs: undefined }))).toMatchObject({ state: 'na', reason: 'Import log: no data in logs/import in the last 30m' });
    expect(() => evaluateModule(IMPORT, inputs({}).slice(1))).toThrow('module import has 2 parts, got 1 inputs');
  });
});
