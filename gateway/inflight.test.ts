import http from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { startTestGateway, TEST_TOKEN, testSender } from '../test/support/gateway';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import { Spool } from '../lib/delivery/spool';
import type { MonitDocument } from '../lib/documents/types';
import type { RunningGateway } from './server';
import { Config, ConfigError } from '../lib/config/config';
import { gatewaySettings } from './settings';

/** Small limits, so a few requests of a few hundred kB fill the budget. */
const MAX_BODY = 200_000;
const BUDGET = 300_000;
const slot = Math.floor(Date.now() / 600_000) * 600_000 - 3_600_000;

let influx: TestInfluxDB;
let gateway: RunningGateway;
beforeAll(async () => {
  influx = await startInfluxDB();
  gateway = await startTestGateway(influx.url, { maxBodyBytes: MAX_BODY, maxInflightBytes: BUDGET });
});
afterAll(async () => {
  await gateway?.close();
  await influx?.stop();
});

const headers = { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` };

/** Waits until `condition` holds (polled; the test fails on its own timeout if it never does). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** A POST that declares `declared` bytes and sends only the first byte: it holds its share of the budget. */
function holdingRequest(declared: number): { request: http.ClientRequest; answered: Promise<number> } {
  const url = new URL(gateway.url);
  const request = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/', headers: { ...headers, 'content-length': String(declared) } });
  const answered = new Promise<number>((resolve, reject) => {
    request.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
  });
  request.write('[');
  request.flushHeaders();
  return { request, answered };
}

/** A POST without Content-Length (Transfer-Encoding: chunked), `chunkBytes` at a time, on a connection of its own. */
function chunkedPost(body: Buffer, chunkBytes: number): Promise<{ status: number; retryAfter?: string }> {
  const url = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const request = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/', headers, agent: false });
    request.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] }));
    });
    request.on('error', reject);
    const writeFrom = (at: number): void => {
      if (at >= body.length) return void request.end();
      request.write(body.subarray(at, at + chunkBytes), () => writeFrom(at + chunkBytes));
    };
    writeFrom(0);
  });
}

function documents(site: string, count: number): MonitDocument[] {
  return Array.from({ length: count }, (_, n) => ({ producer: 'inflight', type: 'load', timestamp: slot, idb_tags: ['site', 'n'], site, n: String(n), value: n, padding: 'x'.repeat(60) }));
}

async function storedCount(site: string): Promise<number> {
  const database = 'monit_production_inflight';
  try {
    const rows = await influx.client.rows(`SELECT count("value") AS points FROM "load" WHERE "site" = '${site}'`, { database });
    return Number(rows[0]?.points ?? 0);
  } catch (error) {
    if (/database not found/.test((error as Error).message)) return 0; // nothing was ever stored
    throw error;
  }
}

describe('[gateway] max_inflight_bytes bounds the body bytes of the requests in flight', () => {
  it('with the budget held: 503 with Retry-After for a declared, a streamed (chunked) and a gzip body that do not fit; nothing stored', async () => {
    const hold = holdingRequest(MAX_BODY);
    await until(() => gateway.gateway.inflight.inFlight === MAX_BODY);
    const body = JSON.stringify(documents('refused', 1000)); // over the 100,000 bytes left
    expect(body.length).toBeGreaterThan(BUDGET - MAX_BODY);
    expect(body.length).toBeLessThan(MAX_BODY);

    const declared = await fetch(`${gateway.url}/`, { method: 'POST', headers, body });
    expect(declared.status).toBe(503);
    expect(declared.headers.get('retry-after')).toBe('1');
    expect(((await declared.json()) as { error: string }).error).toMatch(/^the gateway is busy: a body of \d+ bytes does not fit in \[gateway\] max_inflight_bytes \(300000\)/);

    // No Content-Length: sent chunked, counted as it arrives. Its own connection, closed after the answer.
    const streamed = await chunkedPost(Buffer.from(body), 20_000);
    expect(streamed.status).toBe(503);
    expect(streamed.retryAfter).toBe('1');

    const zipped = gzipSync(body);
    expect(zipped.length).toBeLessThan(BUDGET - MAX_BODY); // only its decompressed size does not fit
    const gzip = await fetch(`${gateway.url}/`, { method: 'POST', headers: { ...headers, 'content-encoding': 'gzip' }, body: zipped });
    expect(gzip.status).toBe(503);
    expect(gzip.headers.get('retry-after')).toBe('1');

    expect(gateway.gateway.inflight.peak).toBeLessThanOrEqual(BUDGET);
    // Aborted mid-body: its share comes back.
    hold.request.destroy();
    await hold.answered.catch(() => 0);
    await until(() => gateway.gateway.inflight.inFlight === 0);
    expect(await storedCount('refused')).toBe(0);
  });

  it('a sender whose batches meet a full budget: 503s, retried after Retry-After, every document stored once; in flight never above the budget', async () => {
    const hold = holdingRequest(MAX_BODY);
    await until(() => gateway.gateway.inflight.inFlight === MAX_BODY);
    const sent = documents('retried', 3000);
    const spool = new Spool(path.join(testDir('inflight'), 'spool'));
    const sender = testSender(gateway.url, spool, { maxBatchDocuments: 10_000, maxBatchBytes: 150_000, concurrency: 4 });
    sender.enqueue(sent);
    const batches = spool.list().length;
    expect(batches).toBeGreaterThanOrEqual(3);
    const busyBefore = await busyAnswers();
    const delivered = sender.deliver({ deadlineMs: Date.now() + 120_000 });
    // Released only once a batch has been refused for the budget (a small last batch may fit beside the hold).
    while ((await busyAnswers()) === busyBefore) await new Promise((resolve) => setTimeout(resolve, 20));
    hold.request.end(`${' '.repeat(MAX_BODY - 2)}]`);
    expect(await hold.answered).toBe(200);
    const report = await delivered;
    expect(report).toMatchObject({ documentsSent: sent.length, documentsRejected: 0, documentsSpooled: 0 });
    expect(await storedCount('retried')).toBe(sent.length);

    const peak = gateway.gateway.inflight.peak;
    expect(peak).toBeGreaterThanOrEqual(MAX_BODY);
    expect(peak).toBeLessThanOrEqual(BUDGET);
    expect(gateway.gateway.inflight.inFlight).toBe(0);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^gateway_inflight_body_bytes_peak ${peak}$`, 'm'));
    expect(metrics).toMatch(/^gateway_inflight_body_bytes 0$/m);
  });

  it('parallel large requests: each stored or told 503 with Retry-After; sent again, all stored; the budget is never exceeded', async () => {
    const bodies = Array.from({ length: 6 }, (_, n) => JSON.stringify(documents(`parallel-${n}`, 900)));
    for (const body of bodies) expect(body.length).toBeLessThan(MAX_BODY);
    let pending = bodies.map((body, n) => ({ body, n }));
    while (pending.length) {
      const answers = await Promise.all(pending.map(async (item) => ({ item, response: await fetch(`${gateway.url}/`, { method: 'POST', headers, body: item.body }) })));
      for (const { response } of answers) {
        expect([200, 503]).toContain(response.status);
        if (response.status === 503) expect(response.headers.get('retry-after')).toBe('1');
      }
      pending = answers.filter(({ response }) => response.status === 503).map(({ item }) => item);
    }
    for (let n = 0; n < bodies.length; n++) expect([n, await storedCount(`parallel-${n}`)]).toEqual([n, 900]);
    expect(gateway.gateway.inflight.peak).toBeLessThanOrEqual(BUDGET);
    expect(gateway.gateway.inflight.inFlight).toBe(0);
    // How many were told to wait depends on how the requests overlapped: not asserted.
  });

  it('max_inflight_bytes below max_body_bytes is a configuration error naming both', () => {
    const config = Config.parse('[gateway]\nlisten = 127.0.0.1:1\ntoken = t0ken-value\nmax_body_bytes = 2048\nmax_inflight_bytes = 1024\n', 'config.cfg');
    expect(() => gatewaySettings(config)).toThrow(ConfigError);
    expect(() => gatewaySettings(config)).toThrow('config.cfg: [gateway] max_inflight_bytes (1024) must be at least max_body_bytes (2048)');
    const defaults = gatewaySettings(Config.parse('[gateway]\nlisten = 127.0.0.1:1\ntoken = t0ken-value\nmax_body_bytes = 2048\n', 'config.cfg'));
    expect(defaults.maxInflightBytes).toBe(4096);
  });
});

/** Ingest answers 503 so far (the gateway's request counter). */
async function busyAnswers(): Promise<number> {
  const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
  return Number(/^gateway_requests_total\{path="ingest",code="503"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
}
