import pLimit from 'p-limit';
import type { Logger } from '../run/log';
import { isJsonWhitespace } from '../http/jsonMembers';
import { withoutCredentials } from '../http/credentials';
import { CredentialError, loadClientTls, TlsFailure, withClientTls, type ClientTls, type TlsSettings } from '../tls/clientTls';
import type { MonitSettings } from './settings';
import { documentsInName, type RejectedDocument, type Spool, type StagedBatch } from './spool';
import type { MonitDocument } from '../documents/types';
import { envelopeValue } from '../documents/interpret';

/** MONIT takes at most 10,000 documents per request. */
export const MAX_DOCUMENTS_PER_REQUEST = 10_000;

/** Where the sender logs: a job's Logger, or a route's lines within it. */
export type SenderLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** The [monit] settings, plus where batches wait and where to log. */
export interface SenderOptions extends MonitSettings {
  spool: Spool;
  log: SenderLog;
  /** The config section of these settings, named in messages (default `monit`). */
  section?: string;
  /** Loaded at each deliver() to an https URL (credentials are renewed by other tools); unset: Node's defaults. */
  tls?: TlsSettings;
  /** The producer name written into every document as it is sent (a MONIT tenant's name); unset: their own. */
  sendAs?: string;
  /** Loads `tls` (default loadClientTls): a run passes its RunCredentials, so the heartbeat and status see the route's credential too. */
  loadTls?: (settings: TlsSettings) => ClientTls;
}

/** A URL as it may appear in messages: without a user or password in it (the password registered as a secret). */
export function endpointName(url: string): string {
  try {
    return withoutCredentials(url);
  } catch {
    return url;
  }
}

/**
 * The batches of one enqueue call, written to the spool as staged files (invisible to deliver()) within
 * the document and byte limits: add() documents, then publish() them together, or discard() them.
 */
export class BatchWriter {
  private readonly batches: StagedBatch[] = [];
  private readonly maxDocuments: number;

  constructor(private readonly options: Pick<SenderOptions, 'spool' | 'maxBatchDocuments' | 'maxBatchBytes'>) {
    this.maxDocuments = Math.min(options.maxBatchDocuments, MAX_DOCUMENTS_PER_REQUEST);
  }

  /** Adds one document's JSON text. */
  add(text: string): void {
    const bytes = Buffer.byteLength(text);
    let batch = this.batches.at(-1);
    if (batch && batch.documents > 0 && (batch.documents >= this.maxDocuments || batch.bytes + bytes + 1 > this.options.maxBatchBytes)) {
      batch.close();
      batch = undefined;
    }
    if (!batch) this.batches.push((batch = this.options.spool.stage()));
    batch.add(text, bytes);
  }

  /** Closes every batch: the last write and fsync may fail too (a full disk). */
  close(): void {
    for (const batch of this.batches) batch.close();
  }

  publish(): void {
    this.options.spool.publish(this.batches);
  }

  discard(): void {
    this.options.spool.discard(this.batches);
  }
}

/** A document as it is spooled: stamped with `stampMs` when it has no timestamp (the caller's object is left as it is). */
export function spooledText(document: MonitDocument, stampMs: number): string {
  // A document whose time is only in `metadata` (a MONIT record sent again) keeps that time.
  return JSON.stringify(envelopeValue(document, 'timestamp') === undefined ? { ...document, timestamp: stampMs } : document);
}

export interface SendReport {
  documentsSent: number;
  documentsRejected: number;
  documentsDropped: number;
  /** Documents still in the spool when delivery stopped. */
  documentsSpooled: number;
  /** Set when the endpoint refused our credentials (401/403) or redirected us, or TLS or the credential failed: the run must fail. */
  credentialsRefused?: string;
  /** Set when delivery stopped with batches left (endpoint down, deadline). */
  stoppedBecause?: string;
}

/** One POST's answer, as the sender reads it. */
interface PostAnswer {
  status: number;
  body: string;
  retryAfter?: string;
  location?: string;
}

/** What the gateway says about one batch (see gateway/README.md). */
interface GatewayAnswer {
  accepted?: number;
  rejected?: Array<{ index: number; reason: string }>;
  error?: string;
}

type Outcome =
  | { kind: 'delivered'; sent: number; rejected: number }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'credentials'; reason: string }
  | { kind: 'too-large'; reason: string }
  | { kind: 'stop'; reason: string };

/** A spool file that is JSON but not an array of objects; `values` is how many values it holds (for counting). */
class NotADocumentArray extends Error {
  constructor(
    message: string,
    readonly values: number,
  ) {
    super(message);
  }
}

/** A spool file's documents: it must be a JSON array of objects (throws a SyntaxError or a NotADocumentArray). */
function documentArray(body: Buffer): unknown[] {
  const value = JSON.parse(body.toString('utf8')) as unknown;
  if (!Array.isArray(value)) throw new NotADocumentArray(`it holds a JSON ${value === null ? 'null' : typeof value}, not an array of documents`, 1);
  const index = value.findIndex((item) => typeof item !== 'object' || item === null || Array.isArray(item));
  if (index >= 0) throw new NotADocumentArray(`item ${index} is not a document object`, value.length);
  return value;
}

/**
 * Why a spool file cannot be a JSON array, from its first and last bytes other than white space (a
 * cheap check that needs no parse), or undefined when it may be one.
 */
function notBracketedAsArray(body: Buffer): string | undefined {
  let start = 0;
  let end = body.length - 1;
  while (start <= end && isJsonWhitespace(body[start])) start += 1;
  while (end >= start && isJsonWhitespace(body[end])) end -= 1;
  if (end < start) return `it is empty (${body.length} bytes)`;
  if (body[start] !== 0x5b) return `it does not start with [ (${body.length} bytes)`;
  if (end === start || body[end] !== 0x5d) return `it starts with [ but does not end with ]: cut short? (${body.length} bytes)`;
  return undefined;
}

/** Waits `ms`, or less if the run is aborted (the listener is removed either way). */
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Delivers documents to a MONIT-compatible endpoint through the disk spool: every batch is
 * fsynced to the spool before it is POSTed, and removed only when the endpoint accepted it.
 */
export class Sender {
  constructor(private readonly options: SenderOptions) {}

  /**
   * Durably spools documents in batches within the document and byte limits; the next deliver() sends them.
   * Documents are taken one at a time (each checked by `check`, which throws, and serialised once), so a run
   * never needs to hold them all. The batches join the spool only once every document is in: a document
   * refused by `check`, or a failing iterator, leaves nothing spooled. Returns how many documents were spooled.
   * A document without a timestamp is stamped here, once (the caller's object is left as it is): a replay
   * then sends the same time again and overwrites its own point, where a stamp on arrival would add one.
   */
  enqueue(documents: Iterable<MonitDocument>, check?: (document: MonitDocument) => void): number {
    const writer = new BatchWriter(this.options);
    let count = 0;
    // One time for the whole call, as the gateway gives one arrival time to a request: whether documents
    // collide never depends on where a millisecond boundary fell.
    const stampMs = Date.now();
    try {
      for (const document of documents) {
        check?.(document);
        // Documents of one series stamped in the same millisecond get the same time, never invented distinct
        // ones: the gateway reports such documents when they differ (they would collapse into one point).
        writer.add(spooledText(document, stampMs));
        count += 1;
      }
      writer.close();
    } catch (error) {
      writer.discard();
      throw error;
    }
    writer.publish();
    return count;
  }

  private headers(): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=UTF-8' };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    else if (this.options.username) {
      headers.authorization = `Basic ${Buffer.from(`${this.options.username}:${this.options.password ?? ''}`).toString('base64')}`;
    }
    return headers;
  }

  private get section(): string {
    return this.options.section ?? 'monit';
  }

  private async post(body: Buffer, tls: ClientTls | undefined, signal?: AbortSignal): Promise<PostAnswer> {
    // Loaded on first use: cron starts jobs all day, and a dry run never posts.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { default: got } = require('got') as typeof import('got');
    const response = await withClientTls(tls, endpointName(this.options.url), ({ agent, headers }) =>
      got.post(this.options.url, {
        body,
        // The route's own token or password wins over a bearer token of its TLS identity.
        headers: { ...headers, ...this.headers() },
        agent,
        timeout: { request: this.options.timeoutMs },
        retry: { limit: 0 },
        throwHttpErrors: false,
        // A POST is never re-sent elsewhere, with its credentials: a redirect is reported (below).
        followRedirect: false,
        signal,
      }),
    );
    const retryAfter = response.headers['retry-after'];
    return { status: response.statusCode, body: response.body, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, location: response.headers.location };
  }

  /** Sends one spooled batch once and decides what becomes of it. */
  private async attempt(name: string, tls: ClientTls | undefined, signal?: AbortSignal): Promise<Outcome> {
    const { spool } = this.options;
    const body = spool.readBytes(name);
    // Parsed only when needed: to count an older batch whose name does not say, or to keep refused documents.
    let batchDocuments: unknown[] | undefined;
    const documentsOfBatch = (): unknown[] => (batchDocuments ??= documentArray(body));
    /** A batch that cannot be read as documents goes to rejected/ whole, counted as `rejected` documents, never sent. */
    const setAsideUnreadable = (error: unknown, when: string, rejected: number): Outcome => {
      const where = spool.rejectWhole(name, `unreadable spool file${when}: ${(error as Error).message}`);
      this.options.log.error(`spool file ${name} is not a JSON array of documents; moved to ${where}`);
      return { kind: 'delivered', sent: 0, rejected };
    };
    let count = documentsInName(name);
    if (count === undefined) {
      try {
        count = documentsOfBatch().length;
      } catch (error) {
        return setAsideUnreadable(error, '', error instanceof NotADocumentArray ? error.values : 0);
      }
    } else {
      // Not parsed (the name gives the count): a file that does not even start with [ and end with ] is not
      // sent, since the gateway would take an object as one document. An array of other things, or a
      // truncation that happens to end on a nested ], is refused by the gateway (HTTP 400) and set aside below.
      const notArray = notBracketedAsArray(body);
      if (notArray !== undefined) return setAsideUnreadable(new Error(notArray), '', count);
    }
    let sent = body;
    const { sendAs } = this.options;
    if (sendAs !== undefined) {
      // Renamed as it is sent, not as it is spooled: batches waiting when send_as is corrected go out under
      // the new name, and what is kept (rejected/) is the document as the job made it.
      try {
        sent = Buffer.from(JSON.stringify(documentsOfBatch().map((document) => ({ ...(document as object), producer: sendAs }))));
      } catch (error) {
        return setAsideUnreadable(error, '', error instanceof NotADocumentArray ? error.values : count);
      }
    }
    let answer: PostAnswer;
    try {
      answer = await this.post(sent, tls, signal);
    } catch (error) {
      // lib/tls's TlsFailure (a handshake or trust failure, explained) or an unusable credential: a retry does
      // not mend them, so the batch stays and the run fails, as on a refusal.
      if (error instanceof CredentialError || error instanceof TlsFailure) return { kind: 'credentials', reason: (error as Error).message };
      const code = (error as { code?: string }).code;
      return { kind: 'retry', reason: `cannot reach ${endpointName(this.options.url)}: ${code ?? (error as Error).message}` };
    }
    const { status } = answer;
    if (status === 401 || status === 403) {
      return { kind: 'credentials', reason: `${endpointName(this.options.url)} refused our credentials (HTTP ${status}): check [${this.section}] token, or username and password` };
    }
    if (status === 413) return { kind: 'too-large', reason: answer.body.slice(0, 300) };
    if (status >= 500 || status === 429 || status === 408) {
      const seconds = Number(answer.retryAfter);
      return { kind: 'retry', reason: `HTTP ${status}: ${answer.body.slice(0, 200)}`, retryAfterMs: Number.isFinite(seconds) ? seconds * 1000 : undefined };
    }
    let parsed: GatewayAnswer = {};
    try {
      parsed = JSON.parse(answer.body) as GatewayAnswer;
    } catch {
      // MONIT itself answers 200 with no JSON
    }
    if (status >= 200 && status < 300 && !parsed.rejected?.length) {
      spool.remove(name);
      // The gateway's own count wins over the name's (MONIT itself says nothing): a batch edited by hand.
      if (typeof parsed.accepted === 'number' && parsed.accepted !== count) {
        this.options.log.warn(`spool file ${name} was named for ${count} documents; the endpoint accepted ${parsed.accepted}`);
        return { kind: 'delivered', sent: parsed.accepted, rejected: 0 };
      }
      return { kind: 'delivered', sent: count, rejected: 0 };
    }
    // A gateway set to answer 200 for a partly refused batch ([gateway.partial_success]) sends the same report.
    if ((status === 200 || status === 207 || status === 400) && Array.isArray(parsed.rejected)) {
      // Per-document refusals: keep exactly the refused documents, with their reasons.
      let documents: unknown[];
      try {
        documents = documentsOfBatch();
      } catch (error) {
        return setAsideUnreadable(error, ` after HTTP ${status}`, count);
      }
      const rejected: RejectedDocument[] = parsed.rejected.map((item) => ({ reason: item.reason, document: documents[item.index] }));
      const where = spool.reject(name, rejected);
      spool.remove(name);
      this.options.log.error(`${rejected.length} of ${count} documents refused by the endpoint, kept in ${where}: ${rejected[0].reason}`);
      return { kind: 'delivered', sent: count - rejected.length, rejected: rejected.length };
    }
    if (status === 400) {
      const where = spool.rejectWhole(name, `HTTP 400: ${answer.body}`);
      this.options.log.error(`the endpoint refused a whole batch (HTTP 400: ${answer.body.slice(0, 200)}); kept in ${where}`);
      return { kind: 'delivered', sent: 0, rejected: count };
    }
    if (status >= 300 && status < 400 && answer.location !== undefined) {
      const target = endpointName(new URL(answer.location, this.options.url).toString());
      // Like a refusal: it does not heal by itself, so the run fails and says what to change.
      return { kind: 'credentials', reason: `${endpointName(this.options.url)} answered HTTP ${status}, a redirect to ${target}: set [${this.section}] url to the address that takes the POST (batches are never re-sent elsewhere on their own)` };
    }
    return { kind: 'stop', reason: `unexpected answer HTTP ${status} from ${endpointName(this.options.url)}: ${answer.body.slice(0, 200)}` };
  }

  /**
   * Loads this endpoint's TLS now when it is https (through `loadTls`), so a run's heartbeat reports its
   * credential even before anything is delivered. A failure is left for deliver() to report.
   */
  preloadTls(): void {
    if (!this.options.tls || !this.options.url.toLowerCase().startsWith('https:')) return;
    try {
      (this.options.loadTls ?? loadClientTls)(this.options.tls);
    } catch {
      // deliver() meets it again and says why
    }
  }

  /**
   * Delivers the spooled batches, oldest first, with bounded concurrency. A batch that cannot be
   * delivered (endpoint down, 5xx) is retried with backoff until `deadlineMs`, then left in the spool.
   * With `retry: false` each batch gets one try (the replay at the start of a run).
   */
  async deliver(options: { deadlineMs: number; retry?: boolean; signal?: AbortSignal }): Promise<SendReport> {
    const { spool, log } = this.options;
    const report: SendReport = { documentsSent: 0, documentsRejected: 0, documentsDropped: 0, documentsSpooled: 0 };
    const dropped = spool.enforceBound(this.options.spoolMaxBytes);
    if (dropped.batches) {
      report.documentsDropped = dropped.documents;
      log.error(`spool over its bound of ${this.options.spoolMaxBytes} bytes: dropped the ${dropped.batches} oldest batches (${dropped.documents} documents)`);
    }
    let tls: ClientTls | undefined;
    // Over plain http there is no TLS to set up, and no discovered token is sent in clear.
    if (this.options.tls && this.options.url.toLowerCase().startsWith('https:') && spool.list().length) {
      try {
        // Read again on each delivery: proxies and tokens are renewed by other tools.
        tls = (this.options.loadTls ?? loadClientTls)(this.options.tls);
      } catch (error) {
        // Like a refusal: the batches stay, the run says why (a CredentialError names the setting and the cause).
        const message = error instanceof CredentialError ? error.message : `[tls.${this.section}]: ${(error as Error).message}`;
        report.credentialsRefused = message;
        report.stoppedBecause = message;
        report.documentsSpooled = this.countSpooled();
        log.error(`${report.documentsSpooled} documents wait in the spool: ${message}`);
        return report;
      }
    }
    const limit = pLimit(Math.max(1, this.options.concurrency));
    let halt: string | undefined;
    const deliverOne = async (name: string): Promise<void> => {
      let delayMs = 500;
      for (;;) {
        if (halt || options.signal?.aborted) return;
        const outcome = await this.attempt(name, tls, options.signal);
        switch (outcome.kind) {
          case 'delivered':
            report.documentsSent += outcome.sent;
            report.documentsRejected += outcome.rejected;
            return;
          case 'credentials':
            report.credentialsRefused = outcome.reason;
            halt = outcome.reason;
            return;
          case 'stop':
            halt = outcome.reason;
            return;
          case 'too-large': {
            const documents = JSON.parse(spool.read(name)) as MonitDocument[];
            if (documents.length <= 1) {
              spool.reject(name, documents.map((document) => ({ reason: `too large for the endpoint: ${outcome.reason}`, document })));
              spool.remove(name);
              report.documentsRejected += documents.length;
              return;
            }
            const half = Math.ceil(documents.length / 2);
            log.warn(`batch ${name} too large for the endpoint (${outcome.reason}); splitting it`);
            const parts = spool.split(name, [documents.slice(0, half), documents.slice(half)]);
            for (const part of parts) await deliverOne(part);
            return;
          }
          case 'retry': {
            const wait = Math.min(outcome.retryAfterMs ?? delayMs, 30_000);
            if (options.retry === false || Date.now() + wait >= options.deadlineMs) {
              halt = outcome.reason;
              return;
            }
            log.warn(`${outcome.reason}; retrying in ${Math.round(wait / 1000)}s`);
            await sleep(wait, options.signal);
            delayMs = Math.min(delayMs * 2, 30_000);
          }
        }
      }
    };
    await Promise.all(spool.list().map((entry) => limit(() => deliverOne(entry.name))));
    if (halt) report.stoppedBecause = halt;
    report.documentsSpooled = this.countSpooled();
    if (report.documentsSpooled) log.warn(`${report.documentsSpooled} documents wait in the spool${halt ? `: ${halt}` : ''}`);
    return report;
  }

  /** Documents waiting in the spool (an unreadable batch counts none). */
  countSpooled(): number {
    let documents = 0;
    for (const entry of this.options.spool.list()) {
      try {
        documents += this.options.spool.documentCount(entry.name);
      } catch {
        // set aside at its next delivery
      }
    }
    return documents;
  }
}
