import { SchemaRegistry } from '../lib/documents/schemas';
import { MemoryLogger } from '../lib/run/log';
import { fieldGroups, intoStatement, mergeStoredTypes, planMeasurement, schemasByDatabase, type StoredFieldType } from './plan';
import { Progress } from './progress';
import { chunkRange, parseRetentionDuration, parseTimeArgument, windowFloor } from './windows';
import { GOLDEN_SCHEMA } from './testdata/golden';

const HOUR = 3_600_000;

test('windows are aligned on UTC hours and days', () => {
  const t = Date.UTC(2026, 10, 22, 13, 47, 12);
  expect(windowFloor(t, HOUR)).toBe(Date.UTC(2026, 10, 22, 13));
  expect(windowFloor(t, 24 * HOUR)).toBe(Date.UTC(2026, 10, 22));
});

test('a range is cut into chunks of whole windows, the last one shorter', () => {
  expect(chunkRange({ startMs: 0, endMs: 10 * HOUR }, HOUR, 4.5 * HOUR)).toEqual([
    { startMs: 0, endMs: 4 * HOUR },
    { startMs: 4 * HOUR, endMs: 8 * HOUR },
    { startMs: 8 * HOUR, endMs: 10 * HOUR },
  ]);
  expect(chunkRange({ startMs: 0, endMs: 2 * HOUR }, HOUR, 1)).toHaveLength(2);
});

test('retention-policy durations as InfluxDB shows them; 0s is forever', () => {
  expect(parseRetentionDuration('720h0m0s')).toBe(720 * HOUR);
  expect(parseRetentionDuration('1h30m0s')).toBe(1.5 * HOUR);
  expect(parseRetentionDuration('0s')).toBe(Infinity);
  expect(() => parseRetentionDuration('soon')).toThrow('cannot read');
});

test('--from/--to accept dates, UTC date-times, zoned ISO times and epoch ms', () => {
  expect(parseTimeArgument('2026-11-01')).toBe(Date.UTC(2026, 10, 1));
  expect(parseTimeArgument('2026-11-01 06:30')).toBe(Date.UTC(2026, 10, 1, 6, 30));
  expect(parseTimeArgument('2026-11-01T06:30:00+02:00')).toBe(Date.UTC(2026, 10, 1, 4, 30));
  expect(parseTimeArgument('1795356000000')).toBe(1795356000000);
  expect(() => parseTimeArgument('2026-02-30', 'from')).toThrow('--from: expected');
  expect(() => parseTimeArgument('yesterday', 'to')).toThrow('--to: expected');
});

test('the schema gives each field its function; unknown fields and measurements get mean or last', () => {
  const stored = new Map<string, StoredFieldType>([
    ['jobs_finished', 'integer'],
    ['state', 'string'],
    ['extra', 'float'],
  ]);
  const plan = planMeasurement(GOLDEN_SCHEMA, stored, 'db.raw.golden');
  expect(plan.aggregates).toEqual([
    { field: 'extra', function: 'mean' },
    { field: 'jobs_finished', function: 'sum' },
    { field: 'state', function: 'last' },
  ]);
  expect(plan.notes).toEqual(['db.raw.golden: fields not in the schema, using the default: extra']);

  const schemaless = planMeasurement(undefined, new Map<string, StoredFieldType>([['n', 'integer'], ['b', 'boolean']]), 'db.raw.x');
  expect(schemaless.aggregates).toEqual([
    { field: 'b', function: 'last' },
    { field: 'n', function: 'mean' },
  ]);
  expect(schemaless.notes).toEqual(['db.raw.x: no schema, using mean for numeric fields and last for the others']);
});

test('a function the stored type cannot take falls back to last, and says so', () => {
  const plan = planMeasurement(GOLDEN_SCHEMA, new Map<string, StoredFieldType>([['load', 'string']]), 'db.raw.golden');
  expect(plan.aggregates).toEqual([{ field: 'load', function: 'last' }]);
  expect(plan.notes).toEqual(["db.raw.golden: field 'load' is stored as string, which mean() cannot aggregate; using last"]);
  expect(mergeStoredTypes(['integer', 'float'])).toBe('float');
  expect(mergeStoredTypes(['integer', 'string'])).toBe('string');
});

test('the INTO statement keeps field names, all tags, and quotes every name', () => {
  const statement = intoStatement({
    database: 'monit_production_x',
    measurement: 'odd "name"',
    sourceRetentionPolicy: 'raw',
    targetRetentionPolicy: '1h',
    interval: '1h',
    range: { startMs: 0, endMs: HOUR },
    aggregates: [
      { field: 'load', function: 'mean' },
      { field: 'bytes', function: 'last' },
    ],
  });
  expect(statement).toBe(
    'SELECT mean("load") AS "load", last("bytes") AS "bytes" INTO "monit_production_x"."1h"."odd \\"name\\"" FROM "monit_production_x"."raw"."odd \\"name\\""' +
      " WHERE time >= '1970-01-01T00:00:00.000Z' AND time < '1970-01-01T01:00:00.000Z' GROUP BY time(1h), * fill(none)",
  );
  expect(fieldGroups(Array.from({ length: 7 }, (_, i) => ({ field: `f${i}`, function: 'mean' as const })), 3).map((group) => group.length)).toEqual([3, 3, 1]);
});

test('schemas map to databases the way the gateway names them', () => {
  const byDatabase = schemasByDatabase(new SchemaRegistry([GOLDEN_SCHEMA]));
  expect([...byDatabase.keys()]).toEqual(['monit_production_downsample_test']);
  expect(byDatabase.get('monit_production_downsample_test')?.get('golden')).toBe(GOLDEN_SCHEMA);
});

test('progress: log lines at each tenth off a terminal, a redrawn bar on one', () => {
  const log = new MemoryLogger();
  const progress = new Progress('queries', 20, log, { isTTY: false, write: () => undefined });
  for (let i = 0; i < 20; i++) progress.advance();
  expect(log.lines).toHaveLength(10);
  expect(log.lines[0]).toMatch(/^INFO progress: 2\/20 queries \(10%\)/);
  expect(log.lines[9]).toMatch(/^INFO progress: 20\/20 queries \(100%\)/);

  const drawn: string[] = [];
  const bar = new Progress('queries', 4, log, { isTTY: true, columns: 80, write: (text) => drawn.push(text) });
  for (let i = 0; i < 4; i++) bar.advance();
  expect(drawn[0]).toMatch(/^\r\[#{8}\.{22}\] 1\/4 queries \(25%\)/);
  expect(drawn.at(-1)).toMatch(/^\r\[#{30}\] 4\/4 queries \(100%\).*\n$/);
  expect(drawn.at(-1)).toHaveLength(1 + 79 + 1); // \r, the line kept short of the last column, \n
});
