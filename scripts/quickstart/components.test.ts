import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { supervisorFiles } from '../../cli/scheduler';
import { Config } from '../../lib/config/config';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { identityOf, formatIdentity, isRunning, parseIdentity, type ProcessIdentity } from '../../lib/run/processIdentity';
import { TEST_TOKEN } from '../../test/support/gateway';
import { freePort } from '../../test/support/ports';
import { testDir } from '../../test/support/services';
import { alivePid, CLI, SERVICES_SCRIPT } from './components';

/** The state letter of /proc/PID/stat (R, S, Z...), or undefined when the pid is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/**
 * A zombie: `sh` starts a short child, prints its pid and replaces itself by `sleep`, which never reaps
 * it; once that child exits it stays a zombie until the sleep ends.
 */
async function zombie(): Promise<{ pid: number; parent: ChildProcess }> {
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 300'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = await new Promise<number>((resolve) => parent.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
  for (let tries = 0; tries < 500 && processState(pid) !== 'Z'; tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
  return { pid, parent };
}

describe('alivePid: the quickstart judges its processes by pid and start time', () => {
  const dir = testDir('alive-pid');
  const file = path.join(dir, 'gateway.pid');

  it('a killed process not yet reaped (a zombie) is not alive, in a bare-pid file or with its start time', async () => {
    const { pid, parent } = await zombie();
    try {
      expect(processState(pid)).toBe('Z');
      writeFileSync(file, `${pid}\n`);
      expect(alivePid(file)).toBeUndefined();
      writeFileSync(file, `${formatIdentity(identityOf(pid) ?? { pid, startTicks: '' })}\n`);
      expect(alivePid(file)).toBeUndefined();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('a pid file naming a live process with another start time (a reused pid) is not alive', () => {
    const own = identityOf(process.pid);
    expect(own).toBeDefined();
    writeFileSync(file, `${process.pid}:${Number(own?.startTicks) + 1}\n`);
    expect(alivePid(file)).toBeUndefined();
  });

  it('a live process is alive, by pid and start time, or by a bare pid from an older pid file', () => {
    writeFileSync(file, `${formatIdentity(identityOf(process.pid) ?? { pid: 0, startTicks: '' })}\n`);
    expect(alivePid(file)).toBe(process.pid);
    writeFileSync(file, `${process.pid}\n`);
    expect(alivePid(file)).toBe(process.pid);
    expect(alivePid(path.join(dir, 'missing.pid'))).toBeUndefined();
  });
});

describe('the quickstart and ./run.sh stop find a supervised service through the supervisor holding its lock', () => {
  const LOCAL = path.join(PROJECT_ROOT, 'dist', 'scripts', 'quickstart', 'local.js');

  function local(command: string, configFile: string): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync(process.execPath, [LOCAL, command, '--config', configFile], { encoding: 'utf8', timeout: 600_000 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  function identityIn(file: string): ProcessIdentity | undefined {
    return existsSync(file) ? parseIdentity(readFileSync(file, 'utf8')) : undefined;
  }

  async function pingStatus(port: number): Promise<number | undefined> {
    try {
      return (await fetch(`http://127.0.0.1:${port}/ping`, { signal: AbortSignal.timeout(5000) })).status;
    } catch {
      return undefined;
    }
  }

  async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 120_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`still not true: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it(
    'after cron replaced a killed supervisor, a second start keeps it and records it, and stop ends it and its gateway; a gateway left without a supervisor is stopped too',
    async () => {
      const dir = testDir('local-supervised');
      const [influxPort, gatewayPort] = [await freePort(), await freePort()];
      const configFile = path.join(dir, 'config.cfg');
      const off = ['status', 'downsample-1h', 'downsample-1d', 'replay'].map((job) => `[${job}]\nenabled = false\n`).join('');
      writeFileSync(
        configFile,
        `[paths]\nvar = ${dir}\n[monit]\nurl = http://127.0.0.1:${gatewayPort}/\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = http://127.0.0.1:${influxPort}\n[gateway]\nlisten = 127.0.0.1:${gatewayPort}\ntoken = ${TEST_TOKEN}\n${off}`,
      );
      const runDir = path.join(dir, 'run');
      const files = supervisorFiles(Config.load(configFile), 'gateway');
      const recorded = path.join(runDir, 'gateway.pid');
      // Each supervisor that took the lock logs one of these (the second while it waits for the gateway it found).
      const supervising = (): number =>
        (existsSync(path.join(dir, 'log', 'gateway.log')) ? readFileSync(path.join(dir, 'log', 'gateway.log'), 'utf8') : '').match(/supervising gateway|started by an earlier supervisor, still runs/g)?.length ?? 0;
      const left: ProcessIdentity[] = [];
      try {
        const first = local('start', configFile);
        expect({ status: first.status, stderr: first.stderr }).toEqual({ status: 0, stderr: '' });
        expect(first.stdout).toMatch(/^ {2}gateway +running$/m);
        const killed = identityIn(files.supervisor) as ProcessIdentity;
        const orphan = identityIn(files.child) as ProcessIdentity;
        left.push(killed, orphan);
        expect(identityIn(recorded)).toEqual(killed);
        expect(await pingStatus(gatewayPort)).toBe(200);

        // The supervisor is killed; cron's line every 10 minutes starts another, which takes the lock.
        process.kill(killed.pid, 'SIGKILL');
        await until('the killed supervisor is gone', () => !isRunning(killed));
        const fromCron = spawn(process.execPath, [CLI, 'supervise', 'gateway', '--config', configFile], { detached: true, stdio: 'ignore' });
        fromCron.unref();
        await until('the supervisor cron started holds the lock and waits for the gateway', () => identityIn(files.supervisor)?.pid === fromCron.pid && supervising() === 2);
        const replacement = identityIn(files.supervisor) as ProcessIdentity;
        left.push(replacement);

        // A second quickstart keeps that supervisor, records it, and starts no third one.
        const second = local('start', configFile);
        expect({ status: second.status, stderr: second.stderr }).toEqual({ status: 0, stderr: '' });
        expect(second.stdout).toMatch(new RegExp(`^ {2}gateway +running \\(under its supervisor, pid ${replacement.pid}\\)$`, 'm'));
        expect(identityIn(recorded)).toEqual(replacement);
        expect(identityIn(files.supervisor)).toEqual(replacement);
        expect(supervising()).toBe(2);

        // stop ends the supervisor holding the lock and the gateway it waits for, before it says so.
        const stopped = local('stop', configFile);
        expect({ status: stopped.status, stderr: stopped.stderr }).toEqual({ status: 0, stderr: '' });
        expect(stopped.stdout).toMatch(/^ {2}gateway +stopped$/m);
        expect([isRunning(replacement), isRunning(orphan)]).toEqual([false, false]);
        expect(await pingStatus(gatewayPort)).toBeUndefined();
        expect([existsSync(files.supervisor), existsSync(files.child), existsSync(recorded)]).toEqual([false, false, false]);

        // A supervisor killed with -9 and not replaced: stop ends the gateway it left.
        const third = local('start', configFile);
        expect({ status: third.status, stderr: third.stderr }).toEqual({ status: 0, stderr: '' });
        const lone = identityIn(files.supervisor) as ProcessIdentity;
        const unsupervised = identityIn(files.child) as ProcessIdentity;
        left.push(lone, unsupervised);
        process.kill(lone.pid, 'SIGKILL');
        await until('the supervisor is gone', () => !isRunning(lone));
        expect(isRunning(unsupervised)).toBe(true);
        const again = local('stop', configFile);
        expect({ status: again.status, stderr: again.stderr }).toEqual({ status: 0, stderr: '' });
        expect(again.stdout).toMatch(/^ {2}gateway +stopped$/m);
        expect(isRunning(unsupervised)).toBe(false);
        expect(await pingStatus(gatewayPort)).toBeUndefined();
      } finally {
        for (const identity of left) if (isRunning(identity)) process.kill(identity.pid, 'SIGKILL');
        spawnSync(SERVICES_SCRIPT, ['stop', path.join(dir, 'influxdb')], { stdio: 'ignore' });
      }
    },
    1_200_000,
  );
});
