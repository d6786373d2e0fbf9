/** A TLS failure in words: the endpoint, the likely cause by OpenSSL's code, and the settings that were used. */
import type { ClientTls } from './clientTls';

/** Where our CAs came from, for "not in ca_dir ...". */
function trustPlaces(tls: ClientTls): string {
  const places = [tls.settings.caDir ? `ca_dir ${tls.settings.caDir}` : undefined, tls.settings.caFile ? `ca_file ${tls.settings.caFile}` : undefined].filter(Boolean);
  return places.join(' or ');
}

function crlPlaces(tls: ClientTls): string {
  const files = tls.crlFiles ?? [];
  if (!files.length) return `ca_dir ${tls.settings.caDir ?? ''}`.trim();
  return files.length <= 3 ? files.join(', ') : `one of the ${files.length} CRLs (<hash>.rN) of ${tls.settings.caDir}`;
}

function identityWords(tls: ClientTls): string {
  return tls.credentialDescription ?? `identity = ${tls.settings.identity}`;
}

/** The likely cause of `code` for these settings. */
function cause(tls: ClientTls, code: string, publicCode: string | undefined): string {
  const hasOwnCas = Boolean(tls.settings.caDir || tls.settings.caFile);
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return "the server's certificate (or one of its CAs) has expired: the server must renew it";
    case 'CERT_NOT_YET_VALID':
      return "the server's certificate is not valid yet: is this machine's clock right?";
    case 'CERT_REVOKED':
      return `the server's certificate is revoked in ${crlPlaces(tls)}`;
    case 'UNABLE_TO_GET_CRL':
      return `no CRL for the issuer in ca_dir ${tls.settings.caDir ?? ''}: run fetch-crl, or crl = off`;
    case 'CRL_HAS_EXPIRED':
      return `a CRL in ${crlPlaces(tls)} has expired (its nextUpdate passed): run fetch-crl`;
    case 'CRL_NOT_YET_VALID':
      return `a CRL in ${crlPlaces(tls)} is not valid yet: is this machine's clock right?`;
    case 'CRL_SIGNATURE_FAILURE':
    case 'UNABLE_TO_DECRYPT_CRL_SIGNATURE':
      return `a CRL in ${crlPlaces(tls)} does not verify against its CA: run fetch-crl`;
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT': {
      const chain = code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ? "the server's certificate is self-signed and" : "the server's CA";
      if (!hasOwnCas) return `${chain} is not among Node's public CAs: set ca_dir (a grid CA directory) or ca_file`;
      if (publicCode) return `${chain} is not in ${trustPlaces(tls)}, and Node's public CAs do not trust it either${publicCode === code ? '' : ` (${publicCode})`}: add its CA to ca_dir or ca_file`;
      return `${chain} is not in ${trustPlaces(tls)}${tls.settings.publicRoots ? '' : ' (public_roots = no)'}: add its CA there, or check that it is the right server`;
    }
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return "the server's certificate is not for this host name: use a name its certificate lists";
    case 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED':
    case 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE':
      return tls.agentOptions?.cert
        ? `the server ended the handshake although we sent our ${identityWords(tls)}: does it accept this certificate (RFC 3820 proxies need a server that allows them)?`
        : `the server asked for a client certificate and none was sent (identity = ${tls.settings.identity}): set identity = x509_proxy or client_cert in [tls.${tls.settings.source}]`;
    case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA':
      return `the server does not trust the CA of our ${identityWords(tls)}`;
    case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE':
    case 'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE':
    case 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED':
    case 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED':
    case 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN':
      return `the server refused our ${identityWords(tls)}`;
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return 'the server does not speak TLS on this port (an http:// URL?)';
    default:
      return 'the TLS handshake failed';
  }
}

/** "<endpoint>: <cause> (<CODE>); TLS settings [tls.panda]: ca_dir ..." */
export function explainTlsFailure(tls: ClientTls, endpoint: string, code: string, options: { publicCode?: string } = {}): string {
  return `${endpoint}: ${cause(tls, code, options.publicCode)} (${code}); TLS settings ${tls.settings.describe()}`;
}
