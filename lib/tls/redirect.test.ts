/**
 * Credentials and redirects, against a real https server of the test CA on loopback: a redirect to plain
 * http on the same host and port (only the scheme changes) is not followed while a credential goes with
 * the request; a redirect to another host is followed without it.
 */
import { Config } from '../config/config';
import { SourceFailure } from '../documents/failures';
import { fetchBody } from '../http/get';
import { serveHttpsAndHttp, type DualServer } from '../../test/support/dualServer';
import { makeTestCa, type TestCa } from '../../test/support/testCa';
import { loadClientTls, tlsSettings, type ClientTls } from './clientTls';

const TOKEN = 'redirect-test-token-5d1';
let ca: TestCa;
let server: DualServer;

beforeAll(async () => {
  ca = makeTestCa();
  server = await serveHttpsAndHttp(ca.server, {
    '/to-plain': (port) => `http://127.0.0.1:${port}/landing`,
    '/to-other-host': (port) => `https://localhost:${port}/landing`,
    '/to-same-origin': (port) => `https://127.0.0.1:${port}/landing`,
  });
}, 600_000);
afterAll(async () => {
  await server?.close();
});

function clientTls(ini: string): ClientTls {
  return loadClientTls(tlsSettings(Config.parse(ini, 'test.cfg'), 'panda', {}));
}

const withToken = (): ClientTls => clientTls(`[tls]\nca_dir = ${ca.caDir}\n[tls.panda]\nidentity = bearer_token\nbearer_token = ${TOKEN}\n`);

/** The requests the server received since `from`. */
function requestsSince(from: number): DualServer['received'] {
  return server.received.slice(from);
}

/** Fetches `url`; first checks that nothing reached the plain http side, then that the fetch failed. */
async function failure(url: string, tls: ClientTls | undefined): Promise<SourceFailure> {
  const from = server.received.length;
  const error = await fetchBody(url, { source: 'PanDA', timeoutMs: 20_000, tls }).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(requestsSince(from).filter((request) => request.scheme === 'http')).toEqual([]);
  expect(error).toBeInstanceOf(SourceFailure);
  return error as SourceFailure;
}


describe('redirects of a request that carries a credential', () => {
  test('https to plain http on the same host and port: not followed, an auth failure naming the endpoint and the target; the http side receives nothing', async () => {
    const from = server.received.length;
    const url = `https://127.0.0.1:${server.port}/to-plain`;
    const refused = await failure(url, withToken());
    expect(refused.failureClass).toBe('auth');
    expect(refused.message).toBe(
      `PanDA ${url}: redirected to plain http http://127.0.0.1:${server.port}/landing: not followed, the bearer token of [tls.panda] identity = bearer_token would be sent unencrypted`,
    );
    expect(refused.message).not.toContain(TOKEN);
    const seen = requestsSince(from);
    expect(seen.filter((request) => request.scheme === 'http')).toEqual([]);
    // The token did go to the https endpoint itself.
    expect(seen).toEqual([{ scheme: 'https', host: `127.0.0.1:${server.port}`, path: '/to-plain', authorization: `Bearer ${TOKEN}` }]);
  });

  test("a URL's user:password is not carried to plain http either, and is in no message", async () => {
    const from = server.received.length;
    const refused = await failure(`https://reader:url-secret-9f2@127.0.0.1:${server.port}/to-plain`, clientTls(`[tls]\nca_dir = ${ca.caDir}\n`));
    expect(refused.failureClass).toBe('auth');
    expect(refused.message).toBe(
      `PanDA https://127.0.0.1:${server.port}/to-plain: redirected to plain http http://127.0.0.1:${server.port}/landing: not followed, its credentials would be sent unencrypted`,
    );
    expect(requestsSince(from).map((request) => request.scheme)).toEqual(['https']);
  });

  test('to another host: followed, without the token (got drops it); on the same origin the token stays', async () => {
    const from = server.received.length;
    const tls = withToken();
    expect((await fetchBody(`https://127.0.0.1:${server.port}/to-other-host`, { source: 'PanDA', timeoutMs: 20_000, tls })).toString()).toBe('{"ok":true}');
    expect((await fetchBody(`https://127.0.0.1:${server.port}/to-same-origin`, { source: 'PanDA', timeoutMs: 20_000, tls })).toString()).toBe('{"ok":true}');
    expect(requestsSince(from)).toEqual([
      { scheme: 'https', host: `127.0.0.1:${server.port}`, path: '/to-other-host', authorization: `Bearer ${TOKEN}` },
      { scheme: 'https', host: `localhost:${server.port}`, path: '/landing', authorization: undefined },
      { scheme: 'https', host: `127.0.0.1:${server.port}`, path: '/to-same-origin', authorization: `Bearer ${TOKEN}` },
      { scheme: 'https', host: `127.0.0.1:${server.port}`, path: '/landing', authorization: `Bearer ${TOKEN}` },
    ]);
  });

  test('without a credential a redirect to plain http is followed (public sites do that)', async () => {
    const from = server.received.length;
    const body = await fetchBody(`https://127.0.0.1:${server.port}/to-plain`, { source: 'PanDA', timeoutMs: 20_000, tls: clientTls(`[tls]\nca_dir = ${ca.caDir}\n`) });
    expect(body.toString()).toBe('{"ok":true}');
    expect(requestsSince(from).map((request) => `${request.scheme} ${request.path} ${request.authorization ?? '-'}`)).toEqual(['https /to-plain -', 'http /landing -']);
  });
});
