import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { PROJECT_ROOT } from '../lib/config/paths';
import { isRunning, parseIdentity, type ProcessIdentity } from '../lib/run/processIdentity';
import { TEST_TOKEN } from '../test/support/gateway';
import { freePort } from '../test/support/ports';
import { testDir, type TestInfluxDB } from '../test/support/services';
import { useInfluxDB } from '../test/support/fixtures';
import { collectorNames, registry } from './registry';
import { unitName } from './crontab';
import { supervisorFiles } from './scheduler';

const MAIN = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
const RUN = path.join(PROJECT_ROOT, 'run.sh');
/** Generous: the machine is shared; nothing here is a timing assertion. */
const PATIENCE_MS = 120_000;

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`still not true: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function pingStatus(port: number): Promise<number | undefined> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/ping`, { signal: AbortSignal.timeout(5000) })).status;
  } catch {
    return undefined;
  }
}

function readText(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

function identityIn(file: string): ProcessIdentity | undefined {
  return parseIdentity(readText(file));
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** A config running only the gateway (in front of `influx`) on `port`: every periodic built-in job is off. */
function gatewayOnlyConfig(dir: string, influx: TestInfluxDB, port: number): string {
  const file = path.join(dir, 'config.cfg');
  const off = ['status', 'downsample-1h', 'downsample-1d', 'replay'].map((job) => `[${job}]\nenabled = false\n`).join('');
  writeFileSync(file, `[paths]\nvar = ${dir}\n[monit]\nurl = http://127.0.0.1:${port}/\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = ${influx.url}\n[gateway]\nlisten = 127.0.0.1:${port}\ntoken = ${TEST_TOKEN}\n${off}`);
  return file;
}

const servers = useInfluxDB();

describe('./run.sh supervise', () => {
  it('kill -9 of the gateway: it is started again and answers /ping; the log names the exit (SIGKILL) and the restart; a second supervisor does nothing', async () => {
    const dir = testDir('supervise');
    const port = await freePort();
    const file = gatewayOnlyConfig(dir, servers.influx, port);
    const files = supervisorFiles(Config.load(file), 'gateway');
    const log = path.join(dir, 'log', 'gateway.log');
    const supervisor = spawn(process.execPath, [MAIN, 'supervise', 'gateway', '--config', file], { stdio: 'ignore' });
    try {
      await until('the gateway answers /ping', async () => (await pingStatus(port)) === 200);
      const first = identityIn(files.child) as ProcessIdentity;
      expect(isRunning(first)).toBe(true);
      expect(identityIn(files.supervisor)?.pid).toBe(supervisor.pid);

      process.kill(first.pid, 'SIGKILL');
      await until('a new gateway runs and answers /ping', async () => identityIn(files.child)?.pid !== first.pid && (await pingStatus(port)) === 200);
      const second = identityIn(files.child) as ProcessIdentity;
      expect(isRunning(second)).toBe(true);
      const lines = readText(log);
      expect(lines).toMatch(new RegExp(`ERROR \\[supervisor\\] gateway: service \\(pid ${first.pid}\\) exited with signal SIGKILL; restarting in \\d+s`));
      expect(lines).toMatch(new RegExp(`INFO  \\[supervisor\\] gateway: service restarted \\(pid ${second.pid}\\)`));

      // What cron does every 10 minutes: while the supervisor runs, another exits at once and starts nothing.
      const again = spawnSync(RUN, ['supervise', 'gateway', '--config', file], { encoding: 'utf8', timeout: 60_000 });
      expect({ status: again.status, stderr: again.stderr }).toEqual({ status: 0, stderr: '' });
      expect(identityIn(files.supervisor)?.pid).toBe(supervisor.pid);
      expect(identityIn(files.child)).toEqual(second);
      expect(readText(log).match(/supervising gateway/g)).toHaveLength(1);
    } finally {
      supervisor.kill('SIGTERM');
    }
    expect(await exitOf(supervisor)).toBe(0);
    // SIGTERM stops the service too, and the pid files go.
    const last = identityIn(files.child);
    expect(last).toBeUndefined();
    expect(existsSync(files.supervisor)).toBe(false);
    expect(readText(log)).toMatch(/supervisor of gateway stopped/);
    expect(await pingStatus(port)).toBeUndefined();
  });

  it('a killed supervisor is replaced by the next one cron starts: it leaves the running gateway alone, then restarts it when it exits', async () => {
    const dir = testDir('supervise-killed');
    const port = await freePort();
    const file = gatewayOnlyConfig(dir, servers.influx, port);
    const files = supervisorFiles(Config.load(file), 'gateway');
    const log = path.join(dir, 'log', 'gateway.log');
    const killed = spawn(process.execPath, [MAIN, 'supervise', 'gateway', '--config', file], { stdio: 'ignore' });
    let next: ChildProcess | undefined;
    let orphan: ProcessIdentity | undefined;
    try {
      await until('the gateway answers /ping', async () => (await pingStatus(port)) === 200);
      orphan = identityIn(files.child) as ProcessIdentity;
      killed.kill('SIGKILL');
      await exitOf(killed);
      // The pid file still names the killed supervisor: the next one must not take it for alive.
      expect(identityIn(files.supervisor)?.pid).toBe(killed.pid);
      expect(isRunning(orphan)).toBe(true);

      next = spawn(process.execPath, [MAIN, 'supervise', 'gateway', '--config', file], { stdio: 'ignore' });
      await until('the next supervisor took over', () => identityIn(files.supervisor)?.pid === next?.pid && /started by an earlier supervisor, still runs/.test(readText(log)));
      expect(identityIn(files.child)).toEqual(orphan);
      expect(await pingStatus(port)).toBe(200);

      process.kill(orphan.pid, 'SIGKILL');
      await until('a gateway of the new supervisor answers /ping', async () => identityIn(files.child)?.pid !== orphan?.pid && (await pingStatus(port)) === 200);
      expect(readText(log)).toMatch(new RegExp(`gateway: service \\(pid ${orphan.pid}, started by an earlier supervisor\\) exited`));
    } finally {
      next?.kill('SIGTERM');
      if (orphan && isRunning(orphan)) process.kill(orphan.pid, 'SIGTERM');
    }
    expect(next && (await exitOf(next))).toBe(0);
    expect(await pingStatus(port)).toBeUndefined();
  });
});

describe('./run.sh scheduler supervises its services', () => {
  it('kill -9 of the gateway: it is started again and answers /ping; the log names the exit (SIGKILL) and the restart', async () => {
    const dir = testDir('scheduler-supervise');
    const port = await freePort();
    const file = gatewayOnlyConfig(dir, servers.influx, port);
    const log = path.join(dir, 'log', 'scheduler.log');
    const scheduler = spawn(process.execPath, [MAIN, 'scheduler', '--config', file], { stdio: 'ignore' });
    const started = (): number[] => [...readText(log).matchAll(/gateway: service (?:started|restarted) \(pid (\d+)\)/g)].map((match) => Number(match[1]));
    try {
      await until('the gateway answers /ping', async () => started().length === 1 && (await pingStatus(port)) === 200);
      const [first] = started();
      process.kill(first, 'SIGKILL');
      await until('a new gateway answers /ping', async () => started().length === 2 && (await pingStatus(port)) === 200);
      const lines = readText(log);
      expect(lines).toMatch(new RegExp(`ERROR \\[scheduler\\] gateway: service \\(pid ${first}\\) exited with signal SIGKILL; restarting in \\d+s`));
      expect(lines).toMatch(new RegExp(`INFO  \\[scheduler\\] gateway: service restarted \\(pid ${started()[1]}\\)`));
      // Recorded as `supervise` records its child: a supervisor that comes after a killed scheduler waits for it.
      expect(identityIn(supervisorFiles(Config.load(file), 'gateway').child)?.pid).toBe(started()[1]);
    } finally {
      scheduler.kill('SIGTERM');
    }
    expect(await exitOf(scheduler)).toBe(0);
    expect(await pingStatus(port)).toBeUndefined();
  });
});

describe('./run.sh scheduler beside a supervisor', () => {
  it('leaves a service supervised elsewhere alone (one log line), and takes it over once that supervisor stops', async () => {
    const dir = testDir('scheduler-beside-supervise');
    const port = await freePort();
    const file = gatewayOnlyConfig(dir, servers.influx, port);
    const files = supervisorFiles(Config.load(file), 'gateway');
    const log = path.join(dir, 'log', 'scheduler.log');
    const supervisor = spawn(process.execPath, [MAIN, 'supervise', 'gateway', '--config', file], { stdio: 'ignore' });
    let scheduler: ChildProcess | undefined;
    const started = (): number[] => [...readText(log).matchAll(/gateway: service (?:started|restarted) \(pid (\d+)\)/g)].map((match) => Number(match[1]));
    const notHere = (): number => readText(log).match(/gateway is already supervised by pid \d+; not started here/g)?.length ?? 0;
    try {
      await until('the supervised gateway answers /ping', async () => identityIn(files.child) !== undefined && (await pingStatus(port)) === 200);
      const first = identityIn(files.child) as ProcessIdentity;
      scheduler = spawn(process.execPath, [MAIN, 'scheduler', '--config', file], { stdio: 'ignore' });
      await until('the scheduler says the gateway is supervised elsewhere', () => notHere() === 1);
      expect(readText(log)).toContain(`gateway is already supervised by pid ${supervisor.pid}; not started here`);
      expect(started()).toEqual([]);
      expect(isRunning(first)).toBe(true);

      supervisor.kill('SIGTERM');
      expect(await exitOf(supervisor)).toBe(0);
      await until('the scheduler started the gateway and it answers /ping', async () => started().length === 1 && (await pingStatus(port)) === 200);
      expect(isRunning(first)).toBe(false);
      // Restarts are the scheduler's own (no loop on a taken port), and the waiting was said once.
      expect({ started: started().length, notHere: notHere() }).toEqual({ started: 1, notHere: 1 });
      expect(readText(log)).toMatch(new RegExp(`gateway: its supervisor \\(pid ${supervisor.pid}\\) is gone; supervised here now`));
      // While the scheduler supervises it, cron's supervisor exits at once.
      const cronRun = spawnSync(RUN, ['supervise', 'gateway', '--config', file], { encoding: 'utf8', timeout: 60_000 });
      expect({ status: cronRun.status, stderr: cronRun.stderr }).toEqual({ status: 0, stderr: '' });
      expect(readText(path.join(dir, 'log', 'gateway.log')).match(/supervising gateway/g)).toHaveLength(1);
    } finally {
      supervisor.kill('SIGTERM');
      scheduler?.kill('SIGTERM');
    }
    expect(scheduler && (await exitOf(scheduler))).toBe(0);
    expect(await pingStatus(port)).toBeUndefined();
    // The scheduler checks a held lock again every minute: the test waits for that.
  }, 600_000);
});

describe('./run.sh systemd-units', () => {
  /** A config with every collector's and service's section, so that every registered boot service is scheduled. */
  function everythingConfig(dir: string): string {
    const file = path.join(dir, 'config.cfg');
    const needed = registry().flatMap((entry) => (entry.kind === 'service' && entry.needsSection ? [entry.needsSection] : []));
    const sections = [...new Set([...collectorNames(), ...needed])].map((name) => `[${name}]\n`).join('');
    writeFileSync(file, `[paths]\nvar = ${dir}\n[monit]\nurl = http://127.0.0.1:9/\n[gateway]\nlisten = 127.0.0.1:9\ntoken = t\n${sections}`);
    return file;
  }

  /** The keys of an INI-style unit file, by section: values of a repeated key in order. */
  function parseUnit(text: string): Record<string, Record<string, string[]>> {
    const sections: Record<string, Record<string, string[]>> = {};
    let current: Record<string, string[]> | undefined;
    for (const line of text.split('\n')) {
      if (!line.trim() || line.startsWith('#')) continue;
      const heading = /^\[(\w+)\]$/.exec(line);
      if (heading) {
        current = sections[heading[1]] = {};
        continue;
      }
      const equals = line.indexOf('=');
      if (!current || equals <= 0) throw new Error(`not a unit line: ${line}`);
      (current[line.slice(0, equals)] ??= []).push(line.slice(equals + 1));
    }
    return sections;
  }

  const bootServices = registry()
    .filter((entry) => entry.kind === 'service' && entry.schedule === '@reboot')
    .map((entry) => entry.name);

  it('writes one unit per registered boot service, for this checkout and config, that systemd-analyze verify accepts', () => {
    expect(bootServices).toEqual(expect.arrayContaining(['gateway', 'xrootd-receiver', 'xrootd-detailed-receiver']));
    const dir = testDir('systemd-units');
    const file = everythingConfig(dir);
    for (const user of [false, true]) {
      const output = path.join(dir, user ? 'user' : 'system');
      const result = spawnSync(RUN, ['systemd-units', '--config', file, '--output', output, ...(user ? ['--user'] : [])], { encoding: 'utf8', timeout: 60_000 });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
      expect(readdirSync(output).sort()).toEqual(bootServices.map(unitName).sort());
      for (const service of bootServices) {
        const unit = parseUnit(readFileSync(path.join(output, unitName(service)), 'utf8'));
        expect(unit.Service).toMatchObject({
          ExecStart: [`${RUN} ${service} --config ${file}`],
          WorkingDirectory: [PROJECT_ROOT],
          Restart: ['always'],
          RestartSec: [expect.stringMatching(/^\d+s$/)],
          ExecStopPost: [expect.stringContaining(` sh ${path.join(dir, 'log', `${service}.log`)}`)],
        });
        expect(unit.Unit).toMatchObject({ StartLimitIntervalSec: [expect.stringMatching(/^\d+min$/)], StartLimitBurst: [expect.stringMatching(/^\d+$/)] });
        expect(unit.Service.User).toEqual(user ? undefined : [expect.any(String)]);
        expect(unit.Install.WantedBy).toEqual([user ? 'default.target' : 'multi-user.target']);
        // A user manager has no network-online.target (systemd.special); a system unit waits for it.
        expect([unit.Unit.After, unit.Unit.Wants]).toEqual(user ? [undefined, undefined] : [['network-online.target'], ['network-online.target']]);
        // node's folder first (run.sh runs `node`), then the usual ones, each once.
        const folders = /^"?PATH=([^"]*)"?$/.exec(unit.Service.Environment?.[0] ?? '')?.[1].split(':') ?? [];
        expect(folders[0]).toBe(path.dirname(process.execPath));
        expect(folders).toEqual(expect.arrayContaining(['/usr/local/bin', '/usr/bin', '/bin']));
        expect(new Set(folders).size).toBe(folders.length);
      }
      // The end of a service is noted in its log: the command systemd runs after it, with what systemd gives it for a kill -9.
      const stopPost = /^\/bin\/sh -c '(.*)' sh (\S+)$/.exec(parseUnit(readFileSync(path.join(output, unitName('gateway')), 'utf8')).Service.ExecStopPost?.[0] ?? '');
      expect(stopPost?.[2]).toBe(path.join(dir, 'log', 'gateway.log'));
      const script = (stopPost?.[1] ?? '').replace(/%%/g, '%').replace(/\$\$/g, '$').replace(/\\n/g, '\n');
      const noted = spawnSync('/bin/sh', ['-c', script, 'sh', stopPost?.[2] ?? ''], { encoding: 'utf8', env: { ...process.env, SERVICE_RESULT: 'signal', EXIT_CODE: 'killed', EXIT_STATUS: 'KILL' } });
      expect({ status: noted.status, stderr: noted.stderr }).toEqual({ status: 0, stderr: '' });
      expect(readText(path.join(dir, 'log', 'gateway.log')).split('\n').slice(-2)).toEqual([
        expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ERROR \[systemd\] gateway: service ended \(signal: killed KILL\); systemd starts it again unless it was stopped$/),
        '',
      ]);
      // systemd's own parser: unknown keys, bad values and a missing ExecStart binary are reported (on stderr).
      const verify = spawnSync('systemd-analyze', ['verify', '--man=no', ...readdirSync(output).map((name) => path.join(output, name))], { encoding: 'utf8', timeout: 60_000 });
      expect({ status: verify.status, stderr: verify.stderr }).toEqual({ status: 0, stderr: '' });
    }
  });

  it('prints them without --output, and the scheduler unit alone with "scheduler"', () => {
    const file = everythingConfig(testDir('systemd-print'));
    const printed = spawnSync(RUN, ['systemd-units', '--config', file], { encoding: 'utf8', timeout: 60_000 });
    expect(printed.status).toBe(0);
    expect([...printed.stdout.matchAll(/^# ==> (\S+) <==$/gm)].map((match) => match[1]).sort()).toEqual(bootServices.map(unitName).sort());
    const scheduler = spawnSync(RUN, ['systemd-units', 'scheduler', '--config', file], { encoding: 'utf8', timeout: 60_000 });
    expect(scheduler.status).toBe(0);
    expect([...scheduler.stdout.matchAll(/^ExecStart=(.*)$/gm)].map((match) => match[1])).toEqual([`${RUN} scheduler --config ${file}`]);
  });
});
