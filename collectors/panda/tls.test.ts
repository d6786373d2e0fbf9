import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { runPeriodicJob } from '../../lib/run/jobRunner';
import { TEN_MINUTES_MS } from '../../lib/run/slot';
import { TEST_TOKEN } from '../../test/support/gateway';
import { useInfluxAndGateway } from '../../test/support/fixtures';
import { testDir } from '../../test/support/services';
import { makeTestCa, opensslNotAfterMs, serveOpenssl, type OpensslTestServer, type TestCa } from '../../test/support/testCa';
import { evaluateModules } from '../../status/job';
import { loadStatusSettings } from '../../status/settings';
import { FixtureServer } from './test/fixtureServer';
import { DESCRIPTION_ROUTES, descriptionKeys, recorded, serveDescriptions } from './test/sources';
import collector from './collector';
import derivedJob from './derivedJob';

const servers = useInfluxAndGateway();
const TESTDATA = path.join(__dirname, 'testdata');
const PANDA_ANSWER = readFileSync(path.join(TESTDATA, 'panda-small.json'), 'utf8');
const CRIC_ANSWER = readFileSync(path.join(TESTDATA, 'cric-sample.json'), 'utf8');
const HOUR_MS = 3_600_000;

let ca: TestCa;
/** PanDA and CRIC over HTTPS, presenting a certificate of the test CA. */
let fixture: FixtureServer;
/** OpenSSL's own server: requires a client certificate that verifies against the CA dir, proxies allowed. */
let checking: OpensslTestServer;

beforeAll(async () => {
  ca = makeTestCa();
  fixture = await FixtureServer.start({ cert: readFileSync(ca.server.cert), key: readFileSync(ca.server.key) });
  fixture.routes.set('/panda', { body: PANDA_ANSWER });
  fixture.routes.set('/cric', { body: CRIC_ANSWER });
  serveDescriptions(fixture);
  checking = await serveOpenssl(ca.server, ca.caDir, { allowProxies: true });
  // s_server -WWW serves the files of its folder by the request's whole path, query string included.
  const [root] = readdirSync(ca.dir).filter((name) => name.startsWith('www-'));
  writeFileSync(path.join(ca.dir, root, 'panda?time_window=10'), PANDA_ANSWER);
  writeFileSync(path.join(ca.dir, root, 'cric'), CRIC_ANSWER);
  for (const [route, file] of Object.entries(DESCRIPTION_ROUTES)) writeFileSync(path.join(ca.dir, root, route.slice(1)), recorded(file));
}, 600_000);
afterAll(async () => {
  await fixture?.stop();
  await checking?.close();
});

/** One installation: its own var folder, PanDA and CRIC at `base`, and its [tls] sections. */
function installation(base: string, tls: string): { config: Config; varDir: string } {
  const varDir = testDir('panda-tls');
  const config = Config.parse(
    `[paths]\nvar = ${varDir}\n[monit]\nurl = ${servers.gateway.url}/\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = ${servers.influx.url}\n` +
      `[panda]\nurl = ${base}/panda\ncric_url = ${base}/cric\ntimeout = 5s\ncric_timeout = 5s\n${descriptionKeys(base, { placement: false })}[panda-derived]\nwait_for_panda = 1s\n${tls}\n`,
    'panda-tls.cfg',
  );
  return { config, varDir };
}

const panda = { name: 'panda', periodMs: TEN_MINUTES_MS, run: collector.collect };
const derived = { name: 'panda-derived', periodMs: TEN_MINUTES_MS, run: derivedJob.collect };

async function heartbeat(slotMs: number, job = 'panda'): Promise<Record<string, unknown> | undefined> {
  const rows = await servers.influx.client.rows(`SELECT * FROM "run" WHERE "job" = '${job}' AND time = ${slotMs}ms`, { database: 'monit_production_monit_collectors' });
  return rows[0];
}

/** The slot of now: the status reads the heartbeats of the last 30 minutes. */
function currentSlot(): number {
  return Math.floor(Date.now() / TEN_MINUTES_MS) * TEN_MINUTES_MS;
}

async function pandaModule(config: Config): Promise<{ state: string; reason: string }> {
  const statuses = await evaluateModules(servers.influx.client, loadStatusSettings(config), Date.now());
  const module = statuses.find((status) => status.module === 'panda');
  if (!module) throw new Error('no panda module among the default rules');
  return module;
}

describe('panda and CRIC over HTTPS with the grid settings of [tls]', () => {
  test('a server of the grid CA is trusted with [tls] ca_dir, and refused without it with an error naming the endpoint', async () => {
    const slotMs = currentSlot();
    const trusting = installation(fixture.url, `[tls]\nca_dir = ${ca.caDir}\n`);
    // CRIC answered too: no problem in the run.
    expect(await runPeriodicJob(panda, { config: trusting.config, deadlineMs: 30_000, timeMs: slotMs, echoLog: false })).toMatchObject({ ok: true, documents: 19, problems: 0 });
    // No identity, so no credential in the heartbeat.
    const beat = await heartbeat(slotMs);
    expect(beat).toMatchObject({ ok: true, errors: 0, credential: '', credential_expiring: false });
    expect(beat?.credential_expires_in_s ?? null).toBeNull();

    const untrusting = installation(fixture.url, `[tls]\nca_dir = none\n`);
    const outcome = await runPeriodicJob(panda, { config: untrusting.config, deadlineMs: 30_000, timeMs: slotMs, echoLog: false });
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toContain(`PanDA ${fixture.url}/panda`);
    expect(outcome.message).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE.*\[tls\] ca_dir = none/);
    expect(await heartbeat(slotMs)).toMatchObject({ ok: false, message: outcome.message });

    // CRIC alone untrusted: a CRIC failure the run survives (no cached copy here), naming CRIC's endpoint.
    const cricUntrusted = installation(fixture.url, `[tls]\nca_dir = ${ca.caDir}\n[tls.cric]\nca_dir = none\n`);
    const survived = await runPeriodicJob(panda, { config: cricUntrusted.config, deadlineMs: 30_000, timeMs: slotMs, echoLog: false });
    // CRIC's PanDA-queue, site and DDM descriptions and WLCG CRIC's federations: [tls.cric] covers all four.
    expect(survived).toMatchObject({ ok: true, problems: 4 });
    const log = readFileSync(path.join(cricUntrusted.varDir, 'log', 'panda.log'), 'utf8');
    for (const [source, route] of [['CRIC', 'cric'], ['CRIC sites', 'cric-sites'], ['CRIC DDM endpoints', 'cric-ddm'], ['WLCG CRIC federations', 'federations']]) {
      expect(log).toMatch(new RegExp(`ERROR .*${source} ${fixture.url}/${route}: .*UNABLE_TO_VERIFY_LEAF_SIGNATURE.*\\[tls\\.cric\\]`));
    }
  });

  test('the placement source has its own [tls.placement]: refused there alone, a placement failure the run survives', async () => {
    const slotMs = currentSlot();
    const withPlacement = (tls: string): { config: Config; varDir: string } => {
      const varDir = testDir('panda-tls');
      const config = Config.parse(
        `[paths]\nvar = ${varDir}\n[monit]\nurl = ${servers.gateway.url}/\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = ${servers.influx.url}\n` +
          `[panda]\nurl = ${fixture.url}/panda\ncric_url = ${fixture.url}/cric\ntimeout = 5s\ncric_timeout = 5s\n${descriptionKeys(fixture.url)}${tls}\n`,
        'panda-tls.cfg',
      );
      return { config, varDir };
    };
    const trusted = withPlacement(`[tls]\nca_dir = ${ca.caDir}\n`);
    expect(await runPeriodicJob(panda, { config: trusted.config, deadlineMs: 30_000, timeMs: slotMs, echoLog: false })).toMatchObject({ ok: true, problems: 0 });

    const untrusted = withPlacement(`[tls]\nca_dir = ${ca.caDir}\n[tls.placement]\nca_dir = none\n`);
    expect(await runPeriodicJob(panda, { config: untrusted.config, deadlineMs: 30_000, timeMs: slotMs, echoLog: false })).toMatchObject({ ok: true, problems: 1 });
    const log = readFileSync(path.join(untrusted.varDir, 'log', 'panda.log'), 'utf8');
    expect(log).toMatch(new RegExp(`ERROR .*placement ${fixture.url}/placement.*UNABLE_TO_VERIFY_LEAF_SIGNATURE.*\\[tls\\.placement\\] ca_dir = none`));
    expect(log).not.toMatch(/ERROR .*CRIC/);
  });

  test('identity = x509_proxy to a server that checks client certificates: the run succeeds, its heartbeat reports the proxy, the log warns, the panda module turns degraded', async () => {
    const slotMs = currentSlot();
    // The server does check: without an identity the handshake is refused.
    const anonymous = installation(checking.url.replace(/\/data\.json$/, ''), `[tls]\nca_dir = ${ca.caDir}\n`);
    const refused = await runPeriodicJob(panda, { config: anonymous.config, deadlineMs: 30_000, timeMs: slotMs, echoLog: false });
    expect(refused.ok).toBe(false);
    expect(refused.message).toContain(checking.url.replace(/\/data\.json$/, '/panda'));

    // A 12-hour proxy, inside the default expiry_warning (3d).
    const proxySettings = (warning: string): string =>
      `[tls]\nca_dir = ${ca.caDir}\nx509_proxy = ${ca.proxy}\n${warning}[tls.panda]\nidentity = x509_proxy\n[tls.cric]\nidentity = x509_proxy\n`;
    const tls = proxySettings('');
    const { config, varDir } = installation(checking.url.replace(/\/data\.json$/, ''), tls);
    const outcome = await runPeriodicJob(panda, { config, deadlineMs: 30_000, timeMs: slotMs, echoLog: false });
    expect(outcome).toMatchObject({ ok: true, documents: 19, problems: 0 });

    const notAfterMs = opensslNotAfterMs(ca.proxy);
    const beat = await heartbeat(slotMs);
    expect(beat).toMatchObject({ ok: true, errors: 0, credential: 'X.509 proxy of panda', credential_expiring: true });
    // Seconds from the heartbeat's time (the slot) to the expiry, against openssl's own reading of the proxy.
    const secondsLeft = Number(beat?.credential_expires_in_s);
    expect(Math.abs(notAfterMs / 1000 - secondsLeft - slotMs / 1000)).toBeLessThanOrEqual(1);

    const log = readFileSync(path.join(varDir, 'log', 'panda.log'), 'utf8');
    const warnings = log.split('\n').filter((line) => / WARN .*expires at/.test(line));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings[0]).toContain('[tls.panda]');
    expect(warnings[0]).toContain(ca.proxy);
    expect(log).not.toContain('PRIVATE KEY');
    expect(log).not.toContain('BEGIN CERTIFICATE');

    // panda-derived gates the panda module; its data and heartbeat are fresh, and panda's proxy makes it degraded.
    expect(await runPeriodicJob(derived, { config, deadlineMs: 30_000, timeMs: slotMs, echoLog: false })).toMatchObject({ ok: true });
    const nowMs = Date.now();
    const module = await pandaModule(config);
    expect(module.state).toBe('degraded');
    const hours = Number(/^X\.509 proxy of panda expires in (\d+)h$/.exec(module.reason)?.[1]);
    // The reason counts from the heartbeat's slot: at most the time since the slot short of the true time left.
    expect(hours).toBeLessThanOrEqual(Math.floor((notAfterMs - nowMs) / HOUR_MS));
    expect(hours).toBeGreaterThanOrEqual(Math.floor((notAfterMs - nowMs - (nowMs - slotMs)) / HOUR_MS));

    // The same proxy outside a 1h expiry_warning: reported, not expiring, and the module is no longer degraded for it.
    const relaxed = installation(checking.url.replace(/\/data\.json$/, ''), proxySettings('expiry_warning = 1h\n'));
    expect(await runPeriodicJob(panda, { config: relaxed.config, deadlineMs: 30_000, timeMs: slotMs, echoLog: false })).toMatchObject({ ok: true });
    expect(await heartbeat(slotMs)).toMatchObject({ credential: 'X.509 proxy of panda', credential_expiring: false });
    expect(readFileSync(path.join(relaxed.varDir, 'log', 'panda.log'), 'utf8')).not.toMatch(/ WARN .*expires at/);
    expect((await pandaModule(relaxed.config)).reason).not.toMatch(/X\.509/);
  });

  test('an expired credential fails the run with a message naming it, and the panda module is unavailable', async () => {
    const slotMs = currentSlot();
    const expired = path.join(testDir('panda-expired'), 'x509up_expired');
    writeFileSync(expired, readFileSync(ca.expiredServer.cert, 'utf8') + readFileSync(ca.expiredServer.key, 'utf8'), { mode: 0o600 });
    const { config } = installation(checking.url.replace(/\/data\.json$/, ''), `[tls]\nca_dir = ${ca.caDir}\n[tls.panda]\nidentity = x509_proxy\nx509_proxy = ${expired}\n`);
    const outcome = await runPeriodicJob(panda, { config, deadlineMs: 30_000, timeMs: slotMs, echoLog: false });
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toContain(expired);
    expect(outcome.message).toMatch(/expired at 2020-02-01/);
    expect(outcome.message).not.toContain('PRIVATE KEY');
    const beat = await heartbeat(slotMs);
    // The earlier run of this slot reported a proxy: this run's heartbeat overwrites that.
    expect(beat).toMatchObject({ ok: false, message: outcome.message, credential: '', credential_expiring: false });
    expect(await runPeriodicJob(derived, { config, deadlineMs: 30_000, timeMs: slotMs, echoLog: false })).toMatchObject({ ok: false });
    const module = await pandaModule(config);
    expect(module.state).toBe('unavailable');
    expect(module.reason).toContain('expired at 2020-02-01');
  });
});
