import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { formatIdentity, identityOf, isRunning, ownIdentity, type ProcessIdentity } from './processIdentity';

export type LockResult = { acquired: true; release(): void; recoveredFrom?: number } | { acquired: false; holderPid: number };

/** `<pid>:<startTicks>:<nonce>`: the nonce tells apart two contenders of one process. */
const ENTRY_NAME = /^(\d+):(\d*):[0-9a-f]+$/;

/** The process an entry names (an empty start time, where /proc was unreadable, is judged on the pid). */
function entryIdentity(name: string): ProcessIdentity | undefined {
  const match = ENTRY_NAME.exec(name);
  return match ? { pid: Number(match[1]), startTicks: match[2] } : undefined;
}

/** Sleeps without returning to the event loop: only for the few milliseconds a tie costs. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // gone already (another contender removed it), or a directory: nothing to do
  }
}

/** Boot time in ms (the `btime` line of /proc/stat), or undefined. */
function bootTimeMs(): number | undefined {
  try {
    const match = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    return match ? Number(match[1]) * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When a process started, never later than it really did: btime is rounded down to the second, and
 * /proc reports start times in USER_HZ ticks, 100 a second on Linux.
 */
function startedAtMs(identity: ProcessIdentity): number | undefined {
  const boot = bootTimeMs();
  return boot === undefined || identity.startTicks === '' ? undefined : boot + Number(identity.startTicks) * 10;
}

/** Slack for a boot time that moves with clock adjustments: a pid is not reused within a second. */
const CLOCK_SLACK_MS = 1000;

/**
 * A lock file of the previous version (`<pid> <nonce>`, no start time) holds while its pid runs a
 * process that started before the file was written; one started later reuses the pid.
 */
function oldFormatHolder(file: string): number | undefined {
  let content: string;
  let writtenMs: number;
  try {
    content = readFileSync(file, 'utf8');
    writtenMs = lstatSync(file).mtimeMs;
  } catch {
    return undefined;
  }
  const pid = parseInt(content, 10);
  const identity = Number.isSafeInteger(pid) && pid > 0 ? identityOf(pid) : undefined;
  if (!identity || !isRunning(identity)) return undefined;
  const started = startedAtMs(identity);
  return started === undefined || started <= writtenMs + CLOCK_SLACK_MS ? pid : undefined;
}

/**
 * Makes the lock directory. A file in its place is a lock of the previous version: its holder, when it
 * still runs, is returned; when stale it is removed (unlink cannot remove the directory a contender may
 * have made meanwhile, so this removal never breaks a newer lock).
 */
function lockDirectory(dir: string): { holderPid?: number; recoveredFrom?: number } {
  let recoveredFrom: number | undefined;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      mkdirSync(dir, { recursive: true });
      return { recoveredFrom };
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw new Error(`cannot make the lock directory ${dir}: ${(error as Error).message}`);
    }
    const holderPid = oldFormatHolder(dir);
    if (holderPid !== undefined) return { holderPid };
    const stale = parseInt(safeRead(dir), 10);
    recoveredFrom = Number.isSafeInteger(stale) && stale > 0 ? stale : recoveredFrom;
    removeQuietly(dir);
  }
  throw new Error(`cannot take the lock ${dir}: a file keeps appearing in place of the lock directory`);
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * One attempt: create our own entry, then look at the others.
 *
 * Why two contenders never both hold: each creates its entry (O_EXCL, a unique name) before it lists
 * the directory, and keeps that entry for as long as it holds. Of two contenders A and B, say A created
 * its entry first; B lists after its own create, so after A's, and finds A's entry, which A removes only
 * when it backs off or releases. A runs, so B backs off. Dead contenders' entries are removed by anyone:
 * that never removes the entry of a running process, so the argument holds with stale entries present.
 * An entry's name is its whole content, so there is nothing a reader could see half-written.
 */
function attempt(dir: string): LockResult & { recoveredFrom?: number } {
  const ownName = `${formatIdentity(ownIdentity())}:${randomBytes(6).toString('hex')}`;
  const ownEntry = path.join(dir, ownName);
  try {
    closeSync(openSync(ownEntry, 'wx'));
  } catch (error) {
    throw new Error(`cannot take the lock ${dir}: cannot create ${ownEntry}: ${(error as Error).message}`);
  }
  let holderPid: number | undefined;
  let recoveredFrom: number | undefined;
  for (const name of readdirSync(dir)) {
    const identity = name === ownName ? undefined : entryIdentity(name);
    if (!identity) continue;
    if (isRunning(identity)) {
      holderPid ??= identity.pid;
    } else {
      removeQuietly(path.join(dir, name));
      recoveredFrom = identity.pid;
    }
  }
  if (holderPid !== undefined) {
    removeQuietly(ownEntry);
    return { acquired: false, holderPid, recoveredFrom };
  }
  let released = false;
  return {
    acquired: true,
    recoveredFrom,
    release: () => {
      if (!released) removeQuietly(ownEntry);
      released = true;
    },
  };
}

/**
 * Takes the run lock `file` (a directory of contenders' entries, see attempt()), or says which running
 * process holds it. Contenders that meet in the same instant all back off; each tries again a few times
 * after a short random delay, so a tie does not make them all skip. Throws, naming the path, when the
 * lock cannot be written (a full disk, a read-only folder).
 */
export function acquireLock(file: string, options: { attempts?: number } = {}): LockResult {
  const attempts = options.attempts ?? 5;
  let recoveredFrom: number | undefined;
  let holderPid = 0;
  for (let round = 0; round < attempts; round += 1) {
    if (round > 0) sleepSync(1 + Math.random() * 2 ** (round + 1));
    const directory = lockDirectory(file);
    recoveredFrom ??= directory.recoveredFrom;
    if (directory.holderPid !== undefined) {
      holderPid = directory.holderPid;
      continue;
    }
    const result = attempt(file);
    recoveredFrom ??= result.recoveredFrom;
    if (result.acquired) return { acquired: true, release: result.release, recoveredFrom };
    holderPid = result.holderPid;
  }
  return { acquired: false, holderPid };
}

/** Takes the lock, waiting for the holder until `untilMs`; `onWait` hears once whom it waits for. */
export async function waitForLock(file: string, untilMs: number, onWait?: (holderPid: number) => void): Promise<LockResult> {
  let told = false;
  for (;;) {
    const result = acquireLock(file, { attempts: 1 }); // this loop is the retry
    if (result.acquired || Date.now() >= untilMs) return result;
    if (!told) onWait?.(result.holderPid);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(0, untilMs - Date.now()), 20 + Math.random() * 80)));
  }
}
