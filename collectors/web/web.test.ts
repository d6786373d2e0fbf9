import { execFileSync } from 'node:child_process';
import { collectedDocuments } from '../../lib/run/collector';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { PROJECT_ROOT } from '../../lib/config/paths';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext, type TestContext } from '../../test/support/collectorContext';
import { freePort } from '../../test/support/ports';
import { readmeDisagreements } from '../../test/support/readme';
import { classifyConnectionError as classifyRequestError } from '../../lib/documents/failures';
import webCollector, { readSettings } from './collector';

async function collect(configText: string): Promise<{ context: TestContext; documents: MonitDocument[] }> {
  const context = collectorContext('web', configText);
  const result = await webCollector.collect(context);
  return { context, documents: collectedDocuments(result) };
}

function probeNamed(documents: MonitDocument[], name: string): MonitDocument {
  const found = documents.filter((document) => document.name === name);
  if (found.length !== 1) throw new Error(`expected one probe named ${name}, found ${found.length}`);
  return found[0];
}

/** The web site under test: fast, slow (never answers), failing, wrong text, redirecting, and counting parallel requests. */
function site(): { handler: http.RequestListener; maxInFlight: () => number } {
  let inFlight = 0;
  let maxInFlight = 0;
  const waiting: Array<() => void> = [];
  const handler: http.RequestListener = (request, response) => {
    const url = request.url ?? '';
    if (url === '/fast') response.end('<html><body>EventIndex is up</body></html>');
    else if (url === '/slow') return; // keeps the request open until the server closes
    else if (url === '/error') response.writeHead(500).end('EventIndex: internal error');
    else if (url === '/maintenance') response.end('<html><body>Down for maintenance</body></html>');
    else if (url === '/private') {
      const expected = `Basic ${Buffer.from('monitor:s3cret-pw').toString('base64')}`;
      if (request.headers.authorization === expected) response.end('EventIndex private');
      else response.writeHead(401).end();
    } else if (url === '/moved') response.writeHead(302, { location: '/fast' }).end();
    else if (url.startsWith('/parallel')) {
      // Held until a second request is in flight too (then a little longer, to let a third show up),
      // so the test sees the probes overlap however slow the machine is.
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const release = (): void => {
        inFlight--;
        response.end('EventIndex');
      };
      waiting.push(release);
      if (waiting.length >= 2) {
        const batch = waiting.splice(0);
        setTimeout(() => batch.forEach((answer) => answer()), 100);
      } else {
        setTimeout(() => waiting.includes(release) && waiting.splice(waiting.indexOf(release), 1)[0](), 2000);
      }
    } else response.writeHead(404).end();
  };
  return { handler, maxInFlight: () => maxInFlight };
}

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: http.Server | https.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A self-signed certificate for 127.0.0.1, valid for `days`, made with the openssl CLI. */
function selfSignedCertificate(days: number): { key: string; cert: string } {
  const dir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'web-cert-'));
  const [keyFile, certFile] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', String(days), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'pipe' });
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}

describe('web collector against local HTTP and HTTPS servers', () => {
  const { handler, maxInFlight } = site();
  const plain = http.createServer(handler);
  let httpsServer: https.Server;
  let base: string;
  let secure: string;
  let closedPort: number;
  let result: { context: TestContext; documents: MonitDocument[] };

  beforeAll(async () => {
    httpsServer = https.createServer(selfSignedCertificate(30), handler);
    const plainPort = await listen(plain);
    base = `http://127.0.0.1:${plainPort}`;
    secure = `https://127.0.0.1:${await listen(httpsServer)}`;
    closedPort = await freePort();
    result = await collect(`
[web]
expect_text = EventIndex
concurrency = 3
urls = ${base}/fast, ${base}/error, ${base}/maintenance, ${base}/moved, http://127.0.0.1:${closedPort}/

[web.slow]
url = ${base}/slow
timeout = 300ms

[web.self-signed]
url = ${secure}/fast

[web.self-signed-accepted]
url = ${secure}/fast
verify_tls = false

[web.no-text-check]
url = ${base}/maintenance
expect_text =

[web.private]
url = http://monitor:s3cret-pw@127.0.0.1:${plainPort}/private

[web.private-wrong]
url = http://monitor:wrong-pw@127.0.0.1:${plainPort}/private

[web.error-expected]
url = ${base}/error
expect_status = 500
`);
  }, 60_000);

  afterAll(async () => {
    await close(plain);
    await close(httpsServer);
  });

  const LATENCY = expect.any(Number);

  test('every configured URL gives exactly one document, failures included', () => {
    expect(result.documents).toHaveLength(12);
    expect(result.documents.every((document) => document.producer === 'web' && document.type === 'probe')).toBe(true);
  });

  test('fast: up, with status, latency and the text found', () => {
    const fast = probeNamed(result.documents, `${base}/fast`);
    expect(fast).toMatchObject({ url: `${base}/fast`, up: 1, error_class: '', status: 200, latency_ms: LATENCY, body_match: true });
    expect(fast.latency_ms as number).toBeGreaterThan(0);
    expect(fast.cert_days_left).toBeUndefined(); // plain http
    expect(probeNamed(result.documents, `${base}/moved`)).toMatchObject({ up: 1, status: 200, body_match: true }); // redirect followed
  });

  test('slow: timeout, no status, no latency', () => {
    const slow = probeNamed(result.documents, 'slow');
    expect(slow).toMatchObject({ up: 0, error_class: 'timeout' });
    expect(slow.idb_fields).toEqual(['up', 'error_class']);
  });

  test('500: status, with the status and latency kept', () => {
    expect(probeNamed(result.documents, `${base}/error`)).toMatchObject({ up: 0, error_class: 'status', status: 500, latency_ms: LATENCY, body_match: true });
    expect(probeNamed(result.documents, 'error-expected')).toMatchObject({ up: 1, error_class: '', status: 500 });
  });

  test('wrong body: body, with body_match false', () => {
    expect(probeNamed(result.documents, `${base}/maintenance`)).toMatchObject({ up: 0, error_class: 'body', status: 200, body_match: false });
    const unchecked = probeNamed(result.documents, 'no-text-check');
    expect(unchecked).toMatchObject({ up: 1, status: 200 });
    expect(unchecked.body_match).toBeUndefined();
  });

  test('connection refused: refused', () => {
    const refused = probeNamed(result.documents, `http://127.0.0.1:${closedPort}/`);
    expect(refused).toMatchObject({ up: 0, error_class: 'refused' });
    expect(refused.idb_fields).toEqual(['up', 'error_class']);
  });

  test('self-signed certificate: tls when verified, up when not, and the days left either way', () => {
    const verified = probeNamed(result.documents, 'self-signed');
    expect(verified).toMatchObject({ up: 0, error_class: 'tls' });
    expect(verified.status).toBeUndefined();
    const accepted = probeNamed(result.documents, 'self-signed-accepted');
    expect(accepted).toMatchObject({ up: 1, error_class: '', status: 200, body_match: true });
    for (const document of [verified, accepted]) {
      // openssl makes the certificate valid from now for 30 days
      expect(document.cert_days_left as number).toBeGreaterThan(29.9);
      expect(document.cert_days_left as number).toBeLessThanOrEqual(30);
    }
  });

  test('credentials in a URL are used, but kept out of the url tag and the log', () => {
    expect(probeNamed(result.documents, 'private')).toMatchObject({ up: 1, status: 200, url: `${base}/private` });
    expect(probeNamed(result.documents, 'private-wrong')).toMatchObject({ up: 0, error_class: 'status', status: 401, url: `${base}/private` });
    const everything = JSON.stringify(result.documents) + result.context.problems.join('\n') + result.context.log.lines.join('\n');
    expect(everything).not.toContain('s3cret-pw');
    expect(everything).not.toContain('wrong-pw');
  });

  test('each failure is a problem in the run, naming the probe and its class', () => {
    expect(result.context.problems).toHaveLength(6);
    expect(result.context.problems).toContainEqual(expect.stringMatching(/^slow \(http:\/\/127\.0\.0\.1:\d+\/slow\): timeout: /));
    expect(result.context.problems).toContainEqual(expect.stringMatching(/^self-signed \(https:.*\): tls: .*certificate is self-signed.*DEPTH_ZERO_SELF_SIGNED_CERT/));
  });

  test('no more than `concurrency` probes run at once', async () => {
    const urls = Array.from({ length: 6 }, (_, index) => `${base}/parallel/${index}`).join(', ');
    const { documents } = await collect(`[web]\nconcurrency = 2\nurls = ${urls}\n`);
    expect(documents.map((document) => document.up)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(maxInFlight()).toBe(2);
  });
});

test('error classes of requests that got no response', () => {
  const withCode = (code: string, name = 'RequestError'): Error => Object.assign(new Error(code), { code, name });
  expect(classifyRequestError(withCode('ENOTFOUND'))).toBe('dns');
  expect(classifyRequestError(withCode('EAI_AGAIN'))).toBe('dns');
  expect(classifyRequestError(withCode('ECONNREFUSED'))).toBe('refused');
  expect(classifyRequestError(withCode('ETIMEDOUT', 'TimeoutError'))).toBe('timeout');
  // Our requests are aborted only at the job's deadline: 'aborted', not 'timeout' (schemas/failures.json).
  expect(classifyRequestError(withCode('ERR_ABORTED', 'AbortError'))).toBe('aborted');
  for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER']) {
    expect(classifyRequestError(withCode(code))).toBe('tls');
  }
  expect(classifyRequestError(withCode('ECONNRESET'))).toBe('other');
  expect(classifyRequestError(new Error('no code'))).toBe('other');
});

test('config: defaults, overrides per [web.<name>], and errors naming the key', () => {
  const settings = readSettings(Config.parse('[web]\nurls = https://a.example/\ntimeout = 5s\n\n[web.b]\nurl = http://b.example/\nexpect_status = 200, 401-403\nverify_tls = no\n'));
  expect(settings).toEqual({
    concurrency: 8,
    targets: [
      { name: 'https://a.example/', url: 'https://a.example/', shownUrl: 'https://a.example/', timeoutMs: 5000, expectStatus: [[200, 399]], expectText: undefined, verifyTls: true, followRedirects: true, maxBodyBytes: 10_485_760 },
      { name: 'b', url: 'http://b.example/', shownUrl: 'http://b.example/', timeoutMs: 5000, expectStatus: [[200, 200], [401, 403]], expectText: undefined, verifyTls: false, followRedirects: true, maxBodyBytes: 10_485_760 },
    ],
  });
  const dotted = readSettings(Config.parse('[web.ei.cern]\nurl = https://ei.cern.example/\n'));
  expect(dotted.targets.map((target) => target.name)).toEqual(['ei.cern']);
  expect(() => readSettings(Config.parse('[web.empty]\n'))).toThrow(/\[web.empty\] url is missing/);
  expect(() => readSettings(Config.parse('[web]\nurls = ftp://x/\n'))).toThrow(/\[web\] urls: "ftp:\/\/x\/" must be http or https/);
  expect(() => readSettings(Config.parse('[web.b]\nexpect_text = x\n'))).toThrow(/\[web.b\] url is missing/);
  expect(() => readSettings(Config.parse('[web]\nexpect_status = 2xx\n'))).toThrow(/\[web\] expect_status: "2xx" is not a status/);
  expect(() => readSettings(Config.parse('[web]\nurls = http://x/, http://x/\n'))).toThrow(/"http:\/\/x\/" is configured twice/);
});

test('nothing to probe is a config error', async () => {
  await expect(collect('[web]\n')).rejects.toThrow(/nothing to probe/);
});

test('sample.cfg, uncommented, gives exactly the defaults plus its gateway probe and example probes', () => {
  const uncommented = readFileSync(path.join(__dirname, 'sample.cfg'), 'utf8').replace(/^;(?=\[|[\w.]+ = )/gm, '');
  expect(uncommented).not.toMatch(/^;(\[|[\w.]+ = )/m);
  const settings = readSettings(Config.parse(uncommented, 'sample.cfg'));
  const defaults = { timeoutMs: 10_000, expectStatus: [[200, 399]], expectText: undefined, verifyTls: true, followRedirects: true, maxBodyBytes: 10_485_760 };
  expect(settings.concurrency).toBe(8);
  const gatewayPing = 'http://127.0.0.1:8190/ping';
  expect(settings.targets).toEqual([
    { name: gatewayPing, url: gatewayPing, shownUrl: gatewayPing, ...defaults },
    { name: 'portal', url: 'https://portal.example.org/', shownUrl: 'https://portal.example.org/', ...defaults, expectText: 'EventIndex', timeoutMs: 5000 },
    { name: 'nightly', url: 'https://ei-builds.example.org/summary.json', shownUrl: 'https://ei-builds.example.org/summary.json', ...defaults, values: expect.anything() },
  ]);
  const { values } = settings.targets[2];
  expect(values?.measurement).toBe('nightly');
  expect([...(values?.fields ?? [])]).toEqual([['failed', 'number'], ['passed', 'number'], ['branch', 'string'], ['complete', 'bool'], ['first_failed', 'string']]);
  expect([...(values?.paths ?? [])]).toEqual([
    ['failed', '$.counts.failed'], ['passed', '$.counts.passed'], ['branch', '$.branch'], ['complete', '$.complete'], ['first_failed', "$.builds[?(@.status=='failed')].name"],
  ]);
});

test('README Metrics section lists every tag and field of web/probe', () => {
  expect(readmeDisagreements(path.join(__dirname, 'README.md'), [{ producer: 'web', type: 'probe' }])).toEqual([]);
});
