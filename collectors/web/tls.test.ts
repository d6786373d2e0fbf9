import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../lib/config/config';
import { collectedDocuments } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext, type TestContext } from '../../test/support/collectorContext';
import { makeTestCa, opensslNotAfterMs, serveHttps, serveOpenssl, type HttpsTestServer, type OpensslTestServer, type TestCa } from '../../test/support/testCa';
import { serveHttpsAndHttp, type DualServer } from '../../test/support/dualServer';
import webCollector from './collector';

const DAY_MS = 86_400_000;

let ca: TestCa;
/** Presents a certificate of the test CA. */
let server: HttpsTestServer;
/** OpenSSL's own server: requires a client certificate that verifies against the CA dir, proxies allowed. */
let checking: OpensslTestServer;
/** https and plain http on one port: /to-plain redirects to http on the same host and port. */
let dual: DualServer;

beforeAll(async () => {
  ca = makeTestCa();
  server = await serveHttps(ca.server);
  checking = await serveOpenssl(ca.server, ca.caDir, { allowProxies: true });
  dual = await serveHttpsAndHttp(ca.server, { '/to-plain': (port) => `http://127.0.0.1:${port}/landing` });
}, 600_000);
afterAll(async () => {
  await server?.close();
  await checking?.close();
  await dual?.close();
});

async function probeOnce(configText: string): Promise<{ document: MonitDocument; context: TestContext }> {
  const context = collectorContext('web', configText);
  const [document] = collectedDocuments(await webCollector.collect(context));
  return { document, context };
}

/** Days left of the server certificate by openssl's reading, bracketing the probe's figure (taken between before and after). */
function expectDaysLeft(value: unknown, before: number, after: number): void {
  const notAfterMs = opensslNotAfterMs(ca.server.cert);
  expect(typeof value).toBe('number');
  expect(value as number).toBeLessThanOrEqual((notAfterMs - before) / DAY_MS);
  expect(value as number).toBeGreaterThanOrEqual((notAfterMs - after) / DAY_MS);
}

describe('web probes with the settings of [tls]', () => {
  test('a server of the grid CA: up with ca_dir; without it a tls failure naming the URL and the settings, its certificate days still read; verify_tls = false still up', async () => {
    let before = Date.now();
    const trusted = await probeOnce(`[web]\nurls = ${server.url}\n[tls]\nca_dir = ${ca.caDir}\n`);
    let after = Date.now();
    expect(trusted.document).toMatchObject({ up: 1, error_class: '', status: 200 });
    expectDaysLeft(trusted.document.cert_days_left, before, after);
    expect(trusted.context.problems).toEqual([]);

    before = Date.now();
    const untrusted = await probeOnce(`[web]\nurls = ${server.url}\n[tls]\nca_dir = none\n`);
    after = Date.now();
    expect(untrusted.document).toMatchObject({ up: 0, error_class: 'tls' });
    expectDaysLeft(untrusted.document.cert_days_left, before, after);
    expect(untrusted.context.problems).toHaveLength(1);
    expect(untrusted.context.problems[0]).toContain(server.url);
    expect(untrusted.context.problems[0]).toContain('[tls] ca_dir = none');

    const unverified = await probeOnce(`[web]\nurls = ${server.url}\nverify_tls = false\n[tls]\nca_dir = none\n`);
    expect(unverified.document).toMatchObject({ up: 1, error_class: '', status: 200 });
  });

  test('identity = x509_proxy to a server that checks client certificates: up, and the proxy is reported for the heartbeat; without it, down', async () => {
    const anonymous = await probeOnce(`[web]\nurls = ${checking.url}\n[tls]\nca_dir = ${ca.caDir}\n`);
    expect(anonymous.document).toMatchObject({ up: 0, error_class: 'tls' });

    const withProxy = await probeOnce(`[web]\nurls = ${checking.url}\nexpect_text = "ok"\n[tls]\nca_dir = ${ca.caDir}\n[tls.web]\nidentity = x509_proxy\nx509_proxy = ${ca.proxy}\n`);
    expect(withProxy.document).toMatchObject({ up: 1, error_class: '', status: 200, body_match: true });
    expect(withProxy.context.problems).toEqual([]);
    const nowMs = Date.now();
    const summary = withProxy.context.credentials.summary(nowMs);
    expect(summary).toEqual({ credential: 'X.509 proxy of web', expiring: true, expiresInSeconds: Math.floor((opensslNotAfterMs(ca.proxy) - nowMs) / 1000) });
    expect(withProxy.context.log.lines.filter((line) => /^WARN .*expires at/.test(line))).toHaveLength(1);
  });
});

describe('web probes and credentials', () => {
  const TOKEN = 'web-probe-token-3b7';

  test('follow_redirects with a bearer token: a redirect to plain http is not followed (auth), and the http side receives no Authorization', async () => {
    const url = `https://127.0.0.1:${dual.port}/to-plain`;
    const from = dual.received.length;
    const { document, context } = await probeOnce(`[web]\nurls = ${url}\nfollow_redirects = true\n[tls]\nca_dir = ${ca.caDir}\n[tls.web]\nidentity = bearer_token\nbearer_token = ${TOKEN}\n`);
    const seen = dual.received.slice(from);
    expect(seen.filter((request) => request.scheme === 'http')).toEqual([]);
    expect(document).toMatchObject({ up: 0, error_class: 'auth' });
    expect(context.problems).toEqual([
      `${url}: auth: ${url}: redirected to plain http http://127.0.0.1:${dual.port}/landing: not followed, the bearer token of [tls.web] identity = bearer_token would be sent unencrypted`,
    ]);
    expect(seen.map((request) => request.authorization)).toEqual([`Bearer ${TOKEN}`]);
  });

  test('a token in [tls.web] goes to the https probes only: a plain http probe is up, and is sent none', async () => {
    const secure = `https://127.0.0.1:${dual.port}/landing`;
    const plain = `http://127.0.0.1:${dual.port}/landing`;
    const from = dual.received.length;
    const context = collectorContext('web', `[web]\nurls = ${secure}, ${plain}\n[tls]\nca_dir = ${ca.caDir}\n[tls.web]\nidentity = bearer_token\nbearer_token = ${TOKEN}\n`);
    const documents = collectedDocuments(await webCollector.collect(context));
    expect(documents.map((document) => [document.url, document.up])).toEqual([
      [secure, 1],
      [plain, 1],
    ]);
    expect(context.problems).toEqual([]);
    const seen = dual.received.slice(from).map((request) => [request.scheme, request.authorization]);
    expect(seen).toHaveLength(2);
    expect(seen).toEqual(expect.arrayContaining([['https', `Bearer ${TOKEN}`], ['http', undefined]]));
  });

  test('verify_tls = false while [tls.web] sets an identity is a config error naming the probes; without an identity it is allowed', async () => {
    const ini = `[web]\nurls = ${server.url}\n[web.portal]\nurl = ${server.url}\nverify_tls = false\n[tls]\nca_dir = ${ca.caDir}\n[tls.web]\nidentity = x509_proxy\nx509_proxy = ${ca.proxy}\n`;
    const refused = await webCollector.collect(collectorContext('web', ini)).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toBe(
      'web.test.cfg: [web] verify_tls = false for the probe "portal", with [tls.web] identity = x509_proxy: the credential would go to a server whose certificate is not checked; ' +
        'check it (verify_tls = true, with its CA in ca_dir or ca_file) or remove identity from [tls.web]',
    );
    const anonymous = await probeOnce(`[web.portal]\nurl = ${server.url}\nverify_tls = false\n[tls]\nca_dir = none\n`);
    expect(anonymous.document).toMatchObject({ up: 1, status: 200 });
  });
});

describe('web probes and the CRLs of ca_dir', () => {
  test("an expired CRL refuses the server: error class tls (as every client classes it), with the certificate's days left", async () => {
    const dir = path.join(ca.dir, 'web-expired-crl');
    mkdirSync(dir, { recursive: true });
    copyFileSync(ca.caCert, path.join(dir, 'ExampleGridTestCA.pem'));
    copyFileSync(ca.expiredCrl, path.join(dir, 'ExampleGridTestCA.crl.pem'));
    execFileSync('openssl', ['rehash', dir]);
    const before = Date.now();
    const { document, context } = await probeOnce(`[web]\nurls = ${server.url}\n[tls]\nca_dir = ${dir}\n`);
    const after = Date.now();
    expect(document).toMatchObject({ up: 0, error_class: 'tls' });
    expectDaysLeft(document.cert_days_left, before, after);
    expect(context.problems).toHaveLength(1);
    expect(context.problems[0]).toMatch(/has expired \(its nextUpdate passed\): run fetch-crl \(CRL_HAS_EXPIRED\)/);
  });
});
