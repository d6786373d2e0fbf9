import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import cron from 'node-cron';
import { Config } from '../lib/config/config';
import { PROJECT_ROOT } from '../lib/config/paths';
import { generateConfig } from '../scripts/quickstart/quickstartConfig';
import { TEST_TOKEN } from '../test/support/gateway';
import { useInfluxAndGateway } from '../test/support/fixtures';
import { collectorNames, missingNodeFlags, registry } from './registry';
import { configuredSchedule } from './schedule';
import { parseArguments } from './arguments';

const RUN = path.join(PROJECT_ROOT, 'run.sh');

function scratch(prefix: string): string {
  return mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', `${prefix}-`));
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(RUN, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** For runs that talk to a server living in this test process (spawnSync would block it). */
function runAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(RUN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('run.sh', () => {
  it('--help and <job> --help explain themselves', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/usage: \.\/run\.sh <job>/);
    for (const name of collectorNames()) expect(help.stdout).toContain(name);
    expect(run(['hadoop', '--help']).stdout).toMatch(/--timestamp/);
  });

  it('an unknown job or option exits 2 with a one-line reason', () => {
    const unknown = run(['no-such-job']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toEqual([expect.stringMatching(/unknown job 'no-such-job'/)]);
    expect(run(['heartbeat', '--frobnicate']).stderr).toMatch(/unknown option --frobnicate/);
    expect(run(['heartbeat', '--timestamp', 'yesterday']).stderr).toMatch(/expected "YYYY-MM-DD HH:MM"/);
  });

  it('a missing or invalid key fails at start-up naming the key', () => {
    const dir = scratch('config');
    const missing = path.join(dir, 'missing.cfg');
    writeFileSync(missing, `[paths]\nvar = ${dir}\n[monit]\ntoken = x\n`);
    const first = run(['heartbeat', '--config', missing]);
    expect(first.status).toBe(2);
    expect(first.stderr).toContain('[monit] url is missing');
    const invalid = path.join(dir, 'invalid.cfg');
    writeFileSync(invalid, `[paths]\nvar = ${dir}\n[monit]\nurl = http://127.0.0.1:9/\nconcurrency = many\n`);
    expect(run(['heartbeat', '--config', invalid]).stderr).toContain('[monit] concurrency must be a number, got "many"');
    const badUrl = path.join(dir, 'url.cfg');
    writeFileSync(badUrl, `[paths]\nvar = ${dir}\n[monit]\nurl = not a url\n`);
    expect(run(['heartbeat', '--config', badUrl]).stderr).toContain('[monit] url must be a URL');
  });

  it('validate and send check a document file and name every invalid document', () => {
    const dir = scratch('validate');
    const good = path.join(dir, 'good.json');
    // Each its own time: two timestamp-less documents of one series would collide (lib/documents/collisions.ts).
    writeFileSync(good, JSON.stringify([{ producer: 'free', type: 't', timestamp: 1700000000000, n: 1 }, { producer: 'free', type: 't', timestamp: 1700000000001, n: 2 }]));
    expect(run(['validate', good])).toMatchObject({ status: 0, stdout: '2 documents valid\n' });
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ producer: 'free', type: 't', n: 1 }, { producer: 'monit-collectors', type: 'run', idb_fields: ['ok'], ok: 'yes' }, { type: 't' }]));
    const refused = run(['validate', bad]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("document at index 1 (counting from 0): field 'ok' must be a bool per its schema, got a string");
    expect(refused.stderr).toMatch(/document at index 2 \(counting from 0\): .*producer/);
    const config = path.join(dir, 'config.cfg');
    writeFileSync(config, `[paths]\nvar = ${dir}\n[monit]\nurl = http://127.0.0.1:9/\n`);
    const notSent = run(['send', bad, '--config', config]);
    expect(notSent.status).toBe(1);
    expect(notSent.stderr).toMatch(/not sent, 2 invalid documents/);
    expect(run(['validate', path.join(dir, 'missing.json')]).status).toBe(2);
  });

  it('warns about keys a job never reads and sections no job uses (typos)', () => {
    const dir = scratch('typos');
    const file = path.join(dir, 'config.cfg');
    writeFileSync(file, `[paths]\nvar = ${dir}\n[monit]\nurl = http://127.0.0.1:9/\n[heartbeat]\ndeadline = 1m\nenabeld = false\n[hertbeat]\ndeadline = 1m\n`);
    const result = run(['heartbeat', '--dry-run', '--config', file]);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('[heartbeat] enabeld is not a setting of heartbeat (a typo?)');
    expect(result.stderr).toContain('section [hertbeat] is not used by any job or part (a typo?)');
    expect(result.stderr).not.toContain('deadline is not');
    // Shared sections are checked against what their sample.cfg documents; [schedule] against the job names.
    const shared = path.join(dir, 'shared.cfg');
    writeFileSync(shared, `[paths]\nvar = ${dir}\n[monit]\nurl = http://127.0.0.1:9/\ntokn = x\ntimeout = 5s\n[demo]\nmariadbb = true\nmariadb = true\n[schedule]\nwebb = 1 * * * *\nweb = 2 * * * *\n[gateway.producers]\nweb = secret\n`);
    const checked = run(['heartbeat', '--dry-run', '--config', shared]);
    expect(checked.status).toBe(0);
    expect(checked.stderr).toContain('[monit] tokn is not a setting of that section (a typo? see config.cfg.example)');
    expect(checked.stderr).toContain('[demo] mariadbb is not a setting of that section');
    expect(checked.stderr).toContain('[schedule] webb is not a setting of a job');
    expect(checked.stderr.match(/is not a setting/g)).toHaveLength(3);
  });

  it('starts by itself exactly the shell commands the registry names (quickstart, stop, test)', () => {
    const script = readFileSync(RUN, 'utf8');
    const handled = [...script.matchAll(/^ {2}([a-z-]+)\) shift; exec "\$here\/([^"]+)"/gm)].map((match) => [match[1], match[2]]);
    const inRegistry = registry().flatMap((entry) => (entry.kind === 'command' && entry.script ? [[entry.name, entry.script]] : []));
    expect(handled.sort()).toEqual(inRegistry.sort());
    for (const [, file] of handled) expect(statSync(path.join(PROJECT_ROOT, file)).mode & 0o111).not.toBe(0);
  });

  it('parses options in both --x v and --x=v forms', () => {
    expect(parseArguments(['web', '--config=a.cfg', '--timestamp', '2026-01-01 10:00', '--dry-run'])).toMatchObject({ job: 'web', config: 'a.cfg', timestamp: '2026-01-01 10:00', dryRun: true });
  });
});

describe('node flags of a job', () => {
  // The heap cap went with the history read, from panda to panda-derived.
  test('panda-derived gets its heap cap unless the process or NODE_OPTIONS already sets one; other jobs get none', () => {
    expect(missingNodeFlags('panda-derived', [])).toEqual(['--max-old-space-size=320']);
    expect(missingNodeFlags('panda-derived', ['--max-old-space-size=320'])).toEqual([]);
    expect(missingNodeFlags('panda-derived', ['--max-old-space-size=1000'])).toEqual([]);
    expect(missingNodeFlags('panda-derived', [], '--max-old-space-size=500')).toEqual([]);
    expect(missingNodeFlags('panda', [])).toEqual([]);
    expect(missingNodeFlags('web', [])).toEqual([]);
    expect(missingNodeFlags(undefined, [])).toEqual([]);
  });

  test('run.sh panda-derived runs again with the flags: its output and exit status come through', () => {
    const help = run(['panda-derived', '--help']);
    expect(help).toMatchObject({ status: 0, stdout: expect.stringContaining('usage: ./run.sh <job>') });
    const bad = run(['panda-derived', '--no-such-option']);
    expect(bad).toMatchObject({ status: 2, stderr: expect.stringContaining('unknown option --no-such-option') });
  });
});

describe('secrets', () => {
  const servers = useInfluxAndGateway();

  it('never appear in logs or error messages, even when refused', async () => {
    const dir = scratch('secrets');
    const secret = 'very-secret-token-4242';
    const file = path.join(dir, 'config.cfg');
    writeFileSync(file, `[paths]\nvar = ${dir}\n[monit]\nurl = ${servers.gateway.url}/\ntoken = ${secret}\ntimeout = 5s\n[influxdb]\nurl = ${servers.influx.url}\npassword = ${secret}-influx\n[heartbeat]\ndeadline = 10s\n`);
    const result = await runAsync(['heartbeat', '--config', file, '--debug']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/credentials/);
    const logs = readdirSync(path.join(dir, 'log')).map((name) => readFileSync(path.join(dir, 'log', name), 'utf8')).join('\n');
    expect(logs).toMatch(/credentials/);
    expect(`${result.stdout}${result.stderr}${logs}`).not.toContain(secret);
  });

  it('the generated config.cfg has mode 600 and fresh credentials', () => {
    const target = path.join(scratch('generated'), 'config.cfg');
    expect(generateConfig(target)).toEqual({ created: true, added: [], examplesAdded: [] });
    expect(statSync(target).mode & 0o777).toBe(0o600);
    const config = Config.load(target);
    const token = config.section('monit').string('token');
    expect(token).toMatch(/^[0-9a-f]{48}$/);
    expect(config.section('gateway').string('token')).toBe(token);
    expect(config.section('sql').string('password')).toMatch(/^[0-9a-f]{24}$/);
    const before = readFileSync(target, 'utf8');
    expect(generateConfig(target)).toEqual({ created: false, added: [], examplesAdded: [] });
    expect(readFileSync(target, 'utf8')).toBe(before);
  });

  it('a config written before a source was added gets that source\'s quickstart section appended, the rest untouched', () => {
    const target = path.join(scratch('added-source'), 'config.cfg');
    generateConfig(target, 100);
    const full = readFileSync(target, 'utf8');
    // As if hadoop had been added to the project after this file was written.
    const without = full.replace(/\n\[hadoop\]\n[^[]*/, '\n');
    writeFileSync(target, without);
    expect(Config.load(target).hasSection('hadoop')).toBe(false);
    expect(generateConfig(target, 100)).toEqual({ created: false, added: ['hadoop'], examplesAdded: [] });
    const after = readFileSync(target, 'utf8');
    expect(after.startsWith(without.replace(/\n*$/, '\n'))).toBe(true);
    expect(Config.load(target).section('hadoop').string('namenodes')).toBe('http://127.0.0.1:8291');
    expect(generateConfig(target, 100)).toEqual({ created: false, added: [], examplesAdded: [] });
  });
});

describe('crontab', () => {
  it('prints valid cron lines covering every job of the table, with absolute paths and logs; services under a supervisor started at boot and every 10 minutes', () => {
    const dir = scratch('crontab');
    const file = path.join(dir, 'config.cfg');
    const sections = collectorNames().map((name) => `[${name}]\n`).join('');
    writeFileSync(file, `[paths]\nvar = ${dir}\n[monit]\nurl = http://127.0.0.1:9/\n[gateway]\nlisten = 127.0.0.1:9\ntoken = t\n${sections}`);
    const result = run(['crontab', '--config', file]);
    expect(result.status).toBe(0);
    const lines = result.stdout.split('\n').filter((line) => line && !line.startsWith('#') && !/^(SHELL|PATH)=/.test(line));
    // cron's own PATH is /usr/bin:/bin and run.sh runs `node`: node's folder comes first, each folder once.
    const searchPaths = result.stdout.split('\n').filter((line) => line.startsWith('PATH='));
    expect(searchPaths).toHaveLength(1);
    const folders = searchPaths[0].slice('PATH='.length).split(':');
    expect(folders[0]).toBe(path.dirname(process.execPath));
    expect(folders).toEqual(expect.arrayContaining(['/usr/local/bin', '/usr/bin', '/bin']));
    expect(new Set(folders).size).toBe(folders.length);
    // With only that PATH (as under cron), a line's command finds node.
    const help = spawnSync('/usr/bin/env', ['-i', searchPaths[0], RUN, '--help'], { encoding: 'utf8', timeout: 60_000 });
    expect({ status: help.status, stderr: help.stderr }).toEqual({ status: 0, stderr: '' });
    const table = configuredSchedule(Config.load(file));
    const services = table.filter((entry) => registry().find((one) => one.name === entry.job)?.kind === 'service');
    expect(services.map((entry) => entry.job)).toContain('gateway');
    // A boot service has two lines (at boot, and every 10 minutes to start a killed supervisor again).
    expect(lines).toHaveLength(table.length + services.length);
    for (const entry of table) {
      const isService = services.includes(entry);
      const command = isService ? ` ${RUN} supervise ${entry.job} ` : ` ${RUN} ${entry.job} `;
      const matching = lines.filter((candidate) => candidate.includes(command));
      const schedules = matching.map((line) => line.split(` ${RUN}`)[0]);
      expect({ job: entry.job, schedules }).toEqual({ job: entry.job, schedules: isService ? ['@reboot', '*/10 * * * *'] : [entry.cron] });
      for (const schedule of schedules.filter((one) => one !== '@reboot')) {
        expect(schedule.split(' ')).toHaveLength(5);
        expect(cron.validate(schedule)).toBe(true);
      }
      for (const line of matching) expect(line).toContain(`--config ${file} >> ${path.join(dir, 'log', `${entry.job}.log`)} 2>&1`);
    }
    for (const job of [...collectorNames(), 'replay']) expect(table.map((entry) => entry.job)).toContain(job);
    expect(table.find((entry) => entry.job === 'gateway')?.cron).toBe('@reboot');
    // Collectors are spread over the first minutes of the slot rather than all at minute 0.
    const collectorMinutes = new Set(table.filter((entry) => collectorNames().includes(entry.job)).map((entry) => entry.cron.split(' ')[0]));
    expect(collectorMinutes.size).toBeGreaterThan(1);
  });
});

describe('scheduler', () => {
  const servers = useInfluxAndGateway();

  it('runs a shortened table: the jobs run as child processes, their documents arrive, SIGTERM stops it cleanly', async () => {
    const dump = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'collectors', 'hadoop', 'testdata', 'healthy.jmx.json'), 'utf8')) as { beans: Array<{ name: string }> };
    const nameNode = http.createServer((request, response) => {
      const query = new URL(request.url ?? '/', 'http://x').searchParams.get('qry');
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ beans: dump.beans.filter((bean) => !query || bean.name === query) }));
    });
    await new Promise<void>((resolve) => nameNode.listen(0, '127.0.0.1', resolve));
    const dir = scratch('scheduler');
    const file = path.join(dir, 'config.cfg');
    const nameNodeUrl = `http://127.0.0.1:${(nameNode.address() as AddressInfo).port}`;
    writeFileSync(file, `[paths]\nvar = ${dir}\n[monit]\nurl = ${servers.gateway.url}/\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = ${servers.influx.url}\n[hadoop]\nnamenodes = ${nameNodeUrl}\n[schedule]\nhadoop = */2 * * * * *\n`);
    // --debug: the scheduler echoes its log lines on stderr (off the terminal they go to its log file only).
    const scheduler = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), 'scheduler', '--config', file, '--debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    scheduler.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      let heartbeats: Array<Record<string, unknown>> = [];
      // The child's heartbeat arrives just before the scheduler sees the child exit: wait for both.
      for (let tries = 0; tries < 150 && (heartbeats.length === 0 || !/hadoop: finished/.test(output)); tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        heartbeats = await servers.influx.client.rows(`SELECT * FROM "run" WHERE "job" = 'hadoop'`, { database: 'monit_production_monit_collectors' }).catch(() => []);
      }
      expect(heartbeats[0]).toMatchObject({ ok: true });
      const namenodes = await servers.influx.client.rows('SELECT "capacity_total_bytes" FROM "namenode"', { database: 'monit_production_hadoop' });
      expect(namenodes.length).toBeGreaterThan(0);
      expect(output).toMatch(/hadoop: finished \(exit 0\)/);
    } finally {
      scheduler.kill('SIGTERM');
      const code = await new Promise((resolve) => scheduler.once('exit', resolve));
      nameNode.close();
      expect(code).toBe(0);
      expect(output).toMatch(/scheduler stopped/);
    }
  });
});
