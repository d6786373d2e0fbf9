import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { InfluxClient } from '../../lib/influx/influxdb';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { freePort } from './ports';

const run = promisify(execFile);
const SERVICES = path.join(PROJECT_ROOT, 'scripts', 'servers', 'services.sh');

export type Component = 'influxdb' | 'mariadb' | 'postgresql' | 'xrootd' | 'node_exporter' | 'kerberos';

export interface RunningServer {
  port: number;
  dir: string;
  stop(): Promise<void>;
  /** Starts it again on the same port and data (for outage tests). */
  start(): Promise<void>;
}

/** A fresh folder under var/test for one test's server data. */
export function testDir(prefix: string): string {
  const base = path.join(PROJECT_ROOT, 'var', 'test');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(path.join(base, `${prefix}-`));
}

/** How often a server is started again on another free port when it could not start on the one chosen. */
const PORT_ATTEMPTS = 3;

/** xrootd only: a cmsd beside it, as a redirector (manager, its cmsd on managerPort) or a data server of one. */
export interface ClusterRole {
  role: 'manager' | 'server';
  managerPort: number;
}

/** Starts a private real server through scripts/servers/services.sh (installing its package if needed). */
export async function startServer(component: Component, options: { port?: number; configExtra?: string; cluster?: ClusterRole } = {}): Promise<RunningServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(component, options.port ?? (await freePort()), options.configExtra, options.cluster);
    } catch (error) {
      // A port free a moment ago can be taken by a parallel test file before the server binds it. Once in a
      // full parallel run, xrootd also exited at once with empty logs (cause not found); a fresh try started.
      // A server that cannot start at all fails every try with the same message.
      const retried = /address already in use|exited at start/i.test(String(error));
      if (options.port !== undefined || !retried || attempt >= PORT_ATTEMPTS) throw error;
      console.warn(`${component} did not start (try ${attempt} of ${PORT_ATTEMPTS}), trying another port: ${String(error).split('\n').slice(-2).join(' ')}`);
    }
  }
}

async function startServerOnce(component: Component, port: number, configExtra: string | undefined, cluster: ClusterRole | undefined): Promise<RunningServer> {
  const dir = testDir(component);
  const args = ['start', component, '--port', String(port), '--dir', dir];
  if (configExtra) args.push('--config-extra', configExtra);
  if (cluster) args.push('--cluster', cluster.role, '--manager-port', String(cluster.managerPort));
  const start = async (): Promise<void> => {
    await run(SERVICES, args, { timeout: 600_000 });
  };
  await start();
  return {
    port,
    dir,
    start,
    stop: async () => {
      await run(SERVICES, ['stop', dir], { timeout: 60_000 });
    },
  };
}

export interface TestInfluxDB extends RunningServer {
  url: string;
  client: InfluxClient;
}

/** A private InfluxDB 1.6 for one test file. */
export async function startInfluxDB(): Promise<TestInfluxDB> {
  const server = await startServer('influxdb');
  const url = `http://127.0.0.1:${server.port}`;
  return { ...server, url, client: new InfluxClient(url) };
}
