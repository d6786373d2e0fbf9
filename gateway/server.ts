import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { InfluxError, type InfluxClient, type RetentionPolicyDurations } from '../lib/influx/influxdb';
import { interpretDocument, type InterpretedDocument } from '../lib/documents/interpret';
import { toLineProtocol } from '../lib/influx/lineProtocol';
import type { Logger } from '../lib/run/log';
import type { SchemaRegistry } from '../lib/documents/schemas';
import { authenticate, type AuthSettings } from './auth';
import { GatewayMetrics, reasonClass } from './metrics';

const gunzipAsync = promisify(gunzip);

/** Lines per InfluxDB /write call: small enough that InfluxDB stores one chunk while the next is built. */
const WRITE_CHUNK_LINES = 1000;

export interface GatewayOptions {
  influxdb: InfluxClient;
  durations: RetentionPolicyDurations;
  auth: AuthSettings;
  maxDocuments: number;
  maxBodyBytes: number;
  registry: SchemaRegistry;
  log: Logger;
  /** Extra GET pages, e.g. /status and /status.json. */
  pages?: Record<string, () => Promise<{ contentType: string; body: string; status?: number }>>;
}

export interface Rejection {
  index: number;
  reason: string;
}

/** A request-level refusal with its HTTP status. */
class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', ...headers });
  response.end(text);
}

async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    request.resume();
    throw new HttpRefusal(413, `request body of ${declared} bytes is over the limit of ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      request.resume();
      throw new HttpRefusal(413, `request body is over the limit of ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  if (/gzip/i.test(String(request.headers['content-encoding'] ?? ''))) {
    try {
      return await gunzipAsync(body, { maxOutputLength: maxBytes });
    } catch (error) {
      const tooBig = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || /too large|exceeds/i.test((error as Error).message);
      throw tooBig
        ? new HttpRefusal(413, `decompressed body is over the limit of ${maxBytes} bytes`)
        : new HttpRefusal(400, `body is not valid gzip: ${(error as Error).message}`);
    }
  }
  return body;
}

/** The MONIT-compatible ingestion endpoint: documents in, InfluxDB points out, acknowledged only once stored. */
export class Gateway {
  readonly metrics = new GatewayMetrics();
  private readonly knownDatabases = new Set<string>();
  private readonly ensuring = new Map<string, Promise<void>>();

  constructor(private readonly options: GatewayOptions) {}

  private async ensureDatabase(database: string): Promise<void> {
    if (this.knownDatabases.has(database)) return;
    let pending = this.ensuring.get(database);
    if (!pending) {
      pending = this.options.influxdb.ensureDatabase(database, this.options.durations).then(() => {
        this.knownDatabases.add(database);
      });
      this.ensuring.set(database, pending);
      pending.finally(() => this.ensuring.delete(database)).catch(() => undefined);
    }
    await pending;
  }

  private async writeLines(database: string, lines: string[]): Promise<void> {
    const stop = this.metrics.writeSeconds.startTimer();
    try {
      await this.ensureDatabase(database);
      try {
        await this.options.influxdb.write(database, lines.join('\n'));
      } catch (error) {
        if (error instanceof InfluxError && error.status === 404 && /database not found/.test(error.body)) {
          this.knownDatabases.delete(database); // dropped behind our back: create it again
          await this.ensureDatabase(database);
          await this.options.influxdb.write(database, lines.join('\n'));
        } else throw error;
      }
    } catch (error) {
      this.metrics.writeErrors.inc({ kind: error instanceof InfluxError && !error.unreachable ? 'refused' : 'unreachable' });
      throw error;
    } finally {
      stop();
    }
  }

  /** Writes one chunk; a refused chunk is retried point by point to name the culprits. Returns the points stored. */
  private async writeChunk(database: string, chunk: Array<{ index: number; line: string }>, rejections: Rejection[]): Promise<number> {
    try {
      await this.writeLines(database, chunk.map((item) => item.line));
      return chunk.length;
    } catch (error) {
      if (!(error instanceof InfluxError) || error.unreachable) throw error;
      // InfluxDB stores the good lines of a partial write but does not say which failed: rewriting
      // each line alone is idempotent and finds them.
      let stored = 0;
      for (const item of chunk) {
        try {
          await this.writeLines(database, [item.line]);
          stored += 1;
        } catch (single) {
          if (!(single instanceof InfluxError) || single.unreachable) throw single;
          rejections.push({ index: item.index, reason: `InfluxDB refused the point: ${single.body.trim() || single.message}` });
        }
      }
      return stored;
    }
  }

  /**
   * Writes the points of one database in chunks. Each chunk's line protocol is built just before it
   * is sent, and its write goes out while the next chunk is built, so InfluxDB and the gateway work
   * at the same time. Any chunk failing for an unreachable InfluxDB fails the whole request.
   */
  private async writeDatabase(database: string, items: Array<{ index: number; point: InterpretedDocument }>, rejections: Rejection[]): Promise<number> {
    const writes: Array<Promise<number>> = [];
    for (let start = 0; start < items.length; start += WRITE_CHUNK_LINES) {
      const chunk = items.slice(start, start + WRITE_CHUNK_LINES).map((item) => ({ index: item.index, line: toLineProtocol(item.point) }));
      writes.push(this.writeChunk(database, chunk, rejections));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const results = await Promise.allSettled(writes);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    return results.reduce((sum, result) => sum + (result as PromiseFulfilledResult<number>).value, 0);
  }

  /** Handles one POST body: returns the HTTP status and the answer for the sender. */
  async ingest(body: Buffer, identity: { kind: 'any' } | { kind: 'producer'; producer: string }, pathProducer?: string): Promise<{ status: number; answer: object }> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new HttpRefusal(400, `body is not valid JSON: ${(error as Error).message}`);
    }
    const documents: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
    if (typeof parsed !== 'object' || parsed === null) throw new HttpRefusal(400, 'body must be a JSON array of documents or a single document object');
    if (documents.length > this.options.maxDocuments) {
      throw new HttpRefusal(413, `at most ${this.options.maxDocuments} documents per request, got ${documents.length}`);
    }
    const rejections: Rejection[] = [];
    const byDatabase = new Map<string, Array<{ index: number; point: InterpretedDocument }>>();
    const nowMs = Date.now();
    documents.forEach((document, index) => {
      const producer = (document as { producer?: unknown } | null)?.producer;
      const allowedProducer = identity.kind === 'producer' ? identity.producer : pathProducer;
      if (allowedProducer !== undefined && producer !== allowedProducer) {
        rejections.push({ index, reason: `producer '${String(producer)}' does not match '${allowedProducer}' (from the URL path or the credentials)` });
        return;
      }
      const result = interpretDocument(document, this.options.registry, nowMs);
      if (!result.ok) {
        rejections.push({ index, reason: result.reason });
        return;
      }
      const list = byDatabase.get(result.point.database) ?? [];
      list.push({ index, point: result.point });
      byDatabase.set(result.point.database, list);
    });
    let stored = 0;
    for (const [database, items] of byDatabase) {
      try {
        const count = await this.writeDatabase(database, items, rejections);
        stored += count;
      } catch (error) {
        throw new HttpRefusal(503, `InfluxDB is unavailable, nothing acknowledged: ${(error as Error).message}`, { 'retry-after': '10' });
      }
    }
    const refused = new Set(rejections.map((rejection) => rejection.index));
    const acceptedByProducer = new Map<string, number>();
    for (const items of byDatabase.values()) {
      for (const item of items) {
        if (refused.has(item.index)) continue;
        const producer = (documents[item.index] as { producer: string }).producer;
        acceptedByProducer.set(producer, (acceptedByProducer.get(producer) ?? 0) + 1);
      }
    }
    for (const [producer, count] of acceptedByProducer) this.metrics.accepted.inc({ producer }, count);
    for (const rejection of rejections) this.metrics.rejected.inc({ reason: reasonClass(rejection.reason) });
    rejections.sort((a, b) => a.index - b.index);
    if (rejections.length) {
      this.options.log.warn(`refused ${rejections.length} of ${documents.length} documents; first: #${rejections[0].index}: ${rejections[0].reason}`);
    }
    const status = rejections.length === 0 ? 200 : stored > 0 ? 207 : 400;
    return { status, answer: { accepted: stored, rejected: rejections } };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<number> {
    const url = new URL(request.url ?? '/', 'http://gateway');
    const path = url.pathname;
    if (request.method === 'GET' || request.method === 'HEAD') {
      if (path === '/ping') {
        const influxOk = await this.options.influxdb.ping();
        send(response, influxOk ? 200 : 503, { gateway: 'ok', influxdb: influxOk ? 'ok' : 'unreachable' });
        return influxOk ? 200 : 503;
      }
      if (path === '/metrics') {
        send(response, 200, await this.metrics.registry.metrics(), { 'content-type': this.metrics.registry.contentType });
        return 200;
      }
      if (path === '/' && this.options.pages?.['/status']) {
        response.writeHead(302, { location: '/status' }).end();
        return 302;
      }
      const page = this.options.pages?.[path];
      if (page) {
        const { contentType, body, status = 200 } = await page();
        send(response, status, body, { 'content-type': contentType });
        return status;
      }
      send(response, 404, { error: `no page ${path}` });
      return 404;
    }
    if (request.method !== 'POST') {
      send(response, 405, { error: 'use POST / or POST /<producer>' }, { allow: 'GET, POST' });
      return 405;
    }
    const segments = path.split('/').filter(Boolean);
    if (segments.length > 1) {
      send(response, 404, { error: 'POST to / or /<producer>' });
      return 404;
    }
    const identity = authenticate(request, this.options.auth);
    if (identity.kind === 'refused') {
      request.resume();
      send(response, 401, { error: identity.reason }, { 'www-authenticate': 'Bearer, Basic realm="monit"' });
      return 401;
    }
    const body = await readBody(request, this.options.maxBodyBytes);
    const { status, answer } = await this.ingest(body, identity, segments[0] ? decodeURIComponent(segments[0]) : undefined);
    send(response, status, answer);
    return status;
  }

  /** The node:http request listener. */
  readonly listener = (request: IncomingMessage, response: ServerResponse): void => {
    const path = new URL(request.url ?? '/', 'http://gateway').pathname;
    const metricPath = ['/ping', '/metrics'].includes(path) || this.options.pages?.[path] ? path : 'ingest';
    this.handle(request, response)
      .then((status) => this.metrics.requests.inc({ path: metricPath, code: String(status) }))
      .catch((error: unknown) => {
        const refusal = error instanceof HttpRefusal ? error : new HttpRefusal(500, `internal error: ${(error as Error).message}`);
        if (refusal.status >= 500) this.options.log.error(refusal.message);
        if (!response.headersSent) send(response, refusal.status, { error: refusal.message }, refusal.headers);
        else response.end();
        this.metrics.requests.inc({ path: metricPath, code: String(refusal.status) });
      });
  };
}

export interface RunningGateway {
  url: string;
  gateway: Gateway;
  close(): Promise<void>;
}

/** Starts the gateway on host:port (port 0 picks a free one). */
export async function startGateway(options: GatewayOptions, host: string, port: number): Promise<RunningGateway> {
  const gateway = new Gateway(options);
  const server = http.createServer(gateway.listener);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    gateway,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
