/** The errors of lib/tls: a credential that cannot be used, and a TLS failure explained for people. */

/** A credential that could not be loaded, is malformed or has expired: names the source, the setting and the cause, never the secret. */
export class CredentialError extends Error {
  override name = 'CredentialError';
}

/**
 * A TLS handshake (or trust) failure of one request: the message names the endpoint, the settings used
 * and the likely cause. `code` keeps OpenSSL's or Node's code, so classifyConnectionError still says 'tls'.
 */
export class TlsFailure extends Error {
  override name = 'TlsFailure';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** OpenSSL's codes for a chain that does not end at a trusted CA: only these may be retried with Node's public CAs. */
export const NOT_ANCHORED_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
]);

/** The code of a request's error: got and Node put it on the error, fetch on its cause. */
export function errorCode(error: unknown): string | undefined {
  const { code, cause } = (error ?? {}) as { code?: unknown; cause?: { code?: unknown } };
  if (typeof code === 'string') return code;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

/** Whether an error is a failure of the TLS layer (handshake, trust, alerts), not of the network or HTTP. */
export function isTlsErrorCode(code: string | undefined): code is string {
  if (!code) return false;
  return code === 'EPROTO' || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.includes('CERT') || code.includes('CRL') || code.endsWith('_SIGNATURE');
}
