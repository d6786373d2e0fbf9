import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

export type LockResult = { acquired: true; release(): void; recoveredFrom?: number } | { acquired: false; holderPid: number };

/** Whether process `pid` exists (EPERM: it does, under another user). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A run lock: one file holding the PID of the run that owns it. A second run finds the PID alive
 * and backs off; a lock whose PID is dead (a crashed run) is taken over.
 */
export function acquireLock(file: string): LockResult {
  mkdirSync(path.dirname(file), { recursive: true });
  let recoveredFrom: number | undefined;
  // The PID says whether the holder lives; the nonce tells two runs of one process apart.
  const content = `${process.pid} ${randomBytes(6).toString('hex')}\n`;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, content);
      closeSync(fd);
      return {
        acquired: true,
        recoveredFrom,
        release: () => {
          try {
            if (readFileSync(file, 'utf8') === content) unlinkSync(file);
          } catch {
            // already gone
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder = NaN;
    let held = '';
    try {
      held = readFileSync(file, 'utf8');
      holder = parseInt(held, 10);
    } catch {
      continue; // removed meanwhile: try again
    }
    if (Number.isInteger(holder) && holder > 0 && held !== content && processIsAlive(holder)) return { acquired: false, holderPid: holder };
    // Stale (dead PID or unreadable content): remove it and try again.
    recoveredFrom = Number.isInteger(holder) ? holder : undefined;
    try {
      unlinkSync(file);
    } catch {
      // another run removed it first
    }
  }
  throw new Error(`cannot take the lock ${file}`);
}
