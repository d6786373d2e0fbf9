import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface AuthSettings {
  /** Bearer token allowed to write every producer. */
  token?: string;
  /** Per-producer basic auth, as MONIT's HTTPS endpoint does: user = producer. */
  producerPasswords: Map<string, string>;
}

/** Who the request is: any producer (token), one producer (basic auth), or nobody (401). */
export type Identity = { kind: 'any' } | { kind: 'producer'; producer: string } | { kind: 'refused'; reason: string };

/** What a refusal says about the header's shape: never the header itself, which may be a credential. */
const EXPECTED_SHAPE = "the Authorization header must be 'Bearer <token>' or 'Basic <base64 of producer:password>'";

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Exactly `Bearer <token>` or `Basic <base64>`, nothing after. A bearer token writes every producer.
 * Basic auth is MONIT's per-producer scheme: user = producer, password = that producer's password or
 * the token; either way the request may write that producer only.
 */
export function authenticate(request: IncomingMessage, settings: AuthSettings): Identity {
  const header = request.headers.authorization;
  if (!header) return { kind: 'refused', reason: 'credentials required: a bearer token or producer basic auth' };
  const match = /^(bearer|basic) +(\S+)$/i.exec(header);
  if (!match) return { kind: 'refused', reason: EXPECTED_SHAPE };
  const [, scheme, value] = match;
  if (/^bearer$/i.test(scheme)) {
    return settings.token && sameSecret(value, settings.token) ? { kind: 'any' } : { kind: 'refused', reason: 'wrong token' };
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) return { kind: 'refused', reason: `${EXPECTED_SHAPE}: the basic credentials are not base64` };
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { kind: 'refused', reason: `${EXPECTED_SHAPE}: the basic credentials have no ':'` };
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  const expected = settings.producerPasswords.get(user);
  const allowed = (expected !== undefined && sameSecret(password, expected)) || (settings.token !== undefined && user !== '' && sameSecret(password, settings.token));
  return allowed ? { kind: 'producer', producer: user } : { kind: 'refused', reason: 'wrong user or password' };
}
