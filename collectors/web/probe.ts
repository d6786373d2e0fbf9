import http, { type ClientRequest } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import got, { type Progress } from 'got';
import { certificateDaysLeft, untrustedCertificateDaysLeft } from './certificate';
import { classifyConnectionError, type FailureClass } from '../../lib/documents/failures';
import { type ClientTls, CredentialError, explainRefusal, refusedAnswer, withClientTls } from '../../lib/tls/clientTls';
import { withoutCredentials } from '../../lib/http/credentials';

/** One URL to probe, with its settings resolved ([web.<name>] over [web]). */
export interface ProbeTarget {
  name: string;
  /** As configured: it may carry credentials. */
  url: string;
  /** The URL without credentials, for the tag and messages. */
  shownUrl: string;
  timeoutMs: number;
  /** Accepted statuses of the final response, as inclusive ranges. */
  expectStatus: Array<[number, number]>;
  /** Text the body must contain, if any. */
  expectText?: string;
  verifyTls: boolean;
  followRedirects: boolean;
  /** A longer body (after decompression) fails the probe, as malformed: it is held in memory. */
  maxBodyBytes: number;
}

/** What one probe found; every field but up and errorClass is optional (not measured). */
export interface ProbeResult {
  up: 0 | 1;
  /** '' when up. */
  errorClass: FailureClass | '';
  /** A sentence for the log when the probe failed. */
  detail?: string;
  status?: number;
  latencyMs?: number;
  bodyMatch?: boolean;
  certDaysLeft?: number;
  /** The body of the final response, read once for expect_text and the JSON values. */
  body?: string;
}

// Fresh connections for every probe: the latency then includes connecting and the TLS handshake, as a
// first visit does, and the certificate is read from a socket of this very request.
const agents = { http: new http.Agent({ keepAlive: false }), https: new https.Agent({ keepAlive: false }) };

export function statusAccepted(status: number, ranges: Array<[number, number]>): boolean {
  return ranges.some(([low, high]) => status >= low && status <= high);
}

/**
 * Probes one URL with the trust and identity of `tls` ([tls.web]): its CA dir or file, its fallback to
 * Node's public CAs, its client certificate, proxy or bearer token. Never throws: every failure is a
 * result with up=0 and an error class; a TLS failure's detail names the URL, the settings used and the
 * likely cause.
 */
export async function probe(target: ProbeTarget, signal: AbortSignal, tls?: ClientTls): Promise<ProbeResult> {
  let certDaysLeft: number | undefined;
  let tooLarge = false;
  let started = performance.now();
  try {
    return await withClientTls(tls, target.shownUrl, async (options) => {
      // A second attempt (Node's public CAs) is timed and read on its own.
      started = performance.now();
      certDaysLeft = undefined;
      const request = got(target.url, {
        timeout: { request: target.timeoutMs },
        retry: { limit: 0 },
        throwHttpErrors: false,
        followRedirect: target.followRedirects,
        https: { rejectUnauthorized: target.verifyTls },
        agent: { http: agents.http, https: options.agent.https ?? agents.https },
        hooks: options.hooks,
        signal,
        headers: { ...options.headers, 'user-agent': 'monit-collectors web probe' },
      });
      // Read the certificate as the TLS handshake completes (the promise resolves after the socket closed).
      // Each redirect makes a new request: the last one's certificate stays.
      request.on('request', (clientRequest: ClientRequest) => {
        clientRequest.once('socket', (socket: Socket) => {
          if (!(socket instanceof TLSSocket)) certDaysLeft = undefined;
          else if (socket.connecting) socket.once('secureConnect', () => (certDaysLeft = certificateDaysLeft(socket)));
          else certDaysLeft = certificateDaysLeft(socket);
        });
      });
      request.on('downloadProgress', (progress: Progress) => {
        if (progress.transferred <= target.maxBodyBytes || tooLarge) return;
        tooLarge = true;
        request.cancel();
      });
      const response = await request;
      const result: ProbeResult = {
        up: 1,
        errorClass: '',
        status: response.statusCode,
        latencyMs: performance.now() - started, // got's own timings are whole milliseconds
        bodyMatch: target.expectText === undefined ? undefined : response.body.includes(target.expectText),
        certDaysLeft,
        body: response.body,
      };
      if (!statusAccepted(response.statusCode, target.expectStatus)) {
        // A Kerberos token refused, or asked for by another host than the URL's: the identity's problem.
        const refusal = tls?.kerberos && response.statusCode === 401 ? explainRefusal(tls, 401, refusedAnswer(response, withoutCredentials(response.url))) : undefined;
        if (refusal) return { ...result, up: 0, errorClass: 'auth', detail: `HTTP 401: ${refusal}` };
        return { ...result, up: 0, errorClass: 'status', detail: `HTTP ${response.statusCode}` };
      }
      if (result.bodyMatch === false) return { ...result, up: 0, errorClass: 'body', detail: `the body does not contain "${target.expectText}"` };
      return result;
    });
  } catch (error) {
    if (tooLarge) return { up: 0, errorClass: 'malformed', detail: `the body is longer than max_body_bytes = ${target.maxBodyBytes}`, certDaysLeft };
    // A credential refused before it was sent (a redirect to plain http) is the identity's problem.
    const errorClass = signal.aborted ? 'aborted' : error instanceof CredentialError ? 'auth' : classifyConnectionError(error);
    if (errorClass === 'tls' && certDaysLeft === undefined) {
      certDaysLeft = await untrustedCertificateDaysLeft(new URL(target.url), target.timeoutMs, signal);
    }
    return { up: 0, errorClass, detail: (error as Error).message, certDaysLeft };
  }
}
