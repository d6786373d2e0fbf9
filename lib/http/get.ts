/** GETs of sources that answer JSON or text, with every failure a SourceFailure of the shared vocabulary. */
import got, { HTTPError, type Progress, RequestError, TimeoutError } from 'got';
import { classifyConnectionError, SourceFailure } from '../documents/failures';
import { withoutCredentials } from './credentials';
import { isJsonWhitespace } from './jsonMembers';
import { detachedAbort } from './abort';
import { type ClientTls, CredentialError, explainRefusal, refusedAnswer, TlsFailure, withClientTls } from '../tls/clientTls';

/** An HTTP error status: its code and the start of the answer's body (RemoteException of WebHDFS, ...). */
export class HttpStatusFailure extends SourceFailure {
  constructor(
    message: string,
    readonly statusCode: number,
    readonly bodyStart: string,
  ) {
    super('status', message);
  }
}

export interface GetOptions {
  /** Names the source in messages: "PanDA", "CRIC", "NameNode". */
  source: string;
  timeoutMs: number;
  /** The job's deadline: a GET it stops fails as 'aborted'. */
  signal?: AbortSignal;
  searchParams?: Record<string, string | number>;
  accept?: string;
  /** The source's trust and identity (lib/tls); undefined: Node's public CAs, no identity. */
  tls?: ClientTls;
  /** The longest body read: reading stops past it, and the GET fails as 'malformed'. Default: no limit. */
  maxBytes?: number;
  /** The setting maxBytes comes from, named in the failure: "[status] downtime_feed_max_body_bytes". */
  maxBytesSetting?: string;
}

/** The failure of a body longer than options.maxBytes. */
function tooLong(options: GetOptions, shown: string): SourceFailure {
  const setting = options.maxBytesSetting ? ` (${options.maxBytesSetting})` : '';
  return new SourceFailure('malformed', `${options.source} ${shown}: the answer is longer than the limit of ${options.maxBytes} bytes${setting}; not read further`);
}

/** GETs a URL and returns its body, not decoded. A failed request, an HTTP error status or an empty body throws a SourceFailure. */
export async function fetchBody(url: string, options: GetOptions): Promise<Buffer> {
  // Messages name the URL without its credentials (user:password@ is sent, never shown).
  const shown = withoutCredentials(url);
  let body: Buffer;
  const abort = detachedAbort(options.signal);
  let tooLarge = false;
  try {
    const response = await withClientTls(options.tls, shown, (tls) => {
      const request = got.get(url, {
        searchParams: options.searchParams,
        timeout: { request: options.timeoutMs },
        retry: { limit: 0 },
        signal: abort.signal,
        agent: tls.agent,
        hooks: tls.hooks,
        headers: { accept: options.accept ?? 'application/json', ...tls.headers },
        responseType: 'buffer',
      });
      const limit = options.maxBytes;
      // Stop reading as soon as the body passes the limit, rather than hold all of it in memory.
      if (limit !== undefined) {
        request.on('downloadProgress', (progress: Progress) => {
          if (progress.transferred <= limit || tooLarge) return;
          tooLarge = true;
          request.cancel();
        });
      }
      return request;
    });
    body = response.body;
  } catch (error) {
    if (options.signal?.aborted) throw new SourceFailure('aborted', `${options.source} ${shown}: stopped at the job's deadline`);
    if (tooLarge) throw tooLong(options, shown);
    if (error instanceof TimeoutError) throw new SourceFailure('timeout', `${options.source} ${shown}: no answer within ${options.timeoutMs} ms`);
    // Their messages already name the endpoint, the settings and the likely cause.
    if (error instanceof TlsFailure) throw new SourceFailure('tls', `${options.source} ${error.message}`);
    if (error instanceof CredentialError) throw new SourceFailure('auth', `${options.source} ${error.message}`);
    if (error instanceof HTTPError) {
      const status = `${options.source} ${shown}: HTTP ${error.response.statusCode} ${error.response.statusMessage ?? ''}`.trim();
      const refusal = options.tls?.settings.identity !== 'none' ? explainRefusal(options.tls, error.response.statusCode, refusedAnswer(error.response, withoutCredentials(error.response.url))) : undefined;
      if (refusal) throw new SourceFailure('auth', `${status}: ${refusal}`);
      const body = Buffer.isBuffer(error.response.body) ? error.response.body.subarray(0, 2000).toString('utf8') : '';
      throw new HttpStatusFailure(status, error.response.statusCode, body);
    }
    const detail = error instanceof RequestError && error.code ? `${error.code}: ${error.message}` : (error as Error).message;
    throw new SourceFailure(classifyConnectionError(error), `${options.source} ${shown}: ${detail}`);
  } finally {
    abort.detach();
  }
  // The progress counts the bytes received: a compressed body is checked again once decoded.
  if (options.maxBytes !== undefined && body.length > options.maxBytes) throw tooLong(options, shown);
  if (body.every(isJsonWhitespace)) throw new SourceFailure('malformed', `${options.source} ${shown}: empty response body`);
  return body;
}

/** The failure of a body that is not JSON: what JSON.parse said, and how the body starts. */
export function notJson(source: string, url: string, body: Uint8Array, error: Error): SourceFailure {
  const start = Buffer.from(body.subarray(0, 80)).toString('utf8').replace(/\s+/g, ' ');
  return new SourceFailure('malformed', `${source} ${url}: response is not JSON (${error.message}); it starts with "${start}"`);
}

/** GETs a URL and parses its body as JSON; any failure (HTTP error, timeout, bad JSON) throws a SourceFailure. */
export async function fetchJson(url: string, options: GetOptions): Promise<unknown> {
  const body = await fetchBody(url, options);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw notJson(options.source, withoutCredentials(url), body, error as Error);
  }
}
