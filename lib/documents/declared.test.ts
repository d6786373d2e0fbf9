import { createHash } from 'node:crypto';
import { Config } from '../config/config';
import { buildDeclared, checkDeclaredAgainstSchema, checkDeclaredName, convertDeclared, parseDeclaredFields, type DeclaredFields } from './declared';
import { DocumentFactory } from './document';
import { SourceFailure } from './failures';
import { interpretDocument } from './interpret';
import { SchemaRegistry } from './schemas';
import type { TypeSchema } from './types';

const section = (text: string) => Config.parse(`[q]\n${text}`, 'test.cfg').section('q');

const SCHEMA: TypeSchema = {
  producer: 'declared_test',
  type: 'jobs',
  description: 'test',
  tags: { site: { description: 'site' } },
  fields: {
    running: { type: 'int', unit: 'count', description: 'running', downsample: 'mean' },
    share: { type: 'float', unit: '1', description: 'share', downsample: 'mean' },
    state: { type: 'string', unit: '', description: 'state', downsample: 'last' },
    enabled: { type: 'bool', unit: '', description: 'enabled', downsample: 'last' },
  },
};
const registry = new SchemaRegistry([SCHEMA]);

describe('parseDeclaredFields and checkDeclaredName', () => {
  test('names in order with their kinds, number by default; undefined when the key is absent', () => {
    expect([...(parseDeclaredFields(section('fields = jobs, state : string,enabled:bool, size:number\n')) ?? [])]).toEqual([
      ['jobs', 'number'], ['state', 'string'], ['enabled', 'bool'], ['size', 'number'],
    ]);
    expect(parseDeclaredFields(section('other = x\n'))).toBeUndefined();
    expect([...(parseDeclaredFields(section('values = a\n'), 'values') ?? [])]).toEqual([['a', 'number']]);
  });

  test('an unknown kind, a name listed twice, an unusable or reserved name are ConfigErrors naming section and key', () => {
    expect(() => parseDeclaredFields(section('fields = a:date\n'))).toThrow("[q] fields: 'a:date' has an unknown kind 'date' (number, string or bool)");
    expect(() => parseDeclaredFields(section('fields = a, b, a:string\n'))).toThrow("[q] fields: 'a' is listed twice");
    expect(() => parseDeclaredFields(section('fields = 1st\n'))).toThrow("[q] fields: '1st' is not a usable tag/field name (letters, digits, _): rename it");
    expect(() => parseDeclaredFields(section('fields = my-field\n'), 'fields', 'alias it')).toThrow("[q] fields: 'my-field' is not a usable tag/field name (letters, digits, _): alias it");
    expect(() => parseDeclaredFields(section('fields = timestamp\n'))).toThrow("[q] fields: 'timestamp' is a reserved MONIT key: rename it (e.g. timestamp_name)");
  });

  test("'time' is refused when the config is read: InfluxDB 1.x refuses or drops such a tag or field", () => {
    expect(() => checkDeclaredName(section(''), 'tags', 'time')).toThrow("[q] tags: 'time' cannot be a tag or field name: InfluxDB 1.x refuses or drops it: rename it");
    expect(() => parseDeclaredFields(section('fields = time\n'))).toThrow("[q] fields: 'time' cannot be a tag or field name");
  });
});

describe('checkDeclaredAgainstSchema', () => {
  const check = (tags: string[], fields: DeclaredFields | undefined, type = 'jobs'): TypeSchema | undefined =>
    checkDeclaredAgainstSchema(registry, 'declared_test', type, { section: section(''), tags, fields });

  test('without a schema file anything declared goes; with one that fits, the schema is returned', () => {
    expect(check(['anything'], new Map([['x', 'string']]), 'unknown_type')).toBeUndefined();
    expect(check([], new Map([['running', 'number']]))?.type).toBe('jobs');
  });

  test('declared tags and fields within the schema, with compatible kinds, pass; a bare name takes the schema type', () => {
    expect(() => check(['site'], new Map([['running', 'number'], ['share', 'number'], ['state', 'string'], ['enabled', 'bool']]))).not.toThrow();
    expect(() => check([], new Map([['state', 'number'], ['enabled', 'number']]))).not.toThrow();
    expect(() => check(['site'], undefined)).not.toThrow();
  });

  test('an unknown tag or field, or a kind the schema contradicts, names the key and the schema file', () => {
    expect(() => check(['cloud'], undefined)).toThrow("[q] tags: 'cloud' is not a tag of schemas/declared_test/jobs.json (tags: site)");
    expect(() => check([], new Map([['queued', 'number']]))).toThrow("test.cfg: [q] fields: 'queued' is not a field of schemas/declared_test/jobs.json (fields: running, share, state, enabled)");
    expect(() => check([], new Map([['running', 'string']]))).toThrow("[q] fields: 'running' is declared string but schemas/declared_test/jobs.json says int");
    expect(() => check([], new Map([['state', 'bool']]))).toThrow("[q] fields: 'state' is declared bool but schemas/declared_test/jobs.json says string");
    expect(() =>
      checkDeclaredAgainstSchema(registry, 'declared_test', 'jobs', { section: section(''), tagsKey: 'tag_columns', tags: ['x'], fieldsKey: 'values', fields: undefined }),
    ).toThrow("[q] tag_columns: 'x' is not a tag of");
  });

  test('names an object inherits (constructor, toString) are not in the schema', () => {
    expect(() => check(['constructor'], undefined)).toThrow("[q] tags: 'constructor' is not a tag of schemas/declared_test/jobs.json");
    expect(() => check([], new Map([['toString', 'number']]))).toThrow("[q] fields: 'toString' is not a field of schemas/declared_test/jobs.json");
    expect(() => check([], new Map([['hasOwnProperty', 'string']]))).toThrow("'hasOwnProperty' is not a field of");
  });
});

describe('convertDeclared', () => {
  test('numbers: JSON numbers, numeric texts, booleans as 1/0, dates as UTC ms, bigints that fit', () => {
    const date = new Date(Date.UTC(2026, 10, 22, 10, 0, 0));
    const cases: Array<[unknown, number]> = [[12, 12], [-2.5, -2.5], ['42', 42], [' 7 ', 7], ['1e3', 1000], [true, 1], [false, 0], [date, date.getTime()], [BigInt(2 ** 40), 2 ** 40]];
    for (const [raw, expected] of cases) {
      expect(convertDeclared(raw, 'number')).toEqual({ value: expected });
      expect(convertDeclared(raw, 'float')).toEqual({ value: expected });
    }
  });

  test('null and undefined are no value, in every kind', () => {
    for (const kind of ['number', 'int', 'float', 'string', 'bool'] as const) {
      expect(convertDeclared(null, kind)).toEqual({ value: undefined });
      expect(convertDeclared(undefined, kind)).toEqual({ value: undefined });
    }
  });

  test('what is not a number is a problem quoting it', () => {
    expect(convertDeclared('n/a', 'number')).toEqual({ problem: '"n/a" is not a number' });
    expect(convertDeclared('', 'number')).toEqual({ problem: '"" is not a number' });
    expect(convertDeclared('Infinity', 'number')).toEqual({ problem: '"Infinity" is not a number' });
    expect(convertDeclared(BigInt(2) ** BigInt(64), 'number')).toEqual({ problem: `${2n ** 64n} is too large for a number` });
  });

  test('int: whole numbers only', () => {
    expect(convertDeclared('12', 'int')).toEqual({ value: 12 });
    expect(convertDeclared(0.95, 'int')).toEqual({ problem: '0.95 is not an integer' });
    expect(convertDeclared('x', 'int')).toEqual({ problem: '"x" is not a number' });
  });

  test('bool: true/false, 1/0 and their texts', () => {
    for (const raw of [true, 1, '1', 'true']) expect(convertDeclared(raw, 'bool')).toEqual({ value: true });
    for (const raw of [false, 0, '0', 'false']) expect(convertDeclared(raw, 'bool')).toEqual({ value: false });
    expect(convertDeclared('yes', 'bool')).toEqual({ problem: '"yes" is not a boolean (true/false or 1/0)' });
    expect(convertDeclared(2, 'bool')).toEqual({ problem: '"2" is not a boolean (true/false or 1/0)' });
  });

  test('string: scalars as text, dates as ISO, buffers as UTF-8; objects and lists are problems', () => {
    const date = new Date(Date.UTC(2026, 10, 22, 10, 0, 0));
    expect(convertDeclared(5, 'string')).toEqual({ value: '5' });
    expect(convertDeclared(false, 'string')).toEqual({ value: 'false' });
    expect(convertDeclared(date, 'string')).toEqual({ value: '2026-11-22T10:00:00.000Z' });
    expect(convertDeclared(Buffer.from('héllo'), 'string')).toEqual({ value: 'héllo' });
    expect(convertDeclared({ a: 1 }, 'string')).toEqual({ problem: 'a JSON object is not a text' });
    expect(convertDeclared([1, 2], 'string')).toEqual({ problem: 'a JSON array is not a text' });
    // Not read through their String() form ("[object Object]", "1") for the other kinds either.
    expect(convertDeclared({ a: 1 }, 'number')).toEqual({ problem: 'a JSON object is not a number' });
    expect(convertDeclared([1], 'int')).toEqual({ problem: 'a JSON array is not an integer' });
    expect(convertDeclared([true], 'bool')).toEqual({ problem: 'a JSON array is not a boolean' });
  });

  test('an invalid date (a driver\'s zero date) is a problem, never a throw or NaN', () => {
    const invalid = new Date(Number.NaN);
    for (const kind of ['number', 'int', 'string'] as const) expect(convertDeclared(invalid, kind)).toEqual({ problem: 'an invalid date' });
  });
});

describe('buildDeclared', () => {
  const slotMs = Date.UTC(2026, 10, 22, 10, 0);
  const factory = new DocumentFactory({ slotMs, host: 'test-host', registry });

  test('without a schema: an envelope with the slot, host and a deterministic _id; numbers stored as floats', () => {
    const document = buildDeclared(factory, registry, 'declared_test', 'untyped', { site: 'CERN' }, { running: 3, state: 'ok', enabled: true });
    // _id: sha256 of producer, type, sorted tags and timestamp, NUL-separated, first 32 hex digits
    const expectedId = createHash('sha256').update(['declared_test', 'untyped', 'site=CERN', String(slotMs)].join('\u0000')).digest('hex').slice(0, 32);
    expect(document).toEqual({
      producer: 'declared_test',
      type: 'untyped',
      timestamp: slotMs,
      host: 'test-host',
      type_prefix: 'raw',
      _id: expectedId,
      idb_tags: ['site'],
      idb_fields: ['running', 'state', 'enabled'],
      site: 'CERN',
      running: 3,
      state: 'ok',
      enabled: true,
    });
    const interpreted = interpretDocument(document, registry);
    expect(interpreted.ok && interpreted.point.fields.map((field) => [field.name, field.type])).toEqual([['running', 'float'], ['state', 'string'], ['enabled', 'bool']]);
  });

  test('with a schema: built through it, so an int field is an int; the same tags give the same _id', () => {
    const typed = buildDeclared(factory, registry, 'declared_test', 'jobs', { site: 'CERN' }, { running: 3, share: 0.5 });
    const interpreted = interpretDocument(typed, registry);
    expect(interpreted.ok && interpreted.point.fields.map((field) => [field.name, field.type, field.value])).toEqual([['running', 'int', 3], ['share', 'float', 0.5]]);
    expect(buildDeclared(factory, registry, 'declared_test', 'jobs', { site: 'CERN' }, { running: 4 })._id).toBe(typed._id);
    expect(buildDeclared(factory, registry, 'declared_test', 'jobs', { site: 'BNL' }, { running: 4 })._id).not.toBe(typed._id);
  });

  test('a document that breaks its schema or cannot be stored is a SourceFailure of class mapping', () => {
    const failure = (build: () => unknown): SourceFailure => {
      try {
        build();
      } catch (error) {
        return error as SourceFailure;
      }
      throw new Error('no failure');
    };
    const wrongType = failure(() => buildDeclared(factory, registry, 'declared_test', 'jobs', {}, { running: 2.5 }));
    expect(wrongType).toBeInstanceOf(SourceFailure);
    expect(wrongType.failureClass).toBe('mapping');
    expect(wrongType.message).toMatch(/running/);
    const unknownField = failure(() => buildDeclared(factory, registry, 'declared_test', 'jobs', {}, { queued: 1 }));
    expect(unknownField).toMatchObject({ failureClass: 'mapping', message: expect.stringMatching(/'queued' is not in schemas\/declared_test\/jobs\.json/) });
    const loneSurrogate = failure(() => buildDeclared(factory, registry, 'declared_test', 'untyped', {}, { text: 'a\ud800' }));
    expect(loneSurrogate).toMatchObject({ failureClass: 'mapping', message: expect.stringMatching(/^invalid declared_test\/untyped document: /) });
  });
});
