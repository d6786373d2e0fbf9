import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Config } from '../../lib/config/config';
import { DocumentFactory } from '../../lib/documents/document';
import { interpretDocument } from '../../lib/documents/interpret';
import { SchemaRegistry, schemaRegistry } from '../../lib/documents/schemas';
import type { FieldType, MonitDocument, TypeSchema } from '../../lib/documents/types';
import { toLineProtocol } from '../../lib/influx/lineProtocol';
import { collectorContext, type TestContext } from '../../test/support/collectorContext';
import { collectWeb, readSettings } from './collector';

/** A build summary as a CI server might publish it, with a few traps (null, a list, text where a number goes). */
const SUMMARY = {
  counts: { failed: 2, passed: 40, ratio: 0.95 },
  branch: 'main',
  complete: true,
  builds: [
    { name: 'athena-x86_64', status: 'ok' },
    { name: 'eventindex-el9', status: 'failed' },
    { name: 'consumer-el9', status: 'ok' },
  ],
  nothing: null,
  text: 'n/a',
};

/** A test type for web/typed_summary, as an operator would add under schemas/web/. */
const TYPED: TypeSchema = {
  producer: 'web',
  type: 'typed_summary',
  description: 'test',
  tags: { probe: { description: 'probe' }, url: { description: 'url' } },
  fields: {
    failed: { type: 'int', unit: 'count', description: 'failed builds', downsample: 'last' },
    ratio: { type: 'float', unit: '1', description: 'ratio', downsample: 'mean' },
    ratio_as_int: { type: 'int', unit: 'count', description: 'a float where an int goes', downsample: 'last' },
    branch: { type: 'string', unit: '', description: 'branch', downsample: 'last' },
    complete: { type: 'bool', unit: '', description: 'complete', downsample: 'last' },
  },
};
const registry = new SchemaRegistry([...schemaRegistry().all(), TYPED]);

function only(documents: MonitDocument[], type: string, probe: string): MonitDocument {
  const found = documents.filter((document) => document.type === type && (type === 'probe' ? document.name : document.probe) === probe);
  if (found.length !== 1) throw new Error(`expected one web/${type} document of ${probe}, found ${found.length}`);
  return found[0];
}

/** The InfluxDB type and value of every field of `document` as the gateway would write it. */
function storedFields(document: MonitDocument): Record<string, [FieldType, unknown]> {
  const interpreted = interpretDocument(document, registry);
  if (!interpreted.ok) throw new Error(interpreted.reason);
  return Object.fromEntries(interpreted.point.fields.map((field) => [field.name, [field.type, field.value]]));
}

describe('JSON values of probe answers, from a loopback server', () => {
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    requests.push(request.url ?? '');
    if (request.url === '/summary') response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(SUMMARY));
    else if (request.url === '/html') response.end('<html><body>Summary moved</body></html>');
    else if (request.url === '/error') response.writeHead(500, { 'content-type': 'application/json' }).end('{"failed": 1}');
    else if (request.url === '/big') response.end(JSON.stringify({ padding: 'x'.repeat(5000), failed: 1 }));
    else response.writeHead(404).end();
  });
  let base: string;
  let context: TestContext;
  let documents: MonitDocument[];

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    context = collectorContext('web', `
[web.nightly]
url = ${base}/summary
fields = failed, passed, ratio, branch:string, complete:bool, failed_build:string
json.failed = $.counts.failed
json.passed = $.counts.passed
json.ratio = $.counts.ratio
json.failed_build = $.builds[?(@.status=='failed')].name

[web.typed]
url = ${base}/summary
measurement = typed_summary
fields = failed, ratio, ratio_as_int, branch:string, complete:bool
json.failed = $.counts.failed
json.ratio = $.counts.ratio
json.ratio_as_int = $.counts.ratio

[web.broken]
url = ${base}/summary
measurement = broken_values
fields = passed, absent, several:string, text_number, text_bool:bool, object_number, list_text:string, nothing
json.passed = $.counts.passed
json.absent = $.no.such.key
json.several = $.builds[*].name
json.text_number = $.text
json.text_bool = $.text
json.object_number = $.counts
json.list_text = $.builds

[web.not_json]
url = ${base}/html
fields = failed

[web.error_page]
url = ${base}/error
fields = failed

[web.too_big]
url = ${base}/big
max_body_bytes = 1000
fields = failed

[web.plain]
url = ${base}/summary
`);
    const factory = new DocumentFactory({ slotMs: context.slotMs, host: 'test-host', registry });
    documents = await collectWeb({ ...context, documents: factory }, registry);
  }, 60_000);

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('every probe gives its web/probe document, and a values document when some value was read', () => {
    const kinds = documents.map((document) => `${document.type}:${String(document.type === 'probe' ? document.name : document.probe)}`);
    expect(kinds.sort()).toEqual([
      'broken_values:broken',
      'nightly:nightly',
      'probe:broken', 'probe:error_page', 'probe:nightly', 'probe:not_json', 'probe:plain', 'probe:too_big', 'probe:typed',
      'typed_summary:typed',
    ]);
    // One GET per probe: the body the probe read is the one the values come from.
    expect(requests.filter((url) => url === '/summary')).toHaveLength(4);
  });

  test('numbers, a text, a boolean and a filter path with one match, tagged like the probe', () => {
    const nightly = only(documents, 'nightly', 'nightly');
    expect(nightly).toMatchObject({ producer: 'web', probe: 'nightly', url: `${base}/summary`, timestamp: context.slotMs, idb_tags: ['probe', 'url'] });
    const failedBuilds = SUMMARY.builds.filter((build) => build.status === 'failed').map((build) => build.name);
    expect(failedBuilds).toHaveLength(1);
    expect(storedFields(nightly)).toEqual({
      failed: ['float', SUMMARY.counts.failed],
      passed: ['float', SUMMARY.counts.passed],
      ratio: ['float', SUMMARY.counts.ratio],
      branch: ['string', SUMMARY.branch],
      complete: ['bool', true],
      failed_build: ['string', failedBuilds[0]],
    });
    expect(only(documents, 'probe', 'nightly')).toMatchObject({ up: 1, error_class: '', status: 200, values_missing: 0 });
  });

  test('with schemas/web/<measurement>.json the schema types the values: an int is written as an int', () => {
    const typed = only(documents, 'typed_summary', 'typed');
    expect(storedFields(typed)).toEqual({
      failed: ['int', 2],
      ratio: ['float', 0.95],
      branch: ['string', 'main'],
      complete: ['bool', true],
    });
    const interpreted = interpretDocument(typed, registry);
    expect(interpreted.ok && toLineProtocol(interpreted.point)).toMatch(/ failed=2i,ratio=0\.95,/);
    // 0.95 where the schema says int: that value only is lost, with the schema named.
    expect(only(documents, 'probe', 'typed')).toMatchObject({ up: 1, values_missing: 1 });
    expect(context.problems).toContain(`typed (${base}/summary): field 'ratio_as_int' ($.counts.ratio): 0.95 is not an integer (int in schemas/web/typed_summary.json)`);
  });

  test('missing paths, several matches and wrong types are problems naming probe, field and path; the rest is sent', () => {
    const label = `broken (${base}/summary)`;
    expect(context.problems.filter((problem) => problem.startsWith(label))).toEqual([
      `${label}: field 'absent': $.no.such.key matches nothing`,
      `${label}: field 'several': $.builds[*].name matches 3 values, not one`,
      `${label}: field 'text_number' ($.text): "n/a" is not a number`,
      `${label}: field 'text_bool' ($.text): "n/a" is not a boolean (true/false or 1/0)`,
      `${label}: field 'object_number' ($.counts): a JSON object is not a number`,
      `${label}: field 'list_text' ($.builds): a JSON array is not a text`,
    ]);
    // A JSON null is no value, not a mistake: left out, not counted.
    expect(storedFields(only(documents, 'broken_values', 'broken'))).toEqual({ passed: ['float', 40] });
    expect(only(documents, 'probe', 'broken')).toMatchObject({ up: 1, error_class: '', values_missing: 6 });
  });

  test('an answer that is not JSON makes the probe down (malformed), with no values document', () => {
    expect(only(documents, 'probe', 'not_json')).toMatchObject({ up: 0, error_class: 'malformed', status: 200, values_missing: 1 });
    expect(documents.filter((document) => document.type === 'not_json')).toEqual([]);
    expect(context.problems).toContainEqual(expect.stringMatching(/^not_json \(http:\/\/127\.0\.0\.1:\d+\/html\): malformed: the answer is not JSON \(Unexpected token '<', "<html><bod"\.\.\. is not valid JSON\)$/));
  });

  test('an error status is the probe\'s failure; its body is not read for values', () => {
    const errorPage = only(documents, 'probe', 'error_page');
    expect(errorPage).toMatchObject({ up: 0, error_class: 'status', status: 500 });
    expect(errorPage.values_missing).toBeUndefined();
    expect(documents.filter((document) => document.type === 'error_page')).toEqual([]);
  });

  test('a body longer than max_body_bytes is malformed, and nothing is read from it', () => {
    const tooBig = only(documents, 'probe', 'too_big');
    expect(tooBig).toMatchObject({ up: 0, error_class: 'malformed' });
    expect(tooBig.values_missing).toBeUndefined();
    expect(context.problems).toContain(`too_big (${base}/big): malformed: the body is longer than max_body_bytes = 1000`);
  });

  test('a probe without fields has no values_missing, and the run reports exactly the problems above', () => {
    const plain = only(documents, 'probe', 'plain');
    expect(plain).toMatchObject({ up: 1 });
    expect(plain.idb_fields).not.toContain('values_missing');
    // typed: 1, broken: 6, not_json, error_page and too_big: 1 each
    expect(context.problems).toHaveLength(10);
  });
});

describe('config of JSON values', () => {
  const settings = (text: string): ReturnType<typeof readSettings> => readSettings(Config.parse(text, 'web.cfg'), registry);

  test('defaults: measurement is the probe name, each path is $.<field>, kinds as declared', () => {
    const [target] = settings('[web.builds]\nurl = http://x/\nfields = failed, branch:string, ok:bool\njson.failed = $.counts.failed\n').targets;
    expect(target.values).toMatchObject({ measurement: 'builds', schema: undefined });
    expect([...(target.values?.fields ?? [])]).toEqual([['failed', 'number'], ['branch', 'string'], ['ok', 'bool']]);
    expect([...(target.values?.paths ?? [])]).toEqual([['failed', '$.counts.failed'], ['branch', '$.branch'], ['ok', '$.ok']]);
    expect(settings('[web.typed]\nurl = http://x/\nmeasurement = typed_summary\nfields = failed\n').targets[0].values?.schema).toBe(TYPED);
    // ';' starts an ini comment: a double-quoted path keeps it.
    const quoted = settings(`[web.q]\nurl = http://x/\nfields = state:string\njson.state = "$.jobs[?(@.name=='a;b')].state"\n`).targets[0];
    expect(quoted.values?.paths.get('state')).toBe("$.jobs[?(@.name=='a;b')].state");
  });

  test('a field the schema does not know, or of another kind, is a ConfigError naming the key and the schema file', () => {
    expect(() => settings('[web.typed]\nurl = http://x/\nmeasurement = typed_summary\nfields = failed, bogus\n')).toThrow(
      "[web.typed] fields: 'bogus' is not a field of schemas/web/typed_summary.json (fields: failed, ratio, ratio_as_int, branch, complete)",
    );
    expect(() => settings('[web.typed]\nurl = http://x/\nmeasurement = typed_summary\nfields = failed:string\n')).toThrow(
      "[web.typed] fields: 'failed' is declared string but schemas/web/typed_summary.json says int",
    );
  });

  test('a schema without the probe and url tags is refused', () => {
    const untagged: TypeSchema = { ...TYPED, type: 'untagged', tags: { url: { description: 'url' } } };
    const withUntagged = new SchemaRegistry([...schemaRegistry().all(), untagged]);
    expect(() => readSettings(Config.parse('[web.u]\nurl = http://x/\nmeasurement = untagged\nfields = failed\n'), withUntagged)).toThrow(
      '[web.u] measurement: schemas/web/untagged.json lacks the tag probe that every web value document carries',
    );
  });

  test('mistakes are ConfigErrors naming section and key', () => {
    const probe = '[web.p]\nurl = http://x/\n';
    expect(() => settings(`${probe}fields = a\nmeasurement = probe\n`)).toThrow("[web.p] measurement: 'probe' is the web/probe documents' own");
    expect(() => settings('[web.my-site]\nurl = http://x/\nfields = a\n')).toThrow("[web.my-site] measurement: 'my-site' (the probe name, by default) is not a usable measurement");
    expect(() => settings(`${probe}fields = a\njson.b = $.b\n`)).toThrow("[web.p] json.b: 'b' is not listed in fields (a)");
    expect(() => settings(`${probe}json.a = $.a\n`)).toThrow('[web.p] json.a: no fields are declared');
    expect(() => settings(`${probe}measurement = m\n`)).toThrow('[web.p] measurement: no fields are declared');
    expect(() => settings(`${probe}fields = a\njson.a = counts.a\n`)).toThrow("[web.p] json.a: 'counts.a' is not a JSONPath: a JSONPath starts with $ (e.g. $.counts.a)");
    expect(() => settings(`${probe}fields = a:date\n`)).toThrow("[web.p] fields: 'a:date' has an unknown kind 'date'");
    expect(() => settings(`${probe}fields = url\n`)).toThrow("[web.p] fields: 'url' is a tag of every value document");
    expect(() => settings(`${probe}fields = host\n`)).toThrow("[web.p] fields: 'host' is a reserved MONIT key");
    expect(() => settings('[web]\nfields = a\n[web.p]\nurl = http://x/\n')).toThrow('web.cfg: [web] fields: JSON values are read per probe');
    expect(() => settings('[web]\nurls = http://x/\njson.a = $.a\n')).toThrow('web.cfg: [web] json.a: JSON values are read per probe');
    expect(() => settings(`${probe}max_body_bytes = 0\n`)).toThrow(/\[web.p\] max_body_bytes/);
  });

  test('probes may share a measurement, but must declare each field the same way', () => {
    const shared = '[web.a]\nurl = http://a/\nmeasurement = builds\nfields = failed, branch:string\n[web.b]\nurl = http://b/\nmeasurement = builds\n';
    expect(settings(`${shared}fields = failed\n`).targets.map((target) => target.values?.measurement)).toEqual(['builds', 'builds']);
    expect(() => settings(`${shared}fields = branch\n`)).toThrow(
      "[web.b] fields: 'branch' is number here but string in [web.a], and both write web/builds",
    );
  });
});
