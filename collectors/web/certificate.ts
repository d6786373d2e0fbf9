import tls, { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';

const DAY_MS = 86_400_000;

/** Days from `nowMs` until the peer certificate of a TLS socket expires; undefined for plain sockets. */
export function certificateDaysLeft(socket: Socket | TLSSocket | null | undefined, nowMs = Date.now()): number | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  const validTo = socket.getPeerCertificate()?.valid_to;
  const expiresMs = validTo ? Date.parse(validTo) : NaN;
  return Number.isFinite(expiresMs) ? (expiresMs - nowMs) / DAY_MS : undefined;
}

/**
 * Reads the certificate of an https URL's server without trusting it, for probes whose request failed
 * on TLS: an expired or self-signed certificate is exactly when its dates matter. Undefined if unreachable.
 */
export function untrustedCertificateDaysLeft(url: URL, timeoutMs: number, signal: AbortSignal): Promise<number | undefined> {
  return new Promise((resolve) => {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const socket = tls.connect({
      host,
      port: Number(url.port || 443),
      servername: /^[\d.]+$|:/.test(host) ? undefined : host, // SNI takes names, not addresses
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    const onAbort = (): void => finish(undefined);
    const finish = (days: number | undefined): void => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(days);
    };
    socket.once('secureConnect', () => finish(certificateDaysLeft(socket)));
    socket.once('timeout', () => finish(undefined));
    socket.once('error', () => finish(undefined));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
