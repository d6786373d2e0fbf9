import { readFileSync } from 'node:fs';

/** Whether `pid` is a live process (a zombie, killed and not yet reaped, is not). */
export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The pid a test script wrote to `file`. */
export function pidIn(file: string): number {
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`${file} holds no pid: '${readFileSync(file, 'utf8')}'`);
  return pid;
}

/** Whether the process whose pid is in `file` is gone, waiting a little for it (SIGKILL is delivered asynchronously). */
export async function goneAfterWaiting(file: string): Promise<boolean> {
  const pid = pidIn(file);
  for (let attempt = 0; attempt < 100 && alive(pid); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 50));
  return !alive(pid);
}
