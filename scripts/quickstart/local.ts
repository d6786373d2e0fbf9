import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { InfluxClient } from '../../lib/influx/influxdb';
import { PROJECT_ROOT, pathsFrom } from '../../lib/config/paths';
import { monitSettings } from '../../lib/delivery/settings';
import { influxSettings } from '../../lib/influx/settings';
import { gatewaySettings } from '../../gateway/settings';
import { configuredSchedule } from '../../cli/configuredSchedule';

/**
 * The quickstart's local world: a private InfluxDB, the gateway, and the demo sources the shipped
 * collectors read. `start` is idempotent (what answers already is left alone), `stop` undoes it.
 */

const SERVICES_SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'servers', 'services.sh');
const CLI = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function isLoopback(url: string): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
}

export async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return response.status < 500;
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
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

/** Starts `./run.sh <job>` in the background, detached, with its pid in var/run/<job>.pid. */
export function startBackgroundJob(context: LocalContext, job: string, command?: string[]): number {
  mkdirSync(context.runDir, { recursive: true });
  const logDir = pathsFrom(context.config).log;
  mkdirSync(logDir, { recursive: true });
  const output = openSync(path.join(logDir, `${job}.out`), 'a');
  const child = spawn(process.execPath, command ?? [CLI, job, '--config', context.configFile], { detached: true, stdio: ['ignore', output, output] });
  child.unref();
  writeFileSync(path.join(context.runDir, `${job}.pid`), `${child.pid}\n`);
  return child.pid ?? 0;
}

export function alivePid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = parseInt(readFileSync(file, 'utf8'), 10);
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** One thing the quickstart starts. */
export interface LocalComponent {
  name: string;
  /** Whether this config wants it. */
  wanted(context: LocalContext): boolean;
  start(context: LocalContext): Promise<void>;
  stop(context: LocalContext): Promise<void>;
  /** Lines for the summary. */
  describe?(context: LocalContext): Promise<string[]>;
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
 * A node process of ours kept running in the background: `./run.sh <job>`, or the node script and
 * arguments `command` gives.
 */
export function backgroundJob(
  job: string,
  wanted: (context: LocalContext) => boolean,
  ready: (context: LocalContext) => Promise<boolean>,
  command?: (context: LocalContext) => string[],
): LocalComponent {
  return {
    name: job,
    wanted,
    start: async (context) => {
      if (!alivePid(path.join(context.runDir, `${job}.pid`))) startBackgroundJob(context, job, command?.(context));
      await waitFor(job, () => ready(context));
    },
    stop: async (context) => {
      const pid = alivePid(path.join(context.runDir, `${job}.pid`));
      if (pid) {
        process.kill(pid, 'SIGTERM');
        for (let tries = 0; tries < 100 && alivePid(path.join(context.runDir, `${job}.pid`)); tries += 1) await sleep(100);
      }
      rmSync(path.join(context.runDir, `${job}.pid`), { force: true });
    },
  };
}

const influxdb: LocalComponent = {
  ...packagedServer('influxdb', 'influxdb', (context) => {
    const url = influxSettings(context.config).url;
    return isLoopback(url) ? Number(new URL(url).port || 8086) : undefined;
  }),
  describe: async (context) => {
    const client = new InfluxClient(influxSettings(context.config).url);
    const [series = []] = await client.query('SHOW DATABASES');
    const databases = (series[0]?.values ?? []).map((row) => String(row[0])).filter((name) => name.startsWith('monit_production_'));
    const lines = [`InfluxDB: ${influxSettings(context.config).url} (data in ${path.join(context.varRoot, 'influxdb')})`];
    for (const database of databases) {
      const [measurements = []] = await client.query('SHOW MEASUREMENTS', { database });
      lines.push(`  ${database}: ${(measurements[0]?.values ?? []).map((row) => String(row[0])).join(', ')}`);
    }
    return lines;
  },
};

const gateway = backgroundJob(
  'gateway',
  (context) => {
    const listen = gatewaySettings(context.config).listen;
    return new URL(monitSettings(context.config).url).port === String(listen.port) && isLoopback(monitSettings(context.config).url);
  },
  (context) => answers(new URL('/ping', monitSettings(context.config).url).toString()),
);

/** Everything, in start order. Collector-specific demo sources are added by scripts/demoComponents.ts. */
export function components(): LocalComponent[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { demoComponents } = require('./demoComponents') as typeof import('./demoComponents');
  return [influxdb, gateway, ...demoComponents()];
}

function contextFor(configFile: string): LocalContext {
  const config = Config.load(configFile);
  const varRoot = pathsFrom(config).root;
  return { config, configFile, varRoot, runDir: path.join(varRoot, 'run') };
}

/** Without a config (deleted after a quickstart), stop whatever var/ records as running. */
function stopWithoutConfig(varRoot: string): void {
  const runDir = path.join(varRoot, 'run');
  for (const file of existsSync(runDir) ? readdirSync(runDir).filter((name) => name.endsWith('.pid')) : []) {
    const pid = alivePid(path.join(runDir, file));
    if (pid) process.kill(pid, 'SIGTERM');
    rmSync(path.join(runDir, file), { force: true });
    process.stdout.write(`  ${file.replace(/\.pid$/, '').padEnd(28)} stopped\n`);
  }
  for (const name of existsSync(varRoot) ? readdirSync(varRoot) : []) {
    if (existsSync(path.join(varRoot, name, 'server.pid'))) {
      execFileSync(SERVICES_SCRIPT, ['stop', path.join(varRoot, name)], { stdio: 'inherit' });
      process.stdout.write(`  ${name.padEnd(28)} stopped\n`);
    }
  }
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0];
  const configIndex = argv.indexOf('--config');
  const configFile = path.resolve(configIndex >= 0 ? argv[configIndex + 1] : path.join(PROJECT_ROOT, 'config.cfg'));
  if (command === 'stop' && !existsSync(configFile)) {
    stopWithoutConfig(path.join(PROJECT_ROOT, 'var'));
    return;
  }
  const context = contextFor(configFile);
  const wanted = components().filter((component) => component.wanted(context));
  switch (command) {
    case 'start':
      for (const component of wanted) {
        await component.start(context);
        process.stdout.write(`  ${component.name.padEnd(28)} running\n`);
      }
      return;
    case 'stop':
      for (const component of wanted.reverse()) {
        try {
          await component.stop(context);
          process.stdout.write(`  ${component.name.padEnd(28)} stopped\n`);
        } catch (error) {
          process.stdout.write(`  ${component.name.padEnd(28)} ${(error as Error).message}\n`);
        }
      }
      return;
    case 'jobs': {
      // Every scheduled periodic job once: collectors first, then downsampling, then status.
      const order = ['downsample-1h', 'downsample-1d', 'status'];
      const periodic = configuredSchedule(context.config).filter((entry) => entry.cron !== '@reboot' && entry.job !== 'replay').map((entry) => entry.job);
      const collectors = periodic.filter((job) => !order.includes(job));
      process.stdout.write([...collectors, ...order.filter((job) => periodic.includes(job))].join('\n') + '\n');
      return;
    }
    case 'summary': {
      for (const component of wanted) for (const line of (await component.describe?.(context)) ?? []) process.stdout.write(`${line}\n`);
      const monit = monitSettings(context.config).url;
      process.stdout.write(`Gateway: ${monit} (health ${new URL('/ping', monit)}, metrics ${new URL('/metrics', monit)})\n`);
      process.stdout.write(`Status page: ${new URL('/status', monit)} (and /status.json)\n`);
      process.stdout.write(`Logs: ${pathsFrom(context.config).log}/<job>.log   Spool: ${pathsFrom(context.config).spool}\n`);
      process.stdout.write(`Grafana dashboards: ${path.join(PROJECT_ROOT, 'dashboards')} (see dashboards/README.md)\n`);
      process.stdout.write(`Stop everything: ./run.sh stop\n`);
      return;
    }
    default:
      throw new Error('usage: local.js start|stop|jobs|summary [--config FILE]');
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`local: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
