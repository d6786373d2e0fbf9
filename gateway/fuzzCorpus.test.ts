import { gzipSync } from 'node:zlib';
import { TEST_TOKEN } from '../test/support/gateway';
import { useInfluxAndGateway } from '../test/support/fixtures';

/**
 * The fuzz findings of issue 24 as a table: a request, the status it must get, and what must be
 * stored. Each case has its own `site` (test-producer/sample siblings) and `case` tag (other
 * documents, in monit_production_fuzz), so what one case stored never shows in another.
 */

const servers = useInfluxAndGateway();
const slot = Math.floor(Date.now() / 600_000) * 600_000 - 3_600_000;

interface Request {
  documents?: (id: string) => unknown[];
  raw?: (id: string) => string | Uint8Array;
  path?: string;
  headers?: Record<string, string>;
  auth?: string;
}

interface Case {
  name: string;
  request: Request;
  status: number;
  /** The indexes refused, each with a pattern its reason must match. */
  refused?: Array<[number, RegExp]>;
  /** The `node` tags of this case's test-producer/sample documents stored. */
  stored?: string[];
  /** Whether documents of this case are stored in monit_production_fuzz (the poison's database). */
  fuzzStored?: boolean;
  /** What the answer's body must not contain. */
  bodyWithout?: string;
  /**
   * The issue's rule for characters and keys is "stored exactly or refused with a reason": for these
   * rows, a 200 with every document stored passes too if this says the poison round-tripped exactly.
   */
  orStoredExactly?: (id: string) => Promise<boolean>;
}

function sibling(id: string, node: string, fields: Record<string, unknown> = { count: 1 }): Record<string, unknown> {
  return { producer: 'test-producer', type: 'sample', timestamp: slot, idb_tags: ['site', 'node'], site: id, node, ...fields };
}

/** A document of producer `fuzz` tagged with the case, with `body` merged in (it may replace the tags). */
function fuzz(id: string, body: Record<string, unknown>): Record<string, unknown> {
  return { producer: 'fuzz', type: 'm', timestamp: slot, idb_tags: ['case'], case: id, ...body };
}

/** Documents whose fix belongs to per-document validation (lib/documents): refused alone (400) and among siblings (207). */
const poisons: Array<{ name: string; document: (id: string) => Record<string, unknown>; reason: RegExp; orStoredExactly?: (id: string) => Promise<boolean> }> = [
  { name: 'the only field is ""', document: (id) => fuzz(id, { '': 1 }), reason: /./ },
  {
    name: 'the only field is __proto__',
    document: (id) => JSON.parse(`{"producer":"fuzz","type":"m","timestamp":${slot},"idb_tags":["case"],"case":"${id}","__proto__":1}`) as Record<string, unknown>,
    reason: /__proto__|no fields/,
    orStoredExactly: async (id) => {
      const rows = await servers.influx.client.rows(`SELECT "__proto__" FROM "m" WHERE "case" = '${id}'`, { database: 'monit_production_fuzz' }).catch(() => []);
      return rows.length === 1 && rows[0].__proto__ === 1 && Object.keys(rows[0]).sort().join() === '__proto__,time';
    },
  },
  ...['toString', 'constructor', 'hasOwnProperty'].map((tag) => ({
    name: `a tag named ${tag} on a typed measurement`,
    document: (id: string) => ({ producer: 'test-producer', type: 'sample', timestamp: slot, idb_tags: ['site', 'node', tag], site: id, node: 'poison', [tag]: 'x', count: 1 }),
    reason: new RegExp(`tag '${tag}' is not in schemas/test-producer/sample.json`),
  })),
  {
    name: 'a TAB in a tag value',
    document: (id) => sibling(id, 'tab\there'),
    reason: /tag 'node'/,
    orStoredExactly: async (id) => (await storedNodes(id)).includes('tab\there'),
  },
  { name: 'a newline in the measurement', document: (id) => fuzz(id, { type: 'line\nbreak', value: 1 }), reason: /measurement|type/ },
  { name: 'a newline in a tag key', document: (id) => fuzz(id, { idb_tags: ['case', 'tag\nkey'], 'tag\nkey': 'v', value: 1 }), reason: /tag\nkey|tag\\nkey|newline/ },
  { name: 'a newline in a field key', document: (id) => fuzz(id, { 'field\nkey': 1 }), reason: /field\nkey|field\\nkey|newline/ },
];

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const tooMany = `[${Array.from({ length: 10_001 }, () => '{}').join(',')}, not JSON`;

const cases: Case[] = [
  ...poisons.flatMap((poison): Case[] => [
    { name: `${poison.name}, alone`, request: { documents: (id) => [poison.document(id)] }, status: 400, refused: [[0, poison.reason]], stored: [], fuzzStored: false, orStoredExactly: poison.orStoredExactly },
    {
      orStoredExactly: poison.orStoredExactly,
      name: `${poison.name}, among siblings`,
      request: { documents: (id) => [sibling(id, 'before'), poison.document(id), sibling(id, 'after')] },
      status: 207,
      refused: [[1, poison.reason]],
      stored: ['after', 'before'],
      fuzzStored: false,
    },
  ]),
  {
    name: 'a field type conflict with stored data, among siblings',
    request: { documents: (id) => [sibling(id, 'before'), fuzz(id, { type: 'conflict', x: 'text' }), sibling(id, 'after')] },
    status: 207,
    refused: [[1, /^InfluxDB refused the point: .*field type conflict/]],
    stored: ['after', 'before'],
    fuzzStored: false,
  },
  {
    name: 'three documents of one series without a timestamp: one stored, a different one refused, an exact repeat accepted',
    request: {
      documents: (id) => {
        const [first, second, third] = [sibling(id, 'same', { count: 1 }), sibling(id, 'same', { count: 2 }), sibling(id, 'same', { count: 1 })];
        for (const document of [first, second, third]) delete document.timestamp;
        return [first, second, third];
      },
    },
    status: 207,
    refused: [[1, /^same series and time as document #0: InfluxDB would merge them into one point \(overwriting field 'count'\)$/]],
    stored: ['same'],
  },
  {
    name: 'two spellings of one producer in one request',
    request: { documents: (id) => [fuzz(id, { producer: 'fuzz-spelling', value: 1 }), fuzz(id, { producer: 'fuzz_spelling', value: 2 })] },
    status: 207,
    refused: [[1, /producer 'fuzz_spelling' .* producer 'fuzz-spelling'/]],
  },
  { name: 'POST /% (malformed percent-encoding)', request: { path: '/%', documents: (id) => [sibling(id, 'n')] }, status: 400, stored: [] },
  { name: 'malformed JSON', request: { raw: (id) => `[${JSON.stringify(sibling(id, 'n'))}` }, status: 400, stored: [] },
  { name: 'max_documents + 1 tiny documents, then bytes that are not JSON', request: { raw: () => tooMany }, status: 413 },
  { name: 'the same, gzip-compressed', request: { raw: () => gzipSync(tooMany), headers: { 'content-encoding': 'gzip' } }, status: 413 },
  {
    name: 'invalid UTF-8',
    request: { raw: (id) => Buffer.concat([Buffer.from(JSON.stringify([sibling(id, 'n', { count: 1, note: 'A' })]).slice(0, -3)), Buffer.from([0xff]), Buffer.from('"}]')]) },
    status: 400,
    stored: [],
  },
  { name: 'Authorization with no scheme (the token alone)', request: { auth: TEST_TOKEN, documents: (id) => [sibling(id, 'n')] }, status: 401, stored: [], bodyWithout: TEST_TOKEN },
  { name: 'Bearer <token> junk', request: { auth: `Bearer ${TEST_TOKEN} junk`, documents: (id) => [sibling(id, 'n')] }, status: 401, stored: [] },
  { name: 'basic auth, another user with the token as password', request: { auth: basic('someone-else', TEST_TOKEN), documents: (id) => [sibling(id, 'n')] }, status: 400, refused: [[0, /does not match 'someone-else'/]], stored: [] },
  { name: 'basic auth, user = producer with the token as password', request: { auth: basic('test-producer', TEST_TOKEN), documents: (id) => [sibling(id, 'n')] }, status: 200, stored: ['n'] },
  { name: 'Content-Type: text/plain', request: { headers: { 'content-type': 'text/plain' }, documents: (id) => [sibling(id, 'n')] }, status: 415, stored: [] },
  { name: 'Content-Type: application/x-www-form-urlencoded (curl -d)', request: { headers: { 'content-type': 'application/x-www-form-urlencoded' }, documents: (id) => [sibling(id, 'n')] }, status: 415, stored: [] },
  { name: 'Content-Encoding: br', request: { headers: { 'content-encoding': 'br' }, documents: (id) => [sibling(id, 'n')] }, status: 415, stored: [] },
  { name: 'hostile but storable values round-trip', request: { documents: (id) => [sibling(id, 'a,b c=d"e\'f\\g é 中 🚀', { count: 1, note: 'tab\tand\nnewline' })] }, status: 200, stored: ['a,b c=d"e\'f\\g é 中 🚀'] },
];

async function storedNodes(id: string): Promise<string[]> {
  const rows = await servers.influx.client.rows(`SELECT "count", "node" FROM "sample" WHERE "site" = '${id}'`, { database: 'monit_production_test_producer' }).catch(() => []);
  return rows.map((row) => String(row.node)).sort();
}

async function fuzzRows(id: string): Promise<number> {
  const rows = await servers.influx.client.rows(`SELECT * FROM /.*/ WHERE "case" = '${id}'`, { database: 'monit_production_fuzz' }).catch(() => []);
  return rows.length;
}

beforeAll(async () => {
  // Field x of fuzz/conflict is a float from now on, so a string x conflicts.
  const response = await fetch(`${servers.gateway.url}/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify([fuzz('setup', { type: 'conflict', x: 1.5 })]),
  });
  expect(response.status).toBe(200);
});

describe.each(cases.map((item, index) => ({ ...item, id: `case-${index}` })))('$name', (item) => {
  it(`answers ${item.status}${item.stored ? `, stores [${item.stored.join(', ')}]` : ''}${item.orStoredExactly ? ', or 200 with the poison stored exactly' : ''}`, async () => {
    const { request } = item;
    const headers: Record<string, string> = { 'content-type': 'application/json', authorization: request.auth ?? `Bearer ${TEST_TOKEN}`, ...request.headers };
    const body = request.raw ? request.raw(item.id) : JSON.stringify(request.documents?.(item.id) ?? []);
    const response = await fetch(`${servers.gateway.url}${request.path ?? '/'}`, { method: 'POST', headers, body });
    const text = await response.text();
    if (item.orStoredExactly && response.status === 200) {
      expect(await item.orStoredExactly(item.id)).toBe(true);
      for (const node of item.stored ?? []) expect(await storedNodes(item.id)).toContain(node);
      return;
    }
    expect({ status: response.status, text }).toMatchObject({ status: item.status });
    if (item.bodyWithout) expect(text).not.toContain(item.bodyWithout);
    if (item.refused) {
      const answer = JSON.parse(text) as { rejected: Array<{ index: number; reason: string }> };
      expect(answer.rejected.map((rejection) => rejection.index)).toEqual(item.refused.map(([index]) => index));
      for (const [n, [, reason]] of item.refused.entries()) expect(answer.rejected[n].reason).toMatch(reason);
    }
    if (item.stored) expect(await storedNodes(item.id)).toEqual([...item.stored].sort());
    if (item.fuzzStored === false) expect(await fuzzRows(item.id)).toBe(0);
  });
});
