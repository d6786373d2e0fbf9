/**
 * The quickstart's stream route (`./run.sh quickstart --stream`, stream.cfg): a local JetStream
 * cluster, one nats-server per [stream] server, and a second writer beside the one the schedule starts.
 * Both follow config.cfg, not the option: a config whose [stream] servers are all nats:// on loopback
 * keeps them running with or without --stream, and `./run.sh stop` stops them.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'nats';
import { enabled } from '../../cli/schedule';
import { Config } from '../../lib/config/config';
import { writeFileDurably } from '../../lib/state/durableFile';
import { connectionOptions, deadLetterStreamName, streamSettings } from '../../lib/stream/settings';
import { writerSettings } from '../../writer/settings';
import { answers, isLoopback, SERVICES_SCRIPT, sleep, stopSupervised, supervisedService, waitFor, type LocalComponent, type LocalContext } from './components';

const run = promisify(execFile);

/** Cluster and monitoring ports follow the client port as NATS's own defaults do (4222, 6222, 8222). */
export const CLUSTER_PORT_STEP = 2000;
export const MONITOR_PORT_STEP = 4000;

/** The second writer's folder under var/: its own run lock, pid files, log and config. */
export const SECOND_WRITER = 'writer-2';

export interface LocalNode {
  url: string;
  port: number;
  clusterPort: number;
  monitorPort: number;
  /** Its config, log and store (store/): var/nats-<N>. */
  dir: string;
}

/** The nodes the quickstart runs for [stream]: one per server when every one is nats:// on loopback, else none (a cluster of elsewhere). */
export function localNodes(context: LocalContext): LocalNode[] {
  if (!context.config.hasSection('stream')) return [];
  const { servers } = streamSettings(context.config);
  if (!servers.every((server) => server.startsWith('nats://') && isLoopback(server) && new URL(server).port !== '')) return [];
  return servers.map((url, index) => {
    const port = Number(new URL(url).port);
    return { url, port, clusterPort: port + CLUSTER_PORT_STEP, monitorPort: port + MONITOR_PORT_STEP, dir: path.join(context.varRoot, `nats-${index + 1}`) };
  });
}

/** Whether the node knows the JetStream meta leader (its /jsz), which a cluster has once a majority runs. */
async function knowsMetaLeader(node: LocalNode): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${node.monitorPort}/jsz`, { signal: AbortSignal.timeout(2000) });
    return response.ok && Boolean(((await response.json()) as { meta_cluster?: { leader?: string } }).meta_cluster?.leader);
  } catch {
    return false;
  }
}

/** The stream's state as the summary prints it: stored so far, waiting, with the writers, dead letters. */
async function streamState(config: Config): Promise<string> {
  const settings = streamSettings(config);
  const consumer = config.hasSection('writer') ? writerSettings(config).consumer : undefined;
  try {
    const connection = await connect({ ...connectionOptions(config, settings, 'monit-quickstart'), maxReconnectAttempts: 0 });
    try {
      const manager = await connection.jetstreamManager();
      const info = await manager.streams.info(settings.name);
      const dead = await manager.streams.info(deadLetterStreamName(settings)).catch(() => undefined);
      const writers = consumer ? await manager.consumers.info(settings.name, consumer).catch(() => undefined) : undefined;
      const held = writers ? `, ${writers.num_pending} not yet delivered and ${writers.num_ack_pending} not yet acknowledged by the writers (consumer ${consumer})` : '';
      return `  stream ${settings.name} (R${info.config.num_replicas}, leader ${info.cluster?.leader ?? 'none'}): ${info.state.last_seq} documents stored so far, ${info.state.messages} waiting${held}; ${dead?.state.messages ?? 0} dead letters in ${deadLetterStreamName(settings)}`;
    } finally {
      await connection.close();
    }
  } catch (error) {
    return `  stream ${settings.name}: not readable now (${(error as Error).message})`;
  }
}

/** The local JetStream cluster: a nats-server per [stream] server, its store in var/nats-<N>/store. */
export const natsCluster: LocalComponent = {
  name: 'nats-server',
  wanted: (context) => localNodes(context).length > 0,
  start: async (context) => {
    const nodes = localNodes(context);
    const routes = nodes.map((node) => `nats-route://127.0.0.1:${node.clusterPort}`).join(',');
    // Installed first: three starts at once would each run apt-get.
    execFileSync(SERVICES_SCRIPT, ['install', 'nats'], { stdio: 'inherit' });
    // All at once: each start waits for its own JetStream only; a leader is elected once a majority runs.
    await Promise.all(
      nodes.map((node) =>
        run(
          SERVICES_SCRIPT,
          ['start', 'nats', '--port', String(node.port), '--monitor-port', String(node.monitorPort), '--dir', node.dir, ...(nodes.length > 1 ? ['--cluster-port', String(node.clusterPort), '--routes', routes] : [])],
          { timeout: 300_000 },
        ).catch((error: Error & { stderr?: string }) => {
          throw new Error(`nats-server on port ${node.port}: ${(error.stderr ?? '').trim() || error.message}`);
        }),
      ),
    );
    if (nodes.length > 1) await waitFor('the JetStream meta leader of the local cluster', async () => (await Promise.all(nodes.map(knowsMetaLeader))).every(Boolean), 60_000);
    return `running (${nodes.length} nodes, client ports ${nodes.map((node) => node.port).join(', ')})`;
  },
  stop: async (context) => {
    await Promise.all(localNodes(context).map((node) => run(SERVICES_SCRIPT, ['stop', node.dir], { timeout: 120_000 })));
  },
  describe: async (context) => {
    const nodes = localNodes(context);
    return [
      `JetStream: ${nodes.length} nats-server nodes ${nodes.map((node) => node.url).join(', ')} (monitoring ${nodes.map((node) => `http://127.0.0.1:${node.monitorPort}/jsz`).join(', ')}; stores in ${path.join(context.varRoot, 'nats-N', 'store')})`,
      await streamState(context.config),
    ];
  },
};

/** The /metrics URL of the writer listening on `listen`'s port plus `shift`, if it serves one. */
function metricsUrl(config: Config, shift = 0): string | undefined {
  const listen = writerSettings(config).listen;
  if (!listen) return undefined;
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return `http://${host}:${listen.port + shift}/metrics`;
}

/** Ready once it serves /metrics (it has joined the consumer by then); without a listen port, after a moment. */
export async function writerAnswers(config: Config): Promise<boolean> {
  const url = metricsUrl(config);
  if (url === undefined) return (await sleep(500), true);
  return answers(url);
}

/**
 * The second writer's context: a config made from config.cfg, with var/writer-2 (its
 * own supervisor lock, pid files and log) and /metrics on the port after [writer] listen's.
 */
function secondWriterContext(context: LocalContext): LocalContext {
  const varRoot = path.join(context.varRoot, SECOND_WRITER);
  const configFile = path.join(varRoot, 'writer.cfg');
  const own = new URL(metricsUrl(context.config, 1) as string);
  mkdirSync(varRoot, { recursive: true });
  const text = readFileSync(context.configFile, 'utf8').replace(/\n*$/, '\n');
  const overrides = `\n; Written by ./run.sh quickstart from ${context.configFile}, for its second writer.\n[paths]\nvar = ${varRoot}\n[writer]\nlisten = ${own.host}\n`;
  // Rewritten only when config.cfg changed: a newer file restarts the writer (supervisedService).
  if (!existsSync(configFile) || readFileSync(configFile, 'utf8') !== text + overrides) writeFileDurably(configFile, text + overrides, 0o600);
  return { config: Config.load(configFile), configFile, varRoot, runDir: path.join(varRoot, 'run') };
}

/** A point count of a writer's /metrics: writer_points_written_total over every producer, or why it is unknown. */
async function pointsWritten(url: string): Promise<string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) return `answers ${response.status}`;
    const values = [...(await response.text()).matchAll(/^writer_points_written_total(?:\{[^}]*\})? (\S+)$/gm)].map((match) => Number(match[1]));
    return `${values.reduce((sum, value) => sum + value, 0)} points written`;
  } catch (error) {
    return `not answering (${(error as Error).message})`;
  }
}

/** The second writer of the local stream route: the first is the schedule's boot service `writer`; they share the consumer. */
export const secondWriter: LocalComponent = {
  name: SECOND_WRITER,
  wanted: (context) => localNodes(context).length > 0 && enabled(context.config, 'writer') && metricsUrl(context.config) !== undefined,
  start: async (context) => supervisedService('writer', (local) => writerAnswers(local.config)).start(secondWriterContext(context)),
  stop: (context) => stopSupervised(path.join(context.varRoot, SECOND_WRITER, 'run'), 'writer'),
  describe: async (context) => {
    const urls = [metricsUrl(context.config), metricsUrl(context.config, 1)] as string[];
    const counts = await Promise.all(urls.map(pointsWritten));
    return [
      `Writers: 2, sharing consumer ${writerSettings(context.config).consumer}: ${urls.map((url, index) => `${url} (${counts[index]})`).join(', ')}; logs ${path.join(context.varRoot, 'log', 'writer.log')} and ${path.join(context.varRoot, SECOND_WRITER, 'log', 'writer.log')}`,
    ];
  },
};

/**
 * Waits until the writers hold nothing of the stream (the consumer's pending and unacknowledged are
 * 0), so that the jobs reading InfluxDB (downsampling, status) see every document sent before them.
 * Returns a line saying so, or why it gave up after `timeoutMs`.
 */
export async function drainStream(config: Config, timeoutMs = 120_000): Promise<string> {
  const settings = streamSettings(config);
  const consumer = writerSettings(config).consumer;
  const connection = await connect({ ...connectionOptions(config, settings, 'monit-quickstart'), maxReconnectAttempts: 0 });
  try {
    const manager = await connection.jetstreamManager();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await manager.consumers.info(settings.name, consumer);
      const held = info.num_pending + info.num_ack_pending;
      if (held === 0) return `stream ${settings.name}: the writers wrote everything sent so far`;
      if (Date.now() > deadline) return `stream ${settings.name}: ${held} documents still wait for the writers after ${timeoutMs / 1000}s (see the writers' logs)`;
      await sleep(200);
    }
  } finally {
    await connection.close();
  }
}
