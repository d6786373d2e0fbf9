/**
 * The identity a source presents, read again on every load (voms-proxy-init, grid-proxy-init, oidc-agent
 * and htgettoken renew these files): a client certificate, an RFC 3820 proxy, or a WLCG bearer token.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { registerSecret } from '../run/log';
import type { TlsSettings } from './clientTls';
import { CredentialError } from './errors';
import { type KerberosIdentity, loadKerberosIdentity } from './kerberos';
import { userId } from './settings';
import { pemBlocks } from './trust';

export interface LoadedIdentity {
  cert?: string;
  key?: string;
  authorization?: string;
  /** identity = kerberos: makes a fresh Negotiate token per request. */
  kerberos?: KerberosIdentity;
  expiresAtMs?: number;
  description?: string;
  environment: Record<string, string>;
  warnings: string[];
}

/** "[tls.panda] identity = x509_proxy": the start of every identity error. */
function identityWhere(settings: TlsSettings): string {
  return settings.origin?.('identity') ?? `[tls.${settings.source}] identity = ${settings.identity}`;
}

function readCredentialFile(settings: TlsSettings, file: string, setting: string, hint: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : `cannot be read (${(error as Error).message})`;
    throw new CredentialError(`${identityWhere(settings)}: ${setting} ${why}${hint ? `: ${hint}` : ''}`);
  }
}

function certificateOf(settings: TlsSettings, pem: string, file: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new CredentialError(`${identityWhere(settings)}: ${file} holds a certificate that cannot be parsed: ${(error as Error).message}`);
  }
}

/** notAfter as UTC ms (Node 20's X509Certificate has only the text form). */
function notAfterMs(certificate: X509Certificate): number {
  return Date.parse(certificate.validTo);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A key file others can read is a leak waiting to happen, but not a reason to stop the run. */
function keyPermissionWarning(file: string): string | undefined {
  try {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) return `the private key ${file} is readable by group or others (mode ${mode.toString(8)}): chmod 600 ${file}`;
  } catch {
    // unreadable files fail elsewhere, with their setting
  }
  return undefined;
}

/** The certificates and the single private key of PEM files, checked against each other and the clock. */
function certificateIdentity(
  settings: TlsSettings,
  options: { certText: string; certFile: string; keyText: string; keyFile: string; kind: string; chainExpiry: boolean },
  nowMs: number,
): { cert: string; key: string; expiresAtMs: number; subject: string } {
  const where = identityWhere(settings);
  const certificates = pemBlocks(options.certText).filter((block) => block.label === 'CERTIFICATE');
  if (!certificates.length) throw new CredentialError(`${where}: ${options.certFile} holds no PEM certificate`);
  const keys = pemBlocks(options.keyText).filter((block) => block.label.endsWith('PRIVATE KEY'));
  if (!keys.length) throw new CredentialError(`${where}: ${options.keyFile} holds no PEM private key`);
  if (keys[0].label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type: 4,ENCRYPTED/.test(keys[0].text)) {
    throw new CredentialError(`${where}: the private key in ${options.keyFile} is encrypted: a job cannot type its passphrase; use a proxy (grid-proxy-init) or an unencrypted key readable only by this user`);
  }
  const parsed = certificates.map((block) => certificateOf(settings, block.text, options.certFile));
  const leaf = parsed[0];
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(keys[0].text))) throw new Error('mismatch');
  } catch (error) {
    const detail = (error as Error).message === 'mismatch' ? 'does not belong to' : `cannot be read with (${(error as Error).message})`;
    throw new CredentialError(`${where}: the private key in ${options.keyFile} ${detail} the certificate in ${options.certFile} (${leaf.subject.replace(/\n/g, ', ')})`);
  }
  const notBefore = Date.parse(leaf.validFrom);
  if (notBefore > nowMs) throw new CredentialError(`${where}: the ${options.kind} ${options.certFile} is not valid before ${iso(notBefore)} (is the clock right?)`);
  // A proxy chain breaks at its first expiry: the proxy, or the user certificate it was made from.
  const expiring = options.chainExpiry ? parsed.reduce((first, certificate) => (notAfterMs(certificate) < notAfterMs(first) ? certificate : first)) : leaf;
  const expiresAtMs = notAfterMs(expiring);
  if (expiresAtMs <= nowMs) {
    const which = expiring === leaf ? `the ${options.kind}` : `the certificate ${expiring.subject.replace(/\n/g, ', ')} in the ${options.kind}'s chain`;
    const renew = options.kind === 'X.509 proxy' ? ': run voms-proxy-init or grid-proxy-init' : '';
    throw new CredentialError(`${where}: ${which} ${options.certFile} expired at ${iso(expiresAtMs)}${renew}`);
  }
  // The user's DN, for messages: the last certificate that is not a proxy's (the EEC); a leaf for a plain certificate.
  const isProxy = (certificate: X509Certificate): boolean => /CN=(\d+|proxy|limited proxy)$/.test(certificate.subject.split('\n').join(','));
  const owner = options.chainExpiry ? ([...parsed].reverse().find((certificate) => !isProxy(certificate)) ?? leaf) : leaf;
  return { cert: certificates.map((block) => block.text).join(''), key: keys[0].text, expiresAtMs, subject: owner.subject.replace(/\n/g, ', ') };
}

function proxyIdentity(settings: TlsSettings, nowMs: number): LoadedIdentity {
  const file = settings.x509Proxy as string;
  const pointer = settings.origin?.('x509_proxy') ?? file;
  const text = readCredentialFile(settings, file, pointer, 'run voms-proxy-init or grid-proxy-init');
  const loaded = certificateIdentity(settings, { certText: text, certFile: file, keyText: text, keyFile: file, kind: 'X.509 proxy', chainExpiry: true }, nowMs);
  const warning = keyPermissionWarning(file);
  return {
    cert: loaded.cert,
    key: loaded.key,
    expiresAtMs: loaded.expiresAtMs,
    description: `X.509 proxy ${file} (${loaded.subject})`,
    environment: { X509_USER_PROXY: file },
    warnings: warning ? [warning] : [],
  };
}

function clientCertificateIdentity(settings: TlsSettings, nowMs: number): LoadedIdentity {
  const where = identityWhere(settings);
  if (!settings.clientCert) throw new CredentialError(`${where}: client_cert is not set (the PEM certificate to present)`);
  const certFile = settings.clientCert;
  const keyFile = settings.clientKey ?? certFile;
  const certText = readCredentialFile(settings, certFile, settings.origin?.('client_cert') ?? certFile, '');
  const keyText = keyFile === certFile ? certText : readCredentialFile(settings, keyFile, settings.origin?.('client_key') ?? keyFile, '');
  const loaded = certificateIdentity(settings, { certText, certFile, keyText, keyFile, kind: 'client certificate', chainExpiry: false }, nowMs);
  const warning = keyPermissionWarning(keyFile);
  return {
    cert: loaded.cert,
    key: loaded.key,
    expiresAtMs: loaded.expiresAtMs,
    description: `client certificate ${certFile} (${loaded.subject})`,
    environment: { X509_USER_CERT: certFile, X509_USER_KEY: keyFile },
    warnings: warning ? [warning] : [],
  };
}

/** The `exp` claim of a JWT, as UTC ms; undefined for a token that is not a JWT or has no exp. */
export function jwtExpiryMs(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

interface FoundToken {
  token: string;
  /** "BEARER_TOKEN_FILE=/path", "$XDG_RUNTIME_DIR/bt_u0 (/run/user/0/bt_u0)": where it was found. */
  place: string;
  /** The file it was read from, for BEARER_TOKEN_FILE of child processes. */
  file?: string;
}

function readTokenFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Why a token file could not be read, in words. */
function unreadable(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES') return 'is not readable by this user';
  if (code === 'EISDIR') return 'is a directory';
  return `cannot be read (${code ?? (error as Error).message})`;
}

/**
 * WLCG Bearer Token Discovery (WLCG AuthZ WG, "Bearer Token Discovery"): BEARER_TOKEN, else the file
 * BEARER_TOKEN_FILE names, else $XDG_RUNTIME_DIR/bt_u<uid>, else <temporaryDirectory>/bt_u<uid> (/tmp
 * unless a test passes its own); whitespace trimmed, an empty token skipped as the spec says.
 * `tried` collects each place looked at, for the error when none holds a token.
 *
 * BEARER_TOKEN_FILE is a choice (a tool sets it to the token meant for this purpose), so a file it names
 * that is missing or unreadable throws a CredentialError naming the variable: the spec continues after
 * an empty token only, and going on would present another token. A default place that exists but
 * cannot be read throws too; one that does not exist is skipped.
 */
export function discoverBearerToken(environment: Readonly<Record<string, string | undefined>>, tried: string[] = [], temporaryDirectory = '/tmp'): FoundToken | undefined {
  const uid = userId();
  const inline = environment.BEARER_TOKEN?.trim();
  if (inline) return { token: inline, place: 'BEARER_TOKEN' };
  tried.push('BEARER_TOKEN (not set)');
  const chosen = environment.BEARER_TOKEN_FILE;
  if (chosen) {
    let token: string | undefined;
    try {
      token = readTokenFile(chosen);
    } catch (error) {
      throw new CredentialError(`BEARER_TOKEN_FILE=${chosen} ${unreadable(error)}: fix the variable or the file (discovery does not go on to other places when BEARER_TOKEN_FILE names one)`);
    }
    if (token === undefined) throw new CredentialError(`BEARER_TOKEN_FILE=${chosen} does not exist: fix the variable or get the token (discovery does not go on to other places when BEARER_TOKEN_FILE names one)`);
    if (token) return { token, place: `BEARER_TOKEN_FILE=${chosen}`, file: chosen };
    tried.push(`BEARER_TOKEN_FILE=${chosen} (empty)`);
  } else {
    tried.push('BEARER_TOKEN_FILE (not set)');
  }
  const places: Array<{ file: string; place: string }> = [];
  if (environment.XDG_RUNTIME_DIR) places.push({ file: path.join(environment.XDG_RUNTIME_DIR, `bt_u${uid}`), place: `$XDG_RUNTIME_DIR/bt_u${uid}` });
  else tried.push(`$XDG_RUNTIME_DIR/bt_u${uid} (XDG_RUNTIME_DIR not set)`);
  const last = path.join(temporaryDirectory, `bt_u${uid}`);
  places.push({ file: last, place: last });
  for (const candidate of places) {
    const shown = candidate.place === candidate.file ? candidate.file : `${candidate.place} (${candidate.file})`;
    let token: string | undefined;
    try {
      token = readTokenFile(candidate.file);
    } catch (error) {
      throw new CredentialError(`${shown} ${unreadable(error)}: fix its permissions, or remove it`);
    }
    if (token) return { token, place: shown, file: candidate.file };
    tried.push(`${candidate.place === candidate.file ? candidate.file : `${candidate.place} = ${candidate.file}`} (${token === undefined ? 'does not exist' : 'empty'})`);
  }
  return undefined;
}

function tokenIdentity(settings: TlsSettings, nowMs: number): LoadedIdentity {
  const where = identityWhere(settings);
  let found: FoundToken;
  if (settings.bearerToken !== undefined) {
    found = { token: settings.bearerToken, place: settings.origin?.('bearer_token') ?? 'bearer_token' };
  } else if (settings.bearerTokenFile !== undefined) {
    const pointer = settings.origin?.('bearer_token_file') ?? settings.bearerTokenFile;
    const token = readCredentialFile(settings, settings.bearerTokenFile, pointer, '').trim();
    found = { token, place: pointer, file: settings.bearerTokenFile };
  } else {
    const tried: string[] = [];
    let discovered: FoundToken | undefined;
    try {
      discovered = discoverBearerToken(settings.environmentVariables ?? process.env, tried, settings.temporaryDirectory);
    } catch (error) {
      throw error instanceof CredentialError ? new CredentialError(`${where}: WLCG discovery: ${error.message}`) : error;
    }
    if (!discovered) throw new CredentialError(`${where}: no bearer token found by WLCG discovery; looked at ${tried.join(', ')}: get one (oidc-token, htgettoken) or set bearer_token_file`);
    found = discovered;
  }
  registerSecret(found.token);
  if (!found.token) throw new CredentialError(`${where}: the bearer token from ${found.place} is empty`);
  if (/\s/.test(found.token)) throw new CredentialError(`${where}: the bearer token from ${found.place} has white space inside: not a single token`);
  const expiresAtMs = jwtExpiryMs(found.token);
  if (expiresAtMs !== undefined && expiresAtMs <= nowMs) throw new CredentialError(`${where}: the bearer token from ${found.place} expired at ${iso(expiresAtMs)} (its exp claim): get a new one`);
  // Children (xrdcp) find the same token the same way: a file by name, an inline token by value (nothing written to disk).
  const environment: Record<string, string> = found.file ? { BEARER_TOKEN_FILE: found.file } : { BEARER_TOKEN: found.token };
  return {
    authorization: `Bearer ${found.token}`,
    expiresAtMs,
    description: `bearer token from ${found.place}`,
    environment,
    warnings: [],
  };
}

/** The identity of `settings`, read now; none unless identity says so. */
export function loadIdentity(settings: TlsSettings, nowMs: number): LoadedIdentity {
  switch (settings.identity) {
    case 'x509_proxy':
      return proxyIdentity(settings, nowMs);
    case 'client_cert':
      return clientCertificateIdentity(settings, nowMs);
    case 'bearer_token':
      return tokenIdentity(settings, nowMs);
    case 'kerberos': {
      const loaded = loadKerberosIdentity(settings.source, settings.kerberos as NonNullable<TlsSettings['kerberos']>, (key) => settings.origin?.(key as never), nowMs);
      return { kerberos: loaded.identity, expiresAtMs: loaded.expiresAtMs, description: loaded.identity.description, environment: {}, warnings: [] };
    }
    case 'none':
      return { environment: {}, warnings: [] };
  }
}
