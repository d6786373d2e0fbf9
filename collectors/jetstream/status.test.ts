/**
 * The shipped rule of collectors/jetstream/status.cfg on the collector's documents: each run made by the
 * real job runner against a real nats-server, delivered through the gateway into a real InfluxDB with its
 * heartbeat, and judged as the status job judges it.
 */
import { Config } from '../../lib/config/config';
import { databaseFor } from '../../lib/documents/interpret';
import { DocumentFactory } from '../../lib/documents/document';
import { deadLetterPrefix, type StreamPoint } from '../../lib/stream/messages';
import { packetStreamName } from '../../lib/stream/packetStreams';
import { publishPoints } from '../../lib/stream/publish';
import { streamSettings } from '../../lib/stream/settings';
import { ensureStreams } from '../../lib/stream/streams';
import { runPeriodicJob } from '../../lib/run/jobRunner';
import { TEN_MINUTES_MS } from '../../lib/run/slot';
import { useInfluxAndGateway } from '../../test/support/fixtures';
import { TEST_TOKEN } from '../../test/support/gateway';
import { startNatsCluster, type NatsCluster } from '../../test/support/nats';
import { freePort } from '../../test/support/ports';
import { testDir } from '../../test/support/services';
import { evaluateModules } from '../../status/job';
import { loadStatusSettings } from '../../status/settings';
import { JETSTREAM_STREAM, MONIT_COLLECTORS_RUN } from '../../schemas/kinds';
import collector from './collector';

jest.setTimeout(300_000);

const servers = useInfluxAndGateway();
let cluster: NatsCluster;

beforeAll(async () => {
  cluster = await startNatsCluster({ nodes: 1 });
});

afterAll(async () => {
  await cluster?.stop();
});

/** The rule's threshold on the writers' lag (status.cfg: latest(messages) > 100000). */
const LAG_THRESHOLD = 100_000;

function configText(stream: string, natsServers: string[] = cluster.servers): string {
  return [
    `[paths]\nvar = ${testDir(`jetstream-status-${stream}`)}`,
    `[monit]\nurl = ${servers.gateway.url}/\ntoken = ${TEST_TOKEN}`,
    `[influxdb]\nurl = ${servers.influx.url}`,
    `[stream]\nservers = ${natsServers.join(', ')}\nname = ${stream}\nsubject_prefix = ${stream.toLowerCase()}`,
    '[jetstream]\ntimeout = 5s',
  ].join('\n');
}

/** The documents of `stream` so far dropped, so that each test judges only its own. */
async function freshDatabases(): Promise<void> {
  await servers.influx.client.query(`DROP DATABASE "${databaseFor(JETSTREAM_STREAM.producer)}"`);
  for (const producer of [JETSTREAM_STREAM.producer, MONIT_COLLECTORS_RUN.producer]) await servers.influx.client.ensureDatabase(databaseFor(producer), { raw: 'INF', '1h': 'INF', '1d': 'INF' });
}

/** One run of the jetstream job in the current slot under the real runner, then the jetstream module's state. */
async function runAndJudge(text: string, run = collector.collect.bind(collector)): Promise<{ ok: boolean; state: string; reason: string }> {
  const config = Config.parse(text, 'jetstream-status.test.cfg');
  const slotMs = Math.floor(Date.now() / TEN_MINUTES_MS) * TEN_MINUTES_MS;
  const delivery = await runPeriodicJob({ name: 'jetstream', periodMs: TEN_MINUTES_MS, run }, { config, deadlineMs: 60_000, timeMs: slotMs, echoLog: false });
  const statuses = await evaluateModules(servers.influx.client, loadStatusSettings(config), Date.now());
  const module = statuses.find((status) => status.module === 'jetstream');
  if (!module) throw new Error('no jetstream module among the shipped rules');
  return { ok: delivery.ok, state: module.state, reason: module.reason };
}

const points = (count: number, first = 0): StreamPoint[] =>
  Array.from({ length: count }, (_, offset) => ({ producer: 'lag', line: `lag v=${first + offset}i ${Date.UTC(2026, 11, 1) + first + offset}`, id: `lag-${first + offset}` }));

test('a backlog of exactly the threshold is available; one message more is degraded by the writers\' lag', async () => {
  await freshDatabases();
  const text = configText('LAGGING');
  const settings = streamSettings(Config.parse(text, 'lagging.cfg'));
  const connection = await cluster.connect();
  try {
    await ensureStreams(await connection.jetstreamManager(), settings);
    await publishPoints(connection.jetstream(), settings, points(LAG_THRESHOLD));
    // No writer has started: a problem (its consumer is missing), not a failure.
    expect(await runAndJudge(text)).toEqual({ ok: true, state: 'available', reason: expect.any(String) });
    await publishPoints(connection.jetstream(), settings, points(1, LAG_THRESHOLD));
    expect(await runAndJudge(text)).toEqual({ ok: true, state: 'degraded', reason: `writers' lag: ${LAG_THRESHOLD + 1} messages of stream LAGGING not written yet` });
  } finally {
    await connection.close();
  }
});

test('dead letters new since the previous run turn the module degraded for that run only', async () => {
  await freshDatabases();
  const text = configText('LETTERS');
  const settings = streamSettings(Config.parse(text, 'letters.cfg'));
  const connection = await cluster.connect();
  try {
    await ensureStreams(await connection.jetstreamManager(), settings);
    const deadLetter = (): Promise<unknown> => connection.jetstream().publish(`${deadLetterPrefix(settings.subjectPrefix)}.lag`, new TextEncoder().encode('lag v="a"'));
    await deadLetter();
    // The first run has no previous sequence: one held, none counted as new.
    expect(await runAndJudge(text)).toMatchObject({ ok: true, state: 'available' });
    await deadLetter();
    await deadLetter();
    expect(await runAndJudge(text)).toEqual({ ok: true, state: 'degraded', reason: '2 new dead letters in stream LETTERS (3 held): InfluxDB refused them' });
    expect(await runAndJudge(text)).toMatchObject({ ok: true, state: 'available' });
  } finally {
    await connection.close();
  }
});

test('an offline replica turns the module degraded', async () => {
  await freshDatabases();
  const text = configText('REPLICAS');
  // The collector's replica counts on three servers are checked in jetstream.test.ts; here the rule on such a document.
  const document = (factory: DocumentFactory) =>
    factory.build(JETSTREAM_STREAM, { stream: 'REPLICAS' }, { messages: 10, bytes: 1000, first_seq: 1, last_seq: 10, consumers: 1, replicas: 3, replicas_current: 2, replicas_lagging: 0, replicas_offline: 1, leader: 'nats-1' });
  expect(await runAndJudge(text, async (context) => [document(context.documents)])).toEqual({ ok: true, state: 'degraded', reason: '1 of 3 replicas of stream REPLICAS offline' });
});

test('the XRootD packet stream\'s backlog is not the writers\' lag: above the threshold it leaves the module available', async () => {
  await freshDatabases();
  const text = configText('PACKETS');
  const settings = streamSettings(Config.parse(text, 'packets.cfg'));
  const stream = (factory: DocumentFactory, name: string, messages: number, deadLetters?: number) =>
    factory.build(JETSTREAM_STREAM, { stream: name }, { messages, bytes: 1000, first_seq: 1, last_seq: messages, consumers: 1, replicas: 1, replicas_current: 1, replicas_lagging: 0, replicas_offline: 0, dead_letters: deadLetters });
  // As the collector reports them: the document stream with its dead letters, the packet stream without.
  const packetBacklog = (factory: DocumentFactory) => [stream(factory, settings.name, 10, 0), stream(factory, packetStreamName(settings), LAG_THRESHOLD + 1)];
  expect(await runAndJudge(text, async (context) => packetBacklog(context.documents))).toMatchObject({ ok: true, state: 'available' });
  // The same backlog on the document stream is the writers' lag.
  const documentBacklog = (factory: DocumentFactory) => [stream(factory, settings.name, LAG_THRESHOLD + 1, 0), stream(factory, packetStreamName(settings), 10)];
  expect(await runAndJudge(text, async (context) => documentBacklog(context.documents))).toEqual({ ok: true, state: 'degraded', reason: `writers' lag: ${LAG_THRESHOLD + 1} messages of stream PACKETS not written yet` });
});

test('no NATS server listening: the run fails, and the module is unavailable with the collector\'s message', async () => {
  await freshDatabases();
  const port = await freePort();
  const judged = await runAndJudge(configText('DOWN', [`nats://127.0.0.1:${port}`]));
  expect(judged).toMatchObject({ ok: false, state: 'unavailable' });
  expect(judged.reason).toContain(`JetStream at nats://127.0.0.1:${port}: connecting failed (refused)`);
});
