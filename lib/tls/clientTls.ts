/**
 * The one TLS and identity shape of every HTTP client in the project (PanDA, CRIC, web, hadoop, host,
 * sql, the sender and its routes): which CAs to trust, which CRLs to check, and which identity to
 * present (client certificate, RFC 3820 proxy, WLCG bearer token). Settings come from [tls] with
 * per-source overrides in [tls.<source>]; files are read again on every run, since other tools renew them.
 *
 * INTERFACE STUB (issue 18): the implementation lands in this folder; callers code against these names.
 */
import type { AgentOptions } from 'node:https';
import type { Config } from '../config/config';

export type IdentityKind = 'none' | 'client_cert' | 'x509_proxy' | 'bearer_token';

/** What [tls] and [tls.<source>] say, with the grid defaults resolved to paths (nothing read yet). */
export interface TlsSettings {
  /** The source these settings are for: "panda", "cric", "web", "monit", a route's name... */
  source: string;
  /** A hashed CA directory (IGTF style): X509_CERT_DIR, else /etc/grid-security/certificates when it exists. */
  caDir?: string;
  caFile?: string;
  /** Also trust Node's bundled public CAs (tried after caDir/caFile, never mixed with their CRLs). */
  publicRoots: boolean;
  /** 'auto': check the CRLs found in caDir; 'off': do not. */
  crl: 'auto' | 'off';
  identity: IdentityKind;
  clientCert?: string;
  clientKey?: string;
  /** The proxy file: [tls] x509_proxy, else X509_USER_PROXY, else /tmp/x509up_u<uid>. */
  x509Proxy?: string;
  /** A token given in config (a secret); else bearerTokenFile; else WLCG discovery at load time. */
  bearerToken?: string;
  bearerTokenFile?: string;
  /** A credential expiring within this is a warning, a heartbeat field and a degraded module. */
  expiryWarningMs: number;
  /** "[tls.panda] ca_dir", or "X509_CERT_DIR": which settings were used, for error messages. */
  describe(): string;
}

/** A credential that could not be loaded, is malformed or has expired: names the source, the setting and the cause, never the secret. */
export class CredentialError extends Error {
  override name = 'CredentialError';
}

/** The loaded trust and identity for one source and one run. */
export interface ClientTls {
  settings: TlsSettings;
  /** Options for an https.Agent / tls.connect: ca, crl, cert, key (undefined: Node's defaults). */
  agentOptions?: AgentOptions;
  /** Options for the fallback to Node's bundled public CAs (when publicRoots and a CA dir/file is in use). */
  publicAgentOptions?: AgentOptions;
  /** The Authorization header value for a bearer token identity (registered as a secret). */
  authorization?: string;
  /** When the presented credential (proxy, certificate, token) expires, UTC ms, if known. */
  credentialExpiresAtMs?: number;
  /** What the credential is, for logs: "X.509 proxy /tmp/x509up_u0 (CN=...)" — never its content. */
  credentialDescription?: string;
  /** X509_CERT_DIR, X509_USER_PROXY, X509_USER_CERT/KEY, BEARER_TOKEN_FILE... for xrdcp/xrdfs children. */
  environment: Record<string, string>;
}

/** Stub: Node's defaults, no identity (until the implementation lands). */
export function tlsSettings(config: Config, source: string): TlsSettings {
  void config;
  return { source, publicRoots: true, crl: 'auto', identity: 'none', expiryWarningMs: 3 * 86_400_000, describe: () => `[tls.${source}]` };
}

/** Stub: nothing to load (until the implementation lands). */
export function loadClientTls(settings: TlsSettings, nowMs: number = Date.now()): ClientTls {
  void nowMs;
  return { settings, environment: {} };
}

/** What a got request needs from a ClientTls: its https agent and headers. */
export interface TlsRequestOptions {
  agent: { https?: import('node:https').Agent };
  headers: Record<string, string>;
}

/**
 * Runs `attempt` with the source's agent and identity headers. When the server's chain is not anchored in
 * the CA dir/file and publicRoots is on, tries once more with Node's public CAs. A TLS failure is rethrown
 * as an Error whose message names `endpoint` (without credentials), the settings used and the likely cause.
 * With `tls` undefined, runs `attempt` with Node's defaults.
 */
export async function withClientTls<T>(tls: ClientTls | undefined, endpoint: string, attempt: (options: TlsRequestOptions) => Promise<T>): Promise<T> {
  void endpoint;
  return attempt({ agent: {}, headers: tls?.authorization ? { authorization: tls.authorization } : {} });
}
