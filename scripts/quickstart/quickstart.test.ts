import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { InfluxClient } from '../../lib/influx/influxdb';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { readSample } from '../../lib/config/sample';
import { sources } from '../../collectors/source';
import { collectorNames, registry } from '../../cli/registry';
import { configuredSchedule } from '../../cli/schedule';
import { fetchBody, fetchJson } from '../../lib/http/get';
import type { DetailsData } from '../../status/details';

/**
 * The README's first command on a fresh checkout: a clone of this repository (its committed state)
 * with one more source folder, collectors/tiny (test/fixtures/tiny-source), added the way
 * collectors/README.md says: that folder, its schema, and `npm run generate`. Every port is shifted so
 * it cannot meet another setup on this machine. The quickstart must end with data from every
 * collector, tiny included, in InfluxDB, leave `git status` clean, and a second run must succeed too.
 */
const TIMEOUT_MS = 15 * 60_000;
const TINY_SOURCE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tiny-source');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=quickstart test', '-c', 'user.email=test@example.org', ...args], { cwd, encoding: 'utf8' });
}

/** Copies the tiny source into a checkout; its code is kept as .ts.txt so that this tree does not compile it. */
function addTinySource(checkout: string): void {
  cpSync(TINY_SOURCE, checkout, { recursive: true });
  const folder = path.join(checkout, 'collectors', 'tiny');
  for (const file of readdirSync(folder).filter((name) => name.endsWith('.ts.txt'))) renameSync(path.join(folder, file), path.join(folder, file.replace(/\.txt$/, '')));
}

it('./run.sh quickstart --help: a usage naming its options and the port offset, exit 0; a wrong option points to it', () => {
  const help = spawnSync(path.join(PROJECT_ROOT, 'run.sh'), ['quickstart', '--help'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 30_000 });
  expect({ status: help.status, stderr: help.stderr }).toEqual({ status: 0, stderr: '' });
  expect(help.stdout).toMatch(/^usage: \.\/run\.sh quickstart /);
  for (const name of ['--config FILE', '--example NAME', '--stream', '--help']) expect(help.stdout).toContain(name);
  // --stream says what it starts and what the later runs keep.
  expect(help.stdout).toMatch(/--stream +the stream route: add \[stream\] \(three local nats-server nodes, replicas = 3\),\n +\[gateway\] route = stream, \[writer\] and the \[jetstream\] collector/);
  // The variable quickstartConfig.ts reads, named as it reads it.
  const variable = /process\.env\.([A-Z_]+)/.exec(readFileSync(path.join(__dirname, 'quickstartConfig.ts'), 'utf8'))?.[1];
  expect(variable).toBe('MONIT_QUICKSTART_PORT_OFFSET');
  expect(help.stdout).toContain(`${variable}=N`);
  const wrong = spawnSync(path.join(PROJECT_ROOT, 'run.sh'), ['quickstart', '--bogus'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 30_000 });
  expect({ status: wrong.status, stderr: wrong.stderr }).toEqual({ status: 2, stderr: 'quickstart: unknown option --bogus (only --config FILE, --example NAME, --stream; see --help)\n' });
});

it(
  'quickstart on a fresh clone with one more source folder: every collector, the new one included, has data; git stays clean; a second run is idempotent; stop stops it',
  async () => {
    mkdirSync(path.join(PROJECT_ROOT, 'var', 'test'), { recursive: true });
    const scratch = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'quickstart-'));
    chmodSync(scratch, 0o755); // the demo XRootD runs as user xrootd and must reach its folder
    const clone = path.join(scratch, 'checkout');
    execFileSync('git', ['clone', '--quiet', '--local', PROJECT_ROOT, clone]);
    // Same packages as a fresh `npm ci` would install, without downloading them again.
    execFileSync('cp', ['-al', path.join(PROJECT_ROOT, 'node_modules'), path.join(clone, 'node_modules')]);

    // Adding a source: its folder and its schema, then the generated files.
    addTinySource(clone);
    const generate = spawnSync('npm', ['run', '--silent', 'generate'], { cwd: clone, encoding: 'utf8', timeout: 300_000 });
    expect({ status: generate.status, stderr: generate.stderr }).toEqual({ status: 0, stderr: '' });
    git(clone, 'add', '-A');
    git(clone, 'commit', '--quiet', '-m', 'Add the tiny source');
    const changed = git(clone, 'diff', '--name-only', 'HEAD~1', 'HEAD').trim().split('\n');
    // By hand: only the source's folder and schemas/; the rest is what npm run generate rewrote.
    const generated = ['config.cfg.example', 'dashboards/json/monit-overview.json', 'dashboards/json/monit-tiny.json', 'schemas/kinds.ts'];
    expect(changed.filter((file) => !file.startsWith('collectors/tiny/') && !file.startsWith('schemas/tiny/') && !generated.includes(file))).toEqual([]);
    expect(changed).toEqual(expect.arrayContaining(generated));
    expect(readFileSync(path.join(clone, 'config.cfg.example'), 'utf8')).toContain('[tiny]\n; JSON endpoint answering {"value": NUMBER} (required)\nurl = http://127.0.0.1:8191/tiny/value\n');
    expect(readFileSync(path.join(clone, 'collectors', 'tiny', 'README.md'), 'utf8')).toContain('| `value` | float | 1 | mean | The value the endpoint answered. |');

    // Shifted ports stay below the kernel's ephemeral range (32768 and up), where the free ports that
    // other test files ask for come from: the two never meet. The highest default port is 11094.
    const offset = 12_000 + Math.floor(Math.random() * 9_000);
    const env = { ...process.env, MONIT_QUICKSTART_PORT_OFFSET: String(offset) };
    const run = (...args: string[]): ReturnType<typeof spawnSync> => spawnSync(path.join(clone, 'run.sh'), args, { cwd: clone, env, encoding: 'utf8', timeout: TIMEOUT_MS });
    try {
      const first = run('quickstart');
      if (first.status !== 0) throw new Error(`quickstart exited ${first.status}:\n${String(first.stdout).slice(-3000)}\n${String(first.stderr).slice(-3000)}`);
      expect(String(first.stdout)).toMatch(/Status page: http:\/\/127\.0\.0\.1:\d+\/status/);
      expect(String(first.stdout)).toMatch(/run\.sh .* >> .*\.log 2>&1/);
      // No tool noise (apt's debconf notes, npm's chatter) and no job's log lines on the terminal: one line per step.
      expect(String(first.stderr)).toBe('');
      expect(String(first.stdout)).not.toMatch(/debconf|npm (warn|notice)|added \d+ packages|^\S+T\S+Z (INFO|WARN|ERROR) /im);
      expect(String(first.stdout)).toMatch(/^ {2}panda-derived +ok/m);
      // The past slots ran first (one line), and the end says how to keep data flowing.
      expect(String(first.stdout)).toMatch(/^ {2}backfill +(\d+) of \1 runs ok over the (6|7|8|9|10|11) past slots of .*, downsample-1h over/m);
      expect(String(first.stdout)).toContain('Install the crontab lines above');
      expect(String(first.stdout)).toMatch(/^ {2}nohup \.\/run\.sh scheduler --config \S+config\.cfg /m);
      expect(git(clone, 'status', '--porcelain')).toBe('');
      const configFile = path.join(clone, 'config.cfg');
      expect(statSync(configFile).mode & 0o777).toBe(0o600);
      const config = Config.load(configFile);
      const influx = new InfluxClient(config.section('influxdb').url('url'));
      const scheduled = configuredSchedule(config).map((entry) => entry.job);
      // An opt-in collector (its sample.cfg comments out its section, ;[jetstream]) is not in the plain quickstart, nor its status module.
      const optIn = sources().filter((source) => readSample(path.join(source.folder, 'sample.cfg')).sections.some((section) => section.name === source.name && section.commented)).map((source) => source.name);
      const shipped = [...collectorNames().filter((name) => !optIn.includes(name)), 'tiny'];
      // Every other collector is configured in the quickstart and sent data.
      expect(shipped.filter((name) => !scheduled.includes(name) && name !== 'tiny')).toEqual([]);
      for (const name of shipped) {
        const heartbeats = await influx.rows(`SELECT "ok", "documents_sent" FROM "run" WHERE "job" = '${name}'`, { database: 'monit_production_monit_collectors' });
        expect({ name, heartbeats: heartbeats.map((row) => row.ok) }).toEqual({ name, heartbeats: expect.arrayContaining([true]) });
        // Some run sent documents (a backfilled slot may have had none: xrootd-transfers reads what arrived before its slot).
        expect({ name, sent: heartbeats.some((row) => Number(row.documents_sent) > 0) }).toEqual({ name, sent: true });
      }
      // The new source's value came from its demo route, through the gateway.
      // One reading per slot it ran for (the backfilled ones too), each the demo's.
      const readings = await influx.rows('SELECT "value", "name" FROM "reading"', { database: 'monit_production_tiny' });
      const tinyRuns = await influx.rows(`SELECT "ok" FROM "run" WHERE "job" = 'tiny'`, { database: 'monit_production_monit_collectors' });
      expect(readings.length).toBeGreaterThan(1);
      expect(readings).toEqual(tinyRuns.map(() => expect.objectContaining({ name: 'demo', value: 42 })));
      // The registry, the crontab, the status rules and the dashboards picked it up.
      expect(String(run('--help').stdout)).toMatch(/^ {2}tiny +A tiny example/m);
      const crontab = String(run('crontab').stdout);
      expect(crontab).toMatch(/^\S+ \S+ \S+ \S+ \S+ \S+\/run\.sh tiny >> \S+\/tiny\.log 2>&1$/m);
      // Adding a source moved no other job's time: each keeps the schedule this tree gives it.
      for (const entry of registry().filter((one) => one.schedule && one.schedule !== '@reboot' && scheduled.includes(one.name))) {
        expect({ job: entry.name, line: crontab.split('\n').find((line) => line.includes(`/run.sh ${entry.name} `))?.split(' /')[0] }).toEqual({ job: entry.name, line: entry.schedule });
      }
      const status = JSON.parse(readFileSync(path.join(clone, 'var', 'www', 'status.json'), 'utf8')) as { modules: Array<{ module: string; state: string }> };
      expect(status.modules).toEqual(expect.arrayContaining([expect.objectContaining({ module: 'tiny', state: 'available' })]));
      expect(status.modules.map((one) => one.module).filter((name) => optIn.includes(name))).toEqual([]);
      expect(spawnSync('node', ['dist/scripts/build/generate.js', '--check'], { cwd: clone, encoding: 'utf8' }).status).toBe(0);

      // The details page the summary names has plots at once: the 6h one several points, the 7d one (1h RP) at least one.
      const [, module, detailsUrl] = /^Details of module (\S+): (\S+) /m.exec(String(first.stdout)) ?? [];
      expect(detailsUrl).toBe(`${config.section('monit').url('url').replace(/\/$/, '')}/status/module/${module}`);
      const pointsPerPlot = async (name: string, range: string): Promise<Record<string, number>> => {
        const url = detailsUrl.replace(/[^/]+$/, `${name}.json`);
        const details = (await fetchJson(url, { source: 'details page', timeoutMs: 30_000, searchParams: { range } })) as DetailsData;
        return Object.fromEntries(details.plots.map((plot) => [plot.title, Math.max(0, ...plot.series.map((series) => series.values.filter((value) => value !== null).length))]));
      };
      const sixHours = await pointsPerPlot(module, '6h');
      expect(Math.max(...Object.values(sixHours))).toBeGreaterThan(1);
      expect(Math.max(...Object.values(await pointsPerPlot(module, '7d')))).toBeGreaterThanOrEqual(1);
      // Independently: the 10-minute slots the module's collector sent a heartbeat for, and the hours in the 1h RP.
      expect(shipped).toContain(module);
      const slots = await influx.rows(`SELECT "ok" FROM "run" WHERE "job" = '${module}' AND time > now() - 6h`, { database: 'monit_production_monit_collectors' });
      expect(slots.length).toBeGreaterThan(1);
      expect(Math.max(...Object.values(sixHours))).toBeLessThanOrEqual(slots.length);
      const hours = await influx.rows(`SELECT count("ok") FROM "1h"."run" WHERE "job" = '${module}' AND time > now() - 7d`, { database: 'monit_production_monit_collectors' });
      expect(Number(hours[0]?.count ?? 0)).toBeGreaterThanOrEqual(1);
      // xrootd's rates need two reports of the server: without the backfill there were none. Backfilled runs
      // pull the server within a second or so, and an unchanged report gives no new rate: at least one, not one per slot.
      const rates = await pointsPerPlot('xrootd', '6h');
      expect(rates).toEqual(expect.objectContaining({ 'Throughput per server': expect.any(Number) }));
      expect(rates['Throughput per server']).toBeGreaterThanOrEqual(1);
      const [, badgeUrl] = /^Badge of module \S+: (\S+) /m.exec(String(first.stdout)) ?? [];
      expect((await fetchBody(badgeUrl, { source: 'badge', timeoutMs: 30_000 })).toString('utf8')).toMatch(/^<svg /);

      const second = run('quickstart');
      if (second.status !== 0) throw new Error(`second quickstart exited ${second.status}:\n${String(second.stdout).slice(-3000)}\n${String(second.stderr).slice(-3000)}`);
      expect(String(second.stdout)).toContain('kept existing');
      expect(git(clone, 'status', '--porcelain')).toBe('');
    } finally {
      spawnSync(path.join(clone, 'run.sh'), ['stop'], { cwd: clone, encoding: 'utf8', timeout: 120_000 });
      if (existsSync(path.join(clone, 'var', 'influxdb', 'server.pid'))) throw new Error('stop left InfluxDB running');
    }
  },
  TIMEOUT_MS * 2,
);
