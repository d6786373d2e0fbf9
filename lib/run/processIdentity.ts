import { readFileSync } from 'node:fs';

/**
 * A process named by its pid and its start time (clock ticks after boot, field 22 of /proc/PID/stat):
 * pids are reused, so a pid alone may name another process once the first is gone.
 */
export interface ProcessIdentity {
  pid: number;
  startTicks: string;
}

/** Fields of /proc/PID/stat after the command name (which may hold spaces and parentheses), or undefined. */
function statFields(pid: number): string[] | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The identity of process `pid`, or undefined when it does not exist. */
export function identityOf(pid: number): ProcessIdentity | undefined {
  const fields = statFields(pid);
  return fields ? { pid, startTicks: fields[19] } : undefined;
}

let own: ProcessIdentity | undefined;
/** This process's identity. */
export function ownIdentity(): ProcessIdentity {
  own ??= identityOf(process.pid) ?? { pid: process.pid, startTicks: '' };
  return own;
}

/**
 * Whether that very process still runs: same pid, same start time, and not a zombie (a killed
 * process its parent has not reaped yet). An identity without a start time is judged on its pid.
 */
export function isRunning(identity: ProcessIdentity): boolean {
  const fields = statFields(identity.pid);
  // No /proc entry: gone, or hidden (no /proc on this system, or hidepid for another user's process).
  if (!fields) return pidExists(identity.pid);
  if (fields[0] === 'Z' || fields[0] === 'X') return false;
  return identity.startTicks === '' || fields[19] === identity.startTicks;
}

/** Whether a pid exists (EPERM: it does, under another user); without /proc its start time cannot be checked. */
function pidExists(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `pid:startTicks`, the text form kept in lock and pid files. */
export function formatIdentity(identity: ProcessIdentity): string {
  return `${identity.pid}:${identity.startTicks}`;
}

/** Reads `pid:startTicks` (or a bare pid, from older files); undefined when it is neither. */
export function parseIdentity(text: string): ProcessIdentity | undefined {
  const match = /^\s*(\d+)(?::(\d+))?\s*$/.exec(text);
  if (!match) return undefined;
  return { pid: Number(match[1]), startTicks: match[2] ?? '' };
}

/** The identity (`pid:startTicks`) kept in `file`, or undefined when there is none. */
export function readIdentityFile(file: string): ProcessIdentity | undefined {
  try {
    return parseIdentity(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
