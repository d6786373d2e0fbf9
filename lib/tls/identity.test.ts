/**
 * Identities presented to real servers on loopback: an RFC 3820 proxy made by grid-proxy-init and checked by
 * `openssl s_server -allow_proxy_certs`, a client certificate, and WLCG bearer tokens found by discovery.
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../config/config';
import { SourceFailure } from '../documents/failures';
import { fetchJson } from '../http/get';
import { redact } from '../run/log';
import { makeTestCa, opensslNotAfterMs, serveHttps, serveOpenssl, type TestCa } from '../../test/support/testCa';
import { CredentialError, discoverBearerToken, loadClientTls, tlsSettings, type ClientTls } from './clientTls';
import { sourceFailureOf, thrownBy } from '../../test/support/thrown';

let ca: TestCa;
const closers: Array<() => Promise<void>> = [];

beforeAll(() => {
  ca = makeTestCa();
});

afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

function settingsOf(ini: string, environment: Record<string, string> = {}, source = 'panda') {
  return tlsSettings(Config.parse(ini, 'test.cfg'), source, environment);
}

async function failure(url: string, tls: ClientTls | undefined): Promise<SourceFailure> {
  return sourceFailureOf(fetchJson(url, { source: 'PanDA', timeoutMs: 20_000, tls }));
}


describe('an RFC 3820 proxy made by grid-proxy-init', () => {
  test('is an RFC 3820 proxy of the test user (grid-proxy-info)', async () => {
    const { execFileSync } = await import('node:child_process');
    const info = execFileSync('grid-proxy-info', ['-file', ca.proxy, '-type', '-identity'], { encoding: 'utf8' });
    expect(info).toContain('RFC 3820 compliant impersonation proxy');
    expect(info).toContain(ca.userSubject);
  });

  test('is presented with its chain to a server that requires a client certificate and checks proxy chains', async () => {
    const server = await serveOpenssl(ca.server, ca.caDir, { allowProxies: true });
    closers.push(server.close);
    const tls = loadClientTls(settingsOf(`[tls]\nca_dir = ${ca.caDir}\n[tls.panda]\nidentity = x509_proxy\nx509_proxy = ${ca.proxy}\n`));
    await expect(fetchJson(server.url, { source: 'PanDA', timeoutMs: 20_000, tls })).resolves.toEqual({ ok: true });
    expect(tls.credentialDescription).toBe(`X.509 proxy ${ca.proxy} (DC=org, DC=example, OU=People, CN=Test User)`);
    expect(tls.environment).toEqual({ X509_CERT_DIR: ca.caDir, X509_USER_PROXY: ca.proxy });

    // The same proxy to a server that does not allow proxy certificates is refused: the server really checks the chain.
    const strict = await serveOpenssl(ca.server, ca.caDir, { allowProxies: false });
    closers.push(strict.close);
    const refused = await failure(strict.url, tls);
    expect(refused.failureClass).toBe('tls');
    expect(refused.message).toContain(`PanDA ${strict.url}: the server refused our X.509 proxy ${ca.proxy}`);
  });

  test('without an identity the request fails with "the server asked for a client certificate"', async () => {
    const server = await serveOpenssl(ca.server, ca.caDir, { allowProxies: true });
    closers.push(server.close);
    // X509_USER_PROXY is set, but identity is not: nothing is presented.
    const tls = loadClientTls(settingsOf(`[tls]\nca_dir = ${ca.caDir}\n`, { X509_USER_PROXY: ca.proxy }));
    const refused = await failure(server.url, tls);
    expect(refused.failureClass).toBe('tls');
    expect(refused.message).toContain(
      `PanDA ${server.url}: the server asked for a client certificate and none was sent (identity = none): set identity = x509_proxy or client_cert in [tls.panda]`,
    );
  });

  test("credentialExpiresAtMs is the proxy's notAfter as openssl reads it, and a short proxy is expiring soon", () => {
    // The 12-hour proxy is within the default warning time (3 days), not within 1 hour.
    expect(loadClientTls(settingsOf(`[tls.panda]\nca_dir = none\nidentity = x509_proxy\n`, { X509_USER_PROXY: ca.proxy })).credentialExpiresSoon).toBe(true);
    const tls = loadClientTls(settingsOf(`[tls.panda]\nca_dir = none\nidentity = x509_proxy\nexpiry_warning = 1h\n`, { X509_USER_PROXY: ca.proxy }));
    expect(tls.credentialExpiresAtMs).toBe(opensslNotAfterMs(ca.proxy));
    expect(tls.credentialExpiresSoon).toBe(false);
    expect(tls.warnings).toEqual([]);
    const nowMs = Date.now();
    const short = loadClientTls(settingsOf(`[tls.panda]\nca_dir = none\nidentity = x509_proxy\nexpiry_warning = 1h\n`, { X509_USER_PROXY: ca.shortProxy }), nowMs);
    expect(short.credentialExpiresAtMs).toBe(opensslNotAfterMs(ca.shortProxy));
    expect(short.credentialExpiresSoon).toBe(true);
    expect(short.warnings).toEqual([expect.stringContaining(`[tls.panda]: the X.509 proxy ${ca.shortProxy} (DC=org, DC=example, OU=People, CN=Test User) expires at ${new Date(opensslNotAfterMs(ca.shortProxy)).toISOString()}`)]);
  });

  test('an expired proxy is a CredentialError naming the setting, the file and when it expired', () => {
    const notAfter = opensslNotAfterMs(ca.shortProxy);
    const error = thrownBy(() => loadClientTls(settingsOf(`[tls.panda]\nidentity = x509_proxy\nca_dir = none\n`, { X509_USER_PROXY: ca.shortProxy }), notAfter + 1000));
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.message).toBe(`[tls.panda] identity = x509_proxy: the X.509 proxy ${ca.shortProxy} expired at ${new Date(notAfter).toISOString()}: run voms-proxy-init or grid-proxy-init`);
  });

  test('a missing proxy names the variable that pointed there', () => {
    const missing = path.join(ca.dir, 'x509up_missing');
    const error = thrownBy(() => loadClientTls(settingsOf(`[tls.panda]\nidentity = x509_proxy\nca_dir = none\n`, { X509_USER_PROXY: missing })));
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.message).toBe(`[tls.panda] identity = x509_proxy: X509_USER_PROXY=${missing} does not exist: run voms-proxy-init or grid-proxy-init`);
    const uid = process.getuid?.() ?? 0;
    expect(settingsOf('[tls.panda]\nidentity = x509_proxy\n').x509Proxy).toBe(`/tmp/x509up_u${uid}`);
  });

  test('the proxy is read again on every load (grid-proxy-init renews it in place)', () => {
    const file = path.join(ca.dir, 'x509up_renewed');
    writeFileSync(file, readFileSync(ca.shortProxy), { mode: 0o600 });
    const settings = settingsOf(`[tls.panda]\nca_dir = none\nidentity = x509_proxy\nx509_proxy = ${file}\n`);
    expect(loadClientTls(settings).credentialExpiresAtMs).toBe(opensslNotAfterMs(ca.shortProxy));
    writeFileSync(file, readFileSync(ca.proxy));
    expect(loadClientTls(settings).credentialExpiresAtMs).toBe(opensslNotAfterMs(ca.proxy));
  });
});

describe('a client certificate', () => {
  test('client_cert and client_key are presented to a server that requires a client certificate', async () => {
    const server = await serveHttps(ca.server, { clientCa: ca.caCert });
    closers.push(server.close);
    const tls = loadClientTls(settingsOf(`[tls.panda]\nca_dir = ${ca.caDir}\nidentity = client_cert\nclient_cert = ${ca.user.cert}\nclient_key = ${ca.user.key}\n`));
    await expect(fetchJson(server.url, { source: 'PanDA', timeoutMs: 20_000, tls })).resolves.toEqual({ ok: true });
    expect(server.received).toEqual([{ authorization: undefined, clientSubject: 'DC=org,DC=example,OU=People,CN=Test User' }]);
    expect(tls.credentialExpiresAtMs).toBe(opensslNotAfterMs(ca.user.cert));
    expect(tls.environment).toEqual({ X509_CERT_DIR: ca.caDir, X509_USER_CERT: ca.user.cert, X509_USER_KEY: ca.user.key });
  });

  test('the key may sit in the certificate file; a key of another certificate is refused before any request', () => {
    const both = path.join(ca.dir, 'user-with-key.pem');
    writeFileSync(both, readFileSync(ca.user.cert, 'utf8') + readFileSync(ca.user.key, 'utf8'), { mode: 0o600 });
    const tls = loadClientTls(settingsOf(`[tls.panda]\nca_dir = none\nidentity = client_cert\nclient_cert = ${both}\n`));
    expect(new X509Certificate(tls.agentOptions?.cert as string).subject).toContain('CN=Test User');
    const error = thrownBy(() => loadClientTls(settingsOf(`[tls.panda]\nca_dir = none\nidentity = client_cert\nclient_cert = ${ca.user.cert}\nclient_key = ${ca.server.key}\n`)));
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.message).toContain(`the private key in ${ca.server.key} does not belong to the certificate in ${ca.user.cert}`);
  });

  test('a key file readable by others is a warning, not an error', () => {
    const key = path.join(ca.dir, 'user-open.key');
    writeFileSync(key, readFileSync(ca.user.key));
    chmodSync(key, 0o644);
    const tls = loadClientTls(settingsOf(`[tls.panda]\nca_dir = none\nidentity = client_cert\nclient_cert = ${ca.user.cert}\nclient_key = ${key}\n`));
    expect(tls.warnings).toEqual([`the private key ${key} is readable by group or others (mode 644): chmod 600 ${key}`]);
  });
});

describe('WLCG bearer tokens', () => {
  const uid = process.getuid?.() ?? 0;
  /** Stands for /tmp: the real /tmp/bt_u<uid> may hold an operator's token and is never written here. */
  let temporaryDirectory: string;
  let tmpToken: string;

  beforeAll(() => {
    temporaryDirectory = path.join(ca.dir, 'tmp');
    mkdirSync(temporaryDirectory, { recursive: true });
    tmpToken = path.join(temporaryDirectory, `bt_u${uid}`);
  });

  /** The settings of `ini` for panda, with `environment` and the test's stand-in for /tmp. */
  function tokenSettings(ini: string, environment: Record<string, string>) {
    return { ...settingsOf(ini, environment), temporaryDirectory };
  }

  /** A JWT-shaped token (unsigned: only its exp is read here) expiring at `expSeconds`. */
  function jwt(subject: string, expSeconds: number): string {
    const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ sub: subject, exp: expSeconds, aud: 'https://panda.example' })}.c2lnbmF0dXJl`;
  }

  test('are found in each place of the discovery order, in that order, and sent as Authorization: Bearer', async () => {
    const server = await serveHttps(ca.server);
    closers.push(server.close);
    const runtime = path.join(ca.dir, 'xdg-runtime');
    mkdirSync(runtime, { recursive: true });
    const tokenFile = path.join(ca.dir, 'token-file');
    writeFileSync(tokenFile, '  token-from-bearer-token-file\n', { mode: 0o600 });
    writeFileSync(path.join(runtime, `bt_u${uid}`), 'token-from-xdg-runtime-dir\n', { mode: 0o600 });
    writeFileSync(tmpToken, '\ttoken-from-tmp\n', { mode: 0o600 });
    const environment: Record<string, string> = { BEARER_TOKEN: ' token-from-bearer-token \n', BEARER_TOKEN_FILE: tokenFile, XDG_RUNTIME_DIR: runtime };
    const ini = `[tls]\nca_dir = ${ca.caDir}\n[tls.panda]\nidentity = bearer_token\n`;

    const sent: string[] = [];
    const environments: Array<Record<string, string>> = [];
    const removals = [() => delete environment.BEARER_TOKEN, () => delete environment.BEARER_TOKEN_FILE, () => delete environment.XDG_RUNTIME_DIR, () => rmSync(tmpToken)];
    for (const remove of removals) {
      const tls = loadClientTls(tokenSettings(ini, environment));
      await fetchJson(server.url, { source: 'PanDA', timeoutMs: 20_000, tls });
      sent.push(server.received[server.received.length - 1].authorization as string);
      environments.push(tls.environment);
      remove();
    }
    expect(sent).toEqual(['Bearer token-from-bearer-token', 'Bearer token-from-bearer-token-file', 'Bearer token-from-xdg-runtime-dir', 'Bearer token-from-tmp']);
    // xrdcp children find the same token: an inline one by value (nothing written to disk), else by its file.
    expect(environments.map((variables) => variables.BEARER_TOKEN ?? variables.BEARER_TOKEN_FILE)).toEqual(['token-from-bearer-token', tokenFile, path.join(runtime, `bt_u${uid}`), tmpToken]);

    // Nothing left: the error lists where it looked, and nothing is sent.
    const error = thrownBy(() => loadClientTls(tokenSettings(ini, environment)));
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.message).toBe(
      `[tls.panda] identity = bearer_token: no bearer token found by WLCG discovery; looked at BEARER_TOKEN (not set), BEARER_TOKEN_FILE (not set), $XDG_RUNTIME_DIR/bt_u${uid} (XDG_RUNTIME_DIR not set), ${tmpToken} (does not exist): get one (oidc-token, htgettoken) or set bearer_token_file`,
    );
  });

  test('an explicit bearer_token_file wins over discovery, and no token is sent unless identity = bearer_token', async () => {
    const server = await serveHttps(ca.server);
    closers.push(server.close);
    const file = path.join(ca.dir, 'explicit-token');
    writeFileSync(file, 'explicit-token-value\n', { mode: 0o600 });
    const environment = { BEARER_TOKEN: 'discovered-token-value' };
    const explicit = loadClientTls(settingsOf(`[tls.panda]\nca_dir = ${ca.caDir}\nidentity = bearer_token\nbearer_token_file = ${file}\n`, environment));
    await fetchJson(server.url, { source: 'PanDA', timeoutMs: 20_000, tls: explicit });
    const none = loadClientTls(settingsOf(`[tls]\nca_dir = ${ca.caDir}\nbearer_token_file = ${file}\n`, environment));
    await fetchJson(server.url, { source: 'PanDA', timeoutMs: 20_000, tls: none });
    expect(server.received.map((request) => request.authorization)).toEqual(['Bearer explicit-token-value', undefined]);
  });

  test('a refused token (HTTP 401) is an auth failure with the likely cause, and the token is in no message', async () => {
    const server = await serveHttps(ca.server, { status: 401 });
    closers.push(server.close);
    // One expiry, taken once: the token and the expectation cannot straddle a second boundary.
    const expSeconds = Math.floor(Date.now() / 1000) + 3600;
    const token = jwt('operator', expSeconds);
    const tls = loadClientTls(settingsOf(`[tls.panda]\nca_dir = ${ca.caDir}\nidentity = bearer_token\n`, { BEARER_TOKEN: token }));
    const refused = await failure(server.url, tls);
    expect(server.received[0].authorization).toBe(`Bearer ${token}`);
    expect(refused.failureClass).toBe('auth');
    expect(refused.message).toContain(`PanDA ${server.url}: HTTP 401 Unauthorized: the token was refused (bearer token from BEARER_TOKEN, expires `);
    expect(refused.message).toContain('audience/scope?');
    expect(refused.message).not.toContain(token);
    expect(tls.credentialExpiresAtMs).toBe(expSeconds * 1000);
    // Within the default warning of 3d: said once, with the expiry once.
    const expiry = new Date(expSeconds * 1000).toISOString();
    expect(tls.warnings).toHaveLength(1);
    expect(tls.warnings?.[0].startsWith(`[tls.panda]: the bearer token from BEARER_TOKEN expires at ${expiry} (in `)).toBe(true);
    expect(tls.warnings?.[0].split('expires').length).toBe(2);
    // Registered as a secret: a log line that would carry it shows *** instead.
    expect(redact(`sent ${tls.authorization}`)).toBe('sent Bearer ***');
  });

  test('an expired JWT is a CredentialError from its exp claim, without the token', () => {
    const expSeconds = Math.floor(Date.now() / 1000) - 60;
    const token = jwt('operator', expSeconds);
    const error = thrownBy(() => loadClientTls(settingsOf(`[tls.panda]\nidentity = bearer_token\n`, { BEARER_TOKEN: token })));
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.message).toBe(`[tls.panda] identity = bearer_token: the bearer token from BEARER_TOKEN expired at ${new Date(expSeconds * 1000).toISOString()} (its exp claim): get a new one`);
    expect(error.message).not.toContain(token);
  });

  test('a token is never sent over plain http', async () => {
    const tls = loadClientTls(settingsOf(`[tls.panda]\nidentity = bearer_token\nbearer_token = inline-secret-token\n`));
    const refused = await failure('http://127.0.0.1:9/data.json', tls);
    expect(refused.failureClass).toBe('auth');
    expect(refused.message).toBe('PanDA http://127.0.0.1:9/data.json: [tls.panda] identity = bearer_token, but the URL is plain http: a token is sent over https only');
    expect(tls.environment).toEqual({ BEARER_TOKEN: 'inline-secret-token' });
  });

  test('BEARER_TOKEN_FILE naming a missing or unreadable file is an error naming the variable: discovery does not go on to the next places', () => {
    writeFileSync(tmpToken, 'token-from-tmp\n', { mode: 0o600 });
    const runtime = path.join(ca.dir, 'xdg-runtime-chosen');
    mkdirSync(runtime, { recursive: true });
    writeFileSync(path.join(runtime, `bt_u${uid}`), 'token-from-xdg-runtime-dir\n', { mode: 0o600 });
    const ini = `[tls.panda]\nca_dir = none\nidentity = bearer_token\n`;
    const missing = path.join(ca.dir, 'no-such-token');
    const gone = thrownBy(() => loadClientTls(tokenSettings(ini, { BEARER_TOKEN_FILE: missing, XDG_RUNTIME_DIR: runtime })));
    expect(gone).toBeInstanceOf(CredentialError);
    expect(gone.message).toBe(
      `[tls.panda] identity = bearer_token: WLCG discovery: BEARER_TOKEN_FILE=${missing} does not exist: fix the variable or get the token (discovery does not go on to other places when BEARER_TOKEN_FILE names one)`,
    );
    // Root reads any file: a directory is what cannot be read here.
    const directory = path.join(ca.dir, 'token-directory');
    mkdirSync(directory, { recursive: true });
    const unreadable = thrownBy(() => loadClientTls(tokenSettings(ini, { BEARER_TOKEN_FILE: directory })));
    expect(unreadable).toBeInstanceOf(CredentialError);
    expect(unreadable.message).toBe(
      `[tls.panda] identity = bearer_token: WLCG discovery: BEARER_TOKEN_FILE=${directory} is a directory: fix the variable or the file (discovery does not go on to other places when BEARER_TOKEN_FILE names one)`,
    );
    // An empty file is skipped, as the spec says: the next place's token is used.
    const empty = path.join(ca.dir, 'empty-token');
    writeFileSync(empty, ' \n', { mode: 0o600 });
    const next = loadClientTls(tokenSettings(ini, { BEARER_TOKEN_FILE: empty, XDG_RUNTIME_DIR: runtime }));
    expect(next.authorization).toBe('Bearer token-from-xdg-runtime-dir');
    rmSync(tmpToken);
  });

  test('the last place is /tmp/bt_u<uid> by default (read, never written, by this test)', () => {
    const tried: string[] = [];
    const found = discoverBearerToken({}, tried);
    // This machine may hold a real token there: then it is what was found, else the last place tried.
    const lastPlace = found ? found.file : tried[tried.length - 1];
    expect(lastPlace).toMatch(new RegExp(`^/tmp/bt_u${uid}(?: \\((?:does not exist|empty)\\))?$`));
    expect(tried.slice(0, 3)).toEqual(['BEARER_TOKEN (not set)', 'BEARER_TOKEN_FILE (not set)', `$XDG_RUNTIME_DIR/bt_u${uid} (XDG_RUNTIME_DIR not set)`]);
  });
});
