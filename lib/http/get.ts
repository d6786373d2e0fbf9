/** GETs of sources that answer JSON or text, with every failure a SourceFailure of the shared vocabulary. */
import got, { HTTPError, RequestError, TimeoutError } from 'got';
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
}

/** GETs a URL and returns its body, not decoded. A failed request, an HTTP error status or an empty body throws a SourceFailure. */
export async function fetchBody(url: string, options: GetOptions): Promise<Buffer> {
  // Messages name the URL without its credentials (user:password@ is sent, never shown).
  const shown = withoutCredentials(url);
  let body: Buffer;
  const abort = detachedAbort(options.signal);
  try {
    const response = await withClientTls(options.tls, shown, (tls) =>
      got.get(url, {
        searchParams: options.searchParams,
        timeout: { request: options.timeoutMs },
        retry: { limit: 0 },
        signal: abort.signal,
        agent: tls.agent,
        hooks: tls.hooks,
        headers: { accept: options.accept ?? 'application/json', ...tls.headers },
        responseType: 'buffer',
      }),
    );
    body = response.body;
  } catch (error) {
    if (options.signal?.aborted) throw new SourceFailure('aborted', `${options.source} ${shown}: stopped at the job's deadline`);
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
