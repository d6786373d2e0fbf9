/**
 * The one TLS and identity shape of every HTTP client in the project (PanDA, CRIC, web, hadoop, host,
 * sql, the sender and its routes): which CAs to trust, which CRLs to check, and which identity to
 * present (client certificate, RFC 3820 proxy, WLCG bearer token, Kerberos by SPNEGO). Settings come from [tls] with
 * per-source overrides in [tls.<source>]; files are read again on every run, since other tools renew them.
 * See lib/tls/README.md.
 */
import { Agent, type AgentOptions } from 'node:https';
import { createSecureContext } from 'node:tls';
import { withoutCredentials } from '../http/credentials';
import type { AfterResponseHook, BeforeRedirectHook, BeforeRequestHook } from 'got';
import { explainTlsFailure } from './explain';
import { CredentialError, errorCode, isTlsErrorCode, NOT_ANCHORED_CODES, TlsFailure } from './errors';
import { loadIdentity } from './identity';
import { explainKerberosRefusal, type KerberosIdentity, type KerberosSettings, negotiateHooks, type RefusedAnswer } from './kerberos';
import type { Environment, TlsKey } from './settings';
import { readCaDirectory, readCaFile } from './trust';

export { CredentialError, TlsFailure } from './errors';
export { tlsSettings, tlsConfigWarnings, TLS_KEYS } from './settings';
export { discoverBearerToken, jwtExpiryMs } from './identity';
export { refusedAnswer } from './kerberos';

export type IdentityKind = 'none' | 'client_cert' | 'x509_proxy' | 'bearer_token' | 'kerberos';

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
  /** identity = kerberos: principal, keytab, credential cache, krb5.conf (lib/tls/kerberos.ts). */
  kerberos?: KerberosSettings;
  /** The environment the defaults and the token discovery read (the process's, unless a test passes its own). */
  environmentVariables?: Environment;
  /** Where the last place of token discovery, bt_u<uid>, is looked for: /tmp, unless a test passes its own. */
  temporaryDirectory?: string;
  /** Which setting gave a key's value, for messages: "[tls.panda] ca_dir = /x", "X509_USER_PROXY=/tmp/x509up_u0"; undefined when unset. */
  origin?(key: TlsKey): string | undefined;
  /** "[tls.panda] ca_dir", or "X509_CERT_DIR": which settings were used, for error messages. */
  describe(): string;
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
  /** identity = kerberos: a fresh Negotiate token per request, through the hooks withClientTls gives. */
  kerberos?: KerberosIdentity;
  /** When the presented credential (proxy, certificate, token) expires, UTC ms, if known. */
  credentialExpiresAtMs?: number;
  /** The credential expires within settings.expiryWarningMs (a warning, a heartbeat field, a degraded module). */
  credentialExpiresSoon?: boolean;
  /** What the credential is, for logs: "X.509 proxy /tmp/x509up_u0 (CN=...)" — never its content. */
  credentialDescription?: string;
  /** X509_CERT_DIR, X509_USER_PROXY, X509_USER_CERT/KEY, BEARER_TOKEN_FILE... for xrdcp/xrdfs children. */
  environment: Record<string, string>;
  /** Things to log as warnings: a credential about to expire, a key file others can read. */
  warnings?: string[];
  /** The CRL files of caDir in use (empty: revocation is not checked), for messages. */
  crlFiles?: string[];
  /**
   * The PEM texts behind agentOptions, for TLS clients that take no https.Agent (mysql2): the CAs of
   * ca_dir and ca_file (empty: Node's public CAs), the identity's certificate chain and its key.
   */
  pem?: { ca: string[]; cert?: string; key?: string };
}

/**
 * Reads the CAs, CRLs and identity of `settings` now. Throws CredentialError when a file is missing,
 * malformed or expired (naming the source, the setting and the cause, never the secret).
 */
export function loadClientTls(settings: TlsSettings, nowMs: number = Date.now()): ClientTls {
  const ca: string[] = [];
  let crl: string[] = [];
  let crlFiles: string[] = [];
  const environment: Record<string, string> = {};
  if (settings.caDir) {
    const directory = readCaDirectory(settings.caDir, settings.origin?.('ca_dir') ?? `ca_dir ${settings.caDir}`);
    ca.push(...directory.certificates);
    if (settings.crl === 'auto') {
      crl = directory.crls;
      crlFiles = directory.crlFiles.map((name) => `${settings.caDir}/${name}`);
    }
    environment.X509_CERT_DIR = settings.caDir;
  }
  if (settings.caFile) ca.push(...readCaFile(settings.caFile, settings.origin?.('ca_file') ?? `ca_file ${settings.caFile}`));
  const identity = loadIdentity(settings, nowMs);
  const own = identity.cert && identity.key ? { cert: identity.cert, key: identity.key } : {};
  const trusted = ca.length > 0;
  // Node's `ca` replaces its bundled CAs, and its `crl` turns on CRL_CHECK|CRL_CHECK_ALL for every chain,
  // so the grid CAs and the public ones are two agents, never one mixed store.
  const agentOptions: AgentOptions | undefined = trusted ? { ...own, ca, ...(crl.length ? { crl } : {}) } : identity.cert ? own : undefined;
  const publicAgentOptions: AgentOptions | undefined = trusted && settings.publicRoots ? own : undefined;
  const warnings = [...identity.warnings];
  if (settings.caDir && settings.crl === 'auto' && !crl.length) {
    warnings.push(`[tls.${settings.source}]: ca_dir ${settings.caDir} holds no CRL (<hash>.rN): revocation is not checked (run fetch-crl, or set crl = off to say so)`);
  }
  const expiresSoon = identity.expiresAtMs !== undefined && identity.expiresAtMs - nowMs <= settings.expiryWarningMs;
  if (expiresSoon) {
    const hours = ((identity.expiresAtMs as number) - nowMs) / 3_600_000;
    warnings.push(`[tls.${settings.source}]: the ${identity.description} expires at ${new Date(identity.expiresAtMs as number).toISOString()} (in ${timeLeft(hours)}): renew it`);
  }
  return {
    settings,
    agentOptions,
    publicAgentOptions,
    authorization: identity.authorization,
    kerberos: identity.kerberos,
    credentialExpiresAtMs: identity.expiresAtMs,
    credentialExpiresSoon: expiresSoon,
    credentialDescription: identity.description,
    environment: { ...environment, ...identity.environment },
    warnings,
    crlFiles,
    pem: { ca, ...own },
  };
}

/** What a got request needs from a ClientTls: its https agent, headers, redirect check and Kerberos tokens. */
export interface TlsRequestOptions {
  agent: { https?: Agent };
  headers: Record<string, string>;
  hooks: { beforeRedirect: BeforeRedirectHook[]; beforeRequest: BeforeRequestHook[]; afterResponse: AfterResponseHook[] };
}

/**
 * Refuses a redirect from https to plain http while credentials go with the request (the bearer token's
 * Authorization header, or a URL's user:password), since got keeps them when only the scheme changes.
 * A redirect to another host or port is followed: got drops the Authorization header and URL credentials then.
 */
function refuseDowngrade(tls: ClientTls | undefined, endpoint: string): BeforeRedirectHook {
  return (options) => {
    const target = options.url instanceof URL ? options.url : new URL(String(options.url));
    if (target.protocol !== 'http:' || !/^https:/i.test(endpoint)) return;
    const sendsToken = options.headers.authorization !== undefined;
    if (!sendsToken && !options.username && !options.password) return;
    const identity = tls?.settings.origin?.('identity') ?? `[tls.${tls?.settings.source}] identity = ${tls?.settings.identity}`;
    const credential = sendsToken && tls?.authorization ? `the bearer token of ${identity}` : sendsToken && tls?.kerberos ? `a Kerberos token of ${identity}` : 'its credentials';
    throw new CredentialError(`${endpoint}: redirected to plain http ${withoutCredentials(target.href)}: not followed, ${credential} would be sent unencrypted`);
  };
}

/** One pair of agents per loaded ClientTls, so its requests share connections. */
const agents = new WeakMap<ClientTls, { own?: Agent; public?: Agent }>();

/** "11 s", "42 min", "5.0 h": a time left for a warning. */
function timeLeft(hours: number): string {
  if (hours < 1 / 60) return `${Math.max(0, Math.round(hours * 3600))} s`;
  return hours < 1 ? `${Math.round(hours * 60)} min` : `${hours.toFixed(1)} h`;
}

/**
 * An agent whose connections share one secure context: given only `ca` and `crl`, Node parses every CA and
 * CRL again for each connection, which an IGTF directory makes tens of milliseconds (bench/tlsCaDirectory.ts).
 */
function agentWithOneContext(options: AgentOptions): Agent {
  return new Agent({ ...options, secureContext: createSecureContext(options) });
}

function agentsOf(tls: ClientTls): { own?: Agent; public?: Agent } {
  let pair = agents.get(tls);
  if (!pair) {
    pair = {
      own: tls.agentOptions ? agentWithOneContext(tls.agentOptions) : undefined,
      public: tls.publicAgentOptions ? agentWithOneContext(tls.publicAgentOptions) : undefined,
    };
    agents.set(tls, pair);
  }
  return pair;
}

/**
 * Runs `attempt` with the source's agent and identity headers. When the server's chain is not anchored in
 * the CA dir/file and publicRoots is on, tries once more with Node's public CAs. A TLS failure is rethrown
 * as a TlsFailure whose message names `endpoint` (without credentials), the settings used and the likely cause.
 * With `tls` undefined, runs `attempt` with Node's defaults.
 */
export async function withClientTls<T>(tls: ClientTls | undefined, endpoint: string, attempt: (options: TlsRequestOptions) => Promise<T>): Promise<T> {
  const negotiate = tls?.kerberos ? negotiateHooks(tls.kerberos, endpoint) : { beforeRequest: [], afterResponse: [] };
  const hooks = { beforeRedirect: [refuseDowngrade(tls, endpoint)], ...negotiate };
  if (!tls) {
    try {
      return await attempt({ agent: {}, headers: {}, hooks });
    } catch (error) {
      throw unwrapped(error);
    }
  }
  const headers: Record<string, string> = tls.authorization ? { authorization: tls.authorization } : {};
  // A token sent in clear text can be read and replayed by anyone on the path.
  if (tls.authorization && /^http:/i.test(endpoint)) {
    throw new CredentialError(`${endpoint}: [tls.${tls.settings.source}] identity = bearer_token, but the URL is plain http: a token is sent over https only`);
  }
  const pair = agentsOf(tls);
  try {
    return await attempt({ agent: pair.own ? { https: pair.own } : {}, headers, hooks });
  } catch (error) {
    const code = errorCode(error);
    if (!isTlsErrorCode(code)) throw unwrapped(error);
    // Only a chain our CAs do not anchor goes to the public CAs: a revoked, expired or CRL-less grid chain stays refused.
    // The handshake failed, so no request was sent: trying again is safe for a POST too.
    if (pair.public && NOT_ANCHORED_CODES.has(code)) {
      try {
        return await attempt({ agent: { https: pair.public }, headers, hooks });
      } catch (second) {
        const secondCode = errorCode(second);
        if (!isTlsErrorCode(secondCode)) throw unwrapped(second);
        throw new TlsFailure(explainTlsFailure(tls, endpoint, code, { publicCode: secondCode }), code);
      }
    }
    throw new TlsFailure(explainTlsFailure(tls, endpoint, code), code);
  }
}

/** got wraps what a hook throws in a RequestError: our CredentialError is the error to report. */
function unwrapped(error: unknown): unknown {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return cause instanceof CredentialError ? cause : error;
}

/**
 * The likely cause of an HTTP 401/403 when an identity was presented; undefined without one. `answer`
 * (the final URL, its WWW-Authenticate, whether a Negotiate token went with it) tells a Kerberos refusal apart.
 */
export function explainRefusal(tls: ClientTls | undefined, statusCode: number, answer?: RefusedAnswer): string | undefined {
  if (!tls || (statusCode !== 401 && statusCode !== 403)) return undefined;
  switch (tls.settings.identity) {
    case 'kerberos':
      return `${explainKerberosRefusal(tls.kerberos as KerberosIdentity, statusCode, answer ?? { url: tls.settings.source, sentToken: true })} (${tls.settings.describe()})`;
    case 'bearer_token':
      return `the token was refused (${tls.credentialDescription}${tls.credentialExpiresAtMs === undefined ? '' : `, expires ${new Date(tls.credentialExpiresAtMs).toISOString()}`}): audience/scope? (${tls.settings.describe()})`;
    case 'x509_proxy':
    case 'client_cert':
      return `the ${tls.credentialDescription} was refused: is its DN registered with the service? (${tls.settings.describe()})`;
    case 'none':
      return `no identity was presented (${tls.settings.describe()}): set identity in [tls.${tls.settings.source}]`;
  }
}
