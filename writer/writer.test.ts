/**
 * The writer against a real nats-server (JetStream) and two real InfluxDB 1.6 instances: exactly once,
 * routing, an InfluxDB outage, a poison message, a writer process killed before it acknowledged, SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect as connectTcp, createServer, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import type { JetStreamManager, JsMsg, NatsConnection } from 'nats';
import { PROJECT_ROOT } from '../lib/config/paths';
import { Config } from '../lib/config/config';
import { influxInstances } from '../lib/influx/instances';
import { MemoryLogger } from '../lib/run/log';
import { encodeMessage, PRODUCER_HEADER, REASON_HEADER, type StreamPoint } from '../lib/stream/messages';
import { publishPoints, StreamPublishError } from '../lib/stream/publish';
import { streamSettings } from '../lib/stream/settings';
import { ensureStreams } from '../lib/stream/streams';
import { startNatsCluster, type NatsCluster } from '../test/support/nats';
import { freePort } from '../test/support/ports';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import { sleep } from '../test/support/xrootdServer';
import { writerSettings } from './settings';
import { Writer } from './writer';

jest.setTimeout(300_000);

const BASE_MS = Date.UTC(2026, 11, 1);
/** Polls of 100 ms before a condition counts as never met: far longer than any step here takes. */
const POLLS = 1200;

let cluster: NatsCluster;
let one: TestInfluxDB;
let two: TestInfluxDB;
let connection: NatsConnection;
let manager: JetStreamManager;
let varDir: string;

beforeAll(async () => {
  [cluster, one, two] = await Promise.all([startNatsCluster({ nodes: 1 }), startInfluxDB(), startInfluxDB()]);
  connection = await cluster.connect();
  manager = await connection.jetstreamManager();
  varDir = testDir('writer-var');
});

afterAll(async () => {
  await connection?.close();
  await Promise.all([cluster?.stop(), one?.stop(), two?.stop()]);
});

/** Polls `probe` every 100 ms until it returns a value; fails naming `what` after POLLS polls. */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let poll = 1; poll <= POLLS; poll++) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`${what}: still not after ${POLLS} polls`);
}

/** A config with its own stream (so tests do not share messages): route-two lives on the second instance. */
function configText(stream: string, writer: Record<string, string> = {}, influxdb = `url = ${one.url}`): string {
  const writerKeys = { consumer: 'writers', ack_wait: '3s', batch_size: '500', batch_wait: '1s', retry_delay: '100ms', max_retry_delay: '1s', ...writer };
  return [
    `[paths]\nvar = ${varDir}`,
    `[influxdb]\n${influxdb}`,
    `[influxdb.tenant]\nurl = ${two.url}\nproducers = route-two`,
    `[stream]\nservers = ${cluster.servers.join(', ')}\nname = ${stream}\nsubject_prefix = ${stream.toLowerCase()}`,
    `[writer]\n${Object.entries(writerKeys).map(([key, value]) => `${key} = ${value}`).join('\n')}`,
  ].join('\n');
}

function configFor(stream: string, writer: Record<string, string> = {}): Config {
  return Config.parse(configText(stream, writer), `${stream}.cfg`);
}

interface RunningWriter {
  writer: Writer;
  log: MemoryLogger;
  connection: NatsConnection;
  stop(): Promise<void>;
}

async function startWriter(config: Config, servers: NatsCluster = cluster): Promise<RunningWriter> {
  const writerConnection = await servers.connect();
  const log = new MemoryLogger('writer');
  const writer = new Writer({ connection: writerConnection, stream: streamSettings(config), settings: writerSettings(config), instances: influxInstances(config), log });
  await writer.prepare();
  const abort = new AbortController();
  const running = writer.run(abort.signal);
  return {
    writer,
    log,
    connection: writerConnection,
    stop: async () => {
      abort.abort();
      await running;
      await writerConnection.close();
    },
  };
}

async function publish(config: Config, points: StreamPoint[]): Promise<void> {
  const settings = streamSettings(config);
  // The streams exist before the first writer: the gateway makes them too.
  await ensureStreams(manager, settings);
  await publishPoints(connection.jetstream(), settings, points);
}

/** num_pending + num_ack_pending of the writers' consumer. */
async function lag(stream: string): Promise<number> {
  const info = await manager.consumers.info(stream, 'writers');
  return info.num_pending + info.num_ack_pending;
}

const points = (producer: string, measurement: string, count: number, first = 0): StreamPoint[] =>
  Array.from({ length: count }, (_, offset) => {
    const index = first + offset;
    return { producer, line: `${measurement},k=${index} v=${index}i ${BASE_MS + index}`, id: `${producer}-${measurement}-${index}` };
  });

/** The v of every point of `measurement`, by its k tag, read back from InfluxDB. */
async function stored(influx: TestInfluxDB, database: string, measurement: string): Promise<Map<string, number>> {
  const rows = await influx.client.rows(`SELECT "v", "k" FROM "${measurement}"`, { database }).catch(() => []);
  return new Map(rows.map((row) => [String(row.k), Number(row.v)]));
}

const expected = (count: number, first = 0): Map<string, number> => new Map(Array.from({ length: count }, (_, offset) => [String(first + offset), first + offset]));

const metric = async (writer: Writer, name: string): Promise<number> =>
  (await writer.metrics.registry.getSingleMetric(name)?.get())?.values.reduce((sum, value) => sum + value.value, 0) ?? 0;

test('published points reach InfluxDB exactly once: a point published twice is one message, written once', async () => {
  const config = configFor('ONCE');
  const all = points('cms.t0', 'once', 300);
  await publish(config, all);
  await publish(config, all.slice(0, 50)); // the gateway answering a sender that sent again
  expect((await manager.streams.info('ONCE')).state.messages).toBe(300);
  const running = await startWriter(config);
  try {
    await until('the backlog drained', async () => ((await lag('ONCE')) === 0 ? true : undefined));
    expect(await stored(one, 'monit_production_cms.t0', 'once')).toEqual(expected(300));
    expect(await metric(running.writer, 'writer_points_written_total')).toBe(300);
    // Acknowledged: a work queue keeps no acknowledged message.
    expect((await manager.streams.info('ONCE')).state.messages).toBe(0);
    const [policies = []] = await one.client.query('SHOW RETENTION POLICIES ON "monit_production_cms.t0"');
    expect((policies[0]?.values ?? []).map((row) => [row[0], row[4]])).toEqual([['autogen', false], ['raw', true], ['1h', false], ['1d', false]]);
  } finally {
    await running.stop();
  }
});

test('two producers routed to two InfluxDB instances each land only in their own', async () => {
  const config = configFor('ROUTES');
  await publish(config, [...points('route-one', 'routed', 40), ...points('route-two', 'routed', 60)]);
  const running = await startWriter(config);
  try {
    await until('the backlog drained', async () => ((await lag('ROUTES')) === 0 ? true : undefined));
    expect(await stored(one, 'monit_production_route_one', 'routed')).toEqual(expected(40));
    expect(await stored(two, 'monit_production_route_two', 'routed')).toEqual(expected(60));
    const databases = async (influx: TestInfluxDB): Promise<string[]> => (await influx.client.rows('SHOW DATABASES')).map((row) => String(row.name));
    expect(await databases(one)).not.toContain('monit_production_route_two');
    expect(await databases(two)).not.toContain('monit_production_route_one');
  } finally {
    await running.stop();
  }
});

test('InfluxDB down: nothing is acknowledged and the lag grows; after its restart the backlog drains, every point once', async () => {
  const config = configFor('OUTAGE');
  const running = await startWriter(config);
  try {
    await one.stop();
    await publish(config, points('outage', 'outage', 100));
    await until('a failed write', async () => ((await metric(running.writer, 'writer_influxdb_write_errors_total')) > 0 ? true : undefined));
    expect(await lag('OUTAGE')).toBe(100);
    await publish(config, points('outage', 'outage', 50, 100));
    // Every message stays in the stream, delivered again and again, none acknowledged.
    await until('the second writes failing too', async () => ((await metric(running.writer, 'writer_redeliveries_total')) > 100 ? true : undefined));
    expect(await lag('OUTAGE')).toBe(150);
    expect((await manager.streams.info('OUTAGE')).state.messages).toBe(150);
    expect(running.log.lines.filter((line) => line.includes('cannot store: its messages stay in the stream'))).toHaveLength(1);

    await one.start();
    await until('the backlog drained', async () => ((await lag('OUTAGE')) === 0 ? true : undefined));
    expect(await stored(one, 'monit_production_outage', 'outage')).toEqual(expected(150));
    expect(await metric(running.writer, 'writer_points_written_total')).toBe(150);
    expect(running.log.lines).toContainEqual(expect.stringContaining('stores again'));
  } finally {
    await one.start().catch(() => undefined); // running again already, unless the test failed while it was down
    await running.stop();
  }
});

test('a poison message (a field type conflict) goes to the dead-letter stream with InfluxDB\'s reason; the rest of its batch is stored', async () => {
  const config = configFor('POISON');
  await one.client.ensureDatabase('monit_production_poison', { raw: '30d', '1h': '400d', '1d': 'INF' });
  await one.client.write('monit_production_poison', `poison,k=first v=1i ${BASE_MS - 1}`);
  const batch = points('poison', 'poison', 20);
  // v is an integer already: InfluxDB refuses a string there for good.
  batch.splice(7, 0, { producer: 'poison', line: `poison,k=bad v="a" ${BASE_MS + 7}`, id: 'poison-bad' });
  await publish(config, batch);
  const running = await startWriter(config);
  try {
    await until('the backlog drained', async () => ((await lag('POISON')) === 0 ? true : undefined));
    expect(await stored(one, 'monit_production_poison', 'poison')).toEqual(new Map([['first', 1], ...expected(20)]));
    const dead = await manager.streams.info('POISON_DEAD');
    expect(dead.state.messages).toBe(1);
    const letter = await manager.streams.getMessage('POISON_DEAD', { seq: dead.state.first_seq });
    expect(letter.subject).toBe('poison_dead.poison');
    expect(letter.string()).toBe(`poison,k=bad v="a" ${BASE_MS + 7}`);
    expect(letter.header.get(PRODUCER_HEADER)).toBe('poison');
    expect(letter.header.get(REASON_HEADER)).toMatch(/^InfluxDB refused the point: .*field type conflict/);
    expect(await metric(running.writer, 'writer_dead_letters_total')).toBe(1);
    expect(await metric(running.writer, 'writer_points_written_total')).toBe(20);
  } finally {
    await running.stop();
  }
});

test('one message delivered twice, in one batch or in the next (nats-server before 2.11 does), is written and counted once, every copy acknowledged', async () => {
  const config = configFor('TWICE');
  const settings = streamSettings(config);
  const writer = new Writer({ connection, stream: settings, settings: writerSettings(config), instances: influxInstances(config), log: new MemoryLogger('writer') });
  const acks: string[] = [];
  /** A delivery of `point` as stream sequence `seq`, the `count`th as the server numbers it. */
  const delivery = (seq: number, count: number, point: StreamPoint): JsMsg => {
    const { subject, headers, payload } = encodeMessage(settings.subjectPrefix, point);
    const ack = (): number => acks.push(`${seq}/${count}`);
    const nak = (): number => acks.push(`nak ${seq}/${count}`);
    return { seq, subject, headers, data: payload, info: { redeliveryCount: count }, ack, nak } as unknown as JsMsg;
  };
  const [a, b, c] = points('twice', 'twice', 3);
  // nats-io/nats-server#5305: a pull request expiring while the server sends redeliveries makes it send
  // the last message again as if new (delivery count 1) right after its redelivery.
  expect(await writer.handle([delivery(1, 2, a), delivery(2, 2, b), delivery(3, 2, c), delivery(3, 1, c)])).toEqual({ written: 3, deadLetters: 0, retried: 0 });
  expect(acks).toEqual(['1/2', '2/2', '3/2', '3/1']);
  // The copy may come in the next batch: acknowledged again, not written again.
  expect(await writer.handle([delivery(3, 1, c)])).toEqual({ written: 0, deadLetters: 0, retried: 0 });
  expect(acks.slice(4)).toEqual(['3/1']);
  expect(await metric(writer, 'writer_redeliveries_total')).toBe(3);
  expect(await metric(writer, 'writer_points_written_total')).toBe(3);
  expect(await stored(one, 'monit_production_twice', 'twice')).toEqual(expected(3));
  // Another point under a sequence it remembers (a stream made anew) is no copy: it is written.
  const [other] = points('twice', 'twice', 1, 3);
  expect(await writer.handle([delivery(3, 1, other)])).toEqual({ written: 1, deadLetters: 0, retried: 0 });
  expect(await stored(one, 'monit_production_twice', 'twice')).toEqual(expected(4));
});

test('a writer remembers the last batches it stored, a bounded number: a copy of a recent one is acknowledged, of a forgotten one written again', async () => {
  // batch_size 2: it remembers at least 4 batches (8 messages), and never more than one batch beyond that.
  const config = configFor('REMEMBERED', { batch_size: '2', max_ack_pending: '2' });
  const settings = streamSettings(config);
  const writer = new Writer({ connection, stream: settings, settings: writerSettings(config), instances: influxInstances(config), log: new MemoryLogger('writer') });
  const delivery = (seq: number, point: StreamPoint): JsMsg => {
    const { subject, headers, payload } = encodeMessage(settings.subjectPrefix, point);
    return { seq, subject, headers, data: payload, info: { redeliveryCount: 1 }, ack: () => undefined, nak: () => undefined } as unknown as JsMsg;
  };
  const all = points('remembered', 'remembered', 20);
  for (let first = 0; first < all.length; first += 2) {
    expect(await writer.handle(all.slice(first, first + 2).map((point, offset) => delivery(first + offset + 1, point)))).toEqual({ written: 2, deadLetters: 0, retried: 0 });
  }
  // The last 8 sequences (13..20) are remembered: their copies are not written again.
  expect(await writer.handle([13, 16, 20].map((seq) => delivery(seq, all[seq - 1])))).toEqual({ written: 0, deadLetters: 0, retried: 0 });
  // Sequences 1 and 2 were forgotten (more than 8 + 2 since): written again, as the same points.
  expect(await writer.handle([1, 2].map((seq) => delivery(seq, all[seq - 1])))).toEqual({ written: 2, deadLetters: 0, retried: 0 });
  expect(await metric(writer, 'writer_points_written_total')).toBe(22);
  expect(await stored(one, 'monit_production_remembered', 'remembered')).toEqual(expected(20));
});

/** Built by `npx tsc -p tsconfig.build.json` before this test. */
const MAIN = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

interface WriterProcess {
  child: ChildProcess;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** `node dist/cli/main.js writer --config FILE`, serving /metrics on a port of its own; returns once /metrics answers. */
async function spawnWriter(stream: string, name: string, writer: Record<string, string>, influxdb?: string): Promise<WriterProcess> {
  const port = await freePort();
  const file = path.join(varDir, `${name}.cfg`);
  writeFileSync(file, configText(stream, { ...writer, listen: `127.0.0.1:${port}` }, influxdb));
  const child = spawn(process.execPath, [MAIN, 'writer', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const started: WriterProcess = { child, port, exited, output: () => output };
  await until(`writer ${name} serving /metrics (output: ${output})`, async () => {
    if (child.exitCode !== null) throw new Error(`writer ${name} exited with ${child.exitCode}: ${output}`);
    return (await scrape(started).catch(() => undefined)) === undefined ? undefined : true;
  });
  return started;
}

/** The writer process's /metrics, as name → value (labels summed). */
async function scrape(writer: WriterProcess): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${writer.port}/metrics`);
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  const values = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-z_]+)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (match) values.set(match[1], (values.get(match[1]) ?? 0) + Number(match[2]));
  }
  return values;
}

/**
 * A proxy to `target` that passes every request but never passes back the answer of a /write: the
 * writer behind it has its points stored and waits for an answer that never comes.
 */
async function answerlessWrites(target: number): Promise<{ url: string; close(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connectTcp(target, '127.0.0.1');
    let writing = false;
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      // Requests on a keep-alive connection come one after another: the answers before the first /write pass.
      if (chunk.toString('latin1').startsWith('POST /write')) writing = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!writing) client.write(chunk);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

test('a writer process killed (kill -9) after InfluxDB stored its batch, before it acknowledged: the other writer writes it again, every point once, nothing pending', async () => {
  const stream = 'KILLED';
  await publish(configFor(stream), points('killed', 'killed', 2500));
  const proxy = await answerlessWrites(one.port);
  // The holder takes the whole backlog in one batch, writes it through the proxy and waits for InfluxDB's answer.
  const holder = await spawnWriter(stream, 'holder', { batch_size: '5000', ack_wait: '10s' }, `url = ${proxy.url}\ntimeout = 10m`);
  let taker: WriterProcess | undefined;
  try {
    await until('the holder\'s batch stored in InfluxDB and not acknowledged', async () => {
      const info = await manager.consumers.info(stream, 'writers');
      return (await stored(one, 'monit_production_killed', 'killed')).size === 2500 && info.num_ack_pending === 2500 ? true : undefined;
    });
    taker = await spawnWriter(stream, 'taker', { batch_size: '5000', ack_wait: '10s' });
    holder.child.kill('SIGKILL');
    expect(await holder.exited).toEqual({ code: null, signal: 'SIGKILL' });

    await until('the backlog drained', async () => ((await lag(stream)) === 0 ? true : undefined));
    expect(await stored(one, 'monit_production_killed', 'killed')).toEqual(expected(2500));
    expect(await one.client.rows('SELECT count("v") AS "points" FROM "killed"', { database: 'monit_production_killed' })).toEqual([{ time: 0, points: 2500 }]);
    const metrics = await scrape(taker);
    // Every message of the dead writer came again to the other, which wrote the same points again. Under
    // load nats-server before 2.11 may send one of them twice in a row (the second time with delivery
    // count 1, nats-io/nats-server#5305): the writer writes and counts a stream sequence once.
    expect(metrics.get('writer_redeliveries_total')).toBe(2500);
    expect(metrics.get('writer_points_written_total')).toBe(2500);
    expect(metrics.get('writer_stream_lag_messages')).toBe(0);
    expect((await manager.streams.info(stream)).state.messages).toBe(0);

    // SIGTERM: the taker stops at once (it has nothing in hand) with status 0.
    taker.child.kill('SIGTERM');
    expect(await taker.exited).toEqual({ code: 0, signal: null });
  } finally {
    holder.child.kill('SIGKILL');
    taker?.child.kill('SIGKILL');
    proxy.close();
  }
});

test('SIGTERM to a writer holding a batch: it stops fetching, writes and acknowledges that batch, and exits 0', async () => {
  const stream = 'TERM';
  await publish(configFor(stream), points('term', 'term', 300));
  const writer = await spawnWriter(stream, 'term', { batch_size: '1000', batch_wait: '60s', ack_wait: '2m' });
  try {
    await until('the writer holds all 300', async () => ((await manager.consumers.info(stream, 'writers')).num_ack_pending === 300 ? true : undefined));
    expect((await stored(one, 'monit_production_term', 'term')).size).toBe(0);
    writer.child.kill('SIGTERM');
    expect(await writer.exited).toEqual({ code: 0, signal: null });
    // No other writer runs, and ack_wait is far away: only its own acknowledgements empty the consumer.
    expect(await lag(stream)).toBe(0);
    expect(await stored(one, 'monit_production_term', 'term')).toEqual(expected(300));
  } finally {
    writer.child.kill('SIGKILL');
  }
});

test('an R3 stream on three servers: the node the writer talks to killed, it goes on through another, every point once', async () => {
  const three = await startNatsCluster({ nodes: 3 });
  const publisher = await three.connect();
  const config = Config.parse(configText('REPLICA').replace(`servers = ${cluster.servers.join(', ')}`, `servers = ${three.servers.join(', ')}\nreplicas = 3`), 'REPLICA.cfg');
  const settings = streamSettings(config);
  const threeManager = await publisher.jetstreamManager();
  /** Sends again after a StreamPublishError, as a sender does after a 503: the ids keep each point once. */
  const publishUntilStored = async (batch: StreamPoint[]): Promise<void> => {
    for (let attempt = 1; attempt <= 50; attempt++) {
      const failed = await publishPoints(publisher.jetstream(), settings, batch).then(
        () => false,
        (error: unknown) => {
          if (!(error instanceof StreamPublishError)) throw error;
          return true;
        },
      );
      if (!failed) return;
      await sleep(100);
    }
    throw new Error('the stream never stored the batch');
  };
  let running: RunningWriter | undefined;
  try {
    await ensureStreams(threeManager, settings);
    running = await startWriter(config, three);
    await publishUntilStored(points('replica', 'replica', 500));
    const drained = async (): Promise<true | undefined> => {
      const info = await threeManager.consumers.info('REPLICA', 'writers').catch(() => undefined);
      return info && info.num_pending + info.num_ack_pending === 0 ? true : undefined;
    };
    await until('the first half drained', drained);

    const writerNode = three.nodes.find((node) => node.name === running?.connection.info?.server_name);
    expect(writerNode).toBeDefined();
    await three.kill(writerNode as (typeof three.nodes)[number]);
    await publishUntilStored(points('replica', 'replica', 500, 500));
    await until('the second half drained', drained);
    expect(await stored(one, 'monit_production_replica', 'replica')).toEqual(expected(1000));
    expect(running.connection.info?.server_name).not.toBe(writerNode?.name);
    expect((await threeManager.streams.info('REPLICA')).state.messages).toBe(0);
  } finally {
    await running?.stop();
    await publisher.close();
    await three.stop();
  }
});
