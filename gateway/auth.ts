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

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function authenticate(request: IncomingMessage, settings: AuthSettings): Identity {
  const header = request.headers.authorization;
  if (!header) return { kind: 'refused', reason: 'credentials required: a bearer token or producer basic auth' };
  const [scheme, value = ''] = header.split(/\s+/, 2);
  if (/^bearer$/i.test(scheme)) {
    return settings.token && sameSecret(value, settings.token) ? { kind: 'any' } : { kind: 'refused', reason: 'wrong token' };
  }
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? decoded : decoded.slice(0, colon);
    const password = colon < 0 ? '' : decoded.slice(colon + 1);
    const expected = settings.producerPasswords.get(user);
    if (expected !== undefined && sameSecret(password, expected)) return { kind: 'producer', producer: user };
    if (settings.token && sameSecret(password, settings.token)) return { kind: 'any' };
    return { kind: 'refused', reason: 'wrong user or password' };
  }
  return { kind: 'refused', reason: `unsupported authorization scheme '${scheme}'` };
}
