import got, { HTTPError, RequestError, TimeoutError } from 'got';
import { isJsonWhitespace } from '../../lib/http/jsonMembers';

/** A source answered wrongly or not at all; the message names the source and what went wrong. */
export class SourceError extends Error {
  override name = 'SourceError';
}

export interface FetchOptions {
  /** Used in messages: "PanDA", "CRIC". */
  source: string;
  timeoutMs: number;
  signal?: AbortSignal;
  searchParams?: Record<string, string | number>;
}

/** GETs a URL and returns its body, not decoded; any failure (HTTP error, timeout, empty body) throws a SourceError. */
export async function fetchBody(url: string, options: FetchOptions): Promise<Buffer> {
  let body: Buffer;
  try {
    const response = await got.get(url, {
      searchParams: options.searchParams,
      timeout: { request: options.timeoutMs },
      retry: { limit: 0 },
      signal: options.signal,
      headers: { accept: 'application/json' },
      responseType: 'buffer',
    });
    body = response.body;
  } catch (error) {
    throw new SourceError(`${options.source} ${url}: ${describeRequestError(error, options.timeoutMs)}`);
  }
  if (body.every(isJsonWhitespace)) throw new SourceError(`${options.source} ${url}: empty response body`);
  return body;
}

/** The SourceError of a body that is not JSON: what JSON.parse said, and how the body starts. */
export function notJson(source: string, url: string, body: Uint8Array, error: Error): SourceError {
  const start = Buffer.from(body.subarray(0, 80)).toString('utf8').replace(/\s+/g, ' ');
  return new SourceError(`${source} ${url}: response is not JSON (${error.message}); it starts with "${start}"`);
}

/** GETs a URL and parses its body as JSON; any failure (HTTP error, timeout, bad JSON) throws a SourceError. */
export async function fetchJson(url: string, options: FetchOptions): Promise<unknown> {
  const body = await fetchBody(url, options);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw notJson(options.source, url, body, error as Error);
  }
}

function describeRequestError(error: unknown, timeoutMs: number): string {
  if (error instanceof TimeoutError) return `no answer within ${timeoutMs} ms`;
  if (error instanceof HTTPError) return `HTTP ${error.response.statusCode} ${error.response.statusMessage ?? ''}`.trim();
  if (error instanceof RequestError) return error.code ? `${error.code}: ${error.message}` : error.message;
  return (error as Error).message;
}
