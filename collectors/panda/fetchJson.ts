import got, { HTTPError, RequestError, TimeoutError } from 'got';

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

/** GETs a URL and parses its body as JSON; any failure (HTTP error, timeout, bad JSON) throws a SourceError. */
export async function fetchJson(url: string, options: FetchOptions): Promise<unknown> {
  let body: string;
  try {
    const response = await got.get(url, {
      searchParams: options.searchParams,
      timeout: { request: options.timeoutMs },
      retry: { limit: 0 },
      signal: options.signal,
      headers: { accept: 'application/json' },
    });
    body = response.body;
  } catch (error) {
    throw new SourceError(`${options.source} ${url}: ${describeRequestError(error, options.timeoutMs)}`);
  }
  if (body.trim() === '') throw new SourceError(`${options.source} ${url}: empty response body`);
  try {
    return JSON.parse(body);
  } catch (error) {
    const start = body.slice(0, 80).replace(/\s+/g, ' ');
    throw new SourceError(`${options.source} ${url}: response is not JSON (${(error as Error).message}); it starts with "${start}"`);
  }
}

function describeRequestError(error: unknown, timeoutMs: number): string {
  if (error instanceof TimeoutError) return `no answer within ${timeoutMs} ms`;
  if (error instanceof HTTPError) return `HTTP ${error.response.statusCode} ${error.response.statusMessage ?? ''}`.trim();
  if (error instanceof RequestError) return error.code ? `${error.code}: ${error.message}` : error.message;
  return (error as Error).message;
}
