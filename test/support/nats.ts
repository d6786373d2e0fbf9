/**
 * Real NATS JetStream servers for tests and benchmarks: a cluster of 1 or 3 `nats-server` processes on
 * free loopback ports, started through scripts/servers/services.sh, each with its own store.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { freePort } from './ports';
import { testDir } from './services';
import { eventually, sleep } from './xrootdServer';

const run = promisify(execFile);
const SERVICES = path.join(PROJECT_ROOT, 'scripts', 'servers', 'services.sh');

/** The parts of a node's monitoring answer `/jsz?streams=true` the tests read. */
export interface Jsz {
  streams: number;
  messages: number;
  /** Absent on a server that is not part of a cluster. */
  meta_cluster?: { name: string; leader?: string; cluster_size: number };
  account_details?: {
    name: string;
    stream_detail?: { name: string; state: { messages: number; first_seq: number; last_seq: number; last_ts: string }; cluster?: { leader?: string } }[];
  }[];
}

export interface NatsNode {
  /** Its server_name (nats-<port>), as JetStream names leaders and replicas. */
  name: string;
  /** nats://127.0.0.1:<port>, for clients. */
  url: string;
  port: number;
  monitorPort: number;
  /** Absent for a single node (no cluster). */
  clusterPort?: number;
  /** Its config, log and store (store/). */
  dir: string;
  /** The running process (changes with restart). */
  pid: number;
}

export interface NatsCluster {
  nodes: NatsNode[];
  /** Every node's client URL. */
  servers: string[];
  /** A client connected to any node, reconnecting to the others for as long as it lives. */
  connect(options?: Partial<ConnectionOptions>): Promise<NatsConnection>;
  /** The node's `/jsz?streams=true`. */
  jsz(node: NatsNode): Promise<Jsz>;
  /** The names of the clients connected to the node now (its `/connz`), as they gave them at connect. */
  clientNames(node: NatsNode): Promise<string[]>;
  /** kill -9, then waits until the process is gone. */
  kill(node: NatsNode): Promise<void>;
  /** Starts it again on the same ports and store and waits until it knows the meta leader again. */
  restart(node: NatsNode): Promise<void>;
  stop(): Promise<void>;
}

/** How often a cluster is started again on other free ports when one of its nodes could not start. */
const PORT_ATTEMPTS = 3;

/** Starts `nodes` (1 or 3) JetStream servers; returns once the cluster has a JetStream meta leader. */
export async function startNatsCluster(options: { nodes: 1 | 3 }): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    const cluster = await startNatsClusterOnce(options.nodes);
    if (!(cluster instanceof Error)) return cluster;
    // A port free a moment ago can be taken by a parallel test file before a node binds it.
    if (!/address already in use|exited at start/i.test(cluster.message) || attempt >= PORT_ATTEMPTS) throw cluster;
    console.warn(`nats-server did not start (try ${attempt} of ${PORT_ATTEMPTS}), trying other ports: ${cluster.message.split('\n').slice(-2).join(' ')}`);
  }
}

const readPid = (dir: string): number => Number(readFileSync(path.join(dir, 'server.pid'), 'utf8').trim());

/**
 * The process has exited (a zombie its new parent has not reaped yet included). A multi-threaded
 * leader is a zombie before its other threads have exited and its sockets are closed: each thread of
 * /proc/PID/task must be gone or a zombie too, else a client connecting then is accepted and reset.
 */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return readdirSync(`/proc/${pid}/task`).every((thread) => {
      try {
        return readFileSync(`/proc/${pid}/task/${thread}/stat`, 'utf8').replace(/^.*\) /s, '').startsWith('Z');
      } catch {
        return true;
      }
    });
  } catch {
    return true;
  }
}

async function fetchJsz(node: NatsNode): Promise<Jsz> {
  const response = await fetch(`http://127.0.0.1:${node.monitorPort}/jsz?streams=true`);
  if (!response.ok) throw new Error(`${node.name}: /jsz answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Jsz;
}

/** How often (every 100 ms) a starting cluster is asked before it counts as failed: far longer than an election takes. */
const POLLS = 600;

/** Polls until `probe` returns a value; after POLLS polls, fails saying what was awaited. */
async function poll<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let attempt = 1; attempt <= POLLS; attempt++) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`${what}: still not after ${POLLS} polls`);
}

/** The meta leader `node` knows of, undefined while it knows none (or does not answer). */
async function metaLeader(node: NatsNode): Promise<string | undefined> {
  const jsz = await fetchJsz(node).catch(() => undefined);
  return jsz?.meta_cluster?.leader || undefined;
}

async function startNatsClusterOnce(count: 1 | 3): Promise<NatsCluster | Error> {
  const base = testDir('nats');
  // Each free a moment ago, and no two the same (a port just closed can come back at once).
  const ports = new Set<number>();
  while (ports.size < count * 3) ports.add(await freePort());
  const free = [...ports];
  const nodes: NatsNode[] = [];
  for (let index = 0; index < count; index++) {
    const [port, monitorPort, clusterPort] = free.slice(index * 3, index * 3 + 3);
    nodes.push({
      name: `nats-${port}`,
      url: `nats://127.0.0.1:${port}`,
      port,
      monitorPort,
      clusterPort: count > 1 ? clusterPort : undefined,
      dir: path.join(base, `node${index + 1}`),
      pid: 0,
    });
  }
  const routes = nodes.map((node) => `nats-route://127.0.0.1:${node.clusterPort}`).join(',');
  const startArguments = (node: NatsNode): string[] => {
    const args = ['start', 'nats', '--port', String(node.port), '--monitor-port', String(node.monitorPort), '--dir', node.dir];
    if (node.clusterPort) args.push('--cluster-port', String(node.clusterPort), '--routes', routes, '--name', path.basename(base));
    return args;
  };
  const start = async (node: NatsNode): Promise<void> => {
    await run(SERVICES, startArguments(node), { timeout: 600_000 });
    node.pid = readPid(node.dir);
  };
  const stopNode = async (node: NatsNode): Promise<void> => {
    await run(SERVICES, ['stop', node.dir], { timeout: 60_000 });
  };

  // Together: a node that waited for the others alone would never see a meta leader.
  const started = await Promise.allSettled(nodes.map(start));
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    await Promise.all(nodes.map(stopNode));
    return failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
  }

  const cluster: NatsCluster = {
    nodes,
    servers: nodes.map((node) => node.url),
    connect: (options = {}) =>
      connect({ servers: nodes.map((node) => node.url), maxReconnectAttempts: -1, reconnectTimeWait: 100, ...options }),
    jsz: fetchJsz,
    clientNames: async (node) => {
      const response = await fetch(`http://127.0.0.1:${node.monitorPort}/connz?limit=1000`);
      if (!response.ok) throw new Error(`${node.name}: /connz answered ${response.status}: ${await response.text()}`);
      const { connections = [] } = (await response.json()) as { connections?: { name?: string }[] };
      return connections.map((connection) => connection.name ?? '');
    },
    kill: async (node) => {
      process.kill(node.pid, 'SIGKILL');
      await eventually(async () => (gone(node.pid) ? true : undefined), 20);
    },
    restart: async (node) => {
      await start(node);
      if (count > 1) await poll(`${node.name} knowing the meta leader again (log: ${node.dir}/nats-server.log)`, () => metaLeader(node));
    },
    stop: async () => {
      await Promise.all(nodes.map(stopNode));
    },
  };

  try {
    if (count > 1) {
      // Every node names the same leader: the meta group has formed, not only a node that believes it leads.
      await poll(`a JetStream meta leader every node of ${base} names`, async () => {
        const leaders = await Promise.all(nodes.map(metaLeader));
        return leaders[0] !== undefined && leaders.every((leader) => leader === leaders[0]) ? true : undefined;
      });
    }
    // And a client gets an answer from the JetStream API.
    const connection = await cluster.connect();
    try {
      await poll(`an answer of JetStream's API from ${base}`, async () => {
        try {
          return await (await connection.jetstreamManager()).getAccountInfo();
        } catch {
          return undefined; // no JetStream answer yet
        }
      });
    } finally {
      await connection.close();
    }
  } catch (error) {
    await cluster.stop(); // the folders and logs stay, for a look
    throw error;
  }
  return cluster;
}
