/**
 * A remote source's answer (CRIC's descriptions, ...), fetched at most once per refresh interval and kept
 * in the job's state folder: while the source is down, the kept copy is served and a problem says so.
 */
import type { Logger } from '../run/log';
import { type StateFile, StateFileError, type StateFileOptions } from '../state/stateFile';
import { SourceFailure } from '../documents/failures';
import { withoutCredentials } from './credentials';
import { fetchBody, notJson } from './get';
import type { ClientTls } from '../tls/clientTls';

/** One source's answer as a job keeps it in its state folder (only what the documents need of it). */
export interface CachedAnswer<T> {
  /** When the cached copy was fetched, UTC ms. */
  fetchedAtMs: number;
  /** When the source was last asked (successfully or not), UTC ms: it is asked at most once per refresh interval. */
  attemptedAtMs: number;
  /** Layout of `value`: a copy of another layout (an older version's) is asked again at once, and served completed while the source is down. */
  format: number;
  /** Where the copy was fetched from: a copy of another URL (the config changed) is asked again at once. Absent in older copies. */
  url?: string;
  value: T;
}

/**
 * How a cache file is read: `check` validates the stored value (and completes an older layout); a file of
 * another layout is kept but marked outdated (format 0), so it is refetched before its refresh interval ends.
 */
export function cachedAnswerState<T>(format: number, check: (value: unknown, format: number) => T, legacy?: (file: Record<string, unknown>) => unknown): StateFileOptions<CachedAnswer<T> | undefined> {
  return {
    initial: () => undefined,
    parse(stored) {
      const file = stored as Partial<CachedAnswer<unknown>> & Record<string, unknown>;
      if (typeof file !== 'object' || file === null || typeof file.fetchedAtMs !== 'number' || typeof file.attemptedAtMs !== 'number') throw new Error('unexpected content');
      const storedFormat = typeof file.format === 'number' ? file.format : 0;
      const value = 'value' in file ? file.value : legacy?.(file);
      if (value === undefined) throw new Error('unexpected content');
      const url = typeof file.url === 'string' ? file.url : undefined;
      return { fetchedAtMs: file.fetchedAtMs, attemptedAtMs: file.attemptedAtMs, format: storedFormat === format ? format : 0, url, value: check(value, storedFormat) };
    },
  };
}

/** The cached copy, if there is a readable one; an unreadable one is named in the log and ignored. */
export function readCachedAnswer<T>(file: StateFile<CachedAnswer<T> | undefined>, source: string, log: Logger): CachedAnswer<T> | undefined {
  try {
    return file.read();
  } catch (error) {
    if (!(error instanceof StateFileError)) throw error;
    log.warn(`${source} cache ${file.file} is unreadable (${error.message}); ignoring it`);
    return undefined;
  }
}

/** Where one source is read from and how its answer is kept. */
export interface CachedSource<T> {
  /** Names the source in problems and the log (CRIC, CRIC sites, ...). */
  source: string;
  url: string;
  refreshMs: number;
  timeoutMs: number;
  file: StateFile<CachedAnswer<T> | undefined>;
  format: number;
  /** Reads the answer; a SyntaxError means it is not JSON. Throws a SourceFailure on a wrong shape. */
  parse(body: Buffer): T;
  /** For the log: what a fetched answer holds ('2500 PanDA queues'). */
  describe(value: T): string;
  /** What the documents get without any copy ('every queue is sent with unknown metadata'). */
  withoutCopy: string;
}

/** What every source's load shares: the run's clock, log, problems and abort signal. */
export interface LoadContext {
  nowMs: number;
  log: Logger;
  /** Reports a failure that the run survives. */
  problem: (message: string) => void;
  signal?: AbortSignal;
  /** Trust and identity, loaded only when the source is asked (a CredentialError is a failure the run survives). */
  tls?: () => ClientTls;
}

export type CacheUse = 'cache' | 'fetched' | 'stale cache' | 'none';

export interface Loaded<T> {
  /** Undefined when the source failed and there is no copy. */
  value?: T;
  /** When the served copy was fetched. */
  fetchedAtMs?: number;
  use: CacheUse;
}

/**
 * One source's answer: fetched at most once per refresh interval (a failed attempt counts) and kept in the
 * state folder. When the source fails, the cached copy is served and one problem says since when; without a
 * copy, one problem says what the documents lack.
 */
export async function loadCached<T>(spec: CachedSource<T>, context: LoadContext): Promise<Loaded<T>> {
  const cache = readCachedAnswer(spec.file, spec.source, context.log);
  const current = cache !== undefined && cache.format === spec.format;
  // A copy without a URL (an older version's) is taken as the configured one's.
  const sameUrl = cache?.url === undefined || cache.url === spec.url;
  if (cache && current && sameUrl && context.nowMs - cache.attemptedAtMs < spec.refreshMs && context.nowMs >= cache.attemptedAtMs) {
    return { value: cache.value, fetchedAtMs: cache.fetchedAtMs, use: 'cache' };
  }
  if (cache && !sameUrl) context.log.info(`${spec.source}: the URL changed (the cached copy is of ${withoutCredentials(cache.url ?? '')}), asking ${withoutCredentials(spec.url)} now`);
  try {
    const body = await fetchBody(spec.url, { source: spec.source, timeoutMs: spec.timeoutMs, signal: context.signal, tls: context.tls?.() });
    let value: T;
    try {
      value = spec.parse(body);
    } catch (error) {
      if (error instanceof SyntaxError) throw notJson(spec.source, spec.url, body, error);
      // A wrong shape names the endpoint too, as an HTTP error does.
      if (error instanceof SourceFailure) throw new SourceFailure(error.failureClass, `${error.message} (${withoutCredentials(spec.url)})`);
      throw error;
    }
    spec.file.write({ fetchedAtMs: context.nowMs, attemptedAtMs: context.nowMs, format: spec.format, url: spec.url, value });
    context.log.info(`${spec.source}: fetched ${spec.describe(value)}`);
    return { value, fetchedAtMs: context.nowMs, use: 'fetched' };
  } catch (error) {
    if (context.signal?.aborted) throw error;
    const reason = (error as Error).message;
    const named = reason.includes(spec.source) ? reason : `${spec.source}: ${reason}`;
    if (!cache) {
      context.problem(`${named}; no cached copy, so ${spec.withoutCopy}`);
      return { use: 'none' };
    }
    // An outdated copy (or one of another URL) stays so, so the source is asked again at the next run.
    spec.file.write({ ...cache, attemptedAtMs: current && sameUrl ? context.nowMs : 0 });
    const outdated = !current ? ' (written by an older version, completed with unknown values)' : !sameUrl ? ` (of the previous URL, ${withoutCredentials(cache.url ?? '')})` : '';
    context.problem(`${named}; serving the cached copy fetched at ${new Date(cache.fetchedAtMs).toISOString()}${outdated}`);
    return { value: cache.value, fetchedAtMs: cache.fetchedAtMs, use: 'stale cache' };
  }
}

/** A SourceFailure for an answer of the wrong shape, naming the source and what was expected. */
export function malformed(source: string, message: string): SourceFailure {
  return new SourceFailure('malformed', `${source}: ${message}`);
}
