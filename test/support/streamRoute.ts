/**
 * The stream route's own processes for end-to-end tests: `./run.sh gateway` with `route = stream` and
 * `./run.sh writer` (dist/cli/main.js: build first with `npx tsc -p tsconfig.build.json`), their
 * /metrics, the writers' consumer lag, and a proxy that holds InfluxDB's answers to a writer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { ConsumerInfo, JetStreamManager } from 'nats';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { spawnGatewayProcess, type GatewayProcess } from './gateway';
import { freePort } from './ports';
import { testDir } from './services';
import { sleep } from './xrootdServer';

const MAIN = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

/** Polls of 100 ms before a condition counts as never met: far longer than any step of these tests takes. */
const POLLS = 3000;

/** The durable consumer the test writers share. */
export const WRITER_CONSUMER = 'writers';

/** Polls `probe` every 100 ms until it returns a value; fails naming `what` (read at the failure) after `polls` polls. */
export async function until<T>(what: string | (() => string), probe: () => Promise<T | undefined>, polls = POLLS): Promise<T> {
  for (let poll = 1; poll <= polls; poll++) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`${typeof what === 'string' ? what : what()}: still not after ${polls} polls`);
}

/** The [stream] section of stream `name` on `servers`, with `extra` keys (replicas = 3, say); gateways and writers of a stream share it. */
export function streamSection(name: string, servers: string[], extra = ''): string {
  return `[stream]\nservers = ${servers.join(', ')}\nname = ${name}\nsubject_prefix = ${name.toLowerCase()}\n${extra}`;
}

/** `./run.sh gateway` on the stream route of `stream` (a streamSection), in front of `influxUrl`; returns once it listens. */
export function spawnStreamGateway(influxUrl: string, stream: string): Promise<GatewayProcess> {
  return spawnGatewayProcess(influxUrl, `route = stream\n${stream}`);
}

/** A /metrics page (the gateway's or a writer's) as series → value, the series with its labels as written (`name{label="value"}`). */
export async function scrapeMetrics(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`);
  if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`);
  const values = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) values.set(match[1], Number(match[2]));
  }
  return values;
}

/** The sum of every series of metric `name` (all its labels), 0 when absent. */
export function metricTotal(metrics: Map<string, number>, name: string): number {
  let total = 0;
  for (const [series, value] of metrics) if (series === name || series.startsWith(`${name}{`)) total += value;
  return total;
}

/** The writers' consumer: messages not delivered yet plus those delivered and not acknowledged. */
export async function consumerLag(manager: JetStreamManager, stream: string, consumer = WRITER_CONSUMER): Promise<number> {
  const info: ConsumerInfo = await manager.consumers.info(stream, consumer);
  return info.num_pending + info.num_ack_pending;
}

export interface WriterProcess {
  /** Its /metrics, http://127.0.0.1:<port>. */
  url: string;
  /** The folder of its config and log (log/writer.log). */
  dir: string;
  /** The process serving now. */
  process(): ChildProcess;
  /** Its stdout, stderr and the end of its log, for failure messages. */
  output(): string;
  /** How often it exited before serving /metrics and was started again. */
  restartsAtStart: number;
  /** Its /metrics. */
  metrics(): Promise<Map<string, number>>;
  /** SIGTERM (it finishes the batch in hand), then its exit status. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** How often a writer that exits before serving /metrics is started again. */
const START_ATTEMPTS = 5;

/**
 * `./run.sh writer` on `stream` (a streamSection), writing to `influxUrl`, a member of consumer
 * WRITER_CONSUMER, serving /metrics on a free port; returns once /metrics answers, i.e. once it made
 * the streams and the consumer. A writer whose start-up JetStream calls time out (an R3 consumer made
 * on a loaded machine) exits for its supervisor to start it again: so does this, up to START_ATTEMPTS.
 */
export async function spawnStreamWriter(influxUrl: string, stream: string, writerKeys: Record<string, string> = {}): Promise<WriterProcess> {
  const dir = testDir('stream-writer');
  const port = await freePort();
  const keys = { consumer: WRITER_CONSUMER, ack_wait: '1m', batch_size: '2000', batch_wait: '1s', retry_delay: '100ms', max_retry_delay: '1s', ...writerKeys, listen: `127.0.0.1:${port}` };
  const file = path.join(dir, 'writer.cfg');
  writeFileSync(
    file,
    [`[paths]\nvar = ${dir}`, `[influxdb]\nurl = ${influxUrl}`, stream, `[writer]\n${Object.entries(keys).map(([key, value]) => `${key} = ${value}`).join('\n')}\n`].join('\n'),
  );
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  let child: ChildProcess | undefined;
  const logTail = (): string => readFileSync(path.join(dir, 'log', 'writer.log'), { encoding: 'utf8', flag: 'a+' }).split('\n').slice(-15).join('\n');
  const writer: WriterProcess = {
    url,
    dir,
    process: () => child as ChildProcess,
    output: () => `${output}${logTail()}`,
    restartsAtStart: 0,
    metrics: () => scrapeMetrics(url),
    stop: async () => {
      const running = child as ChildProcess;
      if (running.exitCode !== null || running.signalCode !== null) return { code: running.exitCode, signal: running.signalCode };
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => running.once('exit', (code, signal) => resolve({ code, signal })));
      running.kill('SIGTERM');
      return exited;
    },
  };
  for (let attempt = 1; ; attempt++) {
    const started = spawn(process.execPath, [MAIN, 'writer', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    started.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const serving = await until(
      () => `writer ${dir} serving /metrics (output: ${writer.output()})`,
      async () => (started.exitCode !== null ? false : (await scrapeMetrics(url).then(() => true, () => undefined))),
    );
    if (serving) return writer;
    if (attempt >= START_ATTEMPTS) throw new Error(`writer ${dir} exited at start ${attempt} times; last output: ${writer.output()}`);
    writer.restartsAtStart++;
    output += `\n--- exited with ${started.exitCode} before serving /metrics: started again ---\n`;
  }
}

export interface HeldWritesProxy {
  /** http://127.0.0.1:<port>, for a writer's [influxdb] url. */
  url: string;
  /** /write requests InfluxDB answered whose answer is held now. */
  held(): number;
  /** Passes the held answers on, and every later one at once. */
  release(): void;
  close(): void;
}

/**
 * An HTTP proxy to the InfluxDB on `target`: it passes every request on, and the answers too, except
 * those of /write, which it holds until release(). A writer behind it has its batch stored in InfluxDB
 * and waits for the answer for as long as the test wants.
 */
export async function heldWritesProxy(target: number): Promise<HeldWritesProxy> {
  let holding = true;
  const waiting: Array<() => void> = [];
  const server = http.createServer((request, response) => {
    const upstream = http.request({ host: '127.0.0.1', port: target, method: request.method, path: request.url, headers: request.headers }, (answer) => {
      const pass = (): void => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      };
      if (holding && request.url?.startsWith('/write')) waiting.push(pass);
      else pass();
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held: () => waiting.length,
    release: () => {
      holding = false;
      for (const pass of waiting.splice(0)) pass();
    },
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
