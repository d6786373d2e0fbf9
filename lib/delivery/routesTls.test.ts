/** The routes' TLS through lib/tls against a loopback HTTPS server of a test CA (needs the tls-core branch). */
import { Config } from '../config/config';
import { MemoryLogger } from '../run/log';
import { makeTestCa, serveHttps, type TestCa, type HttpsTestServer } from '../../test/support/testCa';
import { testDir } from '../../test/support/services';
import { RoutedSender } from './routes';
import { routingSettings } from './settings';

let ca: TestCa;
let server: HttpsTestServer;
let revoked: HttpsTestServer;
beforeAll(async () => {
  ca = makeTestCa();
  server = await serveHttps(ca.server);
  revoked = await serveHttps(ca.revokedServer);
});
afterAll(async () => {
  await server?.close();
  await revoked?.close();
});

const doc = { producer: 'web', type: 'probe', timestamp: 1, site: 'x' };

function sender(extra: string, url: string): { sender: RoutedSender; log: MemoryLogger } {
  const config = Config.parse(`[monit]\nurl = http://127.0.0.1:9/\n[tls]\nca_dir = none\n[monit.route.secure]\nproducers = web\nurl = ${url}\nsend_as = tenant-s\npassword = pw-route-123\n${extra}`, 'tls.cfg');
  const log = new MemoryLogger();
  return { sender: new RoutedSender(routingSettings(config), testDir('routes-tls'), log), log };
}

it('with ca_dir the route delivers over https; its credentials reach the server', async () => {
  const { sender: routed } = sender(`[tls.monit.route.secure]\nca_dir = ${ca.caDir}\n`, server.url);
  routed.enqueue([doc]);
  const report = await routed.deliver({ deadlineMs: Date.now() + 10_000, retry: false });
  expect(report.routes[1].report).toMatchObject({ documentsSent: 1, documentsSpooled: 0 });
  expect(server.received.at(-1)?.authorization).toBe(`Basic ${Buffer.from('tenant-s:pw-route-123').toString('base64')}`);
});

it("without ca_dir: the route stops with lib/tls's explanation, its documents wait", async () => {
  const { sender: routed } = sender('', server.url);
  routed.enqueue([doc]);
  const report = await routed.deliver({ deadlineMs: Date.now() + 10_000 });
  expect(report.routes[1].report).toMatchObject({ documentsSent: 0, documentsSpooled: 1 });
  expect(report.credentialsRefused).toContain(`route secure: ${server.url}: `);
  expect(report.credentialsRefused).toContain('set ca_dir');
  expect(report.credentialsRefused).toContain('[tls.monit.route.secure]');
  expect(report.credentialsRefused).not.toContain('pw-route-123');
});

it('a revoked server certificate is refused', async () => {
  const { sender: routed } = sender(`[tls.monit.route.secure]\nca_dir = ${ca.caDir}\n`, revoked.url);
  routed.enqueue([doc]);
  const report = await routed.deliver({ deadlineMs: Date.now() + 10_000 });
  expect(report.routes[1].report).toMatchObject({ documentsSent: 0, documentsSpooled: 1 });
  expect(report.credentialsRefused).toContain('CERT_REVOKED');
});
