/**
 * identity = kerberos against a real MIT KDC (krb5kdc on loopback, test/support/kerberos.ts) and loopback
 * HTTP servers that check the Negotiate token with the same library (test/support/kerberosServer.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../config/paths';
import { MemoryLogger } from '../run/log';
import { RunCredentials } from '../run/runCredentials';
import { Config, ConfigError } from '../config/config';
import { SourceFailure } from '../documents/failures';
import { fetchJson } from '../http/get';
import { probe } from '../../collectors/web/probe';
import { freePort } from '../../test/support/ports';
import { testDir } from '../../test/support/services';
import { startKdc, TEST_REALM, type TestKdc } from '../../test/support/kerberos';
import { type NegotiateServer, serveNegotiate } from '../../test/support/kerberosServer';
import { makeTestCa, type TestCa } from '../../test/support/testCa';
import { type DualServer, serveHttpsAndHttp } from '../../test/support/dualServer';
import { type ClientTls, CredentialError, loadClientTls, tlsSettings } from './clientTls';
import { ccacheSummary, keytabPrincipals } from './kerberosFiles';
import { sourceFailureOf, thrownBy } from '../../test/support/thrown';

let kdc: TestKdc;
/** HTTP/localhost's server: /hop redirects to /landing on itself, /away to `other` (another host). */
let server: NegotiateServer;
/** On 127.0.0.1: another host for the client, which never derives HTTP@127.0.0.1 from localhost's token. */
let other: NegotiateServer;
/** Holds the keys of HTTP/elsewhere only: it cannot read a token made for HTTP/localhost. */
let wrongService: NegotiateServer;
let varDir: string;
let ca: TestCa;
/** https and plain http on one port of 127.0.0.1 (a certificate of the test CA): /to-plain redirects to http. */
let dual: DualServer;
const keytabs: Record<string, string> = {};

const MONIT = `monit@${TEST_REALM}`;
const SECOND = `second@${TEST_REALM}`;

beforeAll(async () => {
  kdc = await startKdc();
  kdc.addPrincipals('HTTP/localhost', 'HTTP/127.0.0.1', 'HTTP/elsewhere', 'monit', 'second', 'gone', 'stale');
  keytabs.http = kdc.keytab('http.keytab', 'HTTP/localhost');
  keytabs.elsewhere = kdc.keytab('elsewhere.keytab', 'HTTP/elsewhere');
  keytabs.monit = kdc.keytab('monit.keytab', 'monit');
  keytabs.second = kdc.keytab('second.keytab', 'second');
  keytabs.both = kdc.keytab('both.keytab', 'monit', 'second');
  keytabs.gone = kdc.keytab('gone.keytab', 'gone');
  kdc.deletePrincipal('gone');
  keytabs.stale = kdc.keytab('stale.keytab', 'stale');
  kdc.newKeys('stale');
  other = await serveNegotiate({ keytab: keytabs.http, krb5Config: kdc.krb5Config, host: '127.0.0.1' });
  server = await serveNegotiate({
    keytab: keytabs.http,
    krb5Config: kdc.krb5Config,
    redirects: { '/hop': (port) => `http://localhost:${port}/landing`, '/away': () => `${other.url}/landing` },
  });
  wrongService = await serveNegotiate({ keytab: keytabs.elsewhere, krb5Config: kdc.krb5Config, service: 'HTTP@elsewhere' });
  varDir = testDir('kerberos-var');
  ca = makeTestCa();
  dual = await serveHttpsAndHttp(ca.server, { '/to-plain': (port) => `http://127.0.0.1:${port}/landing`, '/to-plain-challenge': (port) => `http://127.0.0.1:${port}/challenge` }, ['/challenge']);
}, 600_000);

afterAll(async () => {
  await server?.close();
  await other?.close();
  await wrongService?.close();
  await dual?.close();
  await kdc?.stop();
});

/** [tls.<source>] identity = kerberos with these keys, kerberos_config the test KDC's. */
function ini(source: string, keys: Record<string, string>): string {
  const lines = Object.entries({ identity: 'kerberos', kerberos_config: kdc.krb5Config, ...keys }).map(([key, value]) => `${key} = ${value}`);
  return `[tls.${source}]\n${lines.join('\n')}\n`;
}

function load(text: string, source = 'hadoop', nowMs = Date.now()): ClientTls {
  return loadClientTls(tlsSettings(Config.parse(`[paths]\nvar = ${varDir}\n${text}`, 'test.cfg'), source, {}), nowMs);
}

async function get(url: string, tls: ClientTls): Promise<{ user: string; path: string }> {
  return (await fetchJson(url, { source: 'NameNode', timeoutMs: 20_000, tls })) as { user: string; path: string };
}

async function failure(url: string, tls: ClientTls): Promise<SourceFailure> {
  return sourceFailureOf(get(url, tls));
}


describe('a keytab', () => {
  test('on challenge (the default): the first request goes without a token, the 401 Negotiate is answered once, the server knows the principal', async () => {
    const tls = load(ini('hadoop', { kerberos_keytab: keytabs.monit, kerberos_principal: MONIT }));
    const from = server.received.length;
    expect(await get(`${server.url}/jmx`, tls)).toEqual({ user: MONIT, path: '/jmx' });
    const seen = server.received.slice(from);
    expect(seen.map((request) => [request.path, request.authorization === undefined, request.user])).toEqual([
      ['/jmx', true, undefined],
      ['/jmx', false, MONIT],
    ]);
    // Tickets went into this project's cache of the source, as MIT's klist reads it.
    const ccache = path.join(varDir, 'state', 'kerberos', 'hadoop.ccache');
    expect(kdc.hasValidTicket(ccache)).toBe(true);
    expect(tls.credentialDescription).toBe(`Kerberos principal ${MONIT} (keytab ${keytabs.monit})`);
    expect(tls.credentialExpiresAtMs).toBeUndefined(); // renewed from the keytab: nothing to warn about
  });

  test('preemptive: the token goes with the first request; a redirect back to the same host gets a fresh one (a token is accepted once)', async () => {
    const tls = load(ini('hadoop', { kerberos_keytab: keytabs.monit, kerberos_preemptive: 'yes' }));
    const from = server.received.length;
    expect(await get(`${server.url}/hop`, tls)).toEqual({ user: MONIT, path: '/landing' });
    const seen = server.received.slice(from);
    expect(seen.map((request) => [request.path, request.user, request.refused])).toEqual([
      ['/hop', MONIT, undefined],
      ['/landing', MONIT, undefined],
    ]);
    expect(seen[0].authorization).toMatch(/^Negotiate \S+$/);
    expect(seen[1].authorization).toMatch(/^Negotiate \S+$/);
    expect(seen[1].authorization).not.toBe(seen[0].authorization);
  });

  test('a redirect to another host carries no token, and the 401 there says so', async () => {
    for (const preemptive of ['yes', 'no']) {
      const tls = load(ini('hadoop', { kerberos_keytab: keytabs.monit, kerberos_preemptive: preemptive }));
      const from = other.received.length;
      const error = await failure(`${server.url}/away`, tls);
      expect(other.received.slice(from).map((request) => request.authorization)).toEqual([undefined]);
      expect(error.failureClass).toBe('auth');
      expect(error.message).toContain(`HTTP 401`);
      expect(error.message).toContain(`no Kerberos token was sent to ${other.url}/landing: tokens go to the host and port of the configured URL only`);
    }
  });

  test('a redirect from https to plain http on the same host and port is not followed with a token', async () => {
    const tls = load(`[tls]\nca_dir = ${ca.caDir}\n${ini('hadoop', { kerberos_keytab: keytabs.monit, kerberos_preemptive: 'yes' })}`);
    const from = dual.received.length;
    const url = `https://127.0.0.1:${dual.port}/to-plain`;
    const error = await failure(url, tls);
    expect(dual.received.slice(from).map((request) => [request.scheme, request.path, /^Negotiate \S+$/.test(request.authorization ?? '')])).toEqual([['https', '/to-plain', true]]);
    expect(error.failureClass).toBe('auth');
    expect(error.message).toBe(`NameNode ${url}: redirected to plain http http://127.0.0.1:${dual.port}/landing: not followed, a Kerberos token of [tls.hadoop] identity = kerberos would be sent unencrypted`);
  });

  test('without preemption, a Negotiate challenge on the plain-http side of a redirect is not answered with a token', async () => {
    const tls = load(`[tls]\nca_dir = ${ca.caDir}\n${ini('hadoop', { kerberos_keytab: keytabs.monit })}`);
    const from = dual.received.length;
    const error = await failure(`https://127.0.0.1:${dual.port}/to-plain-challenge`, tls);
    expect(dual.received.slice(from).map((request) => [request.scheme, request.path, request.authorization])).toEqual([
      ['https', '/to-plain-challenge', undefined],
      ['http', '/challenge', undefined],
    ]);
    expect(error.message).toContain('HTTP 401');
  });

  test('two sources with two keytabs in one process, requests interleaved: each is its own principal, in its own cache', async () => {
    const config = `${ini('hadoop', { kerberos_keytab: keytabs.monit })}${ini('panda', { kerberos_keytab: keytabs.second, kerberos_preemptive: 'yes' })}`;
    const hadoop = load(config, 'hadoop');
    const panda = load(config, 'panda');
    const answers = await Promise.all(Array.from({ length: 8 }, (_, index) => get(`${server.url}/n${index}`, index % 2 ? panda : hadoop)));
    expect(answers).toEqual(Array.from({ length: 8 }, (_, index) => ({ user: index % 2 ? SECOND : MONIT, path: `/n${index}` })));
    const caches = ['hadoop', 'panda'].map((source) => ccacheSummary(readFileSync(path.join(varDir, 'state', 'kerberos', `${source}.ccache`))).principal);
    expect(caches).toEqual([MONIT, SECOND]);
  });

  test('two sources in a plain node process (its process.env is the C environment, as in production), which finds its environment as it was', async () => {
    const config = `[paths]\nvar = ${varDir}\n${ini('hadoop', { kerberos_keytab: keytabs.monit, kerberos_preemptive: 'yes' })}${ini('cric', { kerberos_keytab: keytabs.second })}`;
    const script = `
      const { Config } = require('./dist/lib/config/config');
      const { loadClientTls, tlsSettings } = require('./dist/lib/tls/clientTls');
      const { fetchJson } = require('./dist/lib/http/get');
      const config = Config.parse(process.argv[1], 'child.cfg');
      const sources = ['hadoop', 'cric'].map((source) => loadClientTls(tlsSettings(config, source, {})));
      Promise.all([0, 1, 2, 3, 4, 5].map((index) => fetchJson(process.argv[2] + '/child' + index, { source: 'Child', timeoutMs: 20000, tls: sources[index % 2] }))).then(
        (answers) => console.log(JSON.stringify({ answers, KRB5CCNAME: process.env.KRB5CCNAME ?? null, KRB5_CLIENT_KTNAME: process.env.KRB5_CLIENT_KTNAME ?? null })),
        (error) => console.log(JSON.stringify({ error: error.message })),
      );`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, config, server.url], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, KRB5CCNAME: 'FILE:/nonexistent/before' } });
    expect(JSON.parse(stdout)).toEqual({
      answers: [0, 1, 2, 3, 4, 5].map((index) => ({ user: index % 2 ? SECOND : MONIT, path: `/child${index}` })),
      KRB5CCNAME: 'FILE:/nonexistent/before',
      KRB5_CLIENT_KTNAME: null,
    });
  });

  test('a keytab of two principals needs kerberos_principal; either one can be chosen', async () => {
    expect(keytabPrincipals(readFileSync(keytabs.both))).toEqual(kdc.listKeytab(keytabs.both));
    expect(thrownBy(() => load(ini('host', { kerberos_keytab: keytabs.both }), 'host')).message).toBe(
      `[tls.host] identity = kerberos: set kerberos_principal: the keytab ${keytabs.both} holds ${MONIT}, ${SECOND}`,
    );
    expect(await get(`${server.url}/x`, load(ini('host', { kerberos_keytab: keytabs.both, kerberos_principal: 'second' }), 'host'))).toEqual({ user: SECOND, path: '/x' });
  });

  test('the web probe presents it too; a refused token is an auth failure there', async () => {
    const tls = load(ini('web', { kerberos_keytab: keytabs.monit }), 'web');
    const url = `${server.url}/status`;
    const result = await probe(
      { name: 'ui', url, shownUrl: url, timeoutMs: 20_000, expectStatus: [[200, 299]], expectText: MONIT, verifyTls: true, followRedirects: true, maxBodyBytes: 1_000_000 },
      new AbortController().signal,
      tls,
    );
    expect(result).toMatchObject({ up: 1, errorClass: '', status: 200, bodyMatch: true });
    const refusedUrl = `${wrongService.url}/status`;
    const refused = await probe(
      { name: 'ui', url: refusedUrl, shownUrl: refusedUrl, timeoutMs: 20_000, expectStatus: [[200, 299]], verifyTls: true, followRedirects: true, maxBodyBytes: 1_000_000 },
      new AbortController().signal,
      tls,
    );
    expect(refused).toMatchObject({ up: 0, errorClass: 'auth', status: 401 });
    expect(refused.detail).toContain(`HTTP 401: the server refused the Kerberos token of Kerberos principal ${MONIT}`);
  });
});

describe('clear errors', () => {
  test('a principal not in the keytab: a CredentialError at load, naming the setting, the keytab, what it holds and klist -k', () => {
    const error = thrownBy(() => load(ini('hadoop', { kerberos_keytab: keytabs.monit, kerberos_principal: 'nobody' })));
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.message).toBe(`[tls.hadoop] identity = kerberos: [tls.hadoop] kerberos_principal = nobody: not in the keytab ${keytabs.monit}, which holds ${MONIT} (klist -k ${keytabs.monit})`);
  });

  test('a keytab that does not exist, or is not a keytab', () => {
    const missing = path.join(varDir, 'missing.keytab');
    expect(thrownBy(() => load(ini('hadoop', { kerberos_keytab: missing, kerberos_principal: MONIT }))).message).toBe(
      `[tls.hadoop] identity = kerberos: [tls.hadoop] kerberos_keytab = ${missing} does not exist: the keytab of ${MONIT} (check: klist -k ${missing})`,
    );
    const notKeytab = path.join(varDir, 'text.keytab');
    writeFileSync(notKeytab, 'not a keytab\n');
    expect(thrownBy(() => load(ini('hadoop', { kerberos_keytab: notKeytab }))).message).toContain(`is not a keytab MIT can read (not a keytab (it does not start with 0x05)): check it with klist -k ${notKeytab}`);
  });

  test('a principal in the keytab that the KDC does not know: an auth failure naming it', async () => {
    const error = await failure(`${server.url}/jmx`, load(ini('hadoop', { kerberos_keytab: keytabs.gone, kerberos_preemptive: 'yes' })));
    expect(error.failureClass).toBe('auth');
    expect(error.message).toContain(`[tls.hadoop] identity = kerberos: the KDC does not know the principal gone@${TEST_REALM}: check kerberos_principal (kadmin: getprinc)`);
    expect(error.message).toContain("Client 'gone@MONIT.TEST' not found in Kerberos database");
  });

  test('outdated keys in the keytab: an auth failure saying so', async () => {
    const error = await failure(`${server.url}/jmx`, load(ini('hadoop', { kerberos_keytab: keytabs.stale })));
    expect(error.failureClass).toBe('auth');
    expect(error.message).toContain(`the KDC refused the keys of stale@${TEST_REALM} in ${keytabs.stale}: they are outdated`);
  });

  test('the server refuses the token (made for HTTP/localhost, it holds HTTP/elsewhere): an auth failure after Negotiate', async () => {
    const from = wrongService.received.length;
    const error = await failure(`${wrongService.url}/jmx`, load(ini('hadoop', { kerberos_keytab: keytabs.monit })));
    const seen = wrongService.received.slice(from);
    expect(seen.map((request) => request.authorization === undefined)).toEqual([true, false]);
    expect(seen[1].refused).toBeDefined();
    expect(error.failureClass).toBe('auth');
    expect(error.message).toContain(`${wrongService.url}/jmx: HTTP 401 Unauthorized: the server refused the Kerberos token of Kerberos principal ${MONIT} (keytab ${keytabs.monit})`);
  });

  test('no KDC answers: an auth failure naming the krb5.conf', async () => {
    const closed = await freePort();
    const config = path.join(varDir, 'no-kdc.krb5.conf');
    writeFileSync(config, readFileSync(kdc.krb5Config, 'utf8').replace(/kdc = 127\.0\.0\.1:\d+/, `kdc = 127.0.0.1:${closed}`));
    const error = await failure(`${server.url}/jmx`, load(ini('hadoop', { kerberos_keytab: keytabs.second, kerberos_config: config, kerberos_ccache: path.join(varDir, 'no-kdc.ccache') })));
    expect(error.failureClass).toBe('auth');
    expect(error.message).toContain(`no KDC answered for the realm of ${SECOND}: check its kdc lines in kerberos_config ${config}`);
  });

  test('identity = kerberos for a source that does not speak HTTP: a config error', () => {
    const error = thrownBy(() => load(ini('sql', { kerberos_keytab: keytabs.monit }), 'sql'));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      'test.cfg: [tls.sql] identity = kerberos: sql does not speak HTTP through lib/http or the web probe, so it cannot present a Kerberos (SPNEGO) identity (sources that can: panda, cric, placement, web, hadoop, host)',
    );
    // A source nobody listed (a new collector, a misspelt name) is refused too, not silently accepted.
    expect(thrownBy(() => load(ini('command', { kerberos_keytab: keytabs.monit }), 'command'))).toBeInstanceOf(ConfigError);
  });
});

describe('a credential cache kept by others (kinit, k5start)', () => {
  test('a valid ticket is presented; its end time is the credential expiry, inside the warning window', async () => {
    const ccache = path.join(varDir, 'kept.ccache');
    const before = Date.now();
    kdc.kinit({ principal: MONIT, keytab: keytabs.monit, ccache, lifetime: '1h' });
    const after = Date.now();
    const tls = load(ini('cric', { kerberos_ccache: ccache }), 'cric');
    // The KDC counts whole seconds: an end between the start (rounded down) and the end of kinit, plus an hour.
    expect(tls.credentialExpiresAtMs).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3_600_000);
    expect(tls.credentialExpiresAtMs).toBeLessThanOrEqual(after + 3_600_000);
    expect(tls.credentialExpiresSoon).toBe(true); // within the default 3d
    expect(tls.warnings?.join('\n')).toContain(`[tls.cric]: the Kerberos principal ${MONIT} (credential cache FILE:${ccache}) expires at`);
    expect(await get(`${server.url}/kept`, tls)).toEqual({ user: MONIT, path: '/kept' });
    // The heartbeat's credential fields (and so the status) see it as any expiring credential.
    const credentials = new RunCredentials(Config.parse(`[paths]\nvar = ${varDir}\n${ini('cric', { kerberos_ccache: ccache })}`, 'test.cfg'), new MemoryLogger('test'));
    credentials.tls('cric');
    const nowMs = Date.now();
    expect(credentials.summary(nowMs)).toEqual({ credential: 'Kerberos ticket of cric', expiresInSeconds: Math.floor(((tls.credentialExpiresAtMs as number) - nowMs) / 1000), expiring: true });
  });

  test('an expired ticket: an auth failure at the request when it expired after loading, a CredentialError at load after', async () => {
    const ccache = path.join(varDir, 'short.ccache');
    kdc.kinit({ principal: MONIT, keytab: keytabs.monit, ccache, lifetime: '3s' });
    const tls = load(ini('cric', { kerberos_ccache: ccache, kerberos_principal: MONIT }), 'cric');
    // Wait until MIT itself finds no valid ticket there (no clock arithmetic of ours).
    while (kdc.hasValidTicket(ccache)) await new Promise((resolve) => setTimeout(resolve, 250));
    // klist counts a ticket expired at its end second, GSSAPI after it (tickets have whole seconds).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const error = await failure(`${server.url}/late`, tls);
    expect(error.failureClass).toBe('auth');
    expect(error.message).toContain(`the ticket of ${MONIT} in FILE:${ccache} has expired: renew it`);
    const atLoad = thrownBy(() => load(ini('cric', { kerberos_ccache: ccache }), 'cric'));
    expect(atLoad).toBeInstanceOf(CredentialError);
    expect(atLoad.message).toMatch(new RegExp(`^\\[tls.cric\\] identity = kerberos: the ticket of ${MONIT} in \\[tls.cric\\] kerberos_ccache = \\S+ expired at \\S+Z: renew it \\(kinit, or k5start keeps it fresh\\), or set kerberos_keytab$`));
  });

  test('a missing ccache, and one of another principal', () => {
    const missing = path.join(varDir, 'absent.ccache');
    expect(existsSync(missing)).toBe(false);
    expect(thrownBy(() => load(ini('cric', { kerberos_ccache: missing, kerberos_principal: MONIT }), 'cric')).message).toContain(
      `[tls.cric] kerberos_ccache = ${missing} does not exist: get a ticket: kinit -kt KEYTAB ${MONIT} -c FILE:${missing} (or k5start), or set kerberos_keytab`,
    );
    const theirs = path.join(varDir, 'theirs.ccache');
    kdc.kinit({ principal: SECOND, keytab: keytabs.second, ccache: theirs });
    expect(thrownBy(() => load(ini('cric', { kerberos_ccache: theirs, kerberos_principal: MONIT }), 'cric')).message).toContain(`holds the tickets of ${SECOND}, not of kerberos_principal ${MONIT}`);
  });

  test("this project's cache of another principal is replaced when kerberos_principal changes", async () => {
    const ccache = path.join(varDir, 'state', 'kerberos', 'host.ccache');
    mkdirSync(path.dirname(ccache), { recursive: true });
    kdc.kinit({ principal: SECOND, keytab: keytabs.second, ccache });
    expect(await get(`${server.url}/switched`, load(ini('host', { kerberos_keytab: keytabs.monit, kerberos_preemptive: 'yes' }), 'host'))).toEqual({ user: MONIT, path: '/switched' });
    expect(ccacheSummary(readFileSync(ccache)).principal).toBe(MONIT);
  });
});
