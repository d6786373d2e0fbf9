/**
 * Why a source could not be read, in the one vocabulary of every `error` and `error_class` field
 * (schemas/failures.json, typed as FailureClass in schemas/kinds.ts).
 */
import type { FailureClass } from '../../schemas/kinds';
import { isTlsErrorCode } from '../tls/errors';

export type { FailureClass };

/** A source could not be read: its class for the document, its message for people. */
export class SourceFailure extends Error {
  override name = 'SourceFailure';
  constructor(
    readonly failureClass: FailureClass,
    message: string,
  ) {
    super(message);
  }
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_FAIL', 'EAI_NONAME']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/** Our requests are aborted only by the job's signal, at its deadline. */
const ABORT_CODES = new Set(['ERR_ABORTED', 'ABORT_ERR']);

/**
 * The class of an error of a connection or request that got no usable answer. got's errors carry
 * Node's code; fetch's TypeError carries it in its cause; database drivers carry it too.
 */
export function classifyConnectionError(error: unknown): FailureClass {
  const { name, code: ownCode, cause } = (error ?? {}) as { name?: string; code?: string; cause?: { code?: string } };
  const code = ownCode ?? cause?.code;
  if (name === 'AbortError' || (code && ABORT_CODES.has(code))) return 'aborted';
  if (name === 'TimeoutError' || (code && TIMEOUT_CODES.has(code))) return 'timeout';
  if (!code) return 'other';
  if (DNS_CODES.has(code)) return 'dns';
  if (code === 'ECONNREFUSED') return 'refused';
  // The one rule of lib/tls (handshake failures, OpenSSL's certificate and CRL codes), so every client agrees.
  if (isTlsErrorCode(code)) return 'tls';
  return 'other';
}
