import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Config } from '../../lib/config/config';
import { PROJECT_ROOT } from '../../lib/config/paths';

/**
 * `./run.sh quickstart --example eventindex` on a fresh clone, as a new user runs it: the status page
 * (in headless Chromium) shows the ten EventIndex modules, each with data. Then every demo switch goes
 * on, the collectors and the status job run again, and each module is red with its own reason. One
 * quickstart serves every check; `./run.sh stop` must stop the example's PostgreSQL too.
 */
const TIMEOUT_MS = 15 * 60_000;

/** Each module's title (the paper's) and what its reason says once its demo source fails. */
const MODULES: Record<string, { title: string; failing: RegExp }> = {
  ei_production: { title: 'Open-Ended Production', failing: /\d+ datasets failed in the last hour/ },
  ei_consumer: { title: 'Consumer', failing: /the consumer is 5400 s behind its queue/ },
  ei_import: { title: 'EI Import Status', failing: /bookkeeping: \d+ imports failed in the last hour.*importer log: the importer logged \d+ failures/ },
  ei_hadoop: { title: 'Hadoop Cluster', failing: /HDFS NameNode: NameNode \S+: HTTP 503.*YARN: ResourceManager \S+: HTTP 503.*HBase: HBase master \S+: HTTP 503/ },
  ei_triggerdb: { title: 'TriggerDB', failing: /the TriggerDB cannot be read: .*permission denied/ },
  ei_web: { title: 'Web Interface Status', failing: /web interface: the web interface fails \(status error\).*service status: the web service reports state down \(3 checks failed\)/ },
  ei_computers: { title: 'Health of EventIndex computers', failing: /ei-consumer01 does not answer \(status error\)/ },
  ei_nightly: { title: 'Nightly Builds', failing: /nightly main--24\.0: 2 of 4 builds failed/ },
  ei_picking: { title: 'Event Picking Tests', failing: /no event picked: 0 of 5 found/ },
  ei_volumes: { title: 'EI Data Volumes', failing: /\/eventindex\/datasets.* uses 97(\.\d+)?% of its space quota/ },
};

interface Card {
  module: string;
  title: string;
  state: string;
  reason: string;
}

async function cards(page: Page, url: string): Promise<Card[]> {
  await page.goto(url);
  return page.locator('section.module[data-module]').evaluateAll((elements) =>
    elements.map((element) => ({
      module: element.getAttribute('data-module') ?? '',
      title: element.querySelector('.name')?.textContent ?? '',
      state: element.getAttribute('data-state') ?? '',
      reason: element.querySelector('.reason')?.textContent ?? '',
    })),
  );
}

function output(result: SpawnSyncReturns<string>): string {
  return `exit ${result.status}:\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`;
}

it(
  'quickstart --example eventindex: ten modules with data on the status page, each turned red by its switch with its reason; stop stops it',
  async () => {
    mkdirSync(path.join(PROJECT_ROOT, 'var', 'test'), { recursive: true });
    // Short: XRootD's admin socket path below it must stay within the kernel's limit for socket names.
    const scratch = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'ei-'));
    chmodSync(scratch, 0o755); // servers running as their own users (xrootd, postgres) must reach their folders
    const clone = path.join(scratch, 'co');
    execFileSync('git', ['clone', '--quiet', '--local', PROJECT_ROOT, clone]);
    execFileSync('cp', ['-al', path.join(PROJECT_ROOT, 'node_modules'), path.join(clone, 'node_modules')]);
    // Below the kernel's ephemeral ports, where other test files' free ports come from (as quickstart.test.ts).
    const offset = 12_000 + Math.floor(Math.random() * 9_000);
    const env = { ...process.env, MONIT_QUICKSTART_PORT_OFFSET: String(offset) };
    const run = (command: string, ...args: string[]): SpawnSyncReturns<string> => spawnSync(command, args, { cwd: clone, env, encoding: 'utf8', timeout: TIMEOUT_MS });
    const configFile = path.join(clone, 'config.cfg');
    let browser: Browser | undefined;
    try {
      const first = run(path.join(clone, 'run.sh'), 'quickstart', '--example', 'eventindex');
      if (first.status !== 0) throw new Error(`quickstart --example eventindex ${output(first)}`);
      expect(first.stdout).toContain('added the eventindex example to it');
      expect(first.stdout).toMatch(/^ {2}eventindex-postgresql +running/m);
      expect(first.stdout).toMatch(/^ {2}eventindex-data +bookkeeping rows/m);
      const text = readFileSync(configFile, 'utf8');
      // The flag a second time adds nothing.
      const again = run('node', 'dist/scripts/quickstart/quickstartConfig.js', configFile, '--example', 'eventindex');
      expect(again.status).toBe(0);
      expect(readFileSync(configFile, 'utf8')).toBe(text);

      const config = Config.load(configFile);
      const statusPage = new URL('/status', config.section('monit').url('url')).href;
      browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
      const page = await browser.newPage();

      const healthy = await cards(page, statusPage);
      await page.screenshot({ path: path.join(PROJECT_ROOT, 'var', 'eventindex-status-page-healthy.png'), fullPage: true });
      expect(healthy.map((card) => card.module)).toEqual(Object.keys(MODULES));
      for (const card of healthy) {
        expect({ module: card.module, title: card.title }).toEqual({ module: card.module, title: MODULES[card.module].title });
        // Data came in: a light that is not white, whatever the demo machine's own disks say.
        expect({ module: card.module, state: card.state }).toEqual({ module: card.module, state: expect.stringMatching(/^(available|degraded|unavailable)$/) });
        expect({ module: card.module, failing: MODULES[card.module].failing.test(card.reason) }).toEqual({ module: card.module, failing: false });
      }

      const switched = run('node', 'dist/examples/eventindex/demo/switch.js', 'fail', 'all', '--config', configFile);
      if (switched.status !== 0) throw new Error(`switch.js ${output(switched)}`);
      for (const job of ['sql', 'logs', 'web', 'hadoop', 'host', 'command']) {
        const again = run(path.join(clone, 'run.sh'), job, '--config', configFile);
        expect({ job, ran: again.status === 0 || output(again) }).toEqual({ job, ran: true });
      }
      const status = run(path.join(clone, 'run.sh'), 'status', '--config', configFile);
      if (status.status !== 0) throw new Error(`status ${output(status)}`);

      // The gateway reads the stored status documents again once its short cache has expired.
      let broken = await cards(page, statusPage);
      for (let tries = 0; tries < 60 && broken.some((card) => card.state !== 'unavailable'); tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        broken = await cards(page, statusPage);
      }
      expect(broken.map((card) => card.module)).toEqual(Object.keys(MODULES));
      for (const card of broken) {
        expect({ module: card.module, state: card.state, reason: card.reason }).toEqual({ module: card.module, state: 'unavailable', reason: expect.stringMatching(MODULES[card.module].failing) });
      }
      // The job's static status.json says the same.
      const written = JSON.parse(readFileSync(path.join(clone, 'var', 'www', 'status.json'), 'utf8')) as { modules: Array<{ module: string; state: string; reason: string }> };
      expect(written.modules.map((module) => [module.module, module.state])).toEqual(Object.keys(MODULES).map((module) => [module, 'unavailable']));
      await page.screenshot({ path: path.join(PROJECT_ROOT, 'var', 'eventindex-status-page.png'), fullPage: true });
    } finally {
      await browser?.close();
      const stopped = run(path.join(clone, 'run.sh'), 'stop');
      if (existsSync(path.join(clone, 'var', 'eventindex-postgresql', 'server.pid'))) throw new Error(`stop left the example's PostgreSQL running: ${output(stopped)}`);
      if (existsSync(path.join(clone, 'var', 'influxdb', 'server.pid'))) throw new Error(`stop left InfluxDB running: ${output(stopped)}`);
    }
  },
  TIMEOUT_MS * 2,
);
