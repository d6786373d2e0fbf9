import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

/** How a command ended. */
export interface ProcessResult {
  /** Its exit code when it exited by itself. */
  exitCode?: number;
  /** The signal that ended it when it was not ours (ours: timedOut or aborted). */
  signal?: string;
  /** Killed at its timeout. */
  timedOut: boolean;
  /** Killed (or never started) because the job's deadline passed. */
  aborted: boolean;
  /** The deadline had passed before it could start. */
  notStarted?: boolean;
  /** It could not be started (no such program, not executable); the message says why. */
  startError?: string;
  /** The first maxOutputBytes of stdout. */
  stdout: string;
  /** All bytes written to stdout, counted also past the cap. */
  stdoutBytes: number;
  /** The last STDERR_TAIL_BYTES of stderr: its end says why a command failed. */
  stderrTail: string;
  durationMs: number;
}

export interface ProcessOptions {
  environment: Record<string, string>;
  directory: string;
  timeoutMs: number;
  maxOutputBytes: number;
  /** The job's deadline: aborting it kills the command. */
  signal: AbortSignal;
  /** Called once when the command is killed (timeout or deadline), before its end is awaited. */
  onKill?(why: 'timeout' | 'aborted'): void;
}

const STDERR_TAIL_BYTES = 4096;

/** How long the output pipes may stay open after the command ended before they are closed on our side. */
const DRAIN_AFTER_EXIT_MS = 1000;

/** How long a killed command may take to be gone before it is given up on. */
const KILLED_WAIT_MS = 5000;

/**
 * Kills the whole process group of `pid` (the command and every child it started). Never throws: the
 * group may be gone already (ESRCH), or hold a process we may not signal (EPERM, a setuid program),
 * and the run must go on either way.
 */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Nothing more can be done from here; the timers still end the wait.
  }
}

/**
 * Runs argv in its own process group, with exactly `environment`, in `directory`. Never waits past
 * the timeout or the deadline: then the group is killed with SIGKILL. When the command exits, what is
 * left of its group (background children) is killed too, so nothing it started outlives it and keeps
 * its output open. Output is capped: a runaway command cannot fill the memory.
 */
export function runProcess(argv: string[], options: ProcessOptions): Promise<ProcessResult> {
  const started = performance.now();
  const stdoutChunks: Buffer[] = [];
  let stdoutKept = 0;
  let stdoutBytes = 0;
  let stderrTail = Buffer.alloc(0);
  if (options.signal.aborted) {
    return Promise.resolve({ aborted: true, notStarted: true, timedOut: false, stdout: '', stdoutBytes: 0, stderrTail: '', durationMs: 0 });
  }
  return new Promise((resolve) => {
    let timedOut = false;
    let aborted = false;
    let startError: string | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let finished = false;
    let drainTimer: NodeJS.Timeout | undefined;
    let child: ChildProcessByStdio<null, Readable, Readable>;
    try {
      // detached: its own process group (setsid), so that the group can be killed as one.
      child = spawn(argv[0], argv.slice(1), { env: options.environment, cwd: options.directory, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    } catch (error) {
      // Arguments Node refuses before trying (a NUL byte in an argument or a variable).
      resolve({ timedOut: false, aborted: false, startError: `cannot run ${argv[0]}: ${(error as Error).message}`, stdout: '', stdoutBytes: 0, stderrTail: '', durationMs: 0 });
      return;
    }
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutKept >= options.maxOutputBytes) return;
      const kept = chunk.subarray(0, options.maxOutputBytes - stdoutKept);
      stdoutChunks.push(kept);
      stdoutKept += kept.length;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderrTail = Buffer.concat([stderrTail, chunk]);
      if (stderrTail.length > STDERR_TAIL_BYTES) stderrTail = stderrTail.subarray(stderrTail.length - STDERR_TAIL_BYTES);
    });
    const kill = (why: 'timeout' | 'aborted'): void => {
      if (exit || finished) return;
      if (why === 'timeout') timedOut = true;
      else aborted = true;
      options.onKill?.(why);
      killGroup(child.pid);
      // A process that cannot die (stuck in the kernel) must not hold up the run either.
      drainTimer = setTimeout(finish, KILLED_WAIT_MS);
    };
    const timer = setTimeout(() => kill('timeout'), options.timeoutMs);
    const onAbort = (): void => kill('aborted');
    options.signal.addEventListener('abort', onAbort, { once: true });
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(drainTimer);
      options.signal.removeEventListener('abort', onAbort);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({
        exitCode: exit?.code ?? undefined,
        signal: !timedOut && !aborted && exit?.signal ? exit.signal : undefined,
        timedOut,
        aborted,
        startError,
        stdout: Buffer.concat(stdoutChunks).toString('utf8'),
        stdoutBytes,
        stderrTail: stderrTail.toString('utf8'),
        durationMs: Math.round(performance.now() - started),
      });
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      // Only a failure to start reaches here (we never write to it): no exit event follows.
      startError = error.code === 'ENOENT' ? `cannot run ${argv[0]}: no such program` : `cannot run ${argv[0]}: ${error.message}`;
      finish();
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      clearTimeout(timer);
      // Children it left behind would keep the pipes open (and live on): they go with it.
      killGroup(child.pid);
      clearTimeout(drainTimer);
      drainTimer = setTimeout(finish, DRAIN_AFTER_EXIT_MS);
    });
    child.on('close', finish);
  });
}
