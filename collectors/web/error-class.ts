/** The short reasons a probe or scrape fails, as they appear in documents. */
export type ErrorClass = 'timeout' | 'dns' | 'refused' | 'tls' | 'status' | 'body' | 'parse' | 'other';

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_FAIL', 'EAI_NONAME']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ERR_ABORTED', 'ABORT_ERR']);

/**
 * Classifies an error of a request that got no usable response (got's RequestError and its subclasses
 * carry the underlying Node code). Status and body failures are decided by the caller, not here.
 */
export function classifyRequestError(error: unknown): ErrorClass {
  const { name, code } = (error ?? {}) as { name?: string; code?: string };
  if (name === 'TimeoutError' || name === 'AbortError' || (code && TIMEOUT_CODES.has(code))) return 'timeout';
  if (!code) return 'other';
  if (DNS_CODES.has(code)) return 'dns';
  if (code === 'ECONNREFUSED') return 'refused';
  // Handshake failures (EPROTO, ERR_SSL_*, ERR_TLS_*) and OpenSSL's verification codes (..._CERT_..., ..._SIGNATURE).
  if (code === 'EPROTO' || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.includes('CERT') || code.endsWith('_SIGNATURE')) return 'tls';
  return 'other';
}
