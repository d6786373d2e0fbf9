import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { writeFileDurably } from '../state/durableFile';
import { formatIdentity, identityOf, isRunning, readIdentityFile } from './processIdentity';
import type { Config } from '../config/config';
import { pathsFrom } from '../config/paths';
import { Logger } from './log';
import type { RunArguments } from './registry';

/**
 * Runs a long-running service until SIGTERM or SIGINT: `body` gets the service's log and a signal
 * that aborts on either. Resolves with the exit status (1 when `body` fails, so a supervisor restarts it).
 */
export async function runService(name: string, config: Config, args: RunArguments, body: (log: Logger, signal: AbortSignal) => Promise<void>): Promise<number> {
  // Echoed on a terminal only: under cron or the quickstart, stderr is appended to the log already written.
  const log = Logger.forJob(name, pathsFrom(config).log, { debug: args.debug, echo: args.debug || process.stderr.isTTY === true });
  const stop = new AbortController();
  const abort = (signal: NodeJS.Signals): void => {
    log.info(`${signal} received: stopping`);
    stop.abort();
  };
  process.once('SIGTERM', abort);
  process.once('SIGINT', abort);
  try {
    await body(log, stop.signal);
    return 0;
  } catch (error) {
    log.error((error as Error).message);
    return 1;
  } finally {
    process.off('SIGTERM', abort);
    process.off('SIGINT', abort);
  }
}

/** How a supervised service is restarted: after `initialDelayMs`, doubling up to `maxDelayMs` while it keeps dying young. */
export interface RestartPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  /** A run at least this long counts as healthy: the next restart is quick again. */
  healthyAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 1000, maxDelayMs: 60_000, healthyAfterMs: 60_000 };

/** How a child ended, for a log line: "status 1" or "signal SIGKILL". */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `status ${code}`;
}

/** Asks `child` to stop (SIGTERM) and waits for it, killing it after `graceMs`. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * A long-running child process kept running: whenever it exits (any status, any signal) the exit is
 * logged and it is started again, with a growing delay while it keeps dying young. The scheduler and
 * `./run.sh supervise` both restart services through this one class.
 */
export class SupervisedProcess {
  private current: ChildProcess | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private starts = 0;
  private stopping = false;

  constructor(
    private readonly name: string,
    private readonly spawnProcess: () => ChildProcess,
    private readonly log: Logger,
    private readonly options: RestartPolicy & { onStart?(child: ChildProcess): void } = DEFAULT_RESTART_POLICY,
  ) {
    this.delayMs = options.initialDelayMs;
  }

  /** The running child, if any. */
  get child(): ChildProcess | undefined {
    return this.current;
  }

  start(): void {
    this.restartTimer = undefined;
    if (this.stopping) return;
    const child = this.spawnProcess();
    this.current = child;
    this.starts += 1;
    const startedAt = Date.now();
    this.log.info(`${this.name}: service ${this.starts === 1 ? 'started' : 'restarted'} (pid ${child.pid})`);
    this.options.onStart?.(child);
    const ended = (how: string): void => {
      this.current = undefined;
      if (this.stopping) return;
      // A service that keeps dying is restarted less and less often; one that ran a while, quickly.
      this.delayMs = Date.now() - startedAt >= this.options.healthyAfterMs ? this.options.initialDelayMs : this.delayMs;
      const delayMs = this.delayMs;
      this.delayMs = Math.min(delayMs * 2, this.options.maxDelayMs);
      this.log.error(`${this.name}: service ${how}; restarting in ${Math.round(delayMs / 1000)}s`);
      this.restartTimer = setTimeout(() => this.start(), delayMs);
    };
    child.on('error', (error) => {
      this.log.error(`${this.name}: ${error.message}`);
      // A child that could not be started emits no 'exit'.
      if (child.pid === undefined) ended('could not be started');
    });
    child.on('exit', (code, signal) => ended(`(pid ${child.pid}) exited with ${describeExit(code, signal)}`));
  }

  /** Stops restarting, and stops the child (SIGTERM, SIGKILL after `graceMs`). */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.current) await stopChild(this.current, graceMs);
  }
}


/** Where a service's supervisor names itself (`./run.sh supervise` only) and the child it runs, in the run folder (var/run). */
export function supervisorFilesIn(runDirectory: string, service: string): { supervisor: string; child: string } {
  return { supervisor: path.join(runDirectory, `supervise-${service}.pid`), child: path.join(runDirectory, `supervise-${service}.child`) };
}

/** Records each child a supervisor starts in `file`, so that a later supervisor knows a service left running. */
export function recordChildIn(file: string): (child: ChildProcess) => void {
  return (child) => {
    const identity = child.pid === undefined ? undefined : identityOf(child.pid);
    if (identity) writeFileDurably(file, `${formatIdentity(identity)}\n`, 0o644, 'supervisor child file');
  };
}

/**
 * Waits while the service an earlier supervisor started (recorded in `childFile`) still runs: that
 * supervisor was killed, and its service still holds the port. `pause(ms)` waits and says whether to go
 * on. Returns false when told to stop first.
 */
export async function outliveOrphan(childFile: string, name: string, log: Logger, pause: (ms: number) => Promise<boolean>): Promise<boolean> {
  const orphan = readIdentityFile(childFile);
  if (!orphan || !isRunning(orphan)) return true;
  log.warn(`${name}: pid ${orphan.pid}, started by an earlier supervisor, still runs; started again once it exits`);
  while (isRunning(orphan)) if (!(await pause(1000))) return false;
  log.error(`${name}: service (pid ${orphan.pid}, started by an earlier supervisor) exited`);
  return true;
}
