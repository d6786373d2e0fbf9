import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config/paths';
import { startNatsCluster, type NatsCluster } from '../test/support/nats';
import { freePort } from '../test/support/ports';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import { sleep } from '../test/support/xrootdServer';
import { benchDocument } from './gateway';
import { inParallel, median, processCpuSeconds, ratio } from './support';

/**
 * The stream route against the direct route on one machine (issue 22): bench/gateway.ts's documents
 * (5 tags, 5 fields), bodies of 5,000 from 4 concurrent senders, through
 *   direct: gateway → InfluxDB (the baseline, measured in the same run),
 *   r1:     gateway → JetStream R1 (one nats-server) → writer → InfluxDB,
 *   r3:     gateway → JetStream R3 (three nats-server processes) → writer → InfluxDB.
 * The gateway and the writer are `./run.sh gateway` / `./run.sh writer` processes (dist/cli/main.js),
 * so each component's CPU (user + system, /proc/PID/stat) is its own. A run ends when every document
 * is in InfluxDB: on the direct route when the last POST is answered (the gateway answers once InfluxDB
 * stored), on the stream routes when the writer's /metrics counts every point written (it counts a
 * point once InfluxDB stored it); then the points are counted in InfluxDB, and a shortfall is an error.
 * BENCH_DOCUMENTS per run (default 200,000); BENCH_PASSES passes of the routes in turn (default 1), so
 * every route meets the same load; BENCH_ROUTES (default direct,r1,r3); a route written ROUTE:DIR runs
 * the gateway and writer of another build, DIR/cli/main.js (DIR inside the project, so that it finds
 * node_modules), to compare two builds in one run. BENCH_GATEWAY_NODE_FLAGS and BENCH_WRITER_NODE_FLAGS
 * add node flags to those processes.
 */
const DOCUMENTS = Number(process.env.BENCH_DOCUMENTS ?? 200_000);
const PASSES = Number(process.env.BENCH_PASSES ?? 1);
const ROUTES = (process.env.BENCH_ROUTES ?? 'direct,r1,r3').split(',').filter(Boolean);
const GATEWAY_NODE_FLAGS = (process.env.BENCH_GATEWAY_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const WRITER_NODE_FLAGS = (process.env.BENCH_WRITER_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const BATCH = 5000;
const CONCURRENCY = 4;
const TOKEN = 'bench-token-0123456789';
const PRODUCER = 'bench';
/** How often the writer's /metrics is read while waiting for the last point (the wall time's resolution). */
const POLL_MS = 50;
/** Polls before a run counts as stuck: far longer than 200,000 documents take on this machine. */
const MAX_POLLS = 12_000;

type RouteName = 'direct' | 'r1' | 'r3';

interface Component {
  name: string;
  pid: number;
}

interface Route {
  /** As BENCH_ROUTES names it (with its build, if not dist/). */
  name: string;
  kind: RouteName;
  gatewayUrl: string;
  /** Every process whose CPU the route costs. */
  components: Component[];
  /** The writer's /metrics, on the stream routes. */
  writerMetrics?: string;
  stop(): Promise<void>;
}

interface RunFigures {
  route: string;
  kind: RouteName;
  pass: number;
  /** Seconds from the first POST until every document was in InfluxDB. */
  seconds: number;
  /** Seconds until the gateway had answered every POST (acknowledged by InfluxDB, or by JetStream). */
  acknowledgedSeconds: number;
  /** CPU seconds of each component over the run. */
  cpu: Map<string, number>;
  load: number;
}

/** A node process of dist/cli/main.js, SIGTERMed by `stop`. */
function spawnService(main: string, nodeFlags: string[], job: string, configFile: string): { child: ChildProcess; stop(): Promise<void> } {
  const child = spawn(process.execPath, [...nodeFlags, main, job, '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  return {
    child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitFor(what: string, probe: () => Promise<boolean>): Promise<void> {
  for (let poll = 0; poll < MAX_POLLS; poll++) {
    if (await probe().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what}: still not after ${MAX_POLLS} polls`);
}

/** The points the writer counted as stored, from its /metrics. */
async function pointsWritten(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const series = `writer_points_written_total{producer="${PRODUCER}"} `;
  const line = text.split('\n').find((candidate) => candidate.startsWith(series));
  return line ? Number(line.slice(series.length)) : 0;
}

/** A gateway (and on the stream routes a JetStream cluster and a writer), started and answering. */
async function startRoute(name: string, influx: TestInfluxDB, influxPid: number): Promise<Route> {
  const [kindText, build = 'dist'] = name.split(':');
  if (!['direct', 'r1', 'r3'].includes(kindText)) throw new Error(`BENCH_ROUTES: ${name}: a route is direct, r1 or r3, optionally :DIR (a build)`);
  const kind = kindText as RouteName;
  const main = path.resolve(PROJECT_ROOT, build, 'cli', 'main.js');
  const dir = testDir(`bench-stream-${kind}`);
  const stream = `BENCH${kind.toUpperCase()}`;
  const port = await freePort();
  let cluster: NatsCluster | undefined;
  let streamSection = '';
  if (kind !== 'direct') {
    cluster = await startNatsCluster({ nodes: kind === 'r3' ? 3 : 1 });
    streamSection = `[stream]\nservers = ${cluster.servers.join(', ')}\nname = ${stream}\nsubject_prefix = ${stream.toLowerCase()}\nreplicas = ${cluster.nodes.length}\n`;
  }
  const gatewayConfig = path.join(dir, 'gateway.cfg');
  writeFileSync(
    gatewayConfig,
    `[paths]\nvar = ${path.join(dir, 'gateway')}\n[gateway]\nlisten = 127.0.0.1:${port}\ntoken = ${TOKEN}\n${cluster ? 'route = stream\n' : ''}[influxdb]\nurl = ${influx.url}\n${streamSection}`,
  );
  const gateway = spawnService(main, GATEWAY_NODE_FLAGS, 'gateway', gatewayConfig);
  let writer: ReturnType<typeof spawnService> | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all([gateway.stop(), writer?.stop()]);
    await cluster?.stop();
  };
  try {
    const gatewayUrl = `http://127.0.0.1:${port}`;
    const components: Component[] = [{ name: 'gateway', pid: gateway.child.pid as number }];
    let writerMetrics: string | undefined;
    if (cluster) {
      const metricsPort = await freePort();
      const writerConfig = path.join(dir, 'writer.cfg');
      // The writer's defaults (sample.cfg), with /metrics on for the end of the run.
      writeFileSync(
        writerConfig,
        `[paths]\nvar = ${path.join(dir, 'writer')}\n[influxdb]\nurl = ${influx.url}\n${streamSection}[writer]\nconsumer = bench-writers\nlisten = 127.0.0.1:${metricsPort}\n`,
      );
      writer = spawnService(main, WRITER_NODE_FLAGS, 'writer', writerConfig);
      writerMetrics = `http://127.0.0.1:${metricsPort}/metrics`;
      components.push({ name: 'writer', pid: writer.child.pid as number });
      cluster.nodes.forEach((node, index) => components.push({ name: cluster.nodes.length > 1 ? `nats-server ${index + 1}` : 'nats-server', pid: node.pid }));
      const metricsUrl = writerMetrics;
      await waitFor(`the ${name} writer's /metrics`, async () => (await fetch(metricsUrl)).ok);
    }
    components.push({ name: 'influxd', pid: influxPid });
    // 200 once it can store: InfluxDB answers (direct), or the stream does.
    await waitFor(`the ${name} gateway's /ping`, async () => (await fetch(`${gatewayUrl}/ping`)).status === 200);
    if (cluster && cluster.nodes.length > 1) {
      // Named in the figures: a leader's work differs from a follower's.
      const jsz = await cluster.jsz(cluster.nodes[0]);
      const leader = jsz.account_details?.flatMap((account) => account.stream_detail ?? []).find((detail) => detail.name === stream)?.cluster?.leader;
      cluster.nodes.forEach((node, index) => {
        const component = components.find((candidate) => candidate.pid === node.pid);
        if (component && node.name === leader) component.name = `nats-server ${index + 1} (stream leader)`;
      });
    }
    return {
      name,
      kind,
      gatewayUrl,
      components,
      writerMetrics,
      stop,
    };
  } catch (error) {
    await stop(); // what started so far: the caller's cleanup knows only the routes that started
    throw error;
  }
}

async function runOnce(route: Route, pass: number, runBase: number, influx: TestInfluxDB): Promise<RunFigures> {
  const bodies: string[] = [];
  for (let first = 0; first < DOCUMENTS; first += BATCH) {
    bodies.push(JSON.stringify(Array.from({ length: Math.min(BATCH, DOCUMENTS - first) }, (_, offset) => benchDocument(first + offset, runBase))));
  }
  const writtenBefore = route.writerMetrics ? await pointsWritten(route.writerMetrics) : 0;
  const cpuBefore = new Map(route.components.map((component) => [component.name, processCpuSeconds(component.pid)]));
  const started = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  await inParallel(bodies, CONCURRENCY, async (body) => {
    const response = await fetch(`${route.gatewayUrl}/`, { method: 'POST', body, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
    if (response.status !== 200) throw new Error(`${route.name} gateway: HTTP ${response.status}: ${await response.text()}`);
  });
  const acknowledgedSeconds = elapsed();
  if (route.writerMetrics) {
    const metricsUrl = route.writerMetrics;
    let written = 0;
    for (let poll = 0; (written = await pointsWritten(metricsUrl)) < writtenBefore + DOCUMENTS; poll++) {
      if (poll >= MAX_POLLS) throw new Error(`${route.name}: the writer wrote ${written - writtenBefore} of ${DOCUMENTS} points`);
      await sleep(POLL_MS);
    }
  }
  const seconds = elapsed();
  const cpu = new Map(route.components.map((component) => [component.name, processCpuSeconds(component.pid) - (cpuBefore.get(component.name) as number)]));
  const [stored] = await influx.client.rows(`SELECT count("cpu") AS n FROM "typical" WHERE time >= ${runBase}ms AND time < ${runBase + 1_000_000}ms`, {
    database: `monit_production_${PRODUCER}`,
  });
  if (Number(stored?.n) !== DOCUMENTS) throw new Error(`${route.name}, pass ${pass}: ${String(stored?.n)} of ${DOCUMENTS} documents in InfluxDB`);
  return { route: route.name, kind: route.kind, pass, seconds, acknowledgedSeconds, cpu, load: loadavg()[0] };
}

const microsecondsPerDocument = (seconds: number): number => (seconds / DOCUMENTS) * 1e6;

function report(run: RunFigures, direct: RunFigures | undefined): void {
  const rate = DOCUMENTS / run.seconds;
  const versus = direct && run.kind !== 'direct' ? ` = ${ratio(rate, DOCUMENTS / direct.seconds)} direct` : '';
  console.log(
    `  ${run.route.padEnd(8)} ${Math.round(rate).toString().padStart(6)} documents/s end to end${versus} (${run.seconds.toFixed(2)} s; every POST answered after ${run.acknowledgedSeconds.toFixed(2)} s; load ${run.load.toFixed(1)})`,
  );
  let total = 0;
  const parts = [...run.cpu].map(([name, seconds]) => {
    total += seconds;
    const directSeconds = direct?.cpu.get(name);
    const against = run.kind !== 'direct' && directSeconds ? ` (${ratio(seconds, directSeconds)} direct)` : '';
    return `${name} ${microsecondsPerDocument(seconds).toFixed(1)}${against}`;
  });
  const directTotal = direct ? [...direct.cpu.values()].reduce((sum, seconds) => sum + seconds, 0) : 0;
  const totalAgainst = run.kind !== 'direct' && directTotal ? ` (${ratio(total, directTotal)} direct)` : '';
  console.log(`         CPU µs per document: ${parts.join(', ')}; all ${microsecondsPerDocument(total).toFixed(1)}${totalAgainst}`);
}

async function main(): Promise<void> {
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((value) => value.toFixed(2)).join(' ')} at start`);
  console.log(`documents: ${DOCUMENTS} per run (5 tags, 5 fields), bodies of ${BATCH}, ${CONCURRENCY} concurrent senders; ${PASSES} pass(es) of ${ROUTES.join(', ')}`);
  console.log(`node flags: gateway ${GATEWAY_NODE_FLAGS.join(' ') || 'none'}, writer ${WRITER_NODE_FLAGS.join(' ') || 'none'} (NODE_OPTIONS ${process.env.NODE_OPTIONS ?? 'unset'})`);
  const influx = await startInfluxDB();
  const routes: Route[] = [];
  try {
    const influxPid = Number(readFileSync(path.join(influx.dir, 'server.pid'), 'utf8'));
    for (const name of ROUTES) routes.push(await startRoute(name, influx, influxPid));
    const base = Date.now() - 3_600_000;
    const runs: RunFigures[] = [];
    let runIndex = 0;
    for (let pass = 1; pass <= PASSES; pass++) {
      console.log(`pass ${pass} of ${PASSES}:`);
      let direct: RunFigures | undefined;
      for (const route of routes) {
        // Each run's points are new ones (earlier times): rewriting points costs InfluxDB less.
        const run = await runOnce(route, pass, base - runIndex++ * 1_000_000, influx);
        if (run.kind === 'direct') direct = run;
        runs.push(run);
        report(run, direct);
      }
    }
    if (PASSES > 1) {
      console.log(`medians over ${PASSES} passes (and the spread):`);
      for (const name of ROUTES) {
        const own = runs.filter((run) => run.route === name);
        const rates = own.map((run) => DOCUMENTS / run.seconds);
        const spread = (values: number[], digits: number): string => `${median(values).toFixed(digits)} [${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}]`;
        const cpu = [...(own[0]?.cpu.keys() ?? [])].map((component) => `${component} ${spread(own.map((run) => microsecondsPerDocument(run.cpu.get(component) as number)), 1)}`);
        console.log(`  ${name.padEnd(8)} ${spread(rates, 0)} documents/s; CPU µs per document: ${cpu.join(', ')}`);
      }
    }
    console.log(`load average ${loadavg().map((value) => value.toFixed(2)).join(' ')} at the end`);
  } finally {
    for (const route of routes) await route.stop();
    await influx.stop();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
