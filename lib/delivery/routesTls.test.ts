/** The routes' TLS through lib/tls against a loopback HTTPS server of a test CA. */
import path from 'node:path';
import { Config } from '../config/config';
import { MemoryLogger } from '../run/log';
import { makeTestCa, serveHttps, type TestCa, type HttpsTestServer } from '../../test/support/testCa';
import { testDir } from '../../test/support/services';
import { RunCredentials } from '../run/runCredentials';
import { runPeriodicJob, type PeriodicJob } from '../run/jobRunner';
import { spooledDocuments } from '../../test/support/spooled';
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

it("a run's credentials include the route's: its token's expiry reaches the heartbeat summary", async () => {
  const expiresAtSeconds = Math.floor(Date.now() / 1000) + 3600;
  const base64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const token = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'route-test', exp: expiresAtSeconds })}.signature`;
  const config = Config.parse(
    `[monit]\nurl = http://127.0.0.1:9/\n[tls]\nca_dir = none\n[monit.route.secure]\nproducers = web\nurl = ${server.url}\n` +
      `[tls.monit.route.secure]\nca_dir = ${ca.caDir}\nidentity = bearer_token\nbearer_token = ${token}\nexpiry_warning = 2h\n`,
    'tls.cfg',
  );
  const log = new MemoryLogger();
  const credentials = new RunCredentials(config, log);
  const routed = new RoutedSender(routingSettings(config), testDir('routes-tls'), log, (settings) => credentials.tls(settings.source));
  routed.enqueue([doc]);
  const before = Date.now();
  const report = await routed.deliver({ deadlineMs: Date.now() + 10_000, retry: false });
  expect(report.routes[1].report).toMatchObject({ documentsSent: 1, documentsSpooled: 0 });
  expect(server.received.at(-1)?.authorization).toBe(`Bearer ${token}`);
  const summary = credentials.summary();
  expect(summary).toMatchObject({ credential: 'bearer token of monit.route.secure', expiring: true });
  // Seconds left, from the token's own exp claim (computed here, not by lib/tls).
  expect(summary?.expiresInSeconds).toBeLessThanOrEqual(expiresAtSeconds - Math.floor(before / 1000));
  expect(summary?.expiresInSeconds).toBeGreaterThanOrEqual(expiresAtSeconds - Math.ceil(Date.now() / 1000) - 1);
  expect(log.lines.join('\n')).not.toContain(token);
});

it("a run that sends only its heartbeat still reports the endpoint's credential in it", async () => {
  const expiresAtSeconds = Math.floor(Date.now() / 1000) + 3600;
  const base64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const token = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'heartbeat-test', exp: expiresAtSeconds })}.signature`;
  // The endpoint answers 503, so the heartbeat stays in the spool where the test reads it.
  const unavailable = await serveHttps(ca.server, { status: 503 });
  try {
    const varDir = testDir('routes-tls-heartbeat');
    const config = Config.parse(
      `[paths]\nvar = ${varDir}\n[monit]\nurl = ${unavailable.url}\n[tls.monit]\nca_dir = ${ca.caDir}\nidentity = bearer_token\nbearer_token = ${token}\nexpiry_warning = 2h\n`,
      'tls.cfg',
    );
    const job: PeriodicJob = { name: 'quiet-job', periodMs: 600_000, run: async () => [] };
    const started = Date.now();
    await runPeriodicJob(job, { config, deadlineMs: 3_000, graceMs: 500, echoLog: false });
    expect(unavailable.received.at(-1)?.authorization).toBe(`Bearer ${token}`);
    const [heartbeat] = spooledDocuments(path.join(varDir, 'spool', 'quiet-job'));
    expect(heartbeat).toMatchObject({ producer: 'monit-collectors', type: 'run', credential: 'bearer token of monit', credential_expiring: true });
    // Counted from the heartbeat's time, the start of the run's 10-minute slot.
    const slotSeconds = (ms: number): number => Math.floor(ms / 600_000) * 600;
    expect(heartbeat.credential_expires_in_s).toBeLessThanOrEqual(expiresAtSeconds - slotSeconds(started));
    expect(heartbeat.credential_expires_in_s).toBeGreaterThanOrEqual(expiresAtSeconds - slotSeconds(Date.now()));
  } finally {
    await unavailable.close();
  }
});
