/**
 * What the quickstart starts, and the building blocks a source's demo.ts uses: a Debian-packaged
 * server run by scripts/servers/services.sh, a background process of ours, routes on the demo HTTP
 * server. This module starts nothing by itself.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { Config } from '../../lib/config/config';
import { PROJECT_ROOT, pathsFrom } from '../../lib/config/paths';
import { formatIdentity, identityOf, isRunning, parseIdentity, type ProcessIdentity } from '../../lib/run/processIdentity';

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
  start(context: LocalContext): Promise<void>;
  stop(context: LocalContext): Promise<void>;
  /** Lines for the summary. */
  describe?(context: LocalContext): Promise<string[]>;
}

/** One answer of the demo HTTP server. */
export interface DemoRoute {
  contentType: string;
  body(url: URL, request: IncomingMessage): string;
}

/** What a source's demo.ts default-exports: what the quickstart runs so that its collector has something to read. */
export interface DemoSource {
  /** Answers of the demo HTTP server ([demo] listen), by path: recorded answers of sources that cannot run here. */
  routes?: Record<string, DemoRoute>;
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
  let identity: ProcessIdentity | undefined;
  try {
    identity = parseIdentity(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  return identity && isRunning(identity) ? identity.pid : undefined;
}

/** Starts `./run.sh <job>` (or the node arguments `command`) in the background, detached, with its pid and start time in var/run/<name>.pid. */
export function startBackgroundProcess(context: LocalContext, name: string, command?: string[]): number {
  mkdirSync(context.runDir, { recursive: true });
  const logDir = pathsFrom(context.config).log;
  mkdirSync(logDir, { recursive: true });
  const output = openSync(path.join(logDir, `${name}.out`), 'a');
  const child = spawn(process.execPath, command ?? [CLI, name, '--config', context.configFile], { detached: true, stdio: ['ignore', output, output] });
  child.unref();
  const identity = child.pid === undefined ? undefined : identityOf(child.pid);
  if (identity) writeFileSync(path.join(context.runDir, `${name}.pid`), `${formatIdentity(identity)}\n`);
  return child.pid ?? 0;
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
