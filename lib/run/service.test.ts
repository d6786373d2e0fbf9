import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { testDir } from '../../test/support/services';
import { formatIdentity, identityOf, ownIdentity } from './processIdentity';
import { claimPidFile } from './service';

const SERVICE_MODULE = path.join(PROJECT_ROOT, 'dist', 'lib', 'run', 'service.js');

/**
 * A node process that claims `file` once the file `go` exists (so that all claim at the same moment),
 * prints whether it got it, and stays alive until killed.
 */
function claimant(file: string, go: string): { child: ChildProcess; ready: Promise<void>; claimed: Promise<boolean> } {
  const script = `const { claimPidFile } = require(${JSON.stringify(SERVICE_MODULE)}); const fs = require('fs'); process.stdout.write('ready\\n'); while (!fs.existsSync(${JSON.stringify(go)})); const c = claimPidFile(${JSON.stringify(file)}); process.stdout.write(String(c.claimed) + '\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const ready = new Promise<void>((resolve) => child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()).includes('ready\n') && resolve()));
  const claimed = new Promise<boolean>((resolve, reject) => {
    child.stdout?.on('data', () => /ready\n(true|false)\n/.test(output) && resolve(output.includes('true')));
    child.once('exit', (code) => reject(new Error(`claimant exited ${code} before answering`)));
  });
  return { child, ready, claimed };
}

describe('claimPidFile: one supervisor per pid file, by pid and start time', () => {
  const dir = testDir('pid-file');

  it('is taken when free, refused while a running process holds it, taken over from a dead or reused pid, and released', async () => {
    const file = path.join(dir, 'plain.pid');
    const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
    try {
      const held = formatIdentity(identityOf(sleeper.pid as number) ?? { pid: 0, startTicks: '' });
      writeFileSync(file, `${held}\n`);
      expect(claimPidFile(file)).toEqual({ claimed: false, holder: identityOf(sleeper.pid as number) });
      // The same live pid with another start time is a reused pid: taken over.
      writeFileSync(file, `${sleeper.pid}:${Number(identityOf(sleeper.pid as number)?.startTicks) + 1}\n`);
      const claim = claimPidFile(file);
      expect(claim.claimed).toBe(true);
      expect(readFileSync(file, 'utf8')).toBe(`${formatIdentity(ownIdentity())}\n`);
      if (claim.claimed) claim.release();
      expect(existsSync(file)).toBe(false);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('eight processes claiming at once, with and without a stale file: exactly one gets it, every round', async () => {
    for (let round = 0; round < 20; round += 1) {
      const file = path.join(dir, `race-${round}.pid`);
      // Half the rounds start from a file left by a process that is gone (pid 1 with a start time it never had).
      if (round % 2 === 1) writeFileSync(file, '1:999999999999\n');
      const go = path.join(dir, `go-${round}`);
      const claimants = Array.from({ length: 8 }, () => claimant(file, go));
      try {
        await Promise.all(claimants.map((one) => one.ready));
        writeFileSync(go, '');
        const results = await Promise.all(claimants.map((one) => one.claimed));
        expect({ round, holders: results.filter(Boolean).length }).toEqual({ round, holders: 1 });
        const winner = claimants[results.indexOf(true)].child.pid;
        expect(readFileSync(file, 'utf8')).toBe(`${formatIdentity(identityOf(winner as number) ?? { pid: 0, startTicks: '' })}\n`);
      } finally {
        for (const one of claimants) one.child.kill('SIGKILL');
      }
    }
  }, 300_000);
});
