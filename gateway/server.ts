import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { InfluxError, type InfluxClient, type RetentionPolicyDurations } from '../lib/influx/influxdb';
import { DEFAULT_INSTANCE, type InfluxInstances } from '../lib/influx/instances';
import { envelopeValue, interpretDocument } from '../lib/documents/interpret';
import { toLineProtocol } from '../lib/influx/lineProtocol';
import { writeIsolatingRefused } from '../lib/influx/refusedLines';
import type { Logger } from '../lib/run/log';
import type { SchemaRegistry } from '../lib/documents/schemas';
import type { GatewayPages, Page } from '../lib/http/pages';
import { authenticate, type AuthSettings } from './auth';
import { TopLevelCounter } from './body';
import { decodeUtf8 } from '../lib/documents/utf8';
import { SeriesCollisions } from '../lib/documents/collisions';
import { GatewayMetrics, reasonClass } from './metrics';
import { InflightBudget, type BodyReservation } from './inflight';
import { ProducerSpellings } from './producerSpellings';
import { StreamPublishError } from '../lib/stream/publish';
import { streamPointOfLine, type StreamPoint } from '../lib/stream/messages';
import { StreamUnavailableError, type StreamPublisher } from './stream';

const gunzipAsync = promisify(gunzip);

/** Lines per InfluxDB /write call: small enough that InfluxDB stores one chunk while the next is built. */
const WRITE_CHUNK_LINES = 1000;

/** Seconds a sender waits before sending again a batch refused because InfluxDB is unavailable. */
const RETRY_AFTER_SECONDS = '10';

/** Seconds a sender waits before sending again a batch refused because the in-flight budget was full. */
const BUSY_RETRY_AFTER_SECONDS = '1';

export interface GatewayOptions {
  influxdb: InfluxClient;
  /** [influxdb.NAME] instances: each database is written to its producer's; without, all to `influxdb`. */
  instances?: InfluxInstances;
  durations: RetentionPolicyDurations;
  auth: AuthSettings;
  maxDocuments: number;
  maxBodyBytes: number;
  /** Body bytes of all requests in flight at once (at least maxBodyBytes); default 2 × maxBodyBytes. */
  maxInflightBytes?: number;
  registry: SchemaRegistry;
  log: Logger;
  /** Which producer spelling owns each database; in memory only when not given. */
  producerSpellings?: ProducerSpellings;
  /**
   * Producers whose requests with refused documents are answered 200 (the same body as the 207 or 400
   * otherwise): for senders that re-send anything but a 200 ([gateway.partial_success]).
   */
  partialSuccess200?: ReadonlySet<string>;
  /** Extra GET pages beside ingestion, e.g. /status and the pages below it. */
  pages?: GatewayPages;
  /**
   * The stream route ([gateway] route = stream): accepted documents are published there instead of
   * written to InfluxDB, which the gateway then neither writes nor creates databases on.
   */
  stream?: StreamPublisher;
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

/** A 503 for a full in-flight budget: the gateway's load, not a failure, so logged as a warning. */
class BusyRefusal extends HttpRefusal {}

/** InfluxDB could not create or check a database: never a document's fault, so never a per-document refusal. */
class DatabaseSetupError extends Error {
  override name = 'DatabaseSetupError';
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const raw = typeof body === 'string' || Buffer.isBuffer(body);
  const text = raw ? body : JSON.stringify(body);
  response.writeHead(status, { 'content-type': raw ? 'text/plain; charset=utf-8' : 'application/json', ...headers });
  response.end(text);
}

/** Refuses, before the body is read, a Content-Type other than JSON and an encoding other than gzip. */
function checkContentHeaders(request: IncomingMessage): 'gzip' | 'identity' {
  const type = request.headers['content-type'];
  // No Content-Type at all is accepted: the body is checked as JSON anyway. A declared other type
  // (curl -d sends application/x-www-form-urlencoded) is refused, naming the header to send.
  if (type !== undefined) {
    const [mediaType, ...parameters] = type.split(';').map((part) => part.trim().toLowerCase());
    if (mediaType !== 'application/json') {
      throw new HttpRefusal(415, `Content-Type '${mediaType}' is not accepted: send 'Content-Type: application/json'`);
    }
    const charset = parameters.find((parameter) => parameter.startsWith('charset='));
    // `utf8` is a common alias of UTF-8 (MySQL, some HTTP clients), quoted or not, in any case.
    if (charset && !/^charset=("?)utf-?8\1$/.test(charset)) throw new HttpRefusal(415, `only UTF-8 JSON is accepted, not ${charset}`);
  }
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'gzip' || encoding === 'x-gzip') return 'gzip';
  if (encoding === 'identity' || encoding === '') return 'identity';
  throw new HttpRefusal(415, `Content-Encoding '${encoding}' is not accepted: send gzip or no encoding`);
}

function tooManyDocuments(maxDocuments: number): HttpRefusal {
  return new HttpRefusal(413, `at most ${maxDocuments} documents per request: the body holds more (refused before parsing)`);
}

/**
 * The in-flight budget is full. Refused at once rather than queued: a waiting request would hold its
 * connection, and its body in socket buffers, and the queue would need a bound of its own; a sender
 * sends a 503 again after Retry-After (this project's does), so nothing is lost, only delayed.
 */
function busy(bytes: number, limit: number): BusyRefusal {
  return new BusyRefusal(
    503,
    `the gateway is busy: a body of ${bytes} bytes does not fit in [gateway] max_inflight_bytes (${limit}) with the requests in flight; nothing acknowledged, send again after Retry-After`,
    { 'retry-after': BUSY_RETRY_AFTER_SECONDS },
  );
}

/**
 * The body as text, its documents counted as its bytes arrive: too many is refused before JSON.parse.
 * Its bytes are taken from `reservation` before they are held: a declared Content-Length up front,
 * else each chunk as it arrives, and the decompressed size after gunzip.
 */
async function readBody(request: IncomingMessage, maxBytes: number, maxDocuments: number, encoding: 'gzip' | 'identity', reservation: BodyReservation, inflightLimit: number): Promise<string> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    request.resume();
    throw new HttpRefusal(413, `request body of ${declared} bytes is over the limit of ${maxBytes} bytes`);
  }
  if (Number.isFinite(declared) && !reservation.grow(declared)) {
    request.resume();
    throw busy(declared, inflightLimit);
  }
  const counter = new TopLevelCounter();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      request.resume();
      throw new HttpRefusal(413, `request body is over the limit of ${maxBytes} bytes`);
    }
    if (!reservation.grow(size)) {
      request.resume();
      throw busy(size, inflightLimit);
    }
    if (encoding === 'identity') {
      counter.feed(chunk as Buffer);
      if (counter.count > maxDocuments) {
        request.resume();
        throw tooManyDocuments(maxDocuments);
      }
    }
    chunks.push(chunk as Buffer);
  }
  let body = Buffer.concat(chunks);
  chunks.length = 0;
  if (encoding === 'gzip') {
    // Never decompress beyond what the budget can still give this request: the compressed body stays
    // held while it is decompressed, so both count.
    const outputLimit = Math.min(maxBytes, reservation.reachable() - size);
    if (outputLimit < 1) throw busy(size + 1, inflightLimit);
    try {
      body = await gunzipAsync(body, { maxOutputLength: outputLimit });
    } catch (error) {
      const tooBig = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || /too large|exceeds/i.test((error as Error).message);
      if (tooBig && outputLimit < maxBytes) throw busy(outputLimit + 1, inflightLimit);
      throw tooBig
        ? new HttpRefusal(413, `decompressed body is over the limit of ${maxBytes} bytes`)
        : new HttpRefusal(400, `body is not valid gzip: ${(error as Error).message}`);
    }
    if (!reservation.grow(size + body.length)) throw busy(size + body.length, inflightLimit);
    counter.feed(body);
    if (counter.count > maxDocuments) throw tooManyDocuments(maxDocuments);
  }
  try {
    return decodeUtf8(body);
  } catch (error) {
    throw new HttpRefusal(400, `${(error as Error).message}: nothing stored`);
  }
}

/** Lines of one database joined for one /write; line `i` is document `indexes[i]`'s and starts at `starts[i]`. */
interface WriteChunk {
  body: string;
  indexes: number[];
  starts: number[];
}

/** Lines `from` to `to` (excluded) of a chunk, as one /write body. */
function chunkLines(chunk: WriteChunk, from: number, to: number): string {
  if (from === 0 && to === chunk.indexes.length) return chunk.body;
  return chunk.body.slice(chunk.starts[from], to < chunk.starts.length ? chunk.starts[to] - 1 : chunk.body.length);
}

/** Collects one database's lines into chunks of WRITE_CHUNK_LINES, each joined as soon as it is full. */
class ChunkBuilder {
  readonly chunks: WriteChunk[] = [];
  private lines: string[] = [];
  private indexes: number[] = [];

  add(index: number, line: string): void {
    this.lines.push(line);
    this.indexes.push(index);
    if (this.lines.length === WRITE_CHUNK_LINES) this.finish();
  }

  /** Joins the lines collected so far into a chunk. */
  finish(): void {
    if (this.lines.length === 0) return;
    const starts: number[] = [];
    let at = 0;
    for (const line of this.lines) {
      starts.push(at);
      at += line.length + 1;
    }
    this.chunks.push({ body: this.lines.join('\n'), indexes: this.indexes, starts });
    this.lines = [];
    this.indexes = [];
  }
}

interface PlannedDatabase {
  producer: string;
  chunks: WriteChunk[];
}

/** What a body's documents came to before anything is written. */
interface IngestPlan {
  count: number;
  rejections: Rejection[];
  databases: Map<string, PlannedDatabase>;
  /** Exact repeats of an earlier document: stored once, acknowledged as that one is. */
  repeats: Array<{ index: number; of: number; database: string }>;
  /** The one producer every document names, if they name one (a request of several producers has none). */
  soleProducer: string | undefined;
  /** On the stream route: each document's `_id` by index, its message id. */
  ids?: unknown[];
}

/** The MONIT-compatible ingestion endpoint: documents in, InfluxDB points out, acknowledged only once stored. */
export class Gateway {
  readonly metrics = new GatewayMetrics();
  /** Body bytes of the requests in flight (see InflightBudget). */
  readonly inflight: InflightBudget;
  private readonly knownDatabases = new Set<string>();
  private readonly ensuring = new Map<string, Promise<void>>();
  private readonly spellings: ProducerSpellings;

  constructor(private readonly options: GatewayOptions) {
    this.spellings = options.producerSpellings ?? new ProducerSpellings();
    const limit = options.maxInflightBytes ?? 2 * options.maxBodyBytes;
    if (limit < options.maxBodyBytes) throw new Error(`maxInflightBytes (${limit}) must be at least maxBodyBytes (${options.maxBodyBytes}): a body at the limit could never be read`);
    this.inflight = new InflightBudget(limit, (used, peak) => {
      this.metrics.inflightBytes.set(used);
      this.metrics.inflightBytesPeak.set(peak);
    });
  }

  private async ensureDatabase(database: string): Promise<void> {
    try {
      await this.ensureDatabaseOnce(database);
    } catch (error) {
      throw new DatabaseSetupError(`cannot create database ${database}: ${(error as Error).message}`);
    }
  }

  private async ensureDatabaseOnce(database: string): Promise<void> {
    if (this.knownDatabases.has(database)) return;
    let pending = this.ensuring.get(database);
    if (!pending) {
      pending = this.influxdbOf(database).ensureDatabase(database, this.options.durations).then(() => {
        this.knownDatabases.add(database);
      });
      this.ensuring.set(database, pending);
      pending.finally(() => this.ensuring.delete(database)).catch(() => undefined);
    }
    await pending;
  }

  /** The InfluxDB holding `database`: a database's writes, retries and creation all go there. */
  private influxdbOf(database: string): InfluxClient {
    return this.options.instances?.forDatabase(database).client ?? this.options.influxdb;
  }

  private async writeBody(database: string, body: string): Promise<void> {
    const stop = this.metrics.writeSeconds.startTimer();
    try {
      await this.ensureDatabase(database);
      try {
        await this.influxdbOf(database).write(database, body);
      } catch (error) {
        if (error instanceof InfluxError && error.status === 404 && /database not found/.test(error.body)) {
          this.knownDatabases.delete(database); // dropped behind our back: create it again
          await this.ensureDatabase(database);
          await this.influxdbOf(database).write(database, body);
        } else throw error;
      }
    } catch (error) {
      this.metrics.writeErrors.inc({ kind: error instanceof InfluxError && !error.unreachable ? 'refused' : 'unreachable' });
      throw error;
    } finally {
      stop();
    }
  }

  /** Writes one chunk and returns the points stored; the points InfluxDB refused go to `rejections` (writeIsolatingRefused). */
  private async writeChunk(database: string, chunk: WriteChunk, rejections: Rejection[]): Promise<number> {
    const refused = await writeIsolatingRefused(chunk.indexes.length, (from, to) => chunkLines(chunk, from, to), (lines) => this.writeBody(database, lines));
    for (const { index, reason } of refused) rejections.push({ index: chunk.indexes[index], reason: `InfluxDB refused the point: ${reason}` });
    return chunk.indexes.length - refused.length;
  }

  /**
   * Writes the chunks of one database. Each write goes out while the next is started, so InfluxDB
   * stores several at once. Any chunk failing for an unavailable InfluxDB fails the whole request; no
   * further chunk is sent then.
   */
  private async writeDatabase(database: string, chunks: WriteChunk[], rejections: Rejection[]): Promise<number> {
    const writes: Array<Promise<number>> = [];
    let failed = false;
    for (const chunk of chunks) {
      if (failed) break;
      const write = this.writeChunk(database, chunk, rejections);
      // Observed at once: a chunk failing while the next one is sent must never be an unhandled rejection.
      write.catch(() => {
        failed = true;
      });
      writes.push(write);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const results = await Promise.allSettled(writes);
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
    return results.reduce((sum, result) => sum + (result as PromiseFulfilledResult<number>).value, 0);
  }

  /** Records that `producer` writes `database` (checked by ownerOf just before, in the same tick). */
  private claimDatabase(database: string, producer: string): void {
    try {
      this.spellings.claim(database, producer);
    } catch (error) {
      throw new HttpRefusal(503, `cannot record which producer writes ${database}, nothing acknowledged: ${(error as Error).message}`, { 'retry-after': RETRY_AFTER_SECONDS });
    }
  }

  /**
   * Checks every document of a body and turns the valid ones into line protocol, in one synchronous
   * pass: the parsed documents and their points are garbage once it returns, before any write is
   * awaited, so they die young (the gateway's garbage collection was a third of its CPU while they
   * lived until the request was answered). What the writes need is kept: each database's chunks.
   */
  private prepare(body: string, allowedProducer: string | undefined): IngestPlan {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (error) {
      throw new HttpRefusal(400, `body is not valid JSON: ${(error as Error).message}`);
    }
    const documents: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
    if (typeof parsed !== 'object' || parsed === null) throw new HttpRefusal(400, 'body must be a JSON array of documents or a single document object');
    if (documents.length > this.options.maxDocuments) {
      throw new HttpRefusal(413, `at most ${this.options.maxDocuments} documents per request, got ${documents.length}`);
    }
    const plan: IngestPlan = { count: documents.length, rejections: [], databases: new Map(), repeats: [], soleProducer: undefined };
    const ids: unknown[] | undefined = this.options.stream ? [] : undefined;
    plan.ids = ids;
    const builders = new Map<string, ChunkBuilder>();
    /** The first document of each (database, measurement, tags, time) in this request. */
    const collisions = new SeriesCollisions();
    const nowMs = Date.now();
    // The one producer every document names, until one names another or none.
    let soleProducerPossible = true;
    for (let index = 0; index < documents.length; index += 1) {
      const document = documents[index];
      // Let go of each document once read: nothing below needs it after this pass, and a body's
      // documents then do not all live until its end (less for the garbage collector to copy).
      documents[index] = undefined;
      if (ids && typeof document === 'object' && document !== null) ids[index] = (document as Record<string, unknown>)._id;
      const producer = envelopeValue(document, 'producer');
      if (soleProducerPossible) {
        if (typeof producer !== 'string' || (plan.soleProducer !== undefined && producer !== plan.soleProducer)) {
          soleProducerPossible = false;
          plan.soleProducer = undefined;
        } else plan.soleProducer = producer;
      }
      if (allowedProducer !== undefined && producer !== allowedProducer) {
        plan.rejections.push({ index, reason: `producer '${String(producer)}' does not match '${allowedProducer}' (from the URL path or the credentials)` });
        continue;
      }
      const result = interpretDocument(document, this.options.registry, nowMs);
      if (!result.ok) {
        plan.rejections.push({ index, reason: result.reason });
        continue;
      }
      const { point } = result;
      const owner = this.spellings.ownerOf(point.database);
      if (owner !== undefined && owner !== producer) {
        plan.rejections.push({ index, reason: `producer '${String(producer)}' writes database ${point.database}, which producer '${owner}' writes ('-' becomes '_'): use '${owner}'` });
        continue;
      }
      const verdict = collisions.check(index, point);
      if (verdict.kind === 'repeat') {
        plan.repeats.push({ index, of: verdict.of, database: point.database });
        continue;
      }
      if (verdict.kind === 'collision') {
        plan.rejections.push({ index, reason: verdict.reason });
        continue;
      }
      // Claimed by the first valid document sent to it (before InfluxDB answers: a spelling sent again after a 503 keeps it).
      if (owner === undefined) this.claimDatabase(point.database, producer as string);
      let line: string;
      try {
        line = toLineProtocol(point);
      } catch (error) {
        plan.rejections.push({ index, reason: `cannot be written as line protocol: ${(error as Error).message}` });
        continue;
      }
      let builder = builders.get(point.database);
      if (!builder) {
        builder = new ChunkBuilder();
        builders.set(point.database, builder);
        // One producer per database in a request: ownerOf refused any other spelling above.
        plan.databases.set(point.database, { producer: producer as string, chunks: builder.chunks });
      }
      builder.add(index, line);
    }
    for (const builder of builders.values()) builder.finish();
    return plan;
  }

  /** Handles one POST body: returns the HTTP status and the answer for the sender. */
  async ingest(body: string, identity: { kind: 'any' } | { kind: 'producer'; producer: string }, pathProducer?: string): Promise<{ status: number; answer: object }> {
    const allowedProducer = identity.kind === 'producer' ? identity.producer : pathProducer;
    const plan = this.prepare(body, allowedProducer);
    const { rejections } = plan;
    if (this.options.stream) await this.publishPlan(this.options.stream, plan);
    else {
      for (const [database, { chunks }] of plan.databases) {
        try {
          await this.writeDatabase(database, chunks, rejections);
        } catch (error) {
          if (!(error instanceof InfluxError) && !(error instanceof DatabaseSetupError)) throw error;
          throw new HttpRefusal(503, `InfluxDB is unavailable, nothing acknowledged: ${error.message}`, { 'retry-after': RETRY_AFTER_SECONDS });
        }
      }
    }
    const refused = new Map(rejections.map((rejection) => [rejection.index, rejection.reason]));
    const acceptedByDatabase = new Map<string, number>();
    let accepted = 0;
    for (const [database, { chunks }] of plan.databases) {
      let count = 0;
      for (const chunk of chunks) for (const index of chunk.indexes) if (!refused.has(index)) count += 1;
      acceptedByDatabase.set(database, count);
      accepted += count;
    }
    for (const repeat of plan.repeats) {
      const reason = refused.get(repeat.of);
      if (reason === undefined) {
        acceptedByDatabase.set(repeat.database, (acceptedByDatabase.get(repeat.database) ?? 0) + 1);
        accepted += 1;
      } else rejections.push({ index: repeat.index, reason: `a repeat of document #${repeat.of}, which was refused: ${reason}` });
    }
    for (const [database, count] of acceptedByDatabase) if (count > 0) this.metrics.accepted.inc({ producer: (plan.databases.get(database) as PlannedDatabase).producer }, count);
    for (const rejection of rejections) this.metrics.rejected.inc({ reason: reasonClass(rejection.reason) });
    rejections.sort((a, b) => a.index - b.index);
    const okAnyway = rejections.length > 0 && this.answers200(allowedProducer ?? plan.soleProducer);
    if (rejections.length) {
      const answered = okAnyway ? ' (answered 200: [gateway.partial_success])' : '';
      this.options.log.warn(`refused ${rejections.length} of ${plan.count} documents${answered}; first: #${rejections[0].index}: ${rejections[0].reason}`);
    }
    const status = rejections.length === 0 || okAnyway ? 200 : accepted > 0 ? 207 : 400;
    return { status, answer: { accepted, rejected: rejections } };
  }

  /**
   * The stream route: publishes every planned document (its line, with its `_id` as message id) and
   * returns once JetStream acknowledged each. A document over the server's max_payload never fits: it
   * is refused like any refused document and the others are published again (what was stored already
   * is acknowledged as a duplicate). Any other failure answers 503: the sender keeps the batch.
   */
  private async publishPlan(stream: StreamPublisher, plan: IngestPlan): Promise<void> {
    let points: StreamPoint[] = [];
    let indexes: number[] = [];
    for (const { producer, chunks } of plan.databases.values()) {
      for (const chunk of chunks) {
        for (let line = 0; line < chunk.indexes.length; line++) {
          const index = chunk.indexes[line];
          points.push(streamPointOfLine(producer, chunkLines(chunk, line, line + 1), plan.ids?.[index]));
          indexes.push(index);
        }
      }
    }
    while (points.length) {
      const stop = this.metrics.streamPublishSeconds.startTimer();
      try {
        const { stored, duplicates } = await stream.publish(points);
        this.metrics.streamPublished.inc({ result: 'stored' }, stored - duplicates);
        this.metrics.streamPublished.inc({ result: 'duplicate' }, duplicates);
        return;
      } catch (error) {
        if (error instanceof StreamUnavailableError) {
          this.metrics.streamFailures.inc({ reason: 'not_connected' });
          throw new HttpRefusal(503, `the stream is unavailable, nothing acknowledged: ${error.message}`, { 'retry-after': RETRY_AFTER_SECONDS });
        }
        if (!(error instanceof StreamPublishError)) throw error;
        this.metrics.streamFailures.inc({ reason: error.reason });
        if (error.reason !== 'too_large') {
          throw new HttpRefusal(503, `the stream could not store the documents, nothing acknowledged: ${error.message}`, { 'retry-after': RETRY_AFTER_SECONDS });
        }
        plan.rejections.push({ index: indexes[error.index], reason: `too large for the stream: ${error.message}` });
        points = points.filter((_, position) => position !== error.index);
        indexes = indexes.filter((_, position) => position !== error.index);
      } finally {
        stop();
      }
    }
  }

  private answers200(producer: string | undefined): boolean {
    return producer !== undefined && this.options.partialSuccess200?.has(producer) === true;
  }

  /**
   * The page of a GET or HEAD URL, found once per request (the same answer names it in the metrics).
   * A router that throws answers that request 500; it never reaches ingestion.
   */
  private pageOf(url: URL): Page | undefined {
    try {
      return this.options.pages?.(url);
    } catch (error) {
      return { route: 'page error', answer: () => Promise.reject(error as Error) };
    }
  }

  private async handle(request: IncomingMessage, response: ServerResponse, url: URL | undefined, page: Page | undefined): Promise<number> {
    if (!url) {
      request.resume();
      throw new HttpRefusal(400, 'the request URL cannot be read');
    }
    const path = url.pathname;
    if (request.method === 'GET' || request.method === 'HEAD') {
      if (path === '/ping' && this.options.stream) {
        // On the stream route InfluxDB is the writers' business: the gateway stores while the stream does.
        const problem = await this.options.stream.problem();
        send(response, problem ? 503 : 200, { gateway: 'ok', stream: problem ? 'unreachable' : 'ok', ...(problem ? { reason: problem } : {}) });
        return problem ? 503 : 200;
      }
      if (path === '/ping') {
        const instances = this.options.instances?.all ?? [{ name: DEFAULT_INSTANCE, client: this.options.influxdb }];
        const down = (await Promise.all(instances.map(async ({ name, client }) => ((await client.ping()) ? [] : [name])))).flat();
        // One instance down leaves the others writable: a load balancer keeps the gateway while any is up.
        const status = down.length === instances.length ? 503 : 200;
        send(response, status, { gateway: 'ok', influxdb: down.length ? 'unreachable' : 'ok', ...(instances.length > 1 && down.length ? { unreachable: down } : {}) });
        return status;
      }
      if (path === '/metrics') {
        send(response, 200, await this.metrics.registry.metrics(), { 'content-type': this.metrics.registry.contentType });
        return 200;
      }
      // The root leads to the status page when this gateway serves one.
      if (path === '/' && this.pageOf(new URL('/status', url))) {
        response.writeHead(302, { location: '/status' }).end();
        return 302;
      }
      if (page) {
        // Node's response sends no body to a HEAD request, with the same headers as the GET.
        const { contentType, body, status = 200, headers = {} } = await page.answer();
        send(response, status, body, { ...headers, 'content-type': contentType });
        return status;
      }
      send(response, 404, { error: `no page ${path}` });
      return 404;
    }
    // A page's path below the root (/status/badge/x.svg) is no producer: only /<producer> ingests.
    if (path.split('/').filter(Boolean).length > 1 && this.pageOf(url)) {
      request.resume();
      send(response, 405, { error: `${path} is a page: use GET or HEAD` }, { allow: 'GET, HEAD' });
      return 405;
    }
    if (request.method !== 'POST') {
      request.resume();
      send(response, 405, { error: 'use POST / or POST /<producer>' }, { allow: 'GET, POST' });
      return 405;
    }
    const segments = path.split('/').filter(Boolean);
    if (segments.length > 1) {
      send(response, 404, { error: 'POST to / or /<producer>' });
      return 404;
    }
    let pathProducer: string | undefined;
    try {
      pathProducer = segments[0] ? decodeURIComponent(segments[0]) : undefined;
    } catch {
      request.resume();
      // `%` not followed by two hex digits is malformed; `%ff` is well formed but decodes to a byte that is not UTF-8.
      const malformed = /%(?![0-9a-f]{2})/i.test(segments[0]);
      throw new HttpRefusal(
        400,
        malformed ? 'the path is not valid percent-encoding: POST to / or /<producer>' : 'the path\'s percent-encoding decodes to bytes that are not valid UTF-8: POST to / or /<producer>',
      );
    }
    const identity = authenticate(request, this.options.auth);
    if (identity.kind === 'refused') {
      request.resume();
      send(response, 401, { error: identity.reason }, { 'www-authenticate': 'Bearer, Basic realm="monit"' });
      return 401;
    }
    let encoding: 'gzip' | 'identity';
    try {
      encoding = checkContentHeaders(request);
    } catch (error) {
      request.resume();
      throw error;
    }
    // Held from the first byte read until the answer is written: parsing and writing use memory too.
    const reservation = this.inflight.reservation();
    try {
      const body = await readBody(request, this.options.maxBodyBytes, this.options.maxDocuments, encoding, reservation, this.inflight.limit);
      const { status, answer } = await this.ingest(body, identity, pathProducer);
      send(response, status, answer);
      return status;
    } finally {
      reservation.release();
    }
  }

  /** The node:http request listener. */
  readonly listener = (request: IncomingMessage, response: ServerResponse): void => {
    let url: URL | undefined;
    try {
      url = new URL(request.url ?? '/', 'http://gateway');
    } catch {
      // handle() answers 400
    }
    const reading = request.method === 'GET' || request.method === 'HEAD';
    const page = url && reading ? this.pageOf(url) : undefined;
    // The label of a page is its route (/status/badge/:module.svg), never its path: few values.
    const known = url && (['/ping', '/metrics'].includes(url.pathname) || (reading && url.pathname === '/')) ? url.pathname : undefined;
    const metricPath = known ?? page?.route ?? (reading ? 'unknown page' : 'ingest');
    this.handle(request, response, url, page)
      .then((status) => this.metrics.requests.inc({ path: metricPath, code: String(status) }))
      .catch((error: unknown) => {
        const refusal = error instanceof HttpRefusal ? error : new HttpRefusal(500, `internal error: ${(error as Error).message}`);
        if (refusal instanceof BusyRefusal) this.options.log.warn(refusal.message);
        else if (refusal.status >= 500) this.options.log.error(error instanceof HttpRefusal ? refusal.message : `${refusal.message}: ${(error as Error).stack ?? ''}`);
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
