/**
 * [tls] and [tls.<source>] of the config, key by key (the source's section wins), with the grid
 * defaults resolved to paths: nothing is read here but the config and the environment.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type Config, type ConfigSection } from '../config/config';
import { pathsFrom } from '../config/paths';
import { parseDuration } from '../run/slot';
import type { IdentityKind, TlsSettings } from './clientTls';
import { KERBEROS_SOURCES, type KerberosSettings } from './kerberos';

/** Every key of [tls] and [tls.<source>]. */
export const TLS_KEYS = [
  'ca_dir',
  'ca_file',
  'public_roots',
  'crl',
  'identity',
  'client_cert',
  'client_key',
  'x509_proxy',
  'bearer_token',
  'bearer_token_file',
  'expiry_warning',
  'kerberos_keytab',
  'kerberos_principal',
  'kerberos_ccache',
  'kerberos_config',
  'kerberos_preemptive',
] as const;
export type TlsKey = (typeof TLS_KEYS)[number];

const IDENTITIES: readonly IdentityKind[] = ['none', 'client_cert', 'x509_proxy', 'bearer_token', 'kerberos'];
/**
 * Keys that choose or hold what is presented: per source only. In [tls] they would reach every source, web
 * probes of third-party sites included, and any of them could replay the credential. Locations (x509_proxy,
 * client_cert, client_key, bearer_token_file) may be shared: they present nothing by themselves.
 */
const PER_SOURCE_KEYS: readonly TlsKey[] = ['identity', 'bearer_token'];
export const GRID_CA_DIR = '/etc/grid-security/certificates';
const DEFAULT_EXPIRY_WARNING = '3d';

export type Environment = Readonly<Record<string, string | undefined>>;

/** The uid of this process, for the grid's per-user default file names. */
export function userId(): number {
  return process.getuid?.() ?? 0;
}

/** A non-empty environment variable, or undefined. */
function variable(environment: Environment, name: string): string | undefined {
  const value = environment[name];
  return value !== undefined && value.trim() !== '' ? value : undefined;
}

/**
 * The settings of `source`: [tls] then [tls.<source>] key by key. `environment` is the process's,
 * unless a test passes its own. Unknown keys of both sections are left unread, so the run's
 * config check reports them like any other typo (tlsConfigWarnings).
 */
export function tlsSettings(config: Config, source: string, environment: Environment = process.env): TlsSettings {
  const sourceSection = config.section(`tls.${source}`);
  const defaultSection = config.section('tls');
  for (const key of PER_SOURCE_KEYS) {
    if (defaultSection.has(key)) {
      if (key === 'bearer_token') defaultSection.secret(key); // never logged, even when refused
      throw new ConfigError(
        `${config.file}: [tls] ${key}: set it per source, in [tls.<source>] (e.g. [tls.${source}]): in [tls] it would be presented to every source, web probes of third-party sites included, and any of them could replay it`,
      );
    }
  }
  const origins = new Map<TlsKey, string>();
  /** The section that sets `key`: the source's, else [tls], else none. */
  const sectionFor = (key: TlsKey): ConfigSection | undefined => {
    if (sourceSection.has(key)) return sourceSection;
    if (defaultSection.has(key)) return defaultSection;
    return undefined;
  };
  const configured = <T>(key: TlsKey, read: (section: ConfigSection) => T): T | undefined => {
    const section = sectionFor(key);
    if (!section) return undefined;
    const value = read(section);
    origins.set(key, `[${section.name}] ${key} = ${key === 'bearer_token' ? '***' : section.optionalString(key)}`);
    return value;
  };

  let caDir: string | undefined;
  const caDirText = configured('ca_dir', (section) => section.string('ca_dir'));
  if (caDirText !== undefined) {
    caDir = caDirText.trim().toLowerCase() === 'none' ? undefined : (sectionFor('ca_dir') as ConfigSection).path('ca_dir');
  } else if (variable(environment, 'X509_CERT_DIR')) {
    caDir = variable(environment, 'X509_CERT_DIR');
    origins.set('ca_dir', `X509_CERT_DIR=${caDir}`);
  } else if (existsSync(GRID_CA_DIR)) {
    caDir = GRID_CA_DIR;
    origins.set('ca_dir', `the default ${GRID_CA_DIR}`);
  }

  const caFile = configured('ca_file', (section) => section.path('ca_file'));
  const publicRoots = configured('public_roots', (section) => section.bool('public_roots')) ?? true;
  const crl = configured('crl', (section) => {
    const value = section.string('crl').trim().toLowerCase();
    if (value !== 'auto' && value !== 'off') throw new ConfigError(`${config.file}: [${section.name}] crl must be auto or off, got "${value}"`);
    return value;
  }) ?? 'auto';
  const identity = configured('identity', (section) => {
    const value = section.string('identity').trim().toLowerCase() as IdentityKind;
    if (!IDENTITIES.includes(value)) throw new ConfigError(`${config.file}: [${section.name}] identity must be one of ${IDENTITIES.join(', ')}, got "${value}"`);
    return value;
  }) ?? 'none';

  const clientCert = configured('client_cert', (section) => section.path('client_cert'));
  let clientKey = configured('client_key', (section) => section.path('client_key'));
  if (clientKey === undefined && clientCert !== undefined) {
    // The key may sit in the certificate's file (as in a proxy).
    clientKey = clientCert;
    origins.set('client_key', `${origins.get('client_cert')} (no client_key: the key is looked for in that file)`);
  }

  let x509Proxy = configured('x509_proxy', (section) => section.path('x509_proxy'));
  if (x509Proxy === undefined) {
    const fromEnvironment = variable(environment, 'X509_USER_PROXY');
    x509Proxy = fromEnvironment ?? `/tmp/x509up_u${userId()}`;
    origins.set('x509_proxy', fromEnvironment ? `X509_USER_PROXY=${x509Proxy}` : `the default ${x509Proxy} (X509_USER_PROXY is not set)`);
  }

  const bearerToken = configured('bearer_token', (section) => section.secret('bearer_token').trim());
  const bearerTokenFile = configured('bearer_token_file', (section) => section.path('bearer_token_file'));
  const expiryWarningMs = configured('expiry_warning', (section) => section.duration('expiry_warning')) ?? parseDuration(DEFAULT_EXPIRY_WARNING);
  let kerberos: KerberosSettings | undefined;
  if (identity === 'kerberos') {
    if (!KERBEROS_SOURCES.includes(source)) {
      throw new ConfigError(`${config.file}: [tls.${source}] identity = kerberos: ${source} does not speak HTTP through lib/http or the web probe, so it cannot present a Kerberos (SPNEGO) identity (sources that can: ${KERBEROS_SOURCES.join(', ')})`);
    }
    kerberos = kerberosSettings(config, source, environment, configured, origins);
  }

  const settings: TlsSettings = {
    source,
    caDir,
    caFile,
    publicRoots,
    crl,
    identity,
    clientCert,
    clientKey,
    x509Proxy,
    bearerToken,
    bearerTokenFile,
    expiryWarningMs,
    kerberos,
    environmentVariables: environment,
    origin: (key) => origins.get(key),
    describe: () => describeSettings(settings, origins),
  };
  return settings;
}

/**
 * identity = kerberos: a keytab gives tickets into this project's cache var/state/kerberos/<source>.ccache
 * (kerberos_ccache may name another); without a keytab, tickets are read from kerberos_ccache, else
 * KRB5CCNAME, else /tmp/krb5cc_<uid>, as kinit leaves them.
 */
function kerberosSettings(
  config: Config,
  source: string,
  environment: Environment,
  configured: <T>(key: TlsKey, read: (section: ConfigSection) => T) => T | undefined,
  origins: Map<TlsKey, string>,
): KerberosSettings {
  const keytab = configured('kerberos_keytab', (section) => section.path('kerberos_keytab'));
  const principal = configured('kerberos_principal', (section) => section.string('kerberos_principal').trim()) || undefined;
  // A ccache name with a type (FILE:, DIR:, KEYRING:, KCM:) is MIT's; a bare one is a file, relative to the project.
  const configuredCcache = configured('kerberos_ccache', (section) => (/^[A-Za-z0-9]+:/.test(section.string('kerberos_ccache').trim()) ? section.string('kerberos_ccache').trim() : `FILE:${section.path('kerberos_ccache')}`));
  const kerberosConfig = configured('kerberos_config', (section) => section.path('kerberos_config'));
  const preemptive = configured('kerberos_preemptive', (section) => section.bool('kerberos_preemptive')) ?? false;
  let ccache = configuredCcache;
  let ownCcache = false;
  if (ccache === undefined) {
    if (keytab !== undefined) {
      ccache = `FILE:${path.join(pathsFrom(config).state, 'kerberos', `${source}.ccache`)}`;
      ownCcache = true;
      origins.set('kerberos_ccache', `this project's ${ccache} (filled from the keytab)`);
    } else {
      const fromEnvironment = variable(environment, 'KRB5CCNAME');
      ccache = fromEnvironment ?? `FILE:/tmp/krb5cc_${userId()}`;
      origins.set('kerberos_ccache', fromEnvironment ? `KRB5CCNAME=${ccache}` : `the default ${ccache} (KRB5CCNAME is not set)`);
    }
  }
  return { keytab, principal, ccache, ownCcache, config: kerberosConfig, preemptive };
}

/** "[tls.panda]: ca_dir /x (X509_CERT_DIR=/x), crl auto, public CAs as fallback, identity x509_proxy /tmp/x509up_u0 (the default ...)". */
function describeSettings(settings: TlsSettings, origins: Map<TlsKey, string>): string {
  const parts: string[] = [];
  const from = (key: TlsKey): string => (origins.has(key) ? ` (${origins.get(key)})` : '');
  if (settings.caDir) parts.push(`ca_dir ${settings.caDir}${from('ca_dir')}`);
  else parts.push(origins.has('ca_dir') ? `no ca_dir${from('ca_dir')}` : `no ca_dir (X509_CERT_DIR unset, ${GRID_CA_DIR} absent)`);
  if (settings.caFile) parts.push(`ca_file ${settings.caFile}${from('ca_file')}`);
  if (settings.caDir || settings.caFile) {
    parts.push(`crl ${settings.crl}`);
    parts.push(settings.publicRoots ? "Node's public CAs as fallback" : "no public CAs (public_roots = no)");
  } else {
    parts.push("Node's public CAs");
  }
  switch (settings.identity) {
    case 'none':
      parts.push('identity none');
      break;
    case 'x509_proxy':
      parts.push(`identity x509_proxy ${settings.x509Proxy}${from('x509_proxy')}`);
      break;
    case 'client_cert':
      parts.push(`identity client_cert ${settings.clientCert ?? '(client_cert not set)'}${from('client_cert')}, key ${settings.clientKey ?? '-'}`);
      break;
    case 'bearer_token':
      parts.push(
        settings.bearerToken !== undefined
          ? `identity bearer_token${from('bearer_token')}`
          : settings.bearerTokenFile !== undefined
            ? `identity bearer_token from ${settings.bearerTokenFile}${from('bearer_token_file')}`
            : 'identity bearer_token (WLCG discovery: BEARER_TOKEN, BEARER_TOKEN_FILE, $XDG_RUNTIME_DIR/bt_u<uid>, /tmp/bt_u<uid>)',
      );
      break;
    case 'kerberos': {
      const kerberos = settings.kerberos as KerberosSettings;
      const keytab = kerberos.keytab ? `, keytab ${kerberos.keytab}` : '';
      const krb5 = kerberos.config ? `, kerberos_config ${kerberos.config}` : '';
      parts.push(`identity kerberos ${kerberos.principal ?? '(principal of the keytab or ccache)'}${keytab}, ccache ${kerberos.ccache}${krb5}, ${kerberos.preemptive ? 'token on the first request' : 'token when the server asks (401 Negotiate)'}`);
      break;
    }
  }
  return `[tls.${settings.source}]: ${parts.join(', ')}`;
}

/** Keys of [tls] and every [tls.*] section that are not settings: config typos, as warnings. */
export function tlsConfigWarnings(config: Config): string[] {
  const names = [...(config.hasSection('tls') ? ['tls'] : []), ...config.sectionNames().filter((name) => name.startsWith('tls.'))];
  const known = new Set<string>(TLS_KEYS);
  return names.flatMap((name) =>
    config
      .sectionKeys(name)
      .filter((key) => !known.has(key))
      .map((key) => `${config.file}: [${name}] ${key} is not a TLS setting (a typo? the keys are ${TLS_KEYS.join(', ')})`),
  );
}
