import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Config, ConfigError } from '../lib/config/config';
import { startTestGateway, TEST_TOKEN } from '../test/support/gateway';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import type { RunningGateway } from './server';
import type { MemoryLogger } from '../lib/run/log';
import { gatewaySettings } from './settings';

const slot = Math.floor(Date.now() / 600_000) * 600_000 - 3_600_000;

let influx: TestInfluxDB;
let gateway: RunningGateway & { log: MemoryLogger };
let spellingsFile: string;
beforeAll(async () => {
  influx = await startInfluxDB();
  spellingsFile = path.join(testDir('gateway-state'), 'gateway', 'producer-databases.json');
  gateway = await startTestGateway(influx.url, { producerSpellingsFile: spellingsFile });
});
afterAll(async () => {
  await gateway?.close();
  await influx?.stop();
});

interface Answer {
  status: number;
  text: string;
  json: Record<string, unknown>;
}

async function post(body: unknown, options: { auth?: string; path?: string; raw?: string | Uint8Array; headers?: Record<string, string>; url?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: options.auth ?? `Bearer ${TEST_TOKEN}`, ...options.headers };
  const response = await fetch(`${options.url ?? gateway.url}${options.path ?? '/'}`, { method: 'POST', headers, body: options.raw ?? JSON.stringify(body) });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = {};
  }
  return { status: response.status, text, json };
}

function sample(fields: Record<string, unknown>, tags: Record<string, string>, timestamp: number | undefined = slot): Record<string, unknown> {
  return { producer: 'test-producer', type: 'sample', ...(timestamp === undefined ? {} : { timestamp }), idb_tags: Object.keys(tags), idb_fields: Object.keys(fields), ...tags, ...fields };
}

async function rows(query: string, database = 'monit_production_test_producer'): Promise<Array<Record<string, unknown>>> {
  return influx.client.rows(query, { database });
}

/** InfluxDB /write calls the gateway made so far (its write histogram's count). */
async function writeCalls(): Promise<number> {
  const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
  return Number(/^gateway_influxdb_write_seconds_count (\d+)$/m.exec(metrics)?.[1] ?? 0);
}

describe('a document InfluxDB refuses does not block its batch', () => {
  it('a field type conflict among 3,000 documents: the others stored, the poison reported by index, in a few requests', async () => {
    const free = (index: number, value: unknown): Record<string, unknown> => ({ producer: 'poison', type: 'm', timestamp: slot, idb_tags: ['n'], n: String(index), x: value });
    expect((await post([free(-1, 1.5)])).status).toBe(200); // x is a float from now on
    const documents = Array.from({ length: 3000 }, (_, index) => free(index, index === 1234 ? 'text' : index + 0.5));
    const before = await writeCalls();
    const answer = await post(documents);
    const calls = (await writeCalls()) - before;
    expect(answer.status).toBe(207);
    expect(answer.json.accepted).toBe(2999);
    expect(answer.json.rejected).toEqual([{ index: 1234, reason: expect.stringMatching(/^InfluxDB refused the point: .*field type conflict/) }]);
    const stored = await rows(`SELECT count("x") AS points FROM "m" WHERE "n" != '-1'`, 'monit_production_poison');
    expect(stored[0]?.points).toBe(2999);
    expect(await rows(`SELECT "x" FROM "m" WHERE "n" = '1234'`, 'monit_production_poison')).toEqual([]);
    // Three chunks of 1,000, then halving the refused one: two writes per level, ceil(log2(1000)) = 10 levels.
    expect(calls).toBeLessThanOrEqual(3 + 2 * Math.ceil(Math.log2(1000)));
  });

  it('a document whose only field is "" among valid ones: refused by index (not a 503), the others stored', async () => {
    const answer = await post([sample({ count: 1 }, { site: 'empty-key', node: 'a' }), { producer: 'poison', type: 'm', timestamp: slot, '': 1 }, sample({ count: 2 }, { site: 'empty-key', node: 'b' })]);
    expect(answer.status).toBe(207);
    expect(answer.json.accepted).toBe(2);
    expect(answer.json.rejected).toEqual([{ index: 1, reason: expect.any(String) }]);
    expect((await rows(`SELECT "count", "node" FROM "sample" WHERE "site" = 'empty-key'`)).map((row) => row.node)).toEqual(['a', 'b']);
  });
});

describe('documents of one series and time in one request', () => {
  it('three without a timestamp: the first stored, a different one refused naming it, an exact repeat stored once and accepted', async () => {
    const tags = { site: 'collide', node: 'n' };
    const answer = await post([sample({ count: 1 }, tags, undefined), sample({ count: 2 }, tags, undefined), sample({ count: 1 }, tags, undefined)]);
    expect(answer.status).toBe(207);
    expect(answer.json).toEqual({ accepted: 2, rejected: [{ index: 1, reason: "same series and time as document #0: InfluxDB would merge them into one point (overwriting field 'count')" }] });
    const stored = await rows(`SELECT "count" FROM "sample" WHERE "site" = 'collide'`);
    expect(stored.map((row) => row.count)).toEqual([1]);
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).toMatch(/^gateway_documents_rejected_total\{reason="collision"\} 1$/m);
  });

  it('other field names at the same series and time: refused saying InfluxDB would add them to the first point; only the first stored', async () => {
    const tags = { site: 'merge', node: 'n' };
    const answer = await post([sample({ count: 1 }, tags), sample({ ratio: 0.5 }, tags), sample({ count: 2, note: 'x' }, tags)]);
    expect(answer.json).toEqual({
      accepted: 1,
      rejected: [
        { index: 1, reason: "same series and time as document #0: InfluxDB would merge them into one point (adding field 'ratio' to it)" },
        { index: 2, reason: "same series and time as document #0: InfluxDB would merge them into one point (overwriting field 'count'; adding field 'note' to it)" },
      ],
    });
    expect(await rows(`SELECT "count", "ratio", "note" FROM "sample" WHERE "site" = 'merge'`)).toEqual([expect.objectContaining({ count: 1, ratio: null, note: null })]);
  });

  it('the same series at other times, or other series at one time, are not collisions', async () => {
    const answer = await post([sample({ count: 1 }, { site: 'no-collide', node: 'a' }), sample({ count: 2 }, { site: 'no-collide', node: 'b' }), sample({ count: 3 }, { site: 'no-collide', node: 'a' }, slot + 1)]);
    expect(answer.json).toEqual({ accepted: 3, rejected: [] });
  });
});

describe('producer names of one database', () => {
  it('[gateway.producers] with my-app and my_app: a ConfigError naming both', () => {
    const config = Config.parse('[gateway]\nlisten = 127.0.0.1:1\n[gateway.producers]\nmy-app = one-secret\nmy_app = other-secret\n', 'config.cfg');
    expect(() => gatewaySettings(config)).toThrow(ConfigError);
    expect(() => gatewaySettings(config)).toThrow(/'my-app' and 'my_app' write the same database monit_production_my_app/);
  });

  it('the spelling that wrote a database first keeps it, across a restart; the other spelling is refused naming both', async () => {
    const document = (producer: string, value: number): Record<string, unknown> => ({ producer, type: 'm', timestamp: slot, idb_tags: ['k'], k: producer, v: value });
    expect((await post([document('my-app', 1)])).status).toBe(200);
    const other = await post([document('my_app', 2)]);
    expect(other.status).toBe(400);
    expect(other.json.rejected).toEqual([{ index: 0, reason: expect.stringMatching(/producer 'my_app' writes database monit_production_my_app, which producer 'my-app' writes/) }]);
    expect(existsSync(spellingsFile)).toBe(true);
    expect(JSON.parse(readFileSync(spellingsFile, 'utf8'))).toMatchObject({ monit_production_my_app: 'my-app' });
    const restarted = await startTestGateway(influx.url, { producerSpellingsFile: spellingsFile });
    try {
      expect((await post([document('my_app', 3)], { url: restarted.url })).status).toBe(400);
      expect((await post([document('my-app', 4)], { url: restarted.url })).status).toBe(200);
    } finally {
      await restarted.close();
    }
    const stored = await rows('SELECT "v", "k" FROM "m"', 'monit_production_my_app');
    expect(stored.map((row) => row.k)).toEqual(['my-app']);
    expect(stored.map((row) => row.v)).toEqual([4]);
  });
});

describe('small findings', () => {
  it('POST /% (malformed percent-encoding): 400 with the reason', async () => {
    const answer = await post([sample({ count: 1 }, { site: 'percent', node: 'n' })], { path: '/%' });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(/not valid percent-encoding/);
  });

  it('POST /a/b: 404; PUT /: 405 with Allow (the README\'s Answers table); nothing stored', async () => {
    const nested = await post([sample({ count: 1 }, { site: 'methods', node: 'n' })], { path: '/a/b' });
    expect(nested.status).toBe(404);
    expect(nested.json.error).toBe('POST to / or /<producer>');
    const put = await fetch(`${gateway.url}/`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` }, body: '[]' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
    expect(await rows(`SELECT "count" FROM "sample" WHERE "site" = 'methods'`)).toEqual([]);
  });

  it('POST /%ff (well-formed percent-encoding of a byte that is not UTF-8): 400 saying that, nothing stored', async () => {
    const answer = await post([sample({ count: 1 }, { site: 'percent-ff', node: 'n' })], { path: '/%ff' });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toBe("the path's percent-encoding decodes to bytes that are not valid UTF-8: POST to / or /<producer>");
    expect(await rows(`SELECT "count" FROM "sample" WHERE "site" = 'percent-ff'`)).toEqual([]);
  });

  it('more documents than max_documents: 413 from the count, before any parse; just at the limit: stored', async () => {
    // The bytes after the 10,001st element are not JSON: a parse would answer 400 "not valid JSON".
    const over = `[${Array.from({ length: 10_001 }, () => '{}').join(',')}, this is not JSON`;
    const answer = await post(undefined, { raw: over });
    expect(answer.status).toBe(413);
    expect(answer.json.error).toMatch(/^at most 10000 documents per request: the body holds more \(refused before parsing\)$/);
    const zipped = await post(undefined, { raw: gzipSync(over), headers: { 'content-encoding': 'gzip' } });
    expect(zipped.status).toBe(413);
    const atLimit = Array.from({ length: 10_000 }, (_, n) => ({ producer: 'count-limit', type: 't', timestamp: slot, idb_tags: ['n'], n: String(n), v: 1 }));
    expect((await post(atLimit)).json).toEqual({ accepted: 10_000, rejected: [] });
    expect(await rows('SELECT count("v") AS points FROM "t"', 'monit_production_count_limit')).toEqual([expect.objectContaining({ points: 10_000 })]);
  });

  it('a 401 never echoes the credential: an Authorization header without a scheme', async () => {
    const linesBefore = gateway.log.lines.length;
    const answer = await post([sample({ count: 1 }, { site: 'no-scheme', node: 'n' })], { auth: TEST_TOKEN });
    expect(answer.status).toBe(401);
    expect(answer.text).not.toContain(TEST_TOKEN);
    expect(answer.json.error).toMatch(/must be 'Bearer <token>' or 'Basic <base64 of producer:password>'/);
    expect(gateway.log.lines.slice(linesBefore).join('\n')).not.toContain(TEST_TOKEN);
  });

  it('strict Authorization: anything after the credential is refused', async () => {
    const document = [sample({ count: 1 }, { site: 'strict-auth', node: 'n' })];
    expect((await post(document, { auth: `Bearer ${TEST_TOKEN} junk` })).status).toBe(401);
    expect((await post(document, { auth: `Basic ${Buffer.from('test-producer:producer-password').toString('base64')} junk` })).status).toBe(401);
    expect((await post(document, { auth: `Bearer ${TEST_TOKEN}` })).status).toBe(200);
  });

  it('basic auth: user = producer, password = its own or the token; the request writes that producer only', async () => {
    const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const document = [sample({ count: 1 }, { site: 'basic', node: 'n' })];
    const otherUser = await post(document, { auth: basic('someone-else', TEST_TOKEN) });
    expect(otherUser.status).toBe(400);
    expect(otherUser.json.rejected).toEqual([{ index: 0, reason: expect.stringMatching(/producer 'test-producer' does not match 'someone-else'/) }]);
    expect((await post(document, { auth: basic('test-producer', TEST_TOKEN) })).status).toBe(200);
    expect((await post(document, { auth: basic('test-producer', 'producer-password') })).status).toBe(200);
    expect((await post(document, { auth: `Basic ${Buffer.from('test-producer').toString('base64')}` })).status).toBe(401);
    expect((await post(document, { auth: basic('test-producer', 'wrong') })).status).toBe(401);
  });

  it('Content-Type other than JSON and Content-Encoding other than gzip: 415; JSON with a UTF-8 charset or no Content-Type: stored', async () => {
    const body = JSON.stringify([sample({ count: 1 }, { site: 'content-type', node: 'n' })]);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=iso-8859-1']) {
      const answer = await post(undefined, { raw: body, headers: { 'content-type': type } });
      expect([type, answer.status]).toEqual([type, 415]);
    }
    expect((await post(undefined, { raw: body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })).json.error).toMatch(/send 'Content-Type: application\/json'/);
    const brotli = await post(undefined, { raw: body, headers: { 'content-encoding': 'br' } });
    expect(brotli.status).toBe(415);
    expect(brotli.json.error).toMatch(/Content-Encoding 'br'/);
    expect(await rows(`SELECT "count" FROM "sample" WHERE "site" = 'content-type'`)).toEqual([]);
    expect((await post(undefined, { raw: body, headers: { 'content-type': 'application/json; charset=UTF-8' } })).status).toBe(200);
    // utf8 is an alias of UTF-8, in any case, quoted or not.
    for (const type of ['application/json; charset=utf8', 'application/json; charset=UTF8', 'application/json;charset="utf8"', 'application/json; charset="UTF-8"']) {
      const answer = await post(undefined, { raw: body, headers: { 'content-type': type } });
      expect([type, answer.status]).toEqual([type, 200]);
    }
    expect((await post(undefined, { raw: body, headers: { 'content-type': 'application/json; charset="utf8' } })).status).toBe(415);
    // A Uint8Array body: fetch sends no Content-Type of its own.
    const bare = await fetch(`${gateway.url}/`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}` }, body: new TextEncoder().encode(body) });
    expect(bare.status).toBe(200);
  });

  it('invalid UTF-8: 400 naming the byte offset, nothing stored', async () => {
    const text = JSON.stringify([sample({ count: 1, note: 'AB' }, { site: 'utf8', node: 'n' })]);
    const bytes = Buffer.from(text, 'utf8');
    const offset = bytes.indexOf('AB') + 1;
    bytes[offset] = 0xff; // "A\xff"
    const answer = await post(undefined, { raw: bytes });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toBe(`body is not valid UTF-8 at byte ${offset} (0xff): nothing stored`);
    expect(await rows(`SELECT "note" FROM "sample" WHERE "site" = 'utf8'`)).toEqual([]);
  });
});
