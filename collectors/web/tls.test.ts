import { collectedDocuments } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext, type TestContext } from '../../test/support/collectorContext';
import { makeTestCa, opensslNotAfterMs, serveHttps, serveOpenssl, type HttpsTestServer, type OpensslTestServer, type TestCa } from '../../test/support/testCa';
import webCollector from './collector';

const DAY_MS = 86_400_000;

let ca: TestCa;
/** Presents a certificate of the test CA. */
let server: HttpsTestServer;
/** OpenSSL's own server: requires a client certificate that verifies against the CA dir, proxies allowed. */
let checking: OpensslTestServer;

beforeAll(async () => {
  ca = makeTestCa();
  server = await serveHttps(ca.server);
  checking = await serveOpenssl(ca.server, ca.caDir, { allowProxies: true });
}, 600_000);
afterAll(async () => {
  await server?.close();
  await checking?.close();
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
