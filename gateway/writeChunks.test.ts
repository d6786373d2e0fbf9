import { TEST_TOKEN } from '../test/support/gateway';
import { useInfluxAndGateway } from '../test/support/fixtures';

/*
 * The gateway joins each database's lines into chunks of 1,000 before it writes any, and splits a chunk
 * InfluxDB refuses by slicing that joined text at the lines' offsets: refused documents at the edges of
 * chunks, in two databases whose documents alternate in one body, must be found by index, and every
 * other point stored with its own value.
 */

const slot = Math.floor(Date.now() / 600_000) * 600_000 - 3_600_000;

const servers = useInfluxAndGateway();

async function post(documents: unknown[]): Promise<{ status: number; json: { accepted: number; rejected: Array<{ index: number; reason: string }> } }> {
  const response = await fetch(`${servers.gateway.url}/`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` }, body: JSON.stringify(documents) });
  return { status: response.status, json: (await response.json()) as { accepted: number; rejected: Array<{ index: number; reason: string }> } };
}

async function acceptedMetric(producer: string): Promise<number> {
  const metrics = await (await fetch(`${servers.gateway.url}/metrics`)).text();
  return Number(new RegExp(`^gateway_documents_accepted_total\\{producer="${producer}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
}

function document(producer: string, ordinal: number, x: number | string): Record<string, unknown> {
  // A tag value with a space, a comma and an '=' makes each line longer once escaped than its text.
  return { producer, type: 'm', timestamp: slot + ordinal, idb_tags: ['n'], idb_fields: ['x'], n: `n ${ordinal},=`, x };
}

it('refused points at the edges of 1,000-line chunks, in two interleaved databases: those refused by index, every other stored with its value', async () => {
  // x is a float in both databases from now on: a string x is a field type conflict InfluxDB refuses.
  expect((await post([document('chunks-a', -1, 0.5), document('chunks-b', -1, 0.5)])).status).toBe(200);
  const PER_DATABASE = 1250; // a chunk of 1,000 lines and one of 250 in each database
  const poisonedA = new Set([0, 999, 1000, 1249]); // first and last line of each chunk
  const poisonedB = new Set([500, 998]);
  const documents: Array<Record<string, unknown>> = [];
  const expectedRefused: number[] = [];
  for (let ordinal = 0; ordinal < PER_DATABASE; ordinal += 1) {
    for (const [producer, poisoned] of [['chunks-a', poisonedA], ['chunks-b', poisonedB]] as const) {
      if (poisoned.has(ordinal)) expectedRefused.push(documents.length);
      documents.push(document(producer, ordinal, poisoned.has(ordinal) ? 'text' : ordinal + 0.25));
    }
  }
  // An exact repeat of a stored document: stored once, acknowledged, counted for its producer.
  documents.push(document('chunks-b', 7, 7.25));
  const acceptedBefore = { a: await acceptedMetric('chunks-a'), b: await acceptedMetric('chunks-b') };

  const answer = await post(documents);

  expect(answer.status).toBe(207);
  expect(answer.json.rejected.map((rejection) => rejection.index)).toEqual(expectedRefused);
  for (const rejection of answer.json.rejected) expect(rejection.reason).toMatch(/^InfluxDB refused the point: .*field type conflict/);
  const refusedCount = poisonedA.size + poisonedB.size;
  expect(answer.json.accepted).toBe(2 * PER_DATABASE - refusedCount + 1);
  expect((await acceptedMetric('chunks-a')) - acceptedBefore.a).toBe(PER_DATABASE - poisonedA.size);
  expect((await acceptedMetric('chunks-b')) - acceptedBefore.b).toBe(PER_DATABASE - poisonedB.size + 1);
  for (const [database, poisoned] of [['monit_production_chunks_a', poisonedA], ['monit_production_chunks_b', poisonedB]] as const) {
    const stored = await servers.influx.client.rows(`SELECT "x", "n" FROM "m" WHERE time >= ${slot}ms`, { database });
    const expected = Array.from({ length: PER_DATABASE }, (_, ordinal) => ordinal)
      .filter((ordinal) => !poisoned.has(ordinal))
      .map((ordinal) => ({ time: slot + ordinal, n: `n ${ordinal},=`, x: ordinal + 0.25 }));
    expect(stored).toEqual(expected);
  }
});
