import { gzipSync } from 'node:zlib';
import { TEST_TOKEN } from '../test/support/gateway';
import { useInfluxAndGateway } from '../test/support/fixtures';

const DATABASE = 'monit_production_test_producer';
const slot = Math.floor(Date.now() / 600_000) * 600_000 - 3_600_000;

const servers = useInfluxAndGateway();

async function post(body: unknown, options: { auth?: string | null; path?: string; raw?: string | Buffer; headers?: Record<string, string> } = {}): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (options.auth !== null) headers.authorization = options.auth ?? `Bearer ${TEST_TOKEN}`;
  const response = await fetch(`${servers.gateway.url}${options.path ?? '/'}`, { method: 'POST', headers, body: options.raw ?? JSON.stringify(body) });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: response.status, json, headers: response.headers };
}

function sample(fields: Record<string, unknown>, tags: Record<string, string> = { site: 'CERN', node: 'n1' }, timestamp = slot): Record<string, unknown> {
  return { producer: 'test-producer', type: 'sample', timestamp, idb_tags: Object.keys(tags), idb_fields: Object.keys(fields), ...tags, ...fields };
}

async function rows(query: string): Promise<Array<Record<string, unknown>>> {
  return servers.influx.client.rows(query, { database: DATABASE });
}

describe('round trip', () => {
  it('stores documents in the right database, measurement, tags and typed fields, at the exact millisecond', async () => {
    const timestamp = slot + 123;
    const answer = await post([sample({ count: 7, ratio: 0.25, ok: true, note: 'hello' }, { site: 'CERN', node: 'round-trip' }, timestamp)]);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ accepted: 1, rejected: [] });
    const stored = await rows(`SELECT * FROM "sample" WHERE "node" = 'round-trip'`);
    expect(stored).toEqual([{ time: timestamp, count: 7, ratio: 0.25, ok: true, note: 'hello', site: 'CERN', node: 'round-trip' }]);
    const fieldTypes = await rows('SHOW FIELD KEYS FROM "sample"');
    expect(Object.fromEntries(fieldTypes.map((row) => [row.fieldKey, row.fieldType]))).toEqual({ count: 'integer', ratio: 'float', ok: 'boolean', note: 'string' });
    const retention = await servers.influx.client.rows(`SHOW RETENTION POLICIES ON "${DATABASE}"`);
    expect(retention.find((row) => row.name === '1d')?.shardGroupDuration).toBe('8736h0m0s');
    expect(retention.map((row) => [row.name, row.default])).toEqual([
      ['autogen', false],
      ['raw', true],
      ['1h', false],
      ['1d', false],
    ]);
  });

  it('accepts a single object, gzip bodies, POST /<producer>, and per-producer basic auth', async () => {
    const single = await post(sample({ count: 1 }, { site: 'A', node: 'single' }));
    expect(single.status).toBe(200);
    const gzipped = await post(undefined, { raw: gzipSync(JSON.stringify([sample({ count: 2 }, { site: 'A', node: 'gzip' })])), headers: { 'content-encoding': 'gzip' } });
    expect(gzipped.status).toBe(200);
    const basic = `Basic ${Buffer.from('test-producer:producer-password').toString('base64')}`;
    const viaPath = await post([sample({ count: 3 }, { site: 'A', node: 'path' })], { path: '/test-producer', auth: basic });
    expect(viaPath.status).toBe(200);
    const otherProducer = await post([{ producer: 'someone-else', type: 'x', value: 1 }], { path: '/test-producer', auth: basic });
    expect(otherProducer.status).toBe(400);
    expect(JSON.stringify(otherProducer.json)).toMatch(/does not match 'test-producer'/);
    const stored = await rows(`SELECT "count", "node" FROM "sample" WHERE "site" = 'A'`);
    expect(stored.map((row) => [row.node, row.count]).sort()).toEqual([
      ['gzip', 2],
      ['path', 3],
      ['single', 1],
    ]);
  });

  it('writes numbers of unknown producers as floats, so a field never changes type', async () => {
    const answer = await post([
      { producer: 'free-form', type: 'm', timestamp: slot, idb_tags: ['k'], k: 'a', n: 1 },
      { producer: 'free-form', type: 'm', timestamp: slot, idb_tags: ['k'], k: 'b', n: 1.5 },
    ]);
    expect(answer.status).toBe(200);
    const types = await servers.influx.client.rows('SHOW FIELD KEYS FROM "m"', { database: 'monit_production_free_form' });
    expect(types).toEqual([{ fieldKey: 'n', fieldType: 'float' }]);
  });
});

describe('idempotence', () => {
  it('sending the same slot twice leaves one point per series', async () => {
    const documents = [sample({ count: 5 }, { site: 'B', node: 'x' }), sample({ count: 6 }, { site: 'B', node: 'y' })];
    expect((await post(documents)).status).toBe(200);
    expect((await post(documents)).status).toBe(200);
    const stored = await rows(`SELECT count("count") AS points FROM "sample" WHERE "site" = 'B' GROUP BY "node"`);
    expect(stored.map((row) => [row.node, row.points])).toEqual([
      ['x', 1],
      ['y', 1],
    ]);
  });
});

describe('hostile values', () => {
  const hostile = 'a,b c=d"e\'f\\g h é ü 中文 🚀';
  it('tag and field values with comma, space, =, quotes, backslash, newline and non-ASCII round-trip exactly', async () => {
    const withNewline = `${hostile}\nsecond line\\`;
    const answer = await post([sample({ note: withNewline, count: 1 }, { site: 'hostile', node: hostile })]);
    expect(answer.status).toBe(200);
    const stored = await rows(`SELECT "note", "node" FROM "sample" WHERE "site" = 'hostile'`);
    expect(stored).toEqual([{ time: slot, note: withNewline, node: hostile }]);
    const byTag = await rows(`SELECT "count" FROM "sample" WHERE "node" = '${hostile.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
    expect(byTag).toHaveLength(1);
  });

  it('refuses, with the reason, tag values InfluxDB 1.x cannot store (newline, trailing backslash)', async () => {
    const answer = await post([sample({ count: 1 }, { site: 'hostile2', node: 'line\nbreak' }), sample({ count: 1 }, { site: 'hostile2', node: 'ends\\' })]);
    expect(answer.status).toBe(400);
    expect(answer.json.rejected).toEqual([
      { index: 0, reason: expect.stringMatching(/tag 'node'.*newline/) },
      { index: 1, reason: expect.stringMatching(/tag 'node'.*backslash/) },
    ]);
  });
});

describe('bad input', () => {
  it('malformed JSON: 400 saying so, nothing written', async () => {
    const answer = await post(undefined, { raw: '[{"producer": "test-producer", ' });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(/not valid JSON/);
  });

  it('invalid documents are listed by index with a reason, the valid ones of the batch are stored', async () => {
    const documents = [
      sample({ count: 10 }, { site: 'mixed', node: 'good-1' }),
      { type: 'sample', count: 1 },
      { producer: 'test-producer', count: 1 },
      { producer: 'test-producer', type: 'sample', idb_fields: ['count'], count: [1, 2] },
      { producer: 'test-producer', type: 'sample', idb_fields: ['count'], count: { a: 1 } },
      { producer: 'test-producer', type: 'sample', idb_tags: ['count'], idb_fields: ['count'], count: 1 },
      sample({ count: 'twelve' }, { site: 'mixed', node: 'bad-type' }),
      sample({ count: 11 }, { site: 'mixed', node: 'good-2' }),
    ];
    const answer = await post(documents);
    expect(answer.status).toBe(207);
    expect(answer.json.accepted).toBe(2);
    const rejected = answer.json.rejected as Array<{ index: number; reason: string }>;
    expect(rejected.map((item) => item.index)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rejected[0].reason).toMatch(/producer/);
    expect(rejected[1].reason).toMatch(/type/);
    expect(rejected[2].reason).toMatch(/count/);
    expect(rejected[3].reason).toMatch(/count/);
    expect(rejected[4].reason).toMatch(/both idb_tags and idb_fields/);
    expect(rejected[5].reason).toMatch(/'count' must be an integer per its schema, got a string/);
    const stored = await rows(`SELECT "count", "node" FROM "sample" WHERE "site" = 'mixed'`);
    expect(stored.map((row) => row.node).sort()).toEqual(['good-1', 'good-2']);
  });

  it('10,001 documents: 413 naming the limit, nothing written', async () => {
    const documents = Array.from({ length: 10_001 }, (_, index) => sample({ count: index }, { site: 'too-many', node: String(index) }));
    const answer = await post(documents);
    expect(answer.status).toBe(413);
    expect(answer.json.error).toMatch(/at most 10000 documents/);
    expect(await rows(`SELECT "count" FROM "sample" WHERE "site" = 'too-many'`)).toEqual([]);
  });

  it('an over-size body: 413 naming the limit, nothing written', async () => {
    const big = 'x'.repeat(6_000_000);
    const answer = await post([sample({ note: big, count: 1 }, { site: 'too-big', node: 'n' })]);
    expect(answer.status).toBe(413);
    expect(answer.json.error).toMatch(/limit of 5000000 bytes/);
    const zipped = await post(undefined, { raw: gzipSync(JSON.stringify([sample({ note: big, count: 1 }, { site: 'too-big', node: 'gz' })])), headers: { 'content-encoding': 'gzip' } });
    expect(zipped.status).toBe(413);
    expect(await rows(`SELECT "count" FROM "sample" WHERE "site" = 'too-big'`)).toEqual([]);
  });

  it('no credentials and wrong credentials: 401, nothing written', async () => {
    const document = [sample({ count: 1 }, { site: 'auth', node: 'n' })];
    expect((await post(document, { auth: null })).status).toBe(401);
    expect((await post(document, { auth: 'Bearer wrong-token' })).status).toBe(401);
    expect((await post(document, { auth: `Basic ${Buffer.from('test-producer:wrong').toString('base64')}` })).status).toBe(401);
    expect(await rows(`SELECT "count" FROM "sample" WHERE "site" = 'auth'`)).toEqual([]);
  });
});

describe('ping and metrics', () => {
  it('/ping reports InfluxDB, /metrics counts documents by outcome', async () => {
    const ping = await fetch(`${servers.gateway.url}/ping`);
    expect(ping.status).toBe(200);
    expect(await ping.json()).toEqual({ gateway: 'ok', influxdb: 'ok' });
    const metrics = await (await fetch(`${servers.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/gateway_documents_accepted_total\{producer="test-producer"\} \d+/);
    expect(metrics).toMatch(/gateway_documents_rejected_total\{reason="wrong_type"\} [1-9]/);
    expect(metrics).toMatch(/gateway_requests_total\{path="ingest",code="401"\} 3/);
    expect(metrics).toMatch(/gateway_influxdb_write_seconds_count [1-9]/);
  });
});

describe('InfluxDB down', () => {
  it('answers 503 with Retry-After, and accepts again once InfluxDB is back', async () => {
    await servers.influx.stop();
    try {
      const answer = await post([sample({ count: 1 }, { site: 'outage', node: 'n' })]);
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('10');
      expect(answer.json.error).toMatch(/InfluxDB is unavailable/);
      expect((await fetch(`${servers.gateway.url}/ping`)).status).toBe(503);
    } finally {
      await servers.influx.start();
    }
    const again = await post([sample({ count: 1 }, { site: 'outage', node: 'n' })]);
    expect(again.status).toBe(200);
  });
});
