/**
 * The stream route ([gateway] route = stream) through `./run.sh gateway`'s HTTP API, against real
 * nats-server processes (JetStream) and a real InfluxDB 1.6. Gateways and writers run in their own
 * processes (dist/cli/main.js): build first (npx tsc -p tsconfig.build.json).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { JetStreamManager, NatsConnection } from 'nats';
import { Config, ConfigError } from '../lib/config/config';
import { PROJECT_ROOT } from '../lib/config/paths';
import { Spool } from '../lib/delivery/spool';
import { MESSAGE_ID_HEADER, PRODUCER_HEADER } from '../lib/stream/messages';
import type { MonitDocument } from '../lib/documents/types';
import { spawnGatewayProcess, TEST_TOKEN, testSender, type GatewayProcess } from '../test/support/gateway';
import { startNatsCluster, type NatsCluster, type NatsNode } from '../test/support/nats';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import { sleep } from '../test/support/xrootdServer';
import { gatewaySettings } from './settings';

jest.setTimeout(600_000);

const PRODUCER = 'stream-test';
const DATABASE = 'monit_production_stream_test';
const slot = Math.floor(Date.now() / 600_000) * 600_000 - 3_600_000;
/** Polls of 100 ms before a condition counts as never met: far longer than any step here takes. */
const POLLS = 1800;
const MAIN = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

let cluster: NatsCluster;
let influx: TestInfluxDB;
let connection: NatsConnection;
let manager: JetStreamManager;

beforeAll(async () => {
  [cluster, influx] = await Promise.all([startNatsCluster({ nodes: 1 }), startInfluxDB()]);
  connection = await cluster.connect();
  manager = await connection.jetstreamManager();
});

afterAll(async () => {
  await connection?.close();
  await Promise.all([cluster?.stop(), influx?.stop()]);
});

/** Polls `probe` every 100 ms until it returns a value; fails naming `what` after POLLS polls. */
async function until<T>(what: string | (() => string), probe: () => Promise<T | undefined>): Promise<T> {
  for (let poll = 1; poll <= POLLS; poll++) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`${typeof what === 'string' ? what : what()}: still not after ${POLLS} polls`);
}

/** `count` documents of PRODUCER, one series each (tag n), value n, each with its own `_id`. */
function batch(name: string, count: number, first = 0): MonitDocument[] {
  return Array.from({ length: count }, (_, offset) => {
    const n = first + offset;
    return { producer: PRODUCER, type: 'load', timestamp: slot, _id: `${PRODUCER}-${name}-${n}`, idb_tags: ['batch', 'n'], batch: name, n: String(n), value: n };
  });
}

async function post(url: string, documents: unknown): Promise<{ status: number; retryAfter: string | null; json: Record<string, unknown> }> {
  const response = await fetch(`${url}/`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(documents) });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), json: (await response.json()) as Record<string, unknown> };
}

/** The [gateway] keys and [stream] section of a gateway on stream `name` (spawnGatewayProcess adds [influxdb]). */
function streamRoute(name: string, servers: string[], extra = ''): string {
  return `route = stream\n[stream]\nservers = ${servers.join(', ')}\nname = ${name}\nsubject_prefix = ${name.toLowerCase()}\npublish_timeout = 2s\n${extra}`;
}

async function spawnStreamGateway(name: string, servers = cluster.servers, extra = ''): Promise<GatewayProcess> {
  return spawnGatewayProcess(influx.url, streamRoute(name, servers, extra));
}

async function ping(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}/ping`);
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const messagesIn = async (stream: string, through = manager): Promise<number> => (await through.streams.info(stream)).state.messages;

/** The value of one series of the gateway's /metrics, 0 when absent. */
async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** The value of each point of batch `name` in InfluxDB, by its tag n (empty while its database does not exist). */
async function stored(name: string): Promise<Map<string, number>> {
  const rows = await influx.client.rows(`SELECT "value", "n" FROM "load" WHERE "batch" = '${name}'`, { database: DATABASE }).catch(() => []);
  return new Map(rows.map((row) => [String(row.n), Number(row.value)]));
}

const expected = (count: number): Map<string, number> => new Map(Array.from({ length: count }, (_, n) => [String(n), n]));

interface WriterProcess {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** `node dist/cli/main.js writer --config FILE` on stream `name`, writing to the test InfluxDB; its [stream] as the gateway's (it makes the streams too). */
function spawnWriter(name: string, servers: string[], streamExtra = ''): WriterProcess {
  const dir = testDir('stream-writer');
  const file = path.join(dir, 'writer.cfg');
  writeFileSync(
    file,
    [
      `[paths]\nvar = ${dir}`,
      `[influxdb]\nurl = ${influx.url}`,
      `[stream]\nservers = ${servers.join(', ')}\nname = ${name}\nsubject_prefix = ${name.toLowerCase()}\n${streamExtra}`,
      '[writer]\nconsumer = writers\nack_wait = 1m\nbatch_size = 500\nbatch_wait = 1s\nretry_delay = 100ms\nmax_retry_delay = 1s\n',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [MAIN, 'writer', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    child,
    output: () => `${output}${readFileSync(path.join(dir, 'log', 'writer.log'), { encoding: 'utf8', flag: 'a+' }).split('\n').slice(-15).join('\n')}`,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

describe('[gateway] route', () => {
  const parse = (text: string): Config => Config.parse(`[gateway]\nlisten = 127.0.0.1:1\ntoken = t\n${text}`, 'route.cfg');

  test('direct by default; stream without a [stream] section, or another value, is a config error naming the key', () => {
    expect(gatewaySettings(parse('')).route).toBe('direct');
    expect(gatewaySettings(parse('route = stream\n[stream]\nservers = nats://127.0.0.1:4222\n')).route).toBe('stream');
    expect(() => gatewaySettings(parse('route = stream\n'))).toThrow(ConfigError);
    expect(() => gatewaySettings(parse('route = stream\n'))).toThrow('route.cfg: [gateway] route = stream needs a [stream] section naming the JetStream servers');
    expect(() => gatewaySettings(parse('route = kafka\n'))).toThrow(/\[gateway\] route must be direct \(InfluxDB\) or stream .*got "kafka"/);
  });
});

describe('a gateway on the stream route, one nats-server', () => {
  let gateway: GatewayProcess;

  beforeAll(async () => {
    gateway = await spawnStreamGateway('ROUTE');
    await until('the gateway connected to the stream', async () => ((await ping(gateway.url)).status === 200 ? true : undefined));
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  test('documents POSTed are in the stream, each a message with its _id, and not in InfluxDB; the same batch again is stored once, a rerun with other values is stored', async () => {
    const documents = batch('first', 50);
    expect(await post(gateway.url, documents)).toMatchObject({ status: 200, json: { accepted: 50, rejected: [] } });
    expect(await messagesIn('ROUTE')).toBe(50);
    const first = await manager.streams.getMessage('ROUTE', { seq: 1 });
    expect(first.subject).toBe(`route.${PRODUCER}`);
    const firstLine = `load,batch=first,n=0 value=0 ${slot}`;
    expect([first.header.get(MESSAGE_ID_HEADER), first.header.get(PRODUCER_HEADER)]).toEqual([`${PRODUCER}-first-0:${createHash('sha256').update(firstLine).digest('hex').slice(0, 16)}`, PRODUCER]);
    expect(first.string()).toBe(firstLine);
    // The gateway neither wrote nor created anything on InfluxDB.
    const [series = []] = await influx.client.query('SHOW DATABASES');
    const databases = series.flatMap((one) => (one.values ?? []).map((row) => row[0]));
    expect(databases).not.toContain(DATABASE);

    // A sender sending the batch again (its answer lost, say): acknowledged, stored once.
    expect(await post(gateway.url, documents)).toMatchObject({ status: 200, json: { accepted: 50, rejected: [] } });
    expect(await messagesIn('ROUTE')).toBe(50);
    expect(await metric(gateway.url, 'gateway_stream_documents_published_total{result="stored"}')).toBe(50);
    expect(await metric(gateway.url, 'gateway_stream_documents_published_total{result="duplicate"}')).toBe(50);
    expect(await metric(gateway.url, `gateway_documents_accepted_total{producer="${PRODUCER}"}`)).toBe(100);

    // A rerun of the slot with other values (the same _ids): stored, not dropped as duplicates.
    expect(await post(gateway.url, documents.map((document) => ({ ...document, value: Number(document.value) + 1000 })))).toMatchObject({ status: 200, json: { accepted: 50 } });
    expect(await messagesIn('ROUTE')).toBe(100);
    expect(await metric(gateway.url, 'gateway_stream_documents_published_total{result="stored"}')).toBe(100);
    expect(await metric(gateway.url, 'gateway_stream_documents_published_total{result="duplicate"}')).toBe(50);
  });

  test('refused documents are refused as on the direct route; one over the server\'s max_payload is refused by index (207), the others stored', async () => {
    const before = await messagesIn('ROUTE');
    const [small, , other] = batch('large', 3);
    const large = { ...batch('large', 3)[1], note: 'x'.repeat((connection.info?.max_payload ?? 0) + 1) };
    const invalid = { producer: PRODUCER, type: 'load', timestamp: 'yesterday', value: 1 };
    const answer = await post(gateway.url, [small, large, other, invalid]);
    expect(answer.status).toBe(207);
    expect(answer.json.accepted).toBe(2);
    const rejected = answer.json.rejected as Array<{ index: number; reason: string }>;
    expect(rejected.map((rejection) => rejection.index)).toEqual([1, 3]);
    expect(rejected[0].reason).toMatch(/^too large for the stream: stream ROUTE did not store the message of stream-test on route\.stream-test \(too_large\)/);
    expect(await messagesIn('ROUTE')).toBe(before + 2);
    expect(await metric(gateway.url, 'gateway_stream_publish_failures_total{reason="too_large"}')).toBe(1);
    expect(await metric(gateway.url, 'gateway_documents_rejected_total{reason="stream_too_large"}')).toBe(1);
  });

  test('InfluxDB stopped: the gateway still answers 200 and /ping reports the stream, not InfluxDB', async () => {
    const before = await messagesIn('ROUTE');
    await influx.stop();
    try {
      expect(await post(gateway.url, batch('influx-down', 20))).toMatchObject({ status: 200, json: { accepted: 20 } });
      expect(await ping(gateway.url)).toEqual({ status: 200, json: { gateway: 'ok', stream: 'ok' } });
    } finally {
      await influx.start();
    }
    expect(await messagesIn('ROUTE')).toBe(before + 20);
  });

  test('the stream\'s server stopped: 503 with Retry-After, nothing acknowledged; once it is back, 200 and each document stored once', async () => {
    const node = cluster.nodes[0];
    const before = await messagesIn('ROUTE');
    const documents = batch('nats-down', 30);
    await cluster.kill(node);
    try {
      const answer = await post(gateway.url, documents);
      expect(answer.status).toBe(503);
      expect(answer.retryAfter).toBe('10');
      expect(answer.json.error).toMatch(/^the stream (could not store the documents|is unavailable), nothing acknowledged/);
      const pinged = await ping(gateway.url);
      expect([pinged.status, pinged.json.stream]).toEqual([503, 'unreachable']);
    } finally {
      await cluster.restart(node);
    }
    // The refused request stored nothing.
    expect(await until('the stream answering again', () => messagesIn('ROUTE').catch(() => undefined))).toBe(before);
    // The sender sends again until the gateway takes the batch.
    await until('the batch accepted again', async () => ((await post(gateway.url, documents)).status === 200 ? true : undefined));
    expect(await messagesIn('ROUTE')).toBe(before + 30);
    // Accepted so far in this describe: 50 three times (twice the same, then a rerun), 2 of the large batch, 20, 30; the 503s counted nothing.
    expect(await metric(gateway.url, `gateway_documents_accepted_total{producer="${PRODUCER}"}`)).toBe(150 + 2 + 20 + 30);
    expect(await ping(gateway.url)).toEqual({ status: 200, json: { gateway: 'ok', stream: 'ok' } });
  });
});

test('a gateway that cannot reach the stream at start-up starts, answers 503, and 200 once the stream is there', async () => {
  const node = cluster.nodes[0];
  await cluster.kill(node);
  let gateway: GatewayProcess | undefined;
  try {
    gateway = await spawnStreamGateway('LATE');
    const answer = await post(gateway.url, batch('late', 10));
    expect([answer.status, answer.retryAfter]).toEqual([503, '10']);
    expect(answer.json.error).toMatch(/^the stream is unavailable, nothing acknowledged: not connected to the stream/);
    expect((await ping(gateway.url)).status).toBe(503);
    expect(await metric(gateway.url, 'gateway_stream_publish_failures_total{reason="not_connected"}')).toBe(1);
  } finally {
    await cluster.restart(node);
  }
  if (!gateway) throw new Error('the gateway did not start');
  try {
    const url = gateway.url;
    await until('the gateway connected and took the batch', async () => ((await post(url, batch('late', 10))).status === 200 ? true : undefined));
    expect(await messagesIn('LATE')).toBe(10);
  } finally {
    await gateway.stop();
  }
});

test('with a writer, documents POSTed reach InfluxDB exactly once, a batch sent twice included; a rerun with other values replaces them', async () => {
  const gateway = await spawnStreamGateway('WRITTEN');
  let writer: WriterProcess | undefined;
  try {
    await until('the gateway connected to the stream', async () => ((await ping(gateway.url)).status === 200 ? true : undefined));
    // Once the stream exists: a writer whose start-up JetStream calls time out exits, for its supervisor to restart it.
    writer = spawnWriter('WRITTEN', cluster.servers);
    const documents = batch('written', 400);
    expect((await post(gateway.url, documents.slice(0, 300))).status).toBe(200);
    expect((await post(gateway.url, documents.slice(200))).status).toBe(200);
    expect((await post(gateway.url, documents.slice(0, 100))).status).toBe(200);
    const started = writer;
    await until(() => `InfluxDB holding 400 points (writer: ${started.output()})`, async () => ((await stored('written')).size === 400 ? true : undefined));
    // Drained: a work queue keeps no acknowledged message.
    await until('the stream drained', async () => ((await messagesIn('WRITTEN')) === 0 ? true : undefined));
    expect(await stored('written')).toEqual(expected(400));
    const [count] = await influx.client.rows(`SELECT count("value") AS points FROM "load" WHERE "batch" = 'written'`, { database: DATABASE });
    expect(Number(count.points)).toBe(400);
    // A rerun of the slot within the duplicate window, with other values: they replace the points, as on the direct route.
    expect((await post(gateway.url, documents.slice(0, 10).map((document) => ({ ...document, value: Number(document.value) + 1000 })))).status).toBe(200);
    const rerun = new Map([...expected(400)].map(([n, value]) => [n, Number(n) < 10 ? value + 1000 : value]));
    await until('the rerun values in InfluxDB', async () => ((await stored('written')).get('0') === 1000 ? true : undefined));
    await until('the stream drained after the rerun', async () => ((await messagesIn('WRITTEN')) === 0 ? true : undefined));
    expect(await stored('written')).toEqual(rerun);
  } finally {
    await Promise.all([gateway.stop(), writer?.stop()]);
  }
});

describe('three nats-servers, a stream of three replicas', () => {
  let three: NatsCluster;
  let threeConnection: NatsConnection;

  beforeAll(async () => {
    three = await startNatsCluster({ nodes: 3 });
    threeConnection = await three.connect();
  });

  afterAll(async () => {
    await threeConnection?.close();
    await three?.stop();
  });

  test('two nodes of three killed: /ping answers 503 as long as the stream has no majority, 200 once it has one again', async () => {
    const gateway = await spawnStreamGateway('MAJORITY', three.servers, 'replicas = 3\n');
    const killed: NatsNode[] = [];
    try {
      await until('the gateway connected to the stream', async () => ((await ping(gateway.url)).status === 200 ? true : undefined));
      for (const node of three.nodes.slice(0, 2)) {
        await three.kill(node);
        killed.push(node);
      }
      await until('/ping answering 503', async () => ((await ping(gateway.url)).status === 503 ? true : undefined));
      // Not only at first (the info request timing out): while no majority is back, every POST is refused
      // and every /ping says so, even when the surviving node answers stream info naming itself leader.
      for (let check = 0; check < 6; check++) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        expect((await post(gateway.url, batch('majority', 1, check))).status).toBe(503);
        const pinged = await ping(gateway.url);
        expect([pinged.status, pinged.json.stream]).toEqual([503, 'unreachable']);
      }
      for (const node of killed.splice(0)) await three.restart(node);
      await until('/ping answering 200 again', async () => ((await ping(gateway.url)).status === 200 ? true : undefined));
    } finally {
      await gateway.stop();
      for (const node of killed) await three.restart(node);
    }
  });

  test('kill -9 of the stream leader while a sender posts through the gateway: every acknowledged document is in InfluxDB exactly once', async () => {
    const total = 3000;
    const gateway = await spawnStreamGateway('KILL', three.servers, 'replicas = 3\n');
    const threeManager = await threeConnection.jetstreamManager();
    let killed: NatsNode | undefined;
    let writer: WriterProcess | undefined;
    try {
      await until('the gateway connected to the stream', async () => ((await ping(gateway.url)).status === 200 ? true : undefined));
      writer = spawnWriter('KILL', three.servers, 'replicas = 3\n');
      let restarts = 0;
      let lastOutput = '';
      expect((await threeManager.streams.info('KILL')).config.num_replicas).toBe(3);
      const spool = new Spool(path.join(testDir('stream-sender'), 'spool'));
      const sender = testSender(gateway.url, spool, { maxBatchDocuments: 100, concurrency: 2 });
      sender.enqueue(batch('killed', total));
      const delivered = sender.deliver({ deadlineMs: Date.now() + 540_000 });
      // A third acknowledged, then the leader of the stream dies.
      await until('a third of the documents acknowledged', async () => ((await metric(gateway.url, `gateway_documents_accepted_total{producer="${PRODUCER}"}`)) >= total / 3 ? true : undefined));
      // The sender is still at work: the kill falls in the middle of its posts.
      expect(await metric(gateway.url, `gateway_documents_accepted_total{producer="${PRODUCER}"}`)).toBeLessThan(total);
      const leader = (await threeManager.streams.info('KILL')).cluster?.leader;
      killed = three.nodes.find((node) => node.name === leader);
      expect(killed).toBeDefined();
      await three.kill(killed as NatsNode);
      const report = await delivered;
      // Every document acknowledged (the sender re-sent the 503s), none refused, none left in the spool.
      expect(report).toMatchObject({ documentsSent: total, documentsRejected: 0, documentsSpooled: 0 });
      expect(await metric(gateway.url, 'gateway_stream_documents_published_total{result="stored"}')).toBeGreaterThan(0);
      let size = 0;
      await until(() => `InfluxDB holding ${total} points, it has ${size} (writer restarted ${restarts} times; last: ${lastOutput})`, async () => {
        // As its supervisor does: a writer whose JetStream calls timed out at start (R3 consumer being made on a loaded machine) exited.
        if (writer && writer.child.exitCode !== null) {
          lastOutput = writer.output();
          restarts++;
          writer = spawnWriter('KILL', three.servers, 'replicas = 3\n');
        }
        return (size = (await stored('killed')).size) === total ? true : undefined;
      });
      await until('the stream drained', async () => ((await messagesIn('KILL', threeManager).catch(() => -1)) === 0 ? true : undefined));
      expect(await stored('killed')).toEqual(expected(total));
      const [count] = await influx.client.rows(`SELECT count("value") AS points FROM "load" WHERE "batch" = 'killed'`, { database: DATABASE });
      expect(Number(count.points)).toBe(total);
    } finally {
      await Promise.all([gateway.stop(), writer?.stop()]);
      if (killed) await three.restart(killed);
    }
  });
});
