/**
 * fetchBody's byte limit, against a local HTTP server: a body past the limit fails naming the limit and
 * its setting, and reading stops there (the server sees the connection closed long before its end).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { SourceFailure } from '../documents/failures';
import { fetchBody } from './get';

const CHUNK = Buffer.alloc(64 * 1024, 'x');
/** What the endless answer would send in all: far more than any socket buffer holds. */
const ENDLESS_BYTES = 256 * 1024 * 1024;

let server: Server;
let base: string;
/** Bytes the endless answer wrote before its connection closed. */
let written: Promise<number>;

beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url === '/endless') {
      written = new Promise((resolve) => {
        let sent = 0;
        response.writeHead(200, { 'content-type': 'application/xml' });
        const send = (): void => {
          while (sent < ENDLESS_BYTES && !response.destroyed) {
            sent += CHUNK.length;
            if (!response.write(CHUNK)) return void response.once('drain', send);
          }
          if (!response.destroyed) response.end();
        };
        response.on('close', () => resolve(sent));
        send();
      });
      return;
    }
    if (request.url === '/gzip') {
      response.writeHead(200, { 'content-type': 'application/xml', 'content-encoding': 'gzip' });
      response.end(gzipSync(Buffer.alloc(100_000, 'x')));
      return;
    }
    response.writeHead(200, { 'content-type': 'application/xml' });
    response.end(Buffer.alloc(1000, 'x'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

describe('fetchBody with maxBytes', () => {
  test('a body past the limit is a malformed SourceFailure naming the limit and its setting, and reading stops', async () => {
    const failure = await fetchBody(`${base}/endless`, { source: 'downtime feed', timeoutMs: 60_000, maxBytes: 1_000_000, maxBytesSetting: '[status] downtime_feed_max_body_bytes' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SourceFailure);
    expect(failure).toMatchObject({ failureClass: 'malformed' });
    expect((failure as Error).message).toBe(`downtime feed ${base}/endless: the answer is longer than the limit of 1000000 bytes ([status] downtime_feed_max_body_bytes); not read further`);
    // The server could not send the rest: the client closed the connection.
    expect(await written).toBeLessThan(ENDLESS_BYTES);
  });

  test('a body at the limit is read whole; without a limit, any length is', async () => {
    expect((await fetchBody(`${base}/small`, { source: 's', timeoutMs: 10_000, maxBytes: 1000 })).length).toBe(1000);
    expect((await fetchBody(`${base}/small`, { source: 's', timeoutMs: 10_000 })).length).toBe(1000);
  });

  test('a compressed body is checked once decoded', async () => {
    await expect(fetchBody(`${base}/gzip`, { source: 's', timeoutMs: 10_000, maxBytes: 50_000 })).rejects.toThrow(`s ${base}/gzip: the answer is longer than the limit of 50000 bytes; not read further`);
    expect((await fetchBody(`${base}/gzip`, { source: 's', timeoutMs: 10_000, maxBytes: 100_000 })).length).toBe(100_000);
  });
});
