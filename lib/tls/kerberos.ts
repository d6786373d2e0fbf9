/**
 * identity = kerberos: SPNEGO (RFC 4559, `Authorization: Negotiate <token>`) with MIT's GSSAPI through the
 * `kerberos` package (mongodb-js). Each source has its own principal, keytab, credential cache and
 * krb5.conf. MIT takes those from the environment (KRB5CCNAME, KRB5_CLIENT_KTNAME, KRB5_CONFIG) when a
 * call makes its context, so every GSSAPI call of this process runs in one queue, with the variables of
 * its source set around it and restored after. See lib/tls/README.md.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { AfterResponseHook, BeforeRequestHook } from 'got';
import { CredentialError } from './errors';
import { ccacheSummary, KerberosFileError, keytabPrincipals } from './kerberosFiles';

/** What [tls.<source>] says about its Kerberos identity, paths resolved, nothing read yet. */
export interface KerberosSettings {
  /** The keytab tickets are obtained from (and renewed from, when they expire); none: a ccache kept by others. */
  keytab?: string;
  /** "monit@EXAMPLE.ORG"; undefined: the keytab's only principal, or the ccache's. */
  principal?: string;
  /** The credential cache, as MIT names it ("FILE:/path", "KEYRING:persistent:1000", ...). */
  ccache: string;
  /** The ccache is this project's own (var/state/kerberos/<source>.ccache, filled from the keytab). */
  ownCcache: boolean;
  /** A krb5.conf other than the default (/etc/krb5.conf, or KRB5_CONFIG). */
  config?: string;
  /** Send a token with the first request; otherwise only when the server answers 401 with WWW-Authenticate: Negotiate. */
  preemptive: boolean;
}

/** The sources that speak HTTP through lib/http or the web probe; elsewhere a Kerberos identity would be ignored, so it is refused. */
export const KERBEROS_SOURCES: readonly string[] = ['panda', 'cric', 'placement', 'web', 'hadoop', 'host'];

type KerberosModule = typeof import('kerberos');
let binding: KerberosModule | undefined;
/** Loaded on first use: most runs present no Kerberos identity. */
function kerberosModule(): KerberosModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  binding ??= require('kerberos') as KerberosModule;
  return binding;
}

let queue: Promise<unknown> = Promise.resolve();
/** The environment MIT reads: Node writes process.env through to the C environment. */
let processEnvironment: NodeJS.ProcessEnv = process.env;

/** For tests: jest gives each test file a copy of process.env, which MIT never sees (test/support/kerberos.ts). */
export function useProcessEnvironment(environment: NodeJS.ProcessEnv): void {
  processEnvironment = environment;
}

/**
 * Runs `work` alone among the GSSAPI calls of this process, with `variables` set in the environment
 * (undefined: removed) and restored after. MIT reads KRB5CCNAME, KRB5_CLIENT_KTNAME, KRB5_CONFIG and
 * KRB5_KTNAME when a call begins, on the thread pool: one call at a time keeps each source's apart.
 */
export function withKerberosEnvironment<T>(variables: Record<string, string | undefined>, work: () => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    const saved = Object.fromEntries(Object.keys(variables).map((name) => [name, processEnvironment[name]]));
    const apply = (values: Record<string, string | undefined>): void => {
      for (const [name, value] of Object.entries(values)) {
        if (value === undefined) delete processEnvironment[name];
        else processEnvironment[name] = value;
      }
    };
    apply(variables);
    try {
      return await work();
    } finally {
      apply(saved);
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

/** The file of a "FILE:/path" or "/path" ccache name; undefined for other types (KEYRING, KCM, DIR...). */
function ccacheFile(name: string): string | undefined {
  if (name.startsWith('FILE:')) return name.slice('FILE:'.length);
  return /^[A-Za-z0-9]+:/.test(name) ? undefined : name;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `pointer` says where the file was named: "[tls.x] kerberos_keytab = FILE" (it holds the file's name). */
function readFileFor(where: string, file: string, pointer: string, hint: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : `cannot be read (${code ?? (error as Error).message})`;
    throw new CredentialError(`${where}: ${pointer} ${why}: ${hint}`);
  }
}

/** "alice" matches "alice@REALM" of a file: MIT adds the default realm to a principal without one. */
function samePrincipal(configured: string, found: string): boolean {
  return configured.includes('@') ? configured === found : found.startsWith(`${configured}@`) && !found.slice(configured.length + 1).includes('@');
}

/** The loaded identity of one source: what it is, when its ticket ends, and how to make a token. */
export class KerberosIdentity {
  constructor(
    readonly source: string,
    readonly settings: KerberosSettings,
    /** The principal whose tickets are presented (configured, or read from the keytab or ccache). */
    readonly principal: string | undefined,
    /** "[tls.hadoop] identity = kerberos": the start of every message. */
    private readonly where: string,
  ) {}

  /** "Kerberos principal monit@X (keytab /etc/monit.keytab)": for logs and messages, never a key. */
  get description(): string {
    const from = this.settings.keytab ? `keytab ${this.settings.keytab}` : `credential cache ${this.settings.ccache}`;
    return `Kerberos principal ${this.principal ?? '(the credential cache\'s)'} (${from})`;
  }

  /** What MIT reads from the environment for this source. */
  private variables(): Record<string, string | undefined> {
    return {
      KRB5CCNAME: this.settings.ccache,
      // Without a keytab of its own a source must not renew from another's (nor from the process's).
      KRB5_CLIENT_KTNAME: this.settings.keytab ? `FILE:${this.settings.keytab}` : undefined,
      KRB5_CONFIG: this.settings.config ?? processEnvironment.KRB5_CONFIG,
    };
  }

  /** A fresh SPNEGO token for HTTP@host (a token is accepted once: servers keep a replay cache). */
  async token(host: string): Promise<string> {
    const service = `HTTP@${host.replace(/^\[(.*)\]$/, '$1')}`;
    const { initializeClient, GSS_MECH_OID_SPNEGO } = kerberosModule();
    try {
      return await withKerberosEnvironment(this.variables(), async () => {
        const client = await initializeClient(service, { mechOID: GSS_MECH_OID_SPNEGO, ...(this.principal ? { principal: this.principal } : {}) });
        return client.step('');
      });
    } catch (error) {
      throw new CredentialError(this.explain(service, (error as Error).message));
    }
  }

  /** A GSSAPI failure in words: the source, the principal, the files used, and what to do. */
  explain(service: string, message: string): string {
    const principal = this.principal ?? "the credential cache's principal";
    const keytab = this.settings.keytab;
    const config = this.settings.config ? `kerberos_config ${this.settings.config}` : `the krb5.conf of KRB5_CONFIG or /etc/krb5.conf`;
    const cause = ((): string => {
      if (/Cannot contact any KDC|Cannot find KDC/i.test(message)) return `no KDC answered for the realm of ${principal}: check its kdc lines in ${config}, and that the KDC is up`;
      if (/Client .* not found in Kerberos database/i.test(message)) return `the KDC does not know the principal ${principal}: check kerberos_principal (kadmin: getprinc)`;
      if (/Server .* not found in Kerberos database/i.test(message)) return `the KDC knows no service principal for ${service}: the URL's host must be the name in the server's keytab (HTTP/<host>)`;
      if (/Preauthentication failed|Password incorrect|Key version|Decrypt integrity/i.test(message)) return `the KDC refused the keys of ${principal} in ${keytab ?? 'the keytab'}: they are outdated (re-export them: kadmin ktadd), check with klist -k ${keytab ?? 'KEYTAB'}`;
      if (/Ticket expired/i.test(message)) return `the ticket of ${principal} in ${this.settings.ccache} has expired: renew it (kinit -kt KEYTAB ${principal}, or k5start), or set kerberos_keytab`;
      if (/does not match desired name/i.test(message)) return `the credential cache ${this.settings.ccache} holds the tickets of another principal than ${principal}`;
      if (/Can't find client principal|No Kerberos credentials|No credentials cache found|credentials cache file .* not found/i.test(message)) {
        return keytab
          ? `no ticket for ${principal}, and the keytab ${keytab} cannot give one: check it with klist -k ${keytab}`
          : `no ticket for ${principal} in ${this.settings.ccache}: run kinit -kt KEYTAB ${principal} (or k5start), or set kerberos_keytab`;
      }
      return `the Kerberos library failed`;
    })();
    return `${this.where}: ${cause} (GSSAPI, for ${service}: ${message})`;
  }
}

/** "[tls.hadoop] identity = kerberos" with the principal, for messages. */
function identityWhere(source: string, origin: string | undefined): string {
  return origin ?? `[tls.${source}] identity = kerberos`;
}

/**
 * The Kerberos identity of a source, checked now: the config file and keytab readable, the principal in
 * the keytab, the ticket of a ccache kept by others present and not expired. Throws CredentialError.
 */
export function loadKerberosIdentity(
  source: string,
  settings: KerberosSettings,
  origin: (key: string) => string | undefined,
  nowMs: number,
): { identity: KerberosIdentity; expiresAtMs?: number } {
  const where = identityWhere(source, origin('identity'));
  if (settings.config) readFileFor(where, settings.config, origin('kerberos_config') ?? `kerberos_config ${settings.config}`, 'the krb5.conf of this source (realms and their KDCs)');
  let principal = settings.principal;
  if (settings.keytab) {
    const setting = origin('kerberos_keytab') ?? 'kerberos_keytab';
    const bytes = readFileFor(where, settings.keytab, origin('kerberos_keytab') ?? `kerberos_keytab ${settings.keytab}`, `the keytab of ${principal ?? 'the principal'} (check: klist -k ${settings.keytab})`);
    let principals: string[];
    try {
      principals = keytabPrincipals(bytes);
    } catch (error) {
      if (!(error instanceof KerberosFileError)) throw error;
      throw new CredentialError(`${where}: ${setting}: ${settings.keytab} is not a keytab MIT can read (${error.message}): check it with klist -k ${settings.keytab}`);
    }
    const held = principals.length ? principals.join(', ') : 'no principal';
    if (principal === undefined) {
      if (principals.length !== 1) throw new CredentialError(`${where}: set kerberos_principal: the keytab ${settings.keytab} holds ${held}`);
      principal = principals[0];
    } else if (!principals.some((found) => samePrincipal(principal as string, found))) {
      throw new CredentialError(`${where}: ${origin('kerberos_principal') ?? `kerberos_principal ${principal}`}: not in the keytab ${settings.keytab}, which holds ${held} (klist -k ${settings.keytab})`);
    }
    const own = settings.ownCcache ? ccacheFile(settings.ccache) : undefined;
    if (own) {
      mkdirSync(path.dirname(own), { recursive: true, mode: 0o700 });
      // This project's cache of another principal (kerberos_principal changed): MIT would refuse to mix them.
      try {
        if (!samePrincipal(principal, ccacheSummary(readFileSync(own)).principal)) rmSync(own, { force: true });
      } catch {
        rmSync(own, { force: true });
      }
    }
    return { identity: new KerberosIdentity(source, settings, principal, where) };
  }
  // Tickets kept by others (kinit, k5start): read what can be read, so an expired one is an error now.
  const file = ccacheFile(settings.ccache);
  if (!file) return { identity: new KerberosIdentity(source, settings, principal, where) };
  const setting = origin('kerberos_ccache') ?? `credential cache ${settings.ccache}`;
  const hint = `get a ticket: kinit -kt KEYTAB ${principal ?? 'PRINCIPAL'} -c ${settings.ccache} (or k5start), or set kerberos_keytab`;
  const bytes = readFileFor(where, file, setting, hint);
  let summary;
  try {
    summary = ccacheSummary(bytes);
  } catch (error) {
    if (!(error instanceof KerberosFileError)) throw error;
    throw new CredentialError(`${where}: ${setting}: ${file} is not a credential cache this project can read (${error.message}): check it with klist -c ${file}`);
  }
  if (principal !== undefined && !samePrincipal(principal, summary.principal)) {
    throw new CredentialError(`${where}: ${setting} holds the tickets of ${summary.principal}, not of kerberos_principal ${principal}: ${hint}`);
  }
  principal ??= summary.principal;
  if (summary.ticketEndMs === undefined) throw new CredentialError(`${where}: ${setting} holds no ticket-granting ticket of ${summary.principal}: ${hint}`);
  if (summary.ticketEndMs <= nowMs) {
    throw new CredentialError(`${where}: the ticket of ${summary.principal} in ${setting} expired at ${iso(summary.ticketEndMs)}: renew it (kinit, or k5start keeps it fresh), or set kerberos_keytab`);
  }
  return { identity: new KerberosIdentity(source, settings, principal, where), expiresAtMs: summary.ticketEndMs };
}

/** Whether a WWW-Authenticate header (or its several values) offers the Negotiate scheme. */
export function offersNegotiate(header: string | string[] | undefined): boolean {
  const values = Array.isArray(header) ? header : header === undefined ? [] : [header];
  return values.some((value) => /(^|,)\s*Negotiate(\s|,|$)/i.test(value));
}

function sameOrigin(url: URL, endpoint: URL): boolean {
  // The scheme counts too: https://h/ and http://h/ have the same (empty) port.
  return url.protocol === endpoint.protocol && url.hostname === endpoint.hostname && url.port === endpoint.port;
}

/** got's context key: this request answered the server's Negotiate challenge. */
const ANSWERING = 'kerberosAnswering';

/**
 * got hooks that present `identity` to the host and port of `endpoint` only. Every request to it gets a
 * fresh token (a redirect back to it too: a token is accepted once) when the source is preemptive, or
 * once the server answered 401 with WWW-Authenticate: Negotiate. Any other host gets none (got drops the
 * header on a redirect there; the hook never adds one).
 */
export function negotiateHooks(identity: KerberosIdentity, endpoint: string): { beforeRequest: BeforeRequestHook[]; afterResponse: AfterResponseHook[] } {
  const target = new URL(endpoint);
  const beforeRequest: BeforeRequestHook = async (options) => {
    const { headers } = options;
    if (typeof headers.authorization === 'string' && /^Negotiate /i.test(headers.authorization)) delete headers.authorization;
    const url = options.url instanceof URL ? options.url : options.url ? new URL(String(options.url)) : undefined;
    if (!url || !sameOrigin(url, target)) return;
    if (identity.settings.preemptive || options.context[ANSWERING] === true) headers.authorization = `Negotiate ${await identity.token(url.hostname)}`;
  };
  const afterResponse: AfterResponseHook = (response, retryWithMergedOptions) => {
    const options = response.request.options;
    const sent = typeof options.headers.authorization === 'string' && /^Negotiate /i.test(options.headers.authorization);
    if (response.statusCode !== 401 || sent || options.context[ANSWERING] === true) return response;
    if (!offersNegotiate(response.headers['www-authenticate']) || !sameOrigin(new URL(response.url), target)) return response;
    return retryWithMergedOptions({ context: { [ANSWERING]: true } });
  };
  return { beforeRequest: [beforeRequest], afterResponse: [afterResponse] };
}

/** What a refusal is told apart by: the final URL, what the server asks for, whether a Negotiate token went. */
export interface RefusedAnswer {
  url: string;
  wwwAuthenticate?: string | string[];
  sentToken: boolean;
}

/** The RefusedAnswer of a got response (`url`: as it may be shown, without credentials). */
export function refusedAnswer(response: { headers: Record<string, string | string[] | undefined>; request: { options: { headers: Record<string, unknown> } } }, url: string): RefusedAnswer {
  const sent = response.request.options.headers.authorization;
  return { url, wwwAuthenticate: response.headers['www-authenticate'], sentToken: typeof sent === 'string' && /^Negotiate /i.test(sent) };
}

/** Why a server answered 401/403 to a request of a Kerberos source, in words. */
export function explainKerberosRefusal(identity: KerberosIdentity, statusCode: number, answer: RefusedAnswer): string {
  if (!answer.sentToken) {
    if (statusCode === 401 && !offersNegotiate(answer.wwwAuthenticate)) {
      const offered = [answer.wwwAuthenticate ?? ''].flat().join(', ') || 'none';
      return `the server does not ask for Negotiate (WWW-Authenticate: ${offered}): is Kerberos (SPNEGO) on for ${answer.url}?`;
    }
    return `no Kerberos token was sent to ${answer.url}: tokens go to the host and port of the configured URL only`;
  }
  if (statusCode === 403) return `${identity.description} was authenticated but is not allowed there: ask the service to grant it`;
  return `the server refused the Kerberos token of ${identity.description}: the server's keytab may not hold HTTP/${new URL(answer.url).hostname} at its current key version, or its clock is off`;
}
