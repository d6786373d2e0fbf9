import { toLineProtocol } from '../influx/lineProtocol';
import { interpretDocument, databaseFor, envelopeValue } from './interpret';
import { DocumentFactory, documentId } from './document';
import { SchemaRegistry, schemaRegistry } from './schemas';

const registry = schemaRegistry();
const slot = Date.UTC(2026, 10, 22, 10, 0);

describe('interpretDocument', () => {
  it('maps producer, type, tags and typed fields', () => {
    const factory = new DocumentFactory({ slotMs: slot, host: 'node1' });
    const document = factory.build('monit-collectors', 'run', { job: 'web' }, { ok: true, duration_ms: 12, errors: 0, message: '' });
    const result = interpretDocument(document, registry);
    expect(result).toEqual({
      ok: true,
      point: {
        database: 'monit_production_monit_collectors',
        measurement: 'run',
        tags: { job: 'web' },
        fields: [
          { name: 'ok', type: 'bool', value: true },
          { name: 'duration_ms', type: 'int', value: 12 },
          { name: 'errors', type: 'int', value: 0 },
          { name: 'message', type: 'string', value: '' },
        ],
        timestampMs: slot,
      },
    });
  });

  it('without idb_fields, takes every remaining scalar key and data.* as float fields', () => {
    const result = interpretDocument({ producer: 'x-y', type: 't', timestamp: 1700000000, idb_tags: ['site'], site: 'A', n: 3, data: { m: 1.5 } }, registry);
    expect(result.ok && result.point).toEqual({
      database: databaseFor('x-y'),
      measurement: 't',
      tags: { site: 'A' },
      fields: [
        { name: 'n', type: 'float', value: 3 },
        { name: 'm', type: 'float', value: 1.5 },
      ],
      timestampMs: 1700000000000,
    });
  });

  it.each([
    [{ type: 't', n: 1 }, /producer/],
    [{ producer: 'p', n: 1 }, /type/],
    [{ producer: 'p', type: 't', n: [1, 2] }, /no fields/],
    [{ producer: 'p', type: 't', timestamp: '1701790000', n: 1 }, /^timestamp must be number$/],
    [{ producer: 'p', type: 't', idb_fields: ['n'], n: { a: 1 } }, /n/],
    [{ producer: 'p', type: 't', idb_tags: ['n'], idb_fields: ['n'], n: 1 }, /both idb_tags and idb_fields/],
    [{ producer: 'monit-collectors', type: 'run', idb_tags: ['job'], job: 'x', idb_fields: ['duration_ms'], duration_ms: 'slow' }, /duration_ms' must be an integer/],
    [{ producer: 'monit-collectors', type: 'run', idb_fields: ['duration_ms'], duration_ms: 1.5 }, /must be an integer/],
    [{ producer: 'monit-collectors', type: 'run', idb_fields: ['duraton_ms'], duraton_ms: 1 }, /not in schemas.*typo/],
    [{ producer: 'p', type: 't' }, /no fields/],
    [[1, 2], /JSON object/],
  ])('refuses %j with a clear reason', (document, reason) => {
    const result = interpretDocument(document, registry);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});

describe('interpretDocument: keys are plain names, never built-ins of Object', () => {
  const BUILT_IN_NAMES = ['toString', 'constructor', 'hasOwnProperty', '__proto__', 'valueOf'];

  it.each(BUILT_IN_NAMES)('a schema-checked type refuses a tag named %s as unknown', (name) => {
    const document = JSON.parse(`{"producer": "monit-collectors", "type": "run", "idb_tags": ["job", "${name}"], "job": "web", "${name}": "x", "idb_fields": ["ok"], "ok": true}`) as unknown;
    const result = interpretDocument(document, registry);
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(new RegExp(`^tag '${name}' is not in schemas/monit-collectors/run.json`)) as unknown });
  });

  it.each(BUILT_IN_NAMES)('a schema-checked type refuses a field named %s as unknown', (name) => {
    const document = JSON.parse(`{"producer": "monit-collectors", "type": "run", "idb_fields": ["ok", "${name}"], "ok": true, "${name}": 1}`) as unknown;
    const result = interpretDocument(document, registry);
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(new RegExp(`^field '${name}' is not in schemas/monit-collectors/run.json`)) as unknown });
  });

  it.each(BUILT_IN_NAMES)('an untyped document keeps a field and a tag named %s exactly', (name) => {
    const document = JSON.parse(`{"producer": "p", "type": "t", "timestamp": 1700000000000, "idb_tags": ["${name}"], "${name}": "v", "data": {"${name}": 2}}`) as unknown;
    const result = interpretDocument(document, registry);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.keys(result.point.tags)).toEqual([name]);
    expect(result.point.tags[name]).toBe('v');
    expect(result.point.fields).toEqual([{ name, type: 'float', value: 2 }]);
    expect(toLineProtocol(result.point)).toBe(`t,${name}=v ${name}=2 1700000000000`);
  });

  it("a field listed in idb_fields but absent is missing, even when it is named like a built-in ('constructor')", () => {
    const result = interpretDocument({ producer: 'p', type: 't', idb_fields: ['constructor'] }, registry);
    expect(result).toEqual({ ok: false, reason: "field 'constructor' is listed in idb_fields but the document has no value for it" });
  });
});

describe('interpretDocument: what InfluxDB 1.x cannot store is refused with the key and the character', () => {
  // Documents as JSON text, as a sender sends them: \n, \u0000 and "\ud800" are JSON escapes here.
  it.each([
    [String.raw`{"producer": "p", "type": "t", "": 1}`, "field '' key: an empty field key cannot be stored by InfluxDB 1.x"],
    [String.raw`{"producer": "p", "type": "t", "n": 1, "data": {"": 1}}`, "field '' key: an empty field key cannot be stored by InfluxDB 1.x"],
    [String.raw`{"producer": "p", "type": "t", "idb_tags": ["data."], "data": {"": "x"}, "n": 1}`, "tag '' key: an empty tag key cannot be stored by InfluxDB 1.x"],
    [String.raw`{"producer": "p", "type": "t", "idb_tags": ["site"], "site": "CER\nN", "n": 1}`, "tag 'site' value: a newline at character 4 cannot be stored by InfluxDB 1.x line protocol (only string field values can hold one)"],
    [String.raw`{"producer": "p", "type": "t", "idb_tags": ["site"], "site": "C\\N\\", "n": 1}`, "tag 'site' value: a backslash at character 4 cannot end a tag value in InfluxDB 1.x line protocol (it would escape the separator after it)"],
    [String.raw`{"producer": "p", "type": "t", "a\nb": 1}`, "field 'a\\nb' key: a newline at character 2 cannot be stored by InfluxDB 1.x line protocol (only string field values can hold one)"],
    [String.raw`{"producer": "p", "type": "a b\n", "n": 1}`, "type 'a b\\n' (the measurement): a newline at character 4 cannot be stored by InfluxDB 1.x line protocol (only string field values can hold one)"],
    [String.raw`{"producer": "p", "type": "#t", "n": 1}`, "type '#t' (the measurement): a '#' at character 1 cannot start a measurement: InfluxDB 1.x takes the line for a comment and drops it"],
    [String.raw`{"producer": "p", "type": "\tt", "n": 1}`, "type '\\tt' (the measurement): a TAB at character 1 cannot start a measurement: InfluxDB 1.x drops it as leading white space"],
    [String.raw`{"producer": "p", "type": "t", "s": "\ud83d\ude00 ok \ud800"}`, "field 's' value: an unpaired UTF-16 surrogate (\\ud800) at character 6 has no UTF-8 encoding and cannot be stored"],
    [String.raw`{"producer": "p", "type": "t", "idb_tags": ["time"], "time": "x", "n": 1}`, "tag 'time': InfluxDB 1.x refuses a tag key named 'time' (rename it)"],
    [String.raw`{"producer": "p", "type": "t", "time": 1, "n": 1}`, "field 'time': InfluxDB 1.x drops a field named 'time' (rename it)"],
    [String.raw`{"producer": "p", "type": "t", "timestamp": 10000000000000, "n": 1}`, 'timestamp 10000000000000 is after the latest time InfluxDB 1.x stores (9223372036854 ms, in the year 2262)'],
  ])('%s: %s', (json, reason) => {
    expect(interpretDocument(JSON.parse(json), registry)).toEqual({ ok: false, reason });
  });

  it.each([
    [String.raw`{"producer": "p", "type": "t", "idb_tags": ["site"], "site": "C\tE\rR\u0000N \\ ,=\"", "n": 1}`, 'C\tE\rR\u0000N \\ ,="'],
    [String.raw`{"producer": "p", "type": "t", "s": "line\nbreak \ud83d\ude00 \\"}`, 'line\nbreak \u{1F600} \\'],
  ])('%s is accepted as it is', (json, text) => {
    const result = interpretDocument(JSON.parse(json), registry);
    expect(result.ok && [result.point.tags.site ?? result.point.fields[0]?.value]).toEqual([text]);
  });
});

describe('interpretDocument: what real MONIT senders post', () => {
  it.each([
    // Python's datetime.timestamp(): seconds with microseconds, rounded to the nearest millisecond.
    [1701790000.123456, 1701790000123],
    [1701790000.1235, 1701790000124],
    [1701790000, 1701790000000],
    // time.time() * 1000 without int(): milliseconds with a fraction.
    [1701790000123.4, 1701790000123],
    [1701790000123.5, 1701790000124],
    [1701790000123, 1701790000123],
  ])('timestamp %d is stored at %d ms', (timestamp, expectedMs) => {
    const result = interpretDocument({ producer: 'p', type: 't', timestamp, n: 1 }, registry);
    expect(result.ok && result.point.timestampMs).toBe(expectedMs);
    expect(result.ok && Number.isInteger(result.point.timestampMs)).toBe(true);
  });

  it.each([
    [1701790000123456, 'timestamp 1701790000123456 looks like microseconds since 1970: MONIT takes milliseconds, or seconds below 1e11'],
    [1701790000123456800, 'timestamp 1701790000123456800 looks like nanoseconds since 1970: MONIT takes milliseconds, or seconds below 1e11'],
    [-1, 'timestamp must be >= 0'],
  ])('timestamp %d is refused: %s', (timestamp, reason) => {
    expect(interpretDocument({ producer: 'p', type: 't', timestamp, n: 1 }, registry)).toEqual({ ok: false, reason });
  });

  it('without idb_fields, leaves out lists, objects and nulls at the top level and in data, and the reserved metadata and monit_hdfs_path', () => {
    const document = {
      producer: 'p',
      type: 't',
      timestamp: 1701790000000,
      monit_hdfs_path: 'hc15min',
      metadata: { uuid: 'u-1', kafka_timestamp: 1 },
      labels: { site: 'A' },
      hosts: ['a', 'b'],
      n: 2,
      data: { name: 'T2_XY', duration: [1, 2], nested: { deep: 1 }, value: null, ok: true },
    };
    const result = interpretDocument(document, registry);
    expect(result.ok && result.point.fields).toEqual([
      { name: 'n', type: 'float', value: 2 },
      { name: 'name', type: 'string', value: 'T2_XY' },
      { name: 'ok', type: 'bool', value: true },
    ]);
  });

  it('a list or object named in idb_fields or idb_tags is refused with its path', () => {
    const data = { foo: { bar: { x: 1 } }, list: [1], ping: { loss: 0.5 } };
    expect(interpretDocument({ producer: 'p', type: 't', idb_fields: ['data.foo.bar'], data }, registry)).toEqual({
      ok: false,
      reason: "field 'data.foo.bar' must be a string, number or boolean, got an object",
    });
    expect(interpretDocument({ producer: 'p', type: 't', idb_fields: ['data.list'], data }, registry)).toEqual({
      ok: false,
      reason: "field 'data.list' must be a string, number or boolean, got a list",
    });
    expect(interpretDocument({ producer: 'p', type: 't', idb_tags: ['data.foo'], idb_fields: ['data.ping.loss'], data }, registry)).toEqual({
      ok: false,
      reason: "tag 'data.foo' must be a scalar, got an object",
    });
  });

  it("a dotted name reaches into data and into objects within it ('data.ping.loss' is the field 'ping.loss')", () => {
    const result = interpretDocument({ producer: 'p', type: 't', timestamp: 1701790000000, idb_tags: ['data.site'], idb_fields: ['data.ping_loss', 'data.ping.loss'], data: { site: 'A', ping_loss: 0.25, ping: { loss: 0.5 } } }, registry);
    expect(result.ok && result.point).toEqual({
      database: 'monit_production_p',
      measurement: 't',
      tags: { site: 'A' },
      fields: [
        { name: 'ping_loss', type: 'float', value: 0.25 },
        { name: 'ping.loss', type: 'float', value: 0.5 },
      ],
      timestampMs: 1701790000000,
    });
  });

  it('reads producer, type and timestamp from metadata when the top level has none, the top level winning', () => {
    const archived = { metadata: { producer: 'cmssst', type: 'ssbmetric', timestamp: 1701790000000, _id: 'x', kafka_timestamp: 1701790000999 }, data: { name: 'T1_XY', value: 1 } };
    const result = interpretDocument(archived, registry);
    expect(result.ok && result.point).toEqual({
      database: 'monit_production_cmssst',
      measurement: 'ssbmetric',
      tags: {},
      fields: [
        { name: 'name', type: 'string', value: 'T1_XY' },
        { name: 'value', type: 'float', value: 1 },
      ],
      timestampMs: 1701790000000,
    });
    expect(envelopeValue(archived, 'producer')).toBe('cmssst');
    const overridden = interpretDocument({ ...archived, producer: 'other', timestamp: 1701790001000 }, registry);
    expect(overridden.ok && [overridden.point.database, overridden.point.measurement, overridden.point.timestampMs]).toEqual(['monit_production_other', 'ssbmetric', 1701790001000]);
    expect(envelopeValue({ ...archived, producer: 'other' }, 'producer')).toBe('other');
  });

  it('refuses a document whose producer is neither at the top level nor in metadata, and a metadata producer of the wrong form', () => {
    expect(interpretDocument({ metadata: { type: 't' }, data: { n: 1 } }, registry)).toEqual({ ok: false, reason: "document must have required property 'producer'" });
    const wrong = interpretDocument({ type: 't', metadata: { producer: 'a b' }, n: 1 }, registry);
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) expect(wrong.reason).toMatch(/metadata\.producer must match pattern/);
  });
});

describe('DocumentFactory', () => {
  it('stamps the slot, host, type_prefix and a deterministic _id', () => {
    const factory = new DocumentFactory({ slotMs: slot, host: 'node1' });
    const a = factory.build('monit-collectors', 'run', { job: 'web' }, { ok: true });
    const b = factory.build('monit-collectors', 'run', { job: 'web' }, { ok: false });
    expect(a).toMatchObject({ timestamp: slot, host: 'node1', type_prefix: 'raw', idb_tags: ['job'], idb_fields: ['ok'] });
    expect(a._id).toBe(b._id);
    expect(a._id).toBe(documentId('monit-collectors', 'run', { job: 'web' }, slot));
    expect(documentId('monit-collectors', 'run', { job: 'other' }, slot)).not.toBe(a._id);
  });

  it('throws at once on a field the schema does not know', () => {
    const factory = new DocumentFactory({ slotMs: slot });
    expect(() => factory.build('monit-collectors', 'run', { job: 'x' }, { okk: true })).toThrow(/okk/);
    expect(() => factory.build('nobody', 'nothing', {}, { a: 1 })).toThrow(/no schema/);
  });
});

describe('SchemaRegistry', () => {
  it('loads every schema file and refuses a broken one', () => {
    expect(registry.all().length).toBeGreaterThan(0);
    expect(() => new SchemaRegistry().require('a', 'b')).toThrow(/schemas\/a\/b.json/);
  });
});
