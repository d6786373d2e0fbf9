import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

export type LockResult = { acquired: true; release(): void; recoveredFrom?: number } | { acquired: false; holderPid: number };

function alive(pid: number): boolean {
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
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return {
        acquired: true,
        recoveredFrom,
        release: () => {
          try {
            if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
          } catch {
            // already gone
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder = NaN;
    try {
      holder = parseInt(readFileSync(file, 'utf8'), 10);
    } catch {
      continue; // removed meanwhile: try again
    }
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) return { acquired: false, holderPid: holder };
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
