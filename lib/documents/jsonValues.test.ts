import { Config } from '../config/config';
import { parseDeclaredFields } from './declared';
import { declaredJsonPaths, readJsonValue } from './jsonValues';

function paths(text: string): Map<string, string> {
  const section = Config.parse(`[probe]\n${text}`, 'test.cfg').section('probe');
  const fields = parseDeclaredFields(section);
  if (!fields) throw new Error('no fields');
  return declaredJsonPaths(section, fields);
}

describe('declaredJsonPaths', () => {
  test('each declared field has its json.FIELD path, else $.FIELD, in declaration order', () => {
    expect([...paths('fields = b, a:string\njson.a = $.x[0].name\n')]).toEqual([['b', '$.b'], ['a', '$.x[0].name']]);
  });

  test('a json. key for an undeclared field, or a path not starting with $, is a ConfigError naming section and key', () => {
    expect(() => paths('fields = a, b\njson.c = $.c\n')).toThrow("[probe] json.c: 'c' is not listed in fields (a, b)");
    expect(() => paths('fields = a\njson.a = a.b\n')).toThrow("test.cfg: [probe] json.a: 'a.b' is not a JSONPath: a JSONPath starts with $ (e.g. $.a.b)");
  });

  test('brackets, parentheses and quotes that do not pair up are ConfigErrors (jsonpath-plus would read something else)', () => {
    expect(() => paths('fields = a\njson.a = $.counts.failed]\n')).toThrow("json.a: '$.counts.failed]' is not a JSONPath: ']' at character 16 closes nothing");
    expect(() => paths("fields = a\njson.a = $['counts'\n")).toThrow("json.a: '$['counts'' is not a JSONPath: '[' at character 2 is not closed");
    expect(() => paths("fields = a\njson.a = $.builds[?(@.status=='failed'\n")).toThrow("json.a: '$.builds[?(@.status=='failed'' is not a JSONPath: '(' at character 11 is not closed");
    expect(() => paths("fields = a\njson.a = $['it''s']\n")).not.toThrow();
    expect(() => paths("fields = a\njson.a = $.x[?(@.name == 'a]b')]\n")).not.toThrow();
    expect(() => paths("fields = a\njson.a = $['open]\n")).toThrow("the quote at character 3 is not closed");
  });
});

describe('readJsonValue', () => {
  const json = {
    total: 3,
    zero: 0,
    off: false,
    nothing: null,
    'odd key': 'x',
    jobs: [
      { name: 'a', state: 'RUNNING', cores: 8 },
      { name: 'b', state: 'FAILED', cores: 4 },
      { name: 'c', state: 'RUNNING', cores: 2 },
    ],
  };

  test('exactly one match is the value, falsy ones included', () => {
    expect(readJsonValue(json, '$.total')).toEqual({ value: 3 });
    expect(readJsonValue(json, '$.zero')).toEqual({ value: 0 });
    expect(readJsonValue(json, '$.off')).toEqual({ value: false });
    expect(readJsonValue(json, '$.nothing')).toEqual({ value: null });
    expect(readJsonValue(json, "$['odd key']")).toEqual({ value: 'x' });
    expect(readJsonValue(json, '$.jobs[1].name')).toEqual({ value: 'b' });
    expect(readJsonValue(json, '$.jobs.length')).toEqual({ value: json.jobs.length });
    expect(readJsonValue(json, '$.jobs')).toEqual({ value: json.jobs });
  });

  test('a filter with one match gives it; with none the path is missing; with several it is a problem', () => {
    const failed = json.jobs.filter((job) => job.state === 'FAILED');
    expect(readJsonValue(json, "$.jobs[?(@.state=='FAILED')].name")).toEqual({ value: failed[0].name });
    expect(readJsonValue(json, '$.jobs[?(@.cores > 4)].name')).toEqual({ value: 'a' });
    expect(readJsonValue(json, "$.jobs[?(@.state=='KILLED')].name")).toEqual({ missing: "$.jobs[?(@.state=='KILLED')].name matches nothing" });
    const running = json.jobs.filter((job) => job.state === 'RUNNING').length;
    expect(readJsonValue(json, "$.jobs[?(@.state=='RUNNING')].name")).toEqual({ problem: `$.jobs[?(@.state=='RUNNING')].name matches ${running} values, not one` });
    expect(readJsonValue(json, '$..cores')).toEqual({ problem: `$..cores matches ${json.jobs.length} values, not one` });
  });

  test('a path through a missing key or into a scalar matches nothing', () => {
    expect(readJsonValue(json, '$.no.such')).toEqual({ missing: '$.no.such matches nothing' });
    expect(readJsonValue(json, '$.total.x')).toEqual({ missing: '$.total.x matches nothing' });
    expect(readJsonValue(json, '$.jobs[7]')).toEqual({ missing: '$.jobs[7] matches nothing' });
  });

  test('a document that is a bare scalar is read by $, falsy ones included', () => {
    expect(readJsonValue(42, '$')).toEqual({ value: 42 });
    expect(readJsonValue('up', '$')).toEqual({ value: 'up' });
    expect(readJsonValue(0, '$')).toEqual({ value: 0 });
    expect(readJsonValue(false, '$')).toEqual({ value: false });
    expect(readJsonValue('', '$')).toEqual({ value: '' });
    expect(readJsonValue(null, '$')).toEqual({ value: null });
    expect(readJsonValue(0, '$.x')).toEqual({ missing: '$.x matches nothing' });
    expect(readJsonValue(null, '$.x')).toEqual({ missing: '$.x matches nothing' });
  });

  test('inherited properties are not values', () => {
    for (const path of ['$.constructor', '$.__proto__', '$.toString', '$.jobs.map']) {
      expect(readJsonValue(json, path)).toEqual({ missing: `${path} matches nothing` });
    }
  });

  test('filters are evaluated safely: code does not run, a broken filter is a problem naming the path', () => {
    const global = globalThis as { jsonPathRan?: boolean };
    const assignment = readJsonValue(json, '$.jobs[?(globalThis.jsonPathRan = true)]');
    expect(assignment).toEqual({ problem: expect.stringMatching(/^JSONPath \$\.jobs\[\?\(globalThis\.jsonPathRan = true\)\]: /) });
    expect(global.jsonPathRan).toBeUndefined();
    const call = readJsonValue(json, "$.jobs[?(@.name.constructor.constructor('globalThis.jsonPathRan = true')())]");
    expect('value' in call).toBe(false);
    expect(global.jsonPathRan).toBeUndefined();
    expect(readJsonValue(json, '$.jobs[?(@.cores ==)]')).toEqual({ problem: expect.stringMatching(/^JSONPath \$\.jobs\[\?\(@\.cores ==\)\]: /) });
  });
});
