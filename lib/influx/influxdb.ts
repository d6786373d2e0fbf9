import { StringDecoder } from 'node:string_decoder';
import type { Got } from 'got';
import { quoteIdentifier } from './influxql';
import { detachedAbort } from '../http/abort';

/** One series of an InfluxQL result. */
export interface Series {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** One piece of a series in a chunked answer; `partial`: more of the series follows. */
export interface ChunkedSeries extends Series {
  partial?: boolean;
}

interface QueryAnswer<S extends Series = Series> {
  results?: Array<{ error?: string; series?: S[] }>;
  error?: string;
}

/**
 * Points per piece of a chunked answer. Smaller than InfluxDB's default (10,000): less of each parsed piece
 * survives into V8's old generation, so reading millions of rows peaks lower, and is no slower.
 */
const CHUNK_POINTS = 2000;

export interface RetentionPolicyDurations {
  raw: string;
  '1h': string;
  '1d': string;
  /** The raw duration of some databases ([influxdb] producer_raw_duration), instead of `raw`. */
  rawByDatabase?: Readonly<Record<string, string>>;
}

/** The three retention policies every database gets; `raw` is the default. */
export const RETENTION_POLICIES = ['raw', '1h', '1d'] as const;
export type RetentionPolicy = (typeof RETENTION_POLICIES)[number];

/** An InfluxDB duration such as 30d, 52w or 400d in weeks (0 for anything else). */
function durationWeeks(duration: string): number {
  const match = /^(\d+)([hdw])$/.exec(duration);
  if (!match) return 0;
  return Number(match[1]) / { h: 168, d: 7, w: 1 }[match[2] as 'h' | 'd' | 'w'];
}

/** InfluxDB answered, but refused (4xx) or failed (5xx). `status` 0 means it could not be reached. */
export class InfluxError extends Error {
  override name = 'InfluxError';
  constructor(
    message: string,
    readonly status: number,
    readonly body: string = '',
  ) {
    super(message);
  }
  get unreachable(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}

/** InfluxDB's answer for a database nobody wrote to yet: no data, not a failure. */
export function isMissingDatabase(error: unknown): boolean {
  return error instanceof InfluxError && /database not found/i.test(error.message);
}

/** A series' rows as objects keyed by column. */
export function rowsOf(series: Series): Array<Record<string, unknown>> {
  return series.values.map((values) => Object.fromEntries(series.columns.map((column, index) => [column, values[index]])));
}

export interface InfluxOptions {
  username?: string;
  password?: string;
  timeoutMs?: number;
}

/** got, loaded on first use: most cron runs never talk to InfluxDB. */
let loadedGot: typeof import('got') | undefined;
function gotModule(): typeof import('got') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loadedGot ??= require('got') as typeof import('got');
  return loadedGot;
}

/** InfluxDB's `{"error": "..."}` message of a refused request, or the body itself when it is not that JSON. */
function errorMessageOf(body: string): string {
  try {
    return (JSON.parse(body) as { error?: string }).error ?? body;
  } catch {
    return body;
  }
}

/** A small client for InfluxDB 1.x's /ping, /query and /write (the v2 client cannot talk to 1.6). */
export class InfluxClient {
  private readonly http: Got;

  constructor(
    readonly url: string,
    options: InfluxOptions = {},
  ) {
    this.http = gotModule().default.extend({
      prefixUrl: url.replace(/\/$/, ''),
      timeout: { request: options.timeoutMs ?? 30_000 },
      retry: { limit: 0 },
      username: options.username,
      password: options.password,
    });
  }

  private static wrap(error: unknown, what: string): InfluxError {
    const { HTTPError, RequestError } = gotModule();
    if (error instanceof HTTPError) {
      const message = errorMessageOf(String(error.response.body ?? ''));
      return new InfluxError(`InfluxDB ${what}: HTTP ${error.response.statusCode}: ${message.trim()}`, error.response.statusCode, message);
    }
    if (error instanceof RequestError) return new InfluxError(`InfluxDB ${what}: ${error.code ?? error.message}`, 0);
    return new InfluxError(`InfluxDB ${what}: ${(error as Error).message}`, 0);
  }

  async ping(): Promise<boolean> {
    try {
      await this.http.get('ping', { timeout: { request: 2000 } });
      return true;
    } catch {
      return false;
    }
  }

  /** Runs InfluxQL; statements that change state are sent by POST. Times come back in epoch ms. */
  async query(text: string, options: { database?: string; retentionPolicy?: string } = {}): Promise<Series[][]> {
    const mutates = /^\s*(CREATE|DROP|ALTER|DELETE|GRANT|REVOKE|KILL)\b|\bINTO\b/i.test(text);
    return InfluxClient.seriesOf(await this.wholeAnswer(text, { ...options, post: mutates }));
  }

  /** One statement's whole (not chunked) answer, by GET or POST; a refusal, a failure or a body that is not JSON throws. */
  private async wholeAnswer(text: string, options: { database?: string; retentionPolicy?: string; post: boolean; signal?: AbortSignal }): Promise<QueryAnswer> {
    const params: Record<string, string> = { q: text, epoch: 'ms' };
    if (options.database) params.db = options.database;
    if (options.retentionPolicy) params.rp = options.retentionPolicy;
    const abort = detachedAbort(options.signal);
    let body: string;
    try {
      const response = options.post
        ? await this.http.post('query', { form: params, signal: abort.signal })
        : await this.http.get('query', { searchParams: params, signal: abort.signal });
      body = response.body;
    } catch (error) {
      throw InfluxClient.wrap(error, 'query');
    } finally {
      abort.detach();
    }
    return InfluxClient.parseAnswer(body);
  }

  /** An answer's JSON (a whole answer, or one line of a chunked one). */
  private static parseAnswer<S extends Series>(text: string): QueryAnswer<S> {
    try {
      return JSON.parse(text) as QueryAnswer<S>;
    } catch {
      throw new InfluxError(`InfluxDB query: the answer is not JSON (cut short?): ${text.slice(0, 100)}`, 0);
    }
  }

  /** The series of each statement of an answer; an error anywhere in it throws. */
  private static seriesOf<S extends Series>(answer: QueryAnswer<S>): S[][] {
    if (answer.error) throw new InfluxError(`InfluxDB query: ${answer.error}`, 400, answer.error);
    return (answer.results ?? []).map((result, index) => {
      if (result.error) throw new InfluxError(`InfluxDB query (statement ${index + 1}): ${result.error}`, 400, result.error);
      return result.series ?? [];
    });
  }

  /**
   * Runs one read-only statement (POSTed: a statement naming many tag values outgrows what a URL should
   * carry) and hands each series of its answer to `onSeries`. The answer comes whole, not chunked: InfluxDB
   * 1.x writes and flushes each series of a chunked answer on its own, which makes a grouped query over
   * many series markedly slower. So the caller keeps answers small (a few MB), for example by naming a part
   * of the series in each statement. InfluxDB's `[http] max-row-limit` must stay 0, its default: above it,
   * InfluxDB cuts a whole answer without a mark a client could trust (1.6 marks a long series "partial" even
   * when whole, and a cut between series not at all).
   */
  async querySeries(text: string, onSeries: (series: Series) => void, options: { database?: string; signal?: AbortSignal } = {}): Promise<void> {
    const [series = []] = InfluxClient.seriesOf(await this.wholeAnswer(text, { ...options, post: true }));
    for (const one of series) onSeries(one);
  }

  /**
   * Runs one read-only statement and hands each piece of its answer to `onPiece` as it arrives (InfluxDB's
   * chunked mode: at most CHUNK_POINTS rows, a series may come in several pieces). For answers of one long
   * series (a select without GROUP BY), where joining the pieces would hold the whole answer.
   */
  async queryPieces(text: string, onPiece: (piece: ChunkedSeries) => void, options: { database?: string; signal?: AbortSignal } = {}): Promise<void> {
    const searchParams: Record<string, string> = { q: text, epoch: 'ms', chunked: 'true', chunk_size: String(CHUNK_POINTS) };
    if (options.database) searchParams.db = options.database;
    /** The last piece said more of its series follows. */
    let unfinished: ChunkedSeries | undefined;
    const handleLine = (line: string): void => {
      if (line.trim() === '') return;
      for (const series of InfluxClient.seriesOf(InfluxClient.parseAnswer<ChunkedSeries>(line))) {
        for (const piece of series) {
          unfinished = piece.partial ? piece : undefined;
          onPiece(piece);
        }
      }
    };
    const abort = detachedAbort(options.signal);
    // POST, since a statement naming many tag values (a list of queues) outgrows what a URL should carry.
    const stream = this.http.stream('query', { method: 'POST', form: searchParams, throwHttpErrors: false, signal: abort.signal });
    let status = 0;
    stream.once('response', (response: { statusCode: number }) => {
      status = response.statusCode;
    });
    const decoder = new StringDecoder('utf8');
    let received = '';
    let errorBody = '';
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        const decoded = decoder.write(chunk);
        if (status >= 300) {
          errorBody += decoded;
          continue;
        }
        received += decoded;
        let start = 0;
        for (let newline = received.indexOf('\n'); newline >= 0; newline = received.indexOf('\n', start)) {
          handleLine(received.slice(start, newline));
          start = newline + 1;
        }
        received = received.slice(start);
      }
    } catch (error) {
      if (error instanceof InfluxError) throw error;
      throw InfluxClient.wrap(error, 'query');
    } finally {
      abort.detach();
    }
    if (status >= 300) {
      const message = errorMessageOf(errorBody);
      throw new InfluxError(`InfluxDB query: HTTP ${status}: ${message.trim()}`, status, message);
    }
    handleLine(received + decoder.end());
    // The last piece said more of its series follows: the answer ended early, so that series is not whole.
    if (unfinished) throw new InfluxError(`InfluxDB query: the answer was cut short inside series ${unfinished.name} ${JSON.stringify(unfinished.tags ?? {})}`, 0);
  }

  /** Rows of the first statement as objects keyed by column, with the series' tags merged in. */
  async rows(text: string, options: { database?: string } = {}): Promise<Array<Record<string, unknown>>> {
    const [series = []] = await this.query(text, options);
    return series.flatMap((one) => rowsOf(one).map((row) => ({ ...(one.tags ?? {}), ...row })));
  }

  /** Writes line protocol; throws InfluxError with InfluxDB's own message on any refusal. */
  async write(database: string, lines: string, options: { retentionPolicy?: string; precision?: 'ms' | 'ns' | 's' } = {}): Promise<void> {
    const searchParams: Record<string, string> = { db: database, precision: options.precision ?? 'ms' };
    if (options.retentionPolicy) searchParams.rp = options.retentionPolicy;
    try {
      await this.http.post('write', { searchParams, body: lines });
    } catch (error) {
      throw InfluxClient.wrap(error, 'write');
    }
  }

  /** Creates the database and its raw (default), 1h and 1d retention policies when missing. */
  async ensureDatabase(database: string, durations: RetentionPolicyDurations): Promise<void> {
    const db = quoteIdentifier(database);
    await this.query(`CREATE DATABASE ${db}`);
    const [existing = []] = await this.query(`SHOW RETENTION POLICIES ON ${db}`);
    const names = new Set((existing[0]?.values ?? []).map((row) => String(row[0])));
    for (const rp of RETENTION_POLICIES) {
      if (names.has(rp)) continue;
      const isDefault = rp === 'raw' ? ' DEFAULT' : '';
      const duration = rp === 'raw' ? (durations.rawByDatabase?.[database] ?? durations.raw) : durations[rp];
      // Year-long shards for daily points: a one-year panel then reads one or two shards, not 52.
      const yearShards = rp === '1d' && (duration === 'INF' || durationWeeks(duration) >= 52) ? ' SHARD DURATION 52w' : '';
      await this.query(`CREATE RETENTION POLICY ${quoteIdentifier(rp)} ON ${db} DURATION ${duration} REPLICATION 1${yearShards}${isDefault}`);
    }
  }
}
