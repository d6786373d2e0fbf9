import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SCHEMAS_DIR } from '../config/paths';
import { FAILURE_CLASSES } from '../../schemas/kinds';
import { classifyConnectionError } from './failures';
import { isTlsErrorCode } from '../tls/errors';
import { schemaRegistry } from './schemas';

test('every error and error_class field names only failure classes of schemas/failures.json', () => {
  const vocabulary = Object.keys((JSON.parse(readFileSync(path.join(SCHEMAS_DIR, 'failures.json'), 'utf8')) as { classes: object }).classes);
  expect([...FAILURE_CLASSES]).toEqual(vocabulary);
  const fields = schemaRegistry()
    .all()
    .flatMap((schema) => ['error', 'error_class'].filter((name) => name in schema.fields).map((name) => ({ kind: `${schema.producer}/${schema.type}`, description: schema.fields[name].description })));
  expect(fields.length).toBeGreaterThanOrEqual(5);
  for (const { kind, description } of fields) {
    const listed = /failures\.json: ([^;(]*)/.exec(description);
    expect({ kind, refersToVocabulary: listed !== null }).toEqual({ kind, refersToVocabulary: true });
    const words = (listed as RegExpExecArray)[1].split(/,| or /).map((word) => word.trim()).filter(Boolean);
    expect({ kind, unknown: words.filter((word) => !vocabulary.includes(word)) }).toEqual({ kind, unknown: [] });
  }
});

test('connection errors are classified the same from got (code) and from fetch (cause.code)', () => {
  const withCode = (code: string): Error => Object.assign(new Error(code), { code });
  const fromFetch = (code: string): Error => Object.assign(new TypeError('fetch failed'), { cause: { code } });
  for (const [code, expected] of [['ECONNREFUSED', 'refused'], ['ENOTFOUND', 'dns'], ['ETIMEDOUT', 'timeout'], ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'], ['ECONNRESET', 'other']] as const) {
    expect(classifyConnectionError(withCode(code))).toBe(expected);
    expect(classifyConnectionError(fromFetch(code))).toBe(expected);
  }
  expect(classifyConnectionError(new Error('no code at all'))).toBe('other');
});

test("TLS codes are classified by lib/tls's one rule: OpenSSL's CRL and certificate codes and handshake failures are tls", () => {
  const withCode = (code: string): Error => Object.assign(new Error(code), { code });
  const codes = ['UNABLE_TO_GET_CRL', 'CRL_HAS_EXPIRED', 'CRL_NOT_YET_VALID', 'CRL_SIGNATURE_FAILURE', 'CERT_REVOKED', 'CERT_HAS_EXPIRED', 'EPROTO', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'];
  expect(codes.map((code) => [code, isTlsErrorCode(code), classifyConnectionError(withCode(code))])).toEqual(codes.map((code) => [code, true, 'tls']));
  expect([isTlsErrorCode('ECONNRESET'), classifyConnectionError(withCode('ECONNRESET'))]).toEqual([false, 'other']);
});
