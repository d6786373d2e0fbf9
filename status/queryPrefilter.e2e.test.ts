/**
 * readPartData with a prefilter against a real InfluxDB: the series with a passing point are found first and
 * the aggregate statement names them by one tag. Each result is checked against InfluxDB's plain GROUP BY *
 * answer, queried here aggregate by aggregate with the prefilter written by hand, and against the series the
 * test knows it made pass; the cases past the limits must take the plain statement. The freshness check of
 * a prefiltered part reads a remembered series alone first, and every series when that one is not fresh.
 */
import { Config } from '../lib/config/config';
import { SchemaRegistry } from '../lib/documents/schemas';
import { toLineProtocol } from '../lib/influx/lineProtocol';
import type { InterpretedDocument } from '../lib/documents/interpret';
import type { TypeSchema } from '../lib/documents/types';
import { freshnessStatements } from '../test/support/freshnessStatements';
import { RecordingInfluxClient } from '../test/support/recordingInfluxClient';
import { startInfluxDB, type TestInfluxDB } from '../test/support/services';
import { aggregateKey, type Value } from './condition';
import { NARROWING_VALUES, PASSING_POINTS_READ, readPartData, type SeriesTags } from './query';
import { leveledAggregates, loadRules, type PartRule } from './rules';

const MINUTE = 60e3;
const NOW = Math.floor(Date.now() / (10 * MINUTE)) * 10 * MINUTE + 8 * MINUTE;
const DATABASE = 'monit_production_scale';
/** 600 series tagged host (all distinct) and region, and one with no region tag. */
const HOSTS = 600;
const TIMES = [NOW - 25 * MINUTE, NOW - 15 * MINUTE, NOW - 5 * MINUTE, NOW - 2 * MINUTE];
const LONELY = 'lonely';
const STAGGERED = 100;
/** A staggered series whose tag value needs quoting in InfluxQL. */
const ODD_HOST = String.raw`it's \ odd`;

function seriesTags(index: number): Record<string, string> {
  return index === HOSTS ? { host: LONELY } : { host: `h${index}`, region: `r${index % 3}` };
}

/** The bad points: every 37th host five minutes ago, and the series without a region two minutes ago. */
function isBad(index: number, timeMs: number): boolean {
  return index === HOSTS ? timeMs === NOW - 2 * MINUTE : index % 37 === 0 && timeMs === NOW - 5 * MINUTE;
}

function flagsPoint(index: number, timeMs: number): InterpretedDocument {
  const step = TIMES.indexOf(timeMs);
  return {
    database: DATABASE,
    measurement: 'flags',
    tags: seriesTags(index),
    fields: [
      { name: 'bad', type: 'bool', value: isBad(index, timeMs) },
      { name: 'level', type: 'int', value: (index * 7 + step * 50) % 13 },
      { name: 'latency', type: 'float', value: index / 30 + step },
      { name: 'note', type: 'string', value: `note ${index}/${step}` },
    ],
    timestampMs: timeMs,
  };
}

let influx: TestInfluxDB;

beforeAll(async () => {
  influx = await startInfluxDB();
  await influx.client.ensureDatabase(DATABASE, { raw: 'INF', '1h': 'INF', '1d': 'INF' });
  const lines: string[] = [];
  for (let index = 0; index <= HOSTS; index++) for (const timeMs of TIMES) lines.push(toLineProtocol(flagsPoint(index, timeMs)));
  // dense: ten points per series in the window, every one passing `level >= 0`: more than PASSING_POINTS_READ.
  for (let index = 0; index < HOSTS; index++) {
    for (let minute = 0; minute < 10; minute++) {
      lines.push(toLineProtocol({ database: DATABASE, measurement: 'dense', tags: { host: `h${index}` }, fields: [{ name: 'level', type: 'int', value: index + minute }], timestampMs: NOW - minute * MINUTE }));
    }
  }
  // sparse: ten series tagged node and rack, and one with a rack but no node; nodes n0-n4 and the node-less one pass.
  for (let index = 0; index <= 10; index++) {
    const tags: Record<string, string> = index === 10 ? { rack: 'x' } : { node: `n${index}`, rack: 'a' };
    lines.push(toLineProtocol({ database: DATABASE, measurement: 'sparse', tags, fields: [{ name: 'errors', type: 'int', value: index < 5 || index === 10 ? 3 : 0 }], timestampMs: NOW - MINUTE }));
  }
  // staggered: series s0..s99 with their one point (s0 + 1) × 10 s before NOW, so s0 holds the newest; 'old' only 50 minutes back.
  for (let index = 0; index < STAGGERED; index++) {
    lines.push(toLineProtocol({ database: DATABASE, measurement: 'staggered', tags: { host: `s${index}` }, fields: [{ name: 'errors', type: 'int', value: 0 }], timestampMs: NOW - (index + 1) * 10_000 }));
  }
  lines.push(toLineProtocol({ database: DATABASE, measurement: 'staggered', tags: { host: 'old' }, fields: [{ name: 'errors', type: 'int', value: 0 }], timestampMs: NOW - 50 * MINUTE }));
  lines.push(toLineProtocol({ database: DATABASE, measurement: 'staggered', tags: { host: ODD_HOST }, fields: [{ name: 'errors', type: 'int', value: 0 }], timestampMs: NOW - 15_000 }));
  expect(HOSTS * 10).toBeGreaterThan(PASSING_POINTS_READ);
  expect(HOSTS).toBeGreaterThan(NARROWING_VALUES);
  await influx.client.write(DATABASE, lines.join('\n'), { precision: 'ms' });
}, 120_000);

afterAll(async () => {
  await influx?.stop();
});

function part(body: string, registry = new SchemaRegistry([])): PartRule {
  const config = Config.parse(`[status]\ndefault_rules =\n[status.module.m]\ncollector = none\nwindow = 10m\n${body}`, 'test.cfg');
  return loadRules(config, { registry })[0].parts[0];
}

/** Key of a series for comparisons: its tags, sorted, absent ones left out. */
function seriesKey(tags: Record<string, string>): string {
  return JSON.stringify(Object.entries(tags).filter(([, value]) => value !== '').sort(([a], [b]) => a.localeCompare(b)));
}

const INFLUX_NAMES: Record<string, string> = { latest: 'last', first: 'first', mean: 'mean', min: 'min', max: 'max', sum: 'sum', count: 'count' };

/** The same part read InfluxDB's plain way, one aggregate per statement, the prefilter written by hand. */
async function independently(rule: PartRule, measurement: string, prefilterText: string, where = ''): Promise<Map<string, Map<string, Value>>> {
  const expected = new Map<string, Map<string, Value>>();
  const aggregate = async (fn: string, field: string): Promise<Map<string, Value>> => {
    const [series = []] = await influx.client.query(
      `SELECT ${fn}("${field}") FROM "${DATABASE}"."raw"."${measurement}" WHERE time > ${NOW - 10 * MINUTE}ms AND time <= ${NOW}ms${where} AND (${prefilterText}) GROUP BY *`,
    );
    return new Map(series.map((one) => [seriesKey(one.tags ?? {}), one.values[0][1] as Value]));
  };
  for (const operand of [...rule.unavailable, ...rule.degraded].flatMap(leveledAggregates)) {
    let values: Map<string, Value>;
    if (operand.function === 'delta') {
      const [last, first] = [await aggregate('last', operand.field), await aggregate('first', operand.field)];
      values = new Map([...last].map(([key, value]) => [key, (value as number) - (first.get(key) as number)]));
    } else values = await aggregate(INFLUX_NAMES[operand.function], operand.field);
    for (const [key, value] of values) {
      if (!expected.has(key)) expected.set(key, new Map());
      expected.get(key)?.set(aggregateKey(operand), value);
    }
  }
  return expected;
}

async function read(rule: PartRule, newestSeries?: SeriesTags, rememberedWithinMs?: number): Promise<{ actual: Map<string, Map<string, Value>>; statements: string[]; lastDataMs?: number; newest?: SeriesTags }> {
  const client = new RecordingInfluxClient(influx.url);
  const data = await readPartData(client, rule, NOW, 'raw', { newestSeries, rememberedWithinMs });
  const actual = new Map(data.series.map((one) => [seriesKey(one.tags), one.values]));
  expect(actual.size).toBe(data.series.length);
  return { actual, statements: client.statements, lastDataMs: data.lastDataMs, newest: data.newestSeries };
}

const grouped = (statements: string[]): string[] => statements.filter((statement) => statement.includes('GROUP BY *'));

describe('a prefilter over many series', () => {
  test('the series with a bad point, narrowed by host: the same series and aggregates as the plain statement', async () => {
    const rule = part(
      'measurement = scale/flags\nfields = bad, level, latency, note\nprefilter = bad == true\n' +
        'unavailable = delta(level) > 100\nunavailable_reason = {note}\n' +
        'degraded = latest(bad) == true and (mean(latency) > 0 or count(level) > 0 or first(level) < 0 or min(level) < 0 or sum(level) < 0)\ndegraded_reason = {note}\n',
    );
    const { actual, statements, lastDataMs } = await read(rule);
    const bad = Array.from({ length: HOSTS + 1 }, (_, index) => index).filter((index) => TIMES.some((timeMs) => isBad(index, timeMs)));
    expect([...actual.keys()].sort()).toEqual(bad.map((index) => seriesKey(seriesTags(index))).sort());
    expect(actual).toEqual(await independently(rule, 'flags', `"bad" = true`));
    // The series without a region passed too: the narrowing by host found it.
    expect(actual.has(seriesKey({ host: LONELY }))).toBe(true);
    expect(actual.get(seriesKey({ host: LONELY }))?.get('latest(note)')).toBe(`note ${HOSTS}/3`);
    expect(lastDataMs).toBe(NOW - 2 * MINUTE);
    // Named by host, the tag with the most values among the passing points: exactly the bad series' hosts.
    const [aggregateStatement] = grouped(statements);
    const named = [...aggregateStatement.matchAll(/"host" = '([^']*)'/g)].map((match) => match[1]);
    expect(named.sort()).toEqual(bad.map((index) => seriesTags(index).host).sort());
  });

  test('a prefilter on two numeric fields, with the part’s where: the same as the plain statement', async () => {
    const rule = part('measurement = scale/flags\nfields = level, latency\nwhere = region=r1\nprefilter = level > 11 or latency >= 19.5\ndegraded = max(level) > 0 or mean(latency) > 0\ndegraded_reason = x\n');
    const { actual, statements } = await read(rule);
    const expected = await independently(rule, 'flags', `"level" > 11 OR "latency" >= 19.5`, ` AND "region" = 'r1'`);
    expect(actual.size).toBeGreaterThan(10);
    expect(actual).toEqual(expected);
    for (const key of actual.keys()) expect(key).toContain('"region","r1"');
    expect(grouped(statements)[0]).toMatch(/"host" = 'h\d+' OR/);
  });

  test('a passing series without the narrowing tag is named by the empty value, which InfluxDB matches to it', async () => {
    const rule = part('measurement = scale/sparse\nfields = errors\nprefilter = errors > 0\ndegraded = max(errors) > 0\ndegraded_reason = x\n');
    const { actual, statements } = await read(rule);
    expect([...actual.keys()].sort()).toEqual([...['n0', 'n1', 'n2', 'n3', 'n4'].map((node) => seriesKey({ node, rack: 'a' })), seriesKey({ rack: 'x' })].sort());
    expect(actual).toEqual(await independently(rule, 'sparse', `"errors" > 0`));
    expect(grouped(statements)[0]).toContain(`("node" = '' OR "node" = 'n0' OR`);
  });

  test('no passing point: no series, and no grouped statement at all', async () => {
    const rule = part('measurement = scale/flags\nfields = level\nprefilter = level > 1000\ndegraded = max(level) > 0\ndegraded_reason = x\n');
    const { actual, statements, lastDataMs } = await read(rule);
    expect(actual.size).toBe(0);
    expect(await independently(rule, 'flags', `"level" > 1000`)).toEqual(new Map());
    expect(grouped(statements)).toEqual([]);
    expect(lastDataMs).toBe(NOW - 2 * MINUTE);
  });

  test(`more than ${NARROWING_VALUES} hosts pass: the plain statement, the same answer`, async () => {
    const rule = part('measurement = scale/flags\nfields = level\nprefilter = level >= 0\ndegraded = max(level) > 0\ndegraded_reason = x\n');
    const { actual, statements } = await read(rule);
    expect(actual.size).toBe(HOSTS + 1);
    expect(actual).toEqual(await independently(rule, 'flags', `"level" >= 0`));
    expect(grouped(statements)[0]).not.toContain(`"host" =`);
  });

  test(`more than ${PASSING_POINTS_READ} passing points: the plain statement, the same answer`, async () => {
    const rule = part('measurement = scale/dense\nfields = level\nprefilter = level >= 0\ndegraded = max(level) > 0 or count(level) > 0\ndegraded_reason = x\n');
    const { actual, statements } = await read(rule);
    expect(actual.size).toBe(HOSTS);
    expect(actual).toEqual(await independently(rule, 'dense', `"level" >= 0`));
    expect(actual.get(seriesKey({ host: 'h5' }))?.get('count(level)')).toBe(10);
    expect(grouped(statements)[0]).not.toContain(`"host" =`);
  });

  test('a database nobody wrote to: no data, no error', async () => {
    const { actual, lastDataMs } = await read(part('measurement = nowhere/flags\nfields = bad\nprefilter = bad == true\ndegraded = latest(bad) == true\ndegraded_reason = x\n'));
    expect(actual.size).toBe(0);
    expect(lastDataMs).toBeUndefined();
  });
});

/** Every series' newest point in the freshness window (30 minutes), read the plain way. */
async function newestPerSeries(measurement: string): Promise<Map<string, number>> {
  const [series = []] = await influx.client.query(`SELECT last("errors") FROM "${DATABASE}"."raw"."${measurement}" WHERE time > ${NOW - 30 * MINUTE}ms AND time <= ${NOW}ms GROUP BY *`);
  return new Map(series.map((one) => [one.tags?.host ?? '', one.values[0][0] as number]));
}

const freshness = (statements: string[]): string[] => freshnessStatements(statements, 'errors');

describe('the freshness check of a prefiltered part', () => {
  const quiet = 'measurement = scale/staggered\nfields = errors\nprefilter = errors > 0\ndegraded = max(errors) > 0\ndegraded_reason = x\n';

  test('nothing remembered: every series is read, and the series holding the newest point is returned', async () => {
    const newest = await newestPerSeries('staggered');
    const newestTime = Math.max(...newest.values());
    const holders = [...newest].filter(([, timeMs]) => timeMs === newestTime).map(([host]) => host);
    expect(holders).toEqual(['s0']);
    const { lastDataMs, newest: remembered, statements } = await read(part(quiet));
    expect(lastDataMs).toBe(newestTime);
    expect(remembered).toEqual({ host: 's0' });
    expect(freshness(statements)).toHaveLength(1);
    expect(freshness(statements)[0]).not.toContain(`"host" = `);
  });

  test('a remembered series with a fresh point: only it is read, and its newest point is the last data', async () => {
    const newest = await newestPerSeries('staggered');
    const { lastDataMs, newest: remembered, statements } = await read(part(quiet), { host: 's5' });
    expect(lastDataMs).toBe(newest.get('s5'));
    expect(lastDataMs).toBe(NOW - 60_000);
    expect(remembered).toEqual({ host: 's5' });
    expect(freshness(statements)).toEqual([expect.stringContaining(`AND "host" = 's5'`)]);
  });

  test('a remembered series with no point in the freshness window (stale, or gone): every series is read', async () => {
    for (const host of ['old', 'never-written']) {
      const { lastDataMs, newest: remembered, statements } = await read(part(quiet), { host });
      expect(lastDataMs).toBe(NOW - 10_000);
      expect(remembered).toEqual({ host: 's0' });
      const checks = freshness(statements);
      expect(checks).toHaveLength(2);
      expect(checks[0]).toContain(`AND "host" = '${host}'`);
      expect(checks[1]).not.toContain(`"host" = `);
    }
  });

  test('a remembered series is named by the tags it has (a series without a region has none in the statement)', async () => {
    const rule = part('measurement = scale/flags\nfields = bad\nprefilter = bad == true\ndegraded = latest(bad) == true\ndegraded_reason = x\n');
    const first = await read(rule);
    expect(first.lastDataMs).toBe(NOW - 2 * MINUTE);
    expect(Object.keys(first.newest ?? {}).length).toBeGreaterThan(0);
    const { lastDataMs, newest: remembered, statements } = await read(rule, { host: LONELY });
    expect(lastDataMs).toBe(NOW - 2 * MINUTE);
    expect(remembered).toEqual({ host: LONELY });
    expect(freshnessStatements(statements, 'bad')).toEqual([expect.stringMatching(/ AND "host" = 'lonely'$/)]);
  });

  test('a remembered tag value with a quote and a backslash names exactly its series', async () => {
    const { lastDataMs, newest: remembered, statements } = await read(part(quiet), { host: ODD_HOST });
    expect(lastDataMs).toBe(NOW - 15_000);
    expect(remembered).toEqual({ host: ODD_HOST });
    expect(freshness(statements)).toHaveLength(1);
  });

  test('a remembered series older than rememberedWithinMs is not taken: every series is read', async () => {
    const newest = await newestPerSeries('staggered');
    expect(newest.get('s30')).toBe(NOW - 310_000);
    const within = await read(part(quiet), { host: 's30' }, 6 * MINUTE);
    expect(within.lastDataMs).toBe(NOW - 310_000);
    expect(freshness(within.statements)).toHaveLength(1);
    const tooOld = await read(part(quiet), { host: 's30' }, 5 * MINUTE);
    expect(tooOld.lastDataMs).toBe(NOW - 10_000);
    expect(tooOld.newest).toEqual({ host: 's0' });
    expect(freshness(tooOld.statements)).toEqual([expect.stringContaining(`"host" = 's30'`), expect.not.stringContaining('"host" =')]);
  });

  test('a remembered series outside the part’s where is not taken: the newest within the where is', async () => {
    const rule = part('measurement = scale/flags\nfields = latency\nwhere = region=r1\nprefilter = latency > 1000\ndegraded = max(latency) > 0\ndegraded_reason = x\n');
    const { lastDataMs, newest: remembered, statements } = await read(rule, { host: 'h0', region: 'r0' });
    expect(lastDataMs).toBe(NOW - 2 * MINUTE);
    expect(remembered?.region).toBe('r1');
    expect(freshnessStatements(statements, 'latency')).toHaveLength(2);
  });

  test('a database nobody wrote to, with tag keys from a schema and a remembered series: no data, no error', async () => {
    const schema: TypeSchema = { producer: 'nowhere', type: 'flags', description: 'test', tags: { host: { description: 'h' } }, fields: { bad: { type: 'bool', unit: '', description: 'b', downsample: 'last' } } };
    const rule = part('measurement = nowhere/flags\nfields = bad\nprefilter = bad == true\ndegraded = latest(bad) == true\ndegraded_reason = x\n', new SchemaRegistry([schema]));
    const { actual, lastDataMs, newest: remembered } = await read(rule, { host: 'h1' });
    expect(actual.size).toBe(0);
    expect(lastDataMs).toBeUndefined();
    expect(remembered).toBeUndefined();
  });

  test('a part without a prefilter ignores a remembered series: every series is read, nothing is remembered', async () => {
    const rule = part('measurement = scale/staggered\nfields = errors\ndegraded = max(errors) > 0\ndegraded_reason = x\n');
    const { lastDataMs, newest: remembered, statements } = await read(rule, { host: 's5' });
    expect(lastDataMs).toBe(NOW - 10_000);
    expect(remembered).toBeUndefined();
    expect(freshness(statements)).toEqual([expect.not.stringContaining('"host"')]);
  });
});

describe('a measurement with a schema', () => {
  const flagsSchema: TypeSchema = {
    producer: 'scale',
    type: 'flags',
    description: 'test',
    tags: { host: { description: 'h' }, region: { description: 'r' } },
    fields: {
      bad: { type: 'bool', unit: '', description: 'b', downsample: 'last' },
      level: { type: 'int', unit: '1', description: 'l', downsample: 'mean' },
    },
  };

  test('its tag keys come from the schema, not from SHOW TAG KEYS, with the same answer', async () => {
    const body = 'measurement = scale/flags\nfields = bad, level\nprefilter = bad == true\ndegraded = latest(bad) == true and max(level) >= 0\ndegraded_reason = x\n';
    const withSchema = await read(part(body, new SchemaRegistry([flagsSchema])));
    const asked = await read(part(body));
    expect(withSchema.statements.some((statement) => statement.startsWith('SHOW TAG KEYS'))).toBe(false);
    expect(asked.statements.some((statement) => statement.startsWith('SHOW TAG KEYS'))).toBe(true);
    expect(withSchema.actual.size).toBeGreaterThan(10);
    expect(withSchema.actual).toEqual(asked.actual);
    expect(withSchema.actual).toEqual(await independently(part(body), 'flags', `"bad" = true`));
    expect(withSchema.lastDataMs).toBe(NOW - 2 * MINUTE);
  });
});
