/**
 * What the quickstart starts, and the building blocks a source's demo.ts uses: a Debian-packaged
 * server run by scripts/servers/services.sh, a background process of ours, routes on the demo HTTP
 * server. This module starts nothing by itself.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { Config } from '../../lib/config/config';
import { PROJECT_ROOT, pathsFrom } from '../../lib/config/paths';
import { formatIdentity, identityOf, isRunning, readIdentityFile, type ProcessIdentity } from '../../lib/run/processIdentity';
import { supervisorFilesIn } from '../../lib/run/service';

export const SERVICES_SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'servers', 'services.sh');
export const CLI = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function isLoopback(url: string): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
}

/** Whether `url` answers with a status below 500 within 2 s. */
export async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return response.status < 500;
  } catch {
    return false;
  }
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs / 1000}s`);
    await sleep(200);
  }
}

export interface LocalContext {
  config: Config;
  configFile: string;
  varRoot: string;
  runDir: string;
}

/** One thing the quickstart starts (and `./run.sh stop` stops). */
export interface LocalComponent {
  name: string;
  /** Servers start first, then what fills them with data. */
  phase?: 'servers' | 'data';
  /** Whether this config wants it. */
  wanted(context: LocalContext): boolean;
  /** Starts it, or finds it running; may say how it runs (else "running" is printed). */
  start(context: LocalContext): Promise<string | void>;
  stop(context: LocalContext): Promise<void>;
  /** Lines for the summary. */
  describe?(context: LocalContext): Promise<string[]>;
}

/** One answer of the demo HTTP server. */
export interface DemoRoute {
  contentType: string;
  body(url: URL, request: IncomingMessage): string;
  /** Its HTTP status (default 200): a demo source switched to a failure answers e.g. 503. */
  status?(url: URL, request: IncomingMessage): number;
}

/** A whole answer of the demo HTTP server. */
export interface DemoAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** What a source's demo.ts default-exports: what the quickstart runs so that its collector has something to read. */
export interface DemoSource {
  /** Answers of the demo HTTP server ([demo] listen), by path: recorded answers of sources that cannot run here. */
  routes?: Record<string, DemoRoute>;
  /**
   * Asked before the routes, for any path: an answer replaces the route's (an example switching other
   * sources' demo answers to a failure); undefined leaves the request to the routes.
   */
  override?(url: URL, request: IncomingMessage): DemoAnswer | undefined;
  /** Runs in the demo server's process when it starts (e.g. a timer appending lines to a log file). */
  onServerStart?(config: Config): void;
  /** Servers and data to start, in phase order across every source. */
  components?: LocalComponent[];
}

export function defineDemo(demo: DemoSource): DemoSource {
  return demo;
}

/**
 * The pid in the pid file `file` if that very process still runs: same pid and start time, and not a
 * zombie (killed, not yet reaped). A file of an older quickstart holds a bare pid, judged on its pid.
 */
export function alivePid(file: string): number | undefined {
  return runningIn(file)?.pid;
}

/** Starts `./run.sh <job>` (or the node arguments `command`) in the background, detached, output to var/log/<name>.out. */
function spawnBackground(context: LocalContext, name: string, command?: string[]): ProcessIdentity | undefined {
  mkdirSync(context.runDir, { recursive: true });
  const logDir = pathsFrom(context.config).log;
  mkdirSync(logDir, { recursive: true });
  const output = openSync(path.join(logDir, `${name}.out`), 'a');
  const child = spawn(process.execPath, command ?? [CLI, name, '--config', context.configFile], { detached: true, stdio: ['ignore', output, output] });
  child.unref();
  closeSync(output);
  return child.pid === undefined ? undefined : identityOf(child.pid);
}

/** Starts `./run.sh <job>` (or the node arguments `command`) in the background, detached, with its pid and start time in var/run/<name>.pid. */
export function startBackgroundProcess(context: LocalContext, name: string, command?: string[]): number {
  const identity = spawnBackground(context, name, command);
  if (identity) writeFileSync(path.join(context.runDir, `${name}.pid`), `${formatIdentity(identity)}\n`);
  return identity?.pid ?? 0;
}

/** The process named in the pid file `file` if it still runs (by pid and start time), else undefined. */
function runningIn(file: string): ProcessIdentity | undefined {
  const identity = readIdentityFile(file);
  return identity && isRunning(identity) ? identity : undefined;
}

/** Waits until `identity` is gone; false when it still runs after `timeoutMs`. */
async function gone(identity: ProcessIdentity, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(identity)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

function signal(identity: ProcessIdentity, name: NodeJS.Signals): void {
  try {
    if (isRunning(identity)) process.kill(identity.pid, name);
  } catch {
    // it ended meanwhile
  }
}

/** SIGTERM (unless `alreadyAsked`), SIGKILL when it still runs after `graceMs`; throws when even that does not end it. */
async function terminate(identity: ProcessIdentity, what: string, graceMs: number, alreadyAsked = false): Promise<void> {
  if (!alreadyAsked) signal(identity, 'SIGTERM');
  if (await gone(identity, graceMs)) return;
  signal(identity, 'SIGKILL');
  if (!(await gone(identity, 30_000))) throw new Error(`${what} (pid ${identity.pid}) still runs after SIGKILL`);
}

/** Longer than the supervisor's own grace for its service (it stops the service before it exits). */
const SUPERVISOR_GRACE_MS = 60_000;
const SERVICE_GRACE_MS = 30_000;

/**
 * Stops a service run by `./run.sh supervise`, whichever supervisor runs it now: the one holding the
 * run lock names itself in var/run/supervise-<name>.pid (cron's line may have replaced the one the
 * quickstart started). SIGTERM makes it stop its service and remove its files; returns once both are
 * gone. A service left without a supervisor (one killed with -9) is stopped too.
 */
export async function stopSupervised(runDirectory: string, name: string): Promise<void> {
  const files = supervisorFilesIn(runDirectory, name);
  const recorded = path.join(runDirectory, `${name}.pid`);
  // A supervisor cron starts while the last one stops takes the lock: it is stopped in the next round.
  for (let round = 0; round < 3; round += 1) {
    const supervisor = runningIn(files.supervisor);
    // Read before the supervisor removes its file: its service must be gone too.
    const child = runningIn(files.child);
    const older = runningIn(recorded);
    if (!supervisor && !child && !older) break;
    if (supervisor) await terminate(supervisor, `the supervisor of ${name}`, SUPERVISOR_GRACE_MS);
    if (older && older.pid !== supervisor?.pid) await terminate(older, name, SERVICE_GRACE_MS);
    // The supervisor asked its service to stop already: it gets its grace before anything more.
    if (child) await terminate(child, name, SERVICE_GRACE_MS, supervisor !== undefined);
  }
  const left = runningIn(files.supervisor) ?? runningIn(files.child);
  if (left) throw new Error(`still runs (pid ${left.pid}): a new supervisor keeps starting it (cron's "supervise ${name}" lines?)`);
  for (const file of [files.supervisor, files.child, recorded]) rmSync(file, { force: true });
}

/**
 * A service run under `./run.sh supervise <name>`, as the crontab starts it (so a crontab installed
 * later finds it supervised already), ready when `ready` says so. One supervisor runs per service
 * (it holds the run lock): when one runs, whoever started it, it is kept and nothing is started.
 */
export function supervisedService(name: string, ready: (context: LocalContext) => Promise<boolean>): LocalComponent {
  const files = (context: LocalContext): { supervisor: string; child: string } => supervisorFilesIn(context.runDir, name);
  const recorded = (context: LocalContext): string => path.join(context.runDir, `${name}.pid`);
  const logs = (context: LocalContext): string => `${path.join(pathsFrom(context.config).log, name)}.{out,log}`;
  return {
    name,
    wanted: () => true,
    start: async (context) => {
      let supervisor = runningIn(files(context).supervisor);
      // One started before the last build runs old code, one started before the config last changed an
      // old config (quickstart --stream turns the gateway's route): it is started again.
      // (statSync with throwIfNoEntry: the supervisor may just have stopped and removed its file.)
      const startedMs = statSync(files(context).supervisor, { throwIfNoEntry: false })?.mtimeMs ?? Infinity;
      if (supervisor && startedMs < Math.max(statSync(CLI).mtimeMs, statSync(context.configFile).mtimeMs)) {
        await stopSupervised(context.runDir, name);
        supervisor = undefined;
      }
      let note = 'running';
      if (supervisor) {
        note = `running (under its supervisor, pid ${supervisor.pid})`;
      } else {
        const started = spawnBackground(context, name, [CLI, 'supervise', name, '--config', context.configFile]);
        if (!started) throw new Error(`${name}: its supervisor could not be started (see ${logs(context)})`);
        // It names itself in its file once it holds the lock; one that finds the lock held exits at once.
        await waitFor(`${name}'s supervisor`, async () => runningIn(files(context).supervisor)?.pid === started.pid || !isRunning(started));
        supervisor = runningIn(files(context).supervisor);
        if (supervisor && supervisor.pid !== started.pid) note = `running (under its supervisor, pid ${supervisor.pid})`;
      }
      if (!supervisor) {
        // The lock is held by another kind of supervisor (./run.sh scheduler): the service is its.
        if (await ready(context)) return 'running (supervised by another process, e.g. ./run.sh scheduler; not started here)';
        throw new Error(`${name}: its supervisor exited at once (see ${logs(context)})`);
      }
      writeFileSync(recorded(context), `${formatIdentity(supervisor)}\n`);
      const watched = supervisor;
      await waitFor(name, async () => {
        if (!isRunning(watched)) throw new Error(`${name}: its supervisor (pid ${watched.pid}) exited`);
        return ready(context);
      }).catch((error: unknown) => {
        throw new Error(`${(error as Error).message} (see ${logs(context)})`);
      });
      return note;
    },
    stop: (context) => stopSupervised(context.runDir, name),
  };
}

/** A Debian-packaged server run by scripts/servers/services.sh with its data in var/<name>. */
export function packagedServer(name: string, component: string, portOf: (context: LocalContext) => number | undefined, after?: (context: LocalContext) => Promise<void>): LocalComponent {
  const dir = (context: LocalContext): string => path.join(context.varRoot, name);
  return {
    name,
    wanted: (context) => portOf(context) !== undefined,
    start: async (context) => {
      execFileSync(SERVICES_SCRIPT, ['start', component, '--port', String(portOf(context)), '--dir', dir(context)], { stdio: 'inherit' });
      await after?.(context);
    },
    stop: async (context) => {
      execFileSync(SERVICES_SCRIPT, ['stop', dir(context)], { stdio: 'inherit' });
    },
  };
}

/**
 * A node process of ours kept running in the background: `./run.sh <name>`, or the node script and
 * arguments `command` gives. It counts as started once `ready` says so.
 */
export function backgroundProcess(
  name: string,
  wanted: (context: LocalContext) => boolean,
  ready: (context: LocalContext) => Promise<boolean>,
  command?: (context: LocalContext) => string[],
): LocalComponent {
  const pidFile = (context: LocalContext): string => path.join(context.runDir, `${name}.pid`);
  const stopProcess = async (context: LocalContext): Promise<void> => {
    const pid = alivePid(pidFile(context));
    if (pid) {
      process.kill(pid, 'SIGTERM');
      for (let tries = 0; tries < 100 && alivePid(pidFile(context)); tries += 1) await sleep(100);
    }
    rmSync(pidFile(context), { force: true });
  };
  return {
    name,
    wanted,
    start: async (context) => {
      // One started before the last build runs old code: it is started again.
      if (alivePid(pidFile(context)) && statSync(pidFile(context)).mtimeMs < statSync(CLI).mtimeMs) await stopProcess(context);
      if (!alivePid(pidFile(context))) startBackgroundProcess(context, name, command?.(context));
      const logs = `${path.join(pathsFrom(context.config).log, name)}.{out,log}`;
      await waitFor(name, async () => {
        if (alivePid(pidFile(context)) === undefined) throw new Error(`${name} exited at start`);
        return ready(context);
      }).catch((error: unknown) => {
        throw new Error(`${(error as Error).message} (see ${logs})`);
      });
    },
    stop: (context) => stopProcess(context),
  };
}
