import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { Config } from '../config/config';
import type { MonitDocument } from '../documents/types';
import { MemoryLogger } from '../run/log';
import { runPeriodicJob, type PeriodicJob } from '../run/jobRunner';
import { startTestGateway, TEST_TOKEN } from '../../test/support/gateway';
import { useInfluxDB } from '../../test/support/fixtures';
import { freePort } from '../../test/support/ports';
import { testDir } from '../../test/support/services';
import type { RunningGateway } from '../../gateway/server';
import { replay } from './commands';
import { RoutedSender } from './routes';
import { routingSettings } from './settings';
import { spooledDocuments } from '../../test/support/spooled';

const ALPHA_PASSWORD = 'alpha-password-3141';
const BETA_PASSWORD = 'beta-password-2718';
const slot = Math.floor(Date.now() / 600_000) * 600_000 - 3_600_000;

const parse = (text: string): Config => Config.parse(text, 'routes.cfg');

/** `./run.sh ARGS` (the built main.js), without blocking this process, where the gateway lives. */
function runCli(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

/** Documents of one series per index, tagged with `site` so each test counts its own. */
function documents(producer: string, type: string, site: string, count: number): MonitDocument[] {
  return Array.from({ length: count }, (_, index) => ({
    producer,
    type,
    timestamp: slot,
    idb_tags: ['site', 'node'],
    idb_fields: ['count'],
    site,
    node: `n${index}`,
    count: index,
  }));
}


describe('route settings', () => {
  const monit = '[monit]\nurl = http://127.0.0.1:9/\ntoken = t0ken-default\ntimeout = 7s\nconcurrency = 3\n';

  it('a config without routes has the default route only, with [monit] as it was', () => {
    const routing = routingSettings(parse(monit));
    expect(routing.routes).toEqual([]);
    expect(routing.default).toMatchObject({ name: 'default', section: 'monit', url: 'http://127.0.0.1:9/', token: 't0ken-default', timeoutMs: 7000, concurrency: 3, selectors: [], copy: false });
  });

  it('a route inherits the limits of [monit] but never its credentials; the basic-auth user defaults to send_as', () => {
    const routing = routingSettings(parse(`${monit}[monit.route.cern]\nproducers = panda, monit-collectors/availability\nurl = https://monit.example:10014/atlas-x\nsend_as = atlas-x\npassword = cern-secret\nconcurrency = 5\n`));
    const [cern] = routing.routes;
    expect(cern).toMatchObject({ name: 'cern', section: 'monit.route.cern', timeoutMs: 7000, concurrency: 5, username: 'atlas-x', password: 'cern-secret', sendAs: 'atlas-x', copy: false });
    expect(cern.token).toBeUndefined();
    expect(cern.selectors.map((selector) => [selector.producer, selector.type])).toEqual([
      ['panda', undefined],
      ['monit-collectors', 'availability'],
    ]);
  });

  it.each([
    ['an unknown key', '[monit.route.cern]\nproducers = panda\nurl = http://127.0.0.1:9/\ntokn = x\n', 'routes.cfg: [monit.route.cern] tokn is not a route setting (known: producers, copy, send_as'],
    ['a bad URL', '[monit.route.cern]\nproducers = panda\nurl = monit.cern.ch:10014\n', 'routes.cfg: [monit.route.cern] url must be'],
    ['a missing URL', '[monit.route.cern]\nproducers = panda\n', 'routes.cfg: [monit.route.cern] url is missing'],
    ['no producers', '[monit.route.cern]\nurl = http://127.0.0.1:9/\n', 'routes.cfg: [monit.route.cern] producers is missing'],
    ['a bad selector', '[monit.route.cern]\nproducers = panda/jobs/x\nurl = http://127.0.0.1:9/\n', '[monit.route.cern] producers: "panda/jobs/x" is not a producer (panda), a producer/type'],
    ['a route named like the rejected folder', '[monit.route.rejected]\nproducers = panda\nurl = http://127.0.0.1:9/\n', '[monit.route.rejected]: a route name is'],
    ['a token and a password', '[monit.route.cern]\nproducers = panda\nurl = http://127.0.0.1:9/\ntoken = abc\nusername = u\npassword = p\n', '[monit.route.cern] token: set token, or username and password, not both'],
    ['a password without a user', '[monit.route.cern]\nproducers = panda\nurl = http://127.0.0.1:9/\npassword = pw-secret\n', '[monit.route.cern] password needs username'],
    ['a bad send_as', '[monit.route.cern]\nproducers = panda\nurl = http://127.0.0.1:9/\nsend_as = atlas x\n', '[monit.route.cern] send_as must be a producer name'],
  ])('%s is a configuration error naming the section and key', (_, routes, message) => {
    expect(() => routingSettings(parse(monit + routes))).toThrow(message);
  });

  it('two routes that take the same documents are an error naming both, unless one is a copy', () => {
    const routes = '[monit.route.one]\nproducers = web, panda\nurl = http://127.0.0.1:9/\n[monit.route.two]\nproducers = panda/jobs\nurl = http://127.0.0.1:9/\n';
    expect(() => routingSettings(parse(monit + routes))).toThrow(
      'routes.cfg: [monit.route.one] producers "panda" and [monit.route.two] producers "panda/jobs" take the same documents',
    );
    expect(() => routingSettings(parse(monit + routes.replace('[monit.route.two]\n', '[monit.route.two]\ncopy = yes\n')))).not.toThrow();
    // Different types of one producer do not overlap; * overlaps everything.
    expect(() => routingSettings(parse(monit + routes.replace('web, panda', 'panda/sites')))).not.toThrow();
    expect(() => routingSettings(parse(monit + routes.replace('web, panda', '*')))).toThrow('[monit.route.one] producers "*" and [monit.route.two] producers "panda/jobs"');
  });

  it('a secret of a route never appears in a configuration error', () => {
    let message = '';
    try {
      routingSettings(parse(`${monit}[monit.route.cern]\nproducers = panda\nurl = http://127.0.0.1:9/\ntoken = route-token-secret\nusername = u\n`));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('[monit.route.cern] token');
    expect(message).not.toContain('route-token-secret');
  });
});

describe('identities over plain http', () => {
  it('an identity for a plain http endpoint is a config error naming the section and the URL, for a route and for [monit]', () => {
    const route = '[monit]\nurl = https://127.0.0.1:9/\n[monit.route.tk]\nproducers = web\nurl = http://user:secret-in-url@127.0.0.1:8190/\n[tls.monit.route.tk]\nidentity = bearer_token\nbearer_token = token-never-shown\n';
    expect(() => routingSettings(Config.parse(route, 'routes.cfg'))).toThrow(
      'routes.cfg: [tls.monit.route.tk] identity = bearer_token, but [monit.route.tk] url is plain http (http://127.0.0.1:8190/): an identity is presented over https only',
    );
    const monit = '[monit]\nurl = http://127.0.0.1:8190/\n[tls.monit]\nidentity = x509_proxy\n';
    expect(() => routingSettings(Config.parse(monit, 'routes.cfg'))).toThrow('[tls.monit] identity = x509_proxy, but [monit] url is plain http');
    // Over https the same settings are taken.
    expect(routingSettings(Config.parse(route.replace('http://user', 'https://user'), 'routes.cfg')).routes[0].tls.identity).toBe('bearer_token');
  });
});

describe('two tenants on one gateway', () => {
  const servers = useInfluxDB();
  let gateway: RunningGateway;

  beforeAll(async () => {
    gateway = await startTestGateway(servers.influx.url, { producerPasswords: { 'tenant-alpha': ALPHA_PASSWORD, 'tenant-beta': BETA_PASSWORD } });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  /** [monit] to the gateway with the token; alpha takes test-producer/sample as tenant-alpha, beta takes other-producer as tenant-beta. */
  function tenants(options: { betaPassword?: string; betaUrl?: string; extra?: string; varDir?: string } = {}): Config {
    return parse(tenantsText(options));
  }

  function tenantsText(options: { betaPassword?: string; betaUrl?: string; extra?: string; varDir?: string } = {}): string {
    const varDir = options.varDir ?? testDir('routes');
    return (
      `[paths]\nvar = ${varDir}\n[monit]\nurl = ${gateway.url}/\ntoken = ${TEST_TOKEN}\ntimeout = 5s\n` +
        `[monit.route.alpha]\nproducers = test-producer/sample\nurl = ${gateway.url}/tenant-alpha\nsend_as = tenant-alpha\nusername = tenant-alpha\npassword = ${ALPHA_PASSWORD}\n` +
        `[monit.route.beta]\nproducers = other-producer\nurl = ${options.betaUrl ?? `${gateway.url}/tenant-beta`}\nsend_as = tenant-beta\npassword = ${options.betaPassword ?? BETA_PASSWORD}\n` +
        (options.extra ?? '')
    );
  }

  async function stored(database: string, measurement: string, site: string): Promise<number> {
    const rows = await servers.influx.client.rows(`SELECT "count" FROM "${measurement}" WHERE "site" = '${site}'`, { database }).catch(() => []);
    return rows.length;
  }

  /** Each tenant's documents, plus documents of test-producer's other type, which no route selects. */
  const mixed = (site: string): MonitDocument[] => [...documents('test-producer', 'sample', site, 30), ...documents('other-producer', 'load', site, 20), ...documents('test-producer', 'other', site, 10)];

  it('every producer lands in its own database, through its own route and credential', async () => {
    const dir = testDir('routes-spool');
    const sender = new RoutedSender(routingSettings(tenants()), dir, new MemoryLogger());
    expect(sender.enqueue(mixed('own'))).toBe(60);
    // Spooled as the job made them (renamed only as they are sent), each route in its own folder; the
    // default route's folder is the job's own.
    expect(spooledDocuments(path.join(dir, 'alpha')).map((document) => `${document.producer}/${document.type}`)).toEqual(Array(30).fill('test-producer/sample'));
    expect(spooledDocuments(path.join(dir, 'beta')).map((document) => `${document.producer}/${document.type}`)).toEqual(Array(20).fill('other-producer/load'));
    expect(spooledDocuments(dir).map((document) => `${document.producer}/${document.type}`)).toEqual(Array(10).fill('test-producer/other'));
    const report = await sender.deliver({ deadlineMs: Date.now() + 20_000 });
    expect(report).toMatchObject({ documentsSent: 60, documentsRejected: 0, documentsSpooled: 0 });
    expect(report.credentialsRefused).toBeUndefined();
    expect(await stored('monit_production_tenant_alpha', 'sample', 'own')).toBe(30);
    expect(await stored('monit_production_tenant_beta', 'load', 'own')).toBe(20);
    expect(await stored('monit_production_test_producer', 'other', 'own')).toBe(10);
    // Nothing under the canonical names the routes renamed.
    expect(await stored('monit_production_test_producer', 'sample', 'own')).toBe(0);
    expect(await stored('monit_production_other_producer', 'load', 'own')).toBe(0);
  });

  it("a wrong password on one route: that route's documents wait in its spool, the others are delivered; fixed, nothing is lost", async () => {
    const varDir = testDir('routes-refused');
    const dir = path.join(varDir, 'spool', 'job');
    const log = new MemoryLogger();
    const refused = new RoutedSender(routingSettings(tenants({ betaPassword: ALPHA_PASSWORD, varDir })), dir, log);
    refused.enqueue(mixed('refused'));
    const report = await refused.deliver({ deadlineMs: Date.now() + 20_000 });
    expect(report).toMatchObject({ documentsSent: 40, documentsSpooled: 20 });
    expect(report.credentialsRefused).toContain('route beta: ');
    expect(report.credentialsRefused).toContain('refused our credentials (HTTP 401): check [monit.route.beta] token, or username and password');
    expect(report.credentialsRefused).not.toContain(ALPHA_PASSWORD);
    expect(report.routes.map((route) => [route.route, route.report.documentsSent, route.report.documentsSpooled, route.report.credentialsRefused === undefined])).toEqual([
      ['default', 10, 0, true],
      ['alpha', 30, 0, true],
      ['beta', 0, 20, false],
    ]);
    expect(spooledDocuments(path.join(dir, 'beta'))).toHaveLength(20);
    expect(await stored('monit_production_tenant_alpha', 'sample', 'refused')).toBe(30);
    expect(await stored('monit_production_tenant_beta', 'load', 'refused')).toBe(0);
    expect(log.lines.join('\n')).not.toContain(ALPHA_PASSWORD);
    // `./run.sh replay` with the password fixed delivers what waited.
    const fixed = tenants({ varDir });
    expect(await replay(fixed, { debug: false })).toBe(0);
    expect(spooledDocuments(path.join(dir, 'beta'))).toHaveLength(0);
    expect(await stored('monit_production_tenant_beta', 'load', 'refused')).toBe(20);
  });

  it('batches waiting while send_as was wrong go out under the corrected name (renamed as sent, not as spooled)', async () => {
    const closed = await freePort();
    const dir = testDir('routes-renamed');
    const route = (url: string, sendAs: string): Config =>
      parse(`[monit]\nurl = ${gateway.url}/\ntoken = ${TEST_TOKEN}\n[monit.route.beta]\nproducers = other-producer\nurl = ${url}\nsend_as = ${sendAs}\nusername = tenant-beta\npassword = ${BETA_PASSWORD}\n`);
    const wrong = new RoutedSender(routingSettings(route(`http://127.0.0.1:${closed}/tenant-beta`, 'tenant-gamma')), dir, new MemoryLogger());
    wrong.enqueue(documents('other-producer', 'load', 'renamed', 5));
    expect((await wrong.deliver({ deadlineMs: Date.now() + 2_000, retry: false })).documentsSpooled).toBe(5);
    const fixed = new RoutedSender(routingSettings(route(`${gateway.url}/tenant-beta`, 'tenant-beta')), dir, new MemoryLogger());
    const report = await fixed.deliver({ deadlineMs: Date.now() + 20_000 });
    expect(report).toMatchObject({ documentsSent: 5, documentsRejected: 0, documentsSpooled: 0 });
    expect(await stored('monit_production_tenant_beta', 'load', 'renamed')).toBe(5);
  });

  it('a MONIT record naming its producer only in metadata is routed by it', () => {
    const dir = testDir('routes-metadata');
    const config = parse(`[monit]\nurl = ${gateway.url}/\ntoken = ${TEST_TOKEN}\n[monit.route.cms]\nproducers = cmssst/ssbmetric\nurl = ${gateway.url}/cmssst\n`);
    const records = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'gateway', 'testdata', 'monit-senders', 'monit-archive-record.json'), 'utf8')) as MonitDocument[];
    expect(records[0].producer).toBeUndefined();
    new RoutedSender(routingSettings(config), dir, new MemoryLogger()).enqueue(records);
    expect(spooledDocuments(path.join(dir, 'cms'))).toEqual(records);
    expect(spooledDocuments(dir)).toEqual([]);
  });

  it("a route that is down holds back no other; its documents wait and go once it is back", async () => {
    const closed = await freePort();
    const dir = testDir('routes-down');
    const down = new RoutedSender(routingSettings(tenants({ betaUrl: `http://127.0.0.1:${closed}/tenant-beta` })), dir, new MemoryLogger());
    down.enqueue(mixed('down'));
    const report = await down.deliver({ deadlineMs: Date.now() + 20_000, retry: false });
    expect(report).toMatchObject({ documentsSent: 40, documentsSpooled: 20 });
    expect(report.credentialsRefused).toBeUndefined();
    expect(report.stoppedBecause).toBe(`route beta: cannot reach http://127.0.0.1:${closed}/tenant-beta: ECONNREFUSED`);
    expect(await stored('monit_production_tenant_alpha', 'sample', 'down')).toBe(30);
    expect(await stored('monit_production_test_producer', 'other', 'down')).toBe(10);
    expect(spooledDocuments(path.join(dir, 'beta'))).toHaveLength(20);
    const back = new RoutedSender(routingSettings(tenants()), dir, new MemoryLogger());
    expect(back.waitingBatches()).toBe(1);
    expect(await back.deliver({ deadlineMs: Date.now() + 20_000 })).toMatchObject({ documentsSent: 20, documentsSpooled: 0 });
    expect(await stored('monit_production_tenant_beta', 'load', 'down')).toBe(20);
  });

  it("a user and password written into a route's URL never appear in its messages", async () => {
    const closed = await freePort();
    const log = new MemoryLogger();
    const sender = new RoutedSender(routingSettings(tenants({ betaUrl: `http://tenant-beta:url-secret-77@127.0.0.1:${closed}/tenant-beta` })), testDir('routes-url'), log);
    sender.enqueue(documents('other-producer', 'load', 'url', 2));
    const report = await sender.deliver({ deadlineMs: Date.now() + 20_000, retry: false });
    expect(report.stoppedBecause).toBe(`route beta: cannot reach http://127.0.0.1:${closed}/tenant-beta: ECONNREFUSED`);
    expect(log.lines.join('\n')).toContain('route beta: 2 documents wait in the spool');
    expect(log.lines.join('\n')).not.toContain('url-secret-77');
  });

  it('a copy route gets its own copy with the same time; the documents still go where they went', async () => {
    const dir = testDir('routes-copy');
    const config = tenants({ extra: `[monit.route.mirror]\nproducers = test-producer\ncopy = yes\nurl = ${gateway.url}/\ntoken = ${TEST_TOKEN}\nsend_as = tenant-mirror\n` });
    const sender = new RoutedSender(routingSettings(config), dir, new MemoryLogger());
    // Without a timestamp: both copies must carry the one the sender stamps.
    const untimed = documents('test-producer', 'sample', 'copy', 5).map(({ timestamp: _, ...rest }) => rest as MonitDocument);
    expect(sender.enqueue([...untimed, ...documents('test-producer', 'other', 'copy', 4)])).toBe(9);
    expect(await sender.deliver({ deadlineMs: Date.now() + 20_000 })).toMatchObject({ documentsSent: 18, documentsSpooled: 0 });
    const times = async (database: string, measurement: string): Promise<unknown[]> =>
      (await servers.influx.client.rows(`SELECT "count" FROM "${measurement}" WHERE "site" = 'copy'`, { database })).map((row) => row.time);
    const alphaTimes = await times('monit_production_tenant_alpha', 'sample');
    expect(alphaTimes).toHaveLength(5);
    expect(await times('monit_production_tenant_mirror', 'sample')).toEqual(alphaTimes);
    expect(await stored('monit_production_test_producer', 'other', 'copy')).toBe(4);
    expect(await stored('monit_production_tenant_mirror', 'other', 'copy')).toBe(4);
  });

  it('a document refused by the check spools nothing on any route', () => {
    const dir = testDir('routes-atomic');
    const sender = new RoutedSender(routingSettings(tenants()), dir, new MemoryLogger());
    const all = mixed('atomic');
    expect(() =>
      sender.enqueue(all, (document) => {
        if (document === all[55]) throw new Error('invalid document');
      }),
    ).toThrow('invalid document');
    expect(sender.waitingBatches()).toBe(0);
    for (const folder of [dir, path.join(dir, 'alpha'), path.join(dir, 'beta')]) expect(readdirSync(folder).filter((name) => name.endsWith('.json'))).toEqual([]);
  });

  it("a run whose route refuses us fails and says which route; the heartbeat, routed to a tenant, says so too", async () => {
    const varDir = testDir('routes-run');
    const job: PeriodicJob = { name: 'routed-job', periodMs: 600_000, run: async () => [...documents('test-producer', 'sample', 'run', 3), ...documents('other-producer', 'load', 'run', 4)] };
    const heartbeatRoute = `[monit.route.heartbeat]\nproducers = monit-collectors/run\nurl = ${gateway.url}/tenant-alpha\nsend_as = tenant-alpha\npassword = ${ALPHA_PASSWORD}\n`;
    const config = tenants({ varDir, betaPassword: 'wrong-password', extra: heartbeatRoute });
    const outcome = await runPeriodicJob(job, { config, deadlineMs: 30_000, echoLog: false });
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toContain('route beta: ');
    expect(outcome.message).toContain('[monit.route.beta]');
    // The heartbeat itself is counted in the run's report, not in its own fields.
    expect(outcome.report).toMatchObject({ documentsSent: 4, documentsSpooled: 4 });
    expect(await stored('monit_production_tenant_alpha', 'sample', 'run')).toBe(3);
    expect(spooledDocuments(path.join(varDir, 'spool', 'routed-job', 'beta'))).toHaveLength(4);
    const [heartbeat] = await servers.influx.client.rows(`SELECT * FROM "run" WHERE "job" = 'routed-job'`, { database: 'monit_production_tenant_alpha' });
    expect(heartbeat).toMatchObject({ ok: false, documents_sent: 3, documents_spooled: 4 });
    expect(String(heartbeat.message)).toContain('route beta: ');
    // The next run, with the password fixed, replays the route's spool first.
    const next = await runPeriodicJob({ ...job, run: async () => [] }, { config: tenants({ varDir, extra: heartbeatRoute }), deadlineMs: 30_000, echoLog: false });
    expect(next).toMatchObject({ ok: true });
    expect(await stored('monit_production_tenant_beta', 'load', 'run')).toBe(4);
  });

  it("a copy route that refuses us: a problem of the run, not its failure; its copies wait and go once fixed", async () => {
    const varDir = testDir('routes-copy-refused');
    const job: PeriodicJob = { name: 'copying-job', periodMs: 600_000, run: async () => documents('test-producer', 'other', 'copy-refused', 3) };
    const copyRoute = (password: string): string =>
      `[monit.route.copy]\nproducers = test-producer/other\ncopy = yes\nurl = ${gateway.url}/tenant-beta\nsend_as = tenant-beta\npassword = ${password}\n`;
    const outcome = await runPeriodicJob(job, { config: tenants({ varDir, extra: copyRoute('wrong-password') }), deadlineMs: 30_000, echoLog: false });
    expect(outcome).toMatchObject({ ok: true, problems: 1 });
    expect(await stored('monit_production_test_producer', 'other', 'copy-refused')).toBe(3);
    expect(spooledDocuments(path.join(varDir, 'spool', 'copying-job', 'copy'))).toHaveLength(3);
    expect(readFileSync(path.join(varDir, 'log', 'copying-job.log'), 'utf8')).toContain("route copy: ");
    const [heartbeat] = await servers.influx.client.rows(`SELECT * FROM "run" WHERE "job" = 'copying-job'`, { database: 'monit_production_monit_collectors' });
    expect(heartbeat).toMatchObject({ ok: true, errors: 1 });
    // replay is typed to deliver everything: there a copy's refusal is a failure, and fixed, it delivers.
    await expect(replay(tenants({ varDir, extra: copyRoute('wrong-password') }), { debug: false })).rejects.toThrow('route copy: ');
    expect(await replay(tenants({ varDir, extra: copyRoute(BETA_PASSWORD) }), { debug: false })).toBe(0);
    expect(await stored('monit_production_tenant_beta', 'other', 'copy-refused')).toBe(3);
  });

  it("replay leaves the spool of a route no longer configured where it is, and says so", async () => {
    const varDir = testDir('routes-abandoned');
    const dir = path.join(varDir, 'spool', 'job');
    const closed = await freePort();
    new RoutedSender(routingSettings(tenants({ varDir, betaUrl: `http://127.0.0.1:${closed}/` })), dir, new MemoryLogger()).enqueue(documents('other-producer', 'load', 'gone', 6));
    // The operator renames the route: its old folder keeps its batches.
    mkdirSync(path.join(dir, 'old'));
    for (const name of readdirSync(path.join(dir, 'beta')).filter((file) => file.endsWith('.json'))) renameSync(path.join(dir, 'beta', name), path.join(dir, 'old', name));
    // The reason reaches the command's stderr (the thrown message), not only its log.
    await expect(replay(tenants({ varDir }), { debug: false })).rejects.toThrow(
      `${path.join(dir, 'old')} (1 batch): the spool of a [monit.route.<name>] section that is no longer configured: restore it, or move the batch files into another route's folder`,
    );
    expect(spooledDocuments(path.join(dir, 'old'))).toHaveLength(6);
    const replayLog = readFileSync(path.join(varDir, 'log', 'replay.log'), 'utf8');
    expect(replayLog).toContain(`${path.join(dir, 'old')} holds 1 batch of a route no [monit.route.old] section defines now`);
    expect(replayLog).not.toContain('the spool is empty');
    // A job's run counts the folder as a problem (logged and in the heartbeat's errors) until it is dealt with.
    const run = await runPeriodicJob({ name: 'job', periodMs: 600_000, run: async () => [] }, { config: tenants({ varDir }), deadlineMs: 10_000, echoLog: false });
    expect(run).toMatchObject({ ok: true, problems: 1 });
  });

  it("./run.sh send: a refusing route's documents wait in its folder of the send spool, the others go; replay sends them once fixed", async () => {
    const varDir = testDir('routes-send');
    const file = path.join(varDir, 'documents.json');
    writeFileSync(file, JSON.stringify([...documents('test-producer', 'sample', 'send', 3), ...documents('other-producer', 'load', 'send', 2)]));
    const config = path.join(varDir, 'config.cfg');
    writeFileSync(config, tenantsText({ varDir, betaPassword: 'wrong-password' }));
    const sent = await runCli(['send', file, '--config', config]);
    expect(sent.status).toBe(1);
    expect(sent.stderr).toContain('route beta: ');
    expect(sent.stderr).toContain(`2 documents wait in ${path.join(varDir, 'spool', 'send')}: fix [monit.route.beta] in ${config}, then run ./run.sh replay`);
    expect(sent.stderr).not.toContain('wrong-password');
    expect(await stored('monit_production_tenant_alpha', 'sample', 'send')).toBe(3);
    expect(spooledDocuments(path.join(varDir, 'spool', 'send', 'beta'))).toHaveLength(2);
    writeFileSync(config, tenantsText({ varDir }));
    expect((await runCli(['replay', '--config', config])).status).toBe(0);
    expect(await stored('monit_production_tenant_beta', 'load', 'send')).toBe(2);
    expect(spooledDocuments(path.join(varDir, 'spool', 'send', 'beta'))).toHaveLength(0);
  });
});

it('the example route of sample.cfg, uncommented, is a valid route', () => {
  const sample = readFileSync(path.join(__dirname, 'sample.cfg'), 'utf8');
  const example = sample
    .slice(sample.indexOf(';[monit.route.'))
    .split('\n')
    .map((line) => (/^;\[|^;\w+ = \S/.test(line) ? line.slice(1) : line))
    .join('\n');
  const [route] = routingSettings(parse(`[monit]\nurl = http://127.0.0.1:9/\n${example}`)).routes;
  expect(route).toMatchObject({ name: 'cern', sendAs: 'atlas-example', copy: false });
  expect(route.selectors.length).toBeGreaterThan(0);
});
