import type { ChildProcess } from 'node:child_process';
import { linkSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config';
import { pathsFrom } from '../config/paths';
import { Logger } from './log';
import { formatIdentity, isRunning, ownIdentity, parseIdentity, type ProcessIdentity } from './processIdentity';
import type { RunArguments } from './registry';

/**
 * Runs a long-running service until SIGTERM or SIGINT: `body` gets the service's log and a signal
 * that aborts on either. Resolves with the exit status (1 when `body` fails, so a supervisor restarts it).
 */
export async function runService(name: string, config: Config, args: RunArguments, body: (log: Logger, signal: AbortSignal) => Promise<void>): Promise<number> {
  // Echoed on a terminal only: under cron or the quickstart, stderr is appended to the log already written.
  const log = Logger.forJob(name, pathsFrom(config).log, { debug: args.debug, echo: args.debug || process.stderr.isTTY === true });
  const stop = new AbortController();
  const abort = (): void => stop.abort();
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

export type PidFileClaim = { claimed: true; release(): void } | { claimed: false; holder: ProcessIdentity };

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Creates `file` holding `content`, atomically (never seen empty or half-written); false when it exists. */
function createWith(file: string, content: string): boolean {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  try {
    linkSync(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    unlinkSync(temporary);
  }
}

/**
 * Makes the pid file `file` name this process (pid and start time) unless it names another running
 * process, which is returned. A file naming a process that is gone (or a reused pid) is taken over;
 * of several processes taking over at once, only the one that creates `<file>.takeover` removes it.
 */
export function claimPidFile(file: string): PidFileClaim {
  mkdirSync(path.dirname(file), { recursive: true });
  const mine = `${formatIdentity(ownIdentity())}\n`;
  const release = (): void => {
    if (readText(file) === mine) rmSync(file, { force: true });
  };
  for (let attempt = 0; attempt < 5; attempt += 1) {
    if (createWith(file, mine)) return { claimed: true, release };
    const held = readText(file);
    if (held === undefined) continue; // removed meanwhile
    if (held === mine) return { claimed: true, release };
    const holder = parseIdentity(held);
    if (holder && isRunning(holder)) return { claimed: false, holder };
    const takeover = `${file}.takeover`;
    if (!createWith(takeover, mine)) {
      const other = parseIdentity(readText(takeover) ?? '');
      if (other && isRunning(other)) return { claimed: false, holder: other };
      // Left by a process that died while taking over.
      rmSync(takeover, { force: true });
      continue;
    }
    try {
      if (readText(file) === held) rmSync(file, { force: true });
    } finally {
      rmSync(takeover, { force: true });
    }
  }
  throw new Error(`cannot claim the pid file ${file}: it keeps changing`);
}
