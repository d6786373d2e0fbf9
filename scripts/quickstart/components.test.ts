import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { identityOf, formatIdentity } from '../../lib/run/processIdentity';
import { testDir } from '../../test/support/services';
import { alivePid } from './components';

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
