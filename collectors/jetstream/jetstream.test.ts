/**
 * The jetstream collector against real nats-server processes: the stream, its dead letters and the
 * writers' consumer as the test made them, a stream or consumer that does not exist, a server down,
 * and on three servers a replica killed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, nanos, type JsMsg, type NatsConnection, type PeerInfo } from 'nats';
import { Config } from '../../lib/config/config';
import { SourceFailure } from '../../lib/documents/failures';
import type { MonitDocument } from '../../lib/documents/types';
import { influxInstances } from '../../lib/influx/instances';
import { collectedDocuments } from '../../lib/run/collector';
import { MemoryLogger } from '../../lib/run/log';
import { deadLetterPrefix, type StreamPoint } from '../../lib/stream/messages';
import { publishPoints } from '../../lib/stream/publish';
import { streamSettings } from '../../lib/stream/settings';
import { connectPacketStream, packetConsumer, packetConsumerName, packetStreamName, packetSubject } from '../../lib/stream/packetStreams';
import { ensureConsumers, ensureStreams } from '../../lib/stream/streams';
import { collectorContext } from '../../test/support/collectorContext';
import { startNatsCluster, type NatsCluster } from '../../test/support/nats';
import { freePort } from '../../test/support/ports';
import { readmeDisagreements } from '../../test/support/readme';
import { testDir } from '../../test/support/services';
import { eventually, sleep } from '../../test/support/xrootdServer';
import { writerSettings } from '../../writer/settings';
import { Writer } from '../../writer/writer';
import { JETSTREAM_CONSUMER, JETSTREAM_STREAM } from '../../schemas/kinds';
import collector from './collector';
import { natsFailureClass } from '../../lib/stream/failures';
import { OFFLINE_AFTER_MS, replicaCounts } from '../../lib/stream/replicas';

jest.setTimeout(300_000);

let cluster: NatsCluster;
let connection: NatsConnection;

beforeAll(async () => {
  cluster = await startNatsCluster({ nodes: 1 });
  connection = await cluster.connect();
});

afterAll(async () => {
  await connection?.close();
  await cluster?.stop();
});

/** A config of its own stream; [writer] sets no consumer, so the writers' default name is used. [influxdb] is never reached. */
function configText(stream: string, servers: string[] = cluster.servers, extra = ''): string {
  return `[stream]\nservers = ${servers.join(', ')}\nname = ${stream}\nsubject_prefix = ${stream.toLowerCase()}\n${extra}[writer]\nack_wait = 2s\n[influxdb]\nurl = http://127.0.0.1:9\n[jetstream]\ntimeout = 5s\n`;
}

interface Run {
  documents: MonitDocument[];
  problems: string[];
}

/** One run of the collector, its commit done as the runner does once the documents are spooled. */
async function collect(text: string, stateDir: string): Promise<Run> {
  const context = collectorContext('jetstream', text, { stateDir });
  const result = await collector.collect(context);
  if (!Array.isArray(result)) await result.commit?.();
  return { documents: collectedDocuments(result), problems: context.problems };
}

const ofType = (run: Run, type: string): MonitDocument | undefined => run.documents.find((document) => document.type === type);

const points = (count: number): StreamPoint[] =>
  Array.from({ length: count }, (_, index) => ({ producer: 'activity', line: `activity,k=${index} v=${index}i ${Date.UTC(2026, 11, 1) + index}`, id: `activity-${index}` }));

/** The stream's bytes as the server's monitoring port reports them: another path than the JetStream API the collector asks. */
async function monitoredBytes(stream: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${cluster.nodes[0].monitorPort}/jsz?streams=true`);
  const jsz = (await response.json()) as { account_details?: Array<{ stream_detail?: Array<{ name: string; state: { bytes: number } }> }> };
  const detail = (jsz.account_details ?? []).flatMap((account) => account.stream_detail ?? []).find((one) => one.name === stream);
  if (!detail) throw new Error(`/jsz lists no stream ${stream}`);
  return detail.state.bytes;
}

/** Fetches up to `count` messages of the writers' consumer, as a writer does. */
async function fetchMessages(stream: string, consumer: string, count: number): Promise<JsMsg[]> {
  const batch = await (await connection.jetstream().consumers.get(stream, consumer)).fetch({ max_messages: count, expires: 2000 });
  const messages: JsMsg[] = [];
  for await (const message of batch) messages.push(message);
  return messages;
}

test('the stream, its dead letters and the writers\' consumer: each figure as the test made it', async () => {
  const stream = 'ACTIVITY';
  const text = configText(stream);
  const config = Config.parse(text, 'activity.cfg');
  const settings = streamSettings(config);
  const manager = await connection.jetstreamManager();
  const stateDir = testDir('jetstream-state');
  await ensureStreams(manager, settings);
  await publishPoints(connection.jetstream(), settings, points(250));

  // No writer yet: the stream and its backlog, no consumer (a problem), no dead letter.
  const first = await collect(text, stateDir);
  expect(first.problems).toEqual([expect.stringMatching(/stream ACTIVITY has no consumer monit-writer: no writer \(\[writer\] consumer\) has started yet/)]);
  expect(first.documents.map((document) => document.type)).toEqual([JETSTREAM_STREAM.type]);
  expect(ofType(first, 'stream')).toMatchObject({
    producer: 'jetstream',
    stream,
    messages: 250,
    bytes: await monitoredBytes(stream),
    first_seq: 1,
    last_seq: 250,
    consumers: 0,
    replicas: 1,
    replicas_current: 1,
    replicas_lagging: 0,
    replicas_offline: 0,
    dead_letters: 0,
  });
  // A single server has no cluster, hence no leader; the first run has no previous dead-letter sequence.
  expect(ofType(first, 'stream')).not.toHaveProperty('leader');
  expect(ofType(first, 'stream')).not.toHaveProperty('dead_letters_new');

  // The consumer made as the writer makes it; 100 fetched, the first 60 acknowledged.
  const writer = new Writer({ connection, stream: settings, settings: writerSettings(config), instances: influxInstances(config), log: new MemoryLogger('writer') });
  await writer.prepare();
  const fetched = await fetchMessages(stream, 'monit-writer', 100);
  expect(fetched.map((message) => message.seq)).toEqual(Array.from({ length: 100 }, (_, index) => index + 1));
  await Promise.all(fetched.slice(0, 60).map((message) => message.ackAck()));
  // Past ack_wait (2s) the 40 others come again: fetched a second time, not acknowledged.
  await sleep(2500);
  const again = await fetchMessages(stream, 'monit-writer', 40);
  expect(again.map((message) => [message.seq, message.info.redeliveryCount])).toEqual(Array.from({ length: 40 }, (_, index) => [61 + index, 2]));
  // Three dead letters, as a writer publishes them.
  for (const index of [1, 2, 3]) await connection.jetstream().publish(`${deadLetterPrefix(settings.subjectPrefix)}.activity`, new TextEncoder().encode(`dead ${index}`));

  const second = await collect(text, stateDir);
  expect(second.problems).toEqual([]);
  // A work queue drops what was acknowledged: 250 - 60 held, which is the consumer's pending plus ack pending.
  expect(ofType(second, 'stream')).toMatchObject({ messages: 190, first_seq: 61, last_seq: 250, consumers: 1, bytes: await monitoredBytes(stream), dead_letters: 3, dead_letters_new: 3 });
  expect(ofType(second, 'stream')?.dead_letter_bytes).toBe(await monitoredBytes(`${stream}_DEAD`));
  expect(ofType(second, 'consumer')).toEqual(
    expect.objectContaining({ producer: 'jetstream', type: JETSTREAM_CONSUMER.type, stream, consumer: 'monit-writer', pending: 150, ack_pending: 40, lag: 190, redelivered: 40, waiting: 0, delivered_seq: 100, ack_floor_seq: 60 }),
  );

  // Everything acknowledged, and a writer's pull request waiting: no lag, one waiting, no new dead letter.
  await Promise.all(again.map((message) => message.ackAck()));
  const rest = await fetchMessages(stream, 'monit-writer', 150);
  await Promise.all(rest.map((message) => message.ackAck()));
  const waiting = await (await connection.jetstream().consumers.get(stream, 'monit-writer')).fetch({ max_messages: 10, expires: 30_000 });
  const drained = (async (): Promise<number> => {
    let count = 0;
    for await (const message of waiting) count += message.seq > 0 ? 1 : 0;
    return count;
  })();
  try {
    await eventually(async () => ((await manager.consumers.info(stream, 'monit-writer')).num_waiting === 1 ? true : undefined));
    const third = await collect(text, stateDir);
    expect(ofType(third, 'stream')).toMatchObject({ messages: 0, first_seq: 251, last_seq: 250, bytes: 0, dead_letters: 3, dead_letters_new: 0 });
    expect(ofType(third, 'consumer')).toMatchObject({ pending: 0, ack_pending: 0, lag: 0, redelivered: 0, waiting: 1, delivered_seq: 250, ack_floor_seq: 250 });
  } finally {
    waiting.stop();
  }
  expect(await drained).toBe(0);
});

test('the XRootD packet stream and its accounting consumers: a document each, with their own stream tag', async () => {
  const stream = 'PACKETS';
  const text = configText(stream);
  const config = Config.parse(text, 'packets.cfg');
  const settings = streamSettings(config);
  await ensureStreams(await connection.jetstreamManager(), settings);
  // Made as a receiver with `queue = stream` makes it; the summary accounting job's consumer only.
  const packets = await connectPacketStream(config, 'jetstream test receiver');
  try {
    const manager = await packets.connection.jetstreamManager();
    await ensureConsumers(manager, settings, [packetConsumer(settings, 'summary', 60_000)]);
    const publish = (kind: 'summary' | 'detailed', count: number): Promise<unknown[]> =>
      Promise.all(Array.from({ length: count }, (_, index) => packets.connection.jetstream().publish(packetSubject(settings, kind, 'receiver-1'), new Uint8Array(index + 1))));
    await publish('summary', 5);
    await publish('detailed', 3);
    // Two summary messages read and acknowledged, as an accounting run does: the work queue drops them.
    const summary = await fetchMessages(packetStreamName(settings), packetConsumerName('summary'), 2);
    expect(summary.map((message) => message.seq)).toEqual([1, 2]);
    await Promise.all(summary.map((message) => message.ackAck()));

    const first = await collect(text, testDir('jetstream-packets'));
    const named = (type: string, tags: Record<string, string>): MonitDocument | undefined =>
      first.documents.find((document) => document.type === type && Object.entries(tags).every(([tag, value]) => document[tag] === value));
    expect(first.documents.map((document) => [document.type, document.stream, document.consumer])).toEqual([
      [JETSTREAM_STREAM.type, stream, undefined],
      [JETSTREAM_STREAM.type, `${stream}_XROOTD`, undefined],
      [JETSTREAM_CONSUMER.type, `${stream}_XROOTD`, 'xrootd-summary'],
    ]);
    const packetStream = named(JETSTREAM_STREAM.type, { stream: `${stream}_XROOTD` });
    // 8 published, 2 acknowledged; the detailed kind has no consumer yet.
    expect(packetStream).toMatchObject({ messages: 6, first_seq: 3, last_seq: 8, consumers: 1, replicas: 1, replicas_current: 1, replicas_offline: 0, bytes: await monitoredBytes(`${stream}_XROOTD`) });
    // Dead letters belong to the document stream only.
    expect(packetStream).not.toHaveProperty('dead_letters');
    expect(named(JETSTREAM_STREAM.type, { stream })).toMatchObject({ messages: 0, dead_letters: 0 });
    // The consumer filters its kind's subjects: 3 summary messages left, none of the detailed.
    expect(named(JETSTREAM_CONSUMER.type, { consumer: 'xrootd-summary' })).toMatchObject({ pending: 3, ack_pending: 0, lag: 3, redelivered: 0, delivered_seq: 2, ack_floor_seq: 2 });
    // The writers' consumer is missing, as before; a missing accounting consumer is not a problem of this run.
    expect(first.problems).toEqual([expect.stringContaining(`stream ${stream} has no consumer monit-writer`)]);

    await ensureConsumers(manager, settings, [packetConsumer(settings, 'detailed', 60_000)]);
    const second = await collect(text, testDir('jetstream-packets'));
    expect(second.documents.filter((document) => document.type === JETSTREAM_CONSUMER.type).map((document) => [document.consumer, document.pending])).toEqual([
      ['xrootd-summary', 3],
      ['xrootd-detailed', 3],
    ]);
  } finally {
    await packets.connection.close();
  }
});

test('the new dead letters count from the last run whose documents were spooled; a dry run keeps nothing', async () => {
  const stream = 'DEADLY';
  const text = configText(stream);
  const settings = streamSettings(Config.parse(text, 'deadly.cfg'));
  await ensureStreams(await connection.jetstreamManager(), settings);
  const stateDir = testDir('jetstream-dead-state');
  const deadLetter = (): Promise<unknown> => connection.jetstream().publish(`${deadLetterPrefix(settings.subjectPrefix)}.x`, new TextEncoder().encode('refused'));
  await deadLetter();
  expect(ofType(await collect(text, stateDir), 'stream')).not.toHaveProperty('dead_letters_new');
  await deadLetter();
  await deadLetter();
  // A run that never reached the spool (no commit) counts nothing.
  const uncommitted = collectorContext('jetstream', text, { stateDir });
  expect(ofType({ documents: collectedDocuments(await collector.collect(uncommitted)), problems: [] }, 'stream')).toMatchObject({ dead_letters: 3, dead_letters_new: 2 });
  const dry = collectorContext('jetstream', text, { stateDir, dryRun: true });
  const dryResult = await collector.collect(dry);
  if (!Array.isArray(dryResult)) await dryResult.commit?.();
  await deadLetter();
  expect(ofType(await collect(text, stateDir), 'stream')).toMatchObject({ dead_letters: 4, dead_letters_new: 3 });
  expect(JSON.parse(readFileSync(path.join(stateDir, 'dead-letters.json'), 'utf8'))).toEqual({ DEADLY_DEAD: 4 });
  expect(ofType(await collect(text, stateDir), 'stream')).toMatchObject({ dead_letters: 4, dead_letters_new: 0 });
});

test('a stream that does not exist fails the run (not_found), and is not made', async () => {
  const text = configText('NEVER_MADE');
  const failure = await collect(text, testDir('jetstream-never')).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(SourceFailure);
  expect(failure).toMatchObject({ failureClass: 'not_found', message: expect.stringContaining(`JetStream at ${cluster.servers[0]}: stream NEVER_MADE does not exist`) });
  const names: string[] = [];
  for await (const name of (await connection.jetstreamManager()).streams.names()) names.push(name);
  expect(names).not.toContain('NEVER_MADE');
});

test('no server listening: the run fails with refused, naming the servers', async () => {
  const port = await freePort();
  const failure = await collect(configText('ACTIVITY', [`nats://127.0.0.1:${port}`]), testDir('jetstream-down')).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(SourceFailure);
  expect(failure).toMatchObject({ failureClass: 'refused', message: expect.stringMatching(new RegExp(`^JetStream at nats://127\\.0\\.0\\.1:${port}: connecting failed \\(refused\\): `)) });
});

test('three servers, an R3 stream: all current; one follower killed counts as offline, named in a problem', async () => {
  const three = await startNatsCluster({ nodes: 3 });
  const client = await three.connect();
  try {
    const text = configText('REPLICATED', three.servers, 'replicas = 3\n');
    await ensureStreams(await client.jetstreamManager(), streamSettings(Config.parse(text, 'replicated.cfg')));
    const stateDir = testDir('jetstream-replicated');
    // While a leader is being elected (the stream just made, on a loaded machine) JetStream may not answer in time: asked again.
    const collectAnswered = (): Promise<Run | undefined> =>
      collect(text, stateDir).catch((error: unknown) => {
        if (error instanceof SourceFailure && error.failureClass === 'timeout') return undefined;
        throw error;
      });
    const healthy = await eventually(async () => {
      const document = ofType((await collectAnswered()) ?? { documents: [], problems: [] }, 'stream');
      return document?.replicas_current === 3 ? document : undefined;
    });
    expect(healthy).toMatchObject({ replicas: 3, replicas_current: 3, replicas_lagging: 0, replicas_offline: 0 });
    const leader = healthy.leader as string;
    expect(three.nodes.map((node) => node.name)).toContain(leader);

    // Neither the stream's leader nor JetStream's meta leader: the stream and the API answer on without an election.
    const metaLeader = (await three.jsz(three.nodes[0])).meta_cluster?.leader;
    const victim = three.nodes.find((node) => node.name !== leader && node.name !== metaLeader) as (typeof three.nodes)[number];
    await three.kill(victim);
    const degraded = await eventually(async () => {
      const run = await collectAnswered();
      return run && ofType(run, 'stream')?.replicas_offline === 1 ? run : undefined;
    });
    expect(ofType(degraded, 'stream')).toMatchObject({ replicas: 3, replicas_current: 2, replicas_lagging: 0, replicas_offline: 1, leader });
    // No writer ever ran on these servers: its consumer is missing too.
    expect(degraded.problems).toEqual([expect.stringContaining('stream REPLICATED has no consumer monit-writer'), `stream REPLICATED: 1 of its 3 replicas offline (${victim.name})`]);

    // Two of three down: no leader, JetStream's API answers 503 (no responders) or nothing; either is the README's timeout.
    await three.kill(three.nodes.find((node) => node !== victim && node.name !== leader) as (typeof three.nodes)[number]);
    const leaderless = await collect(text, stateDir).catch((error: unknown) => error);
    expect(leaderless).toBeInstanceOf(SourceFailure);
    expect(leaderless).toMatchObject({ failureClass: 'timeout', message: expect.stringMatching(/^JetStream at .*: .* failed \(timeout\): /) });
  } finally {
    await client.close();
    await three.stop();
  }
});

test('replicas by state: the leader current; a follower behind but heard from lagging; silent for OFFLINE_AFTER_MS, or said offline, offline', () => {
  const peer = (name: string, current: boolean, activeMs: number, offline = false): PeerInfo => ({ name, current, active: nanos(activeMs), lag: 0, offline });
  expect(replicaCounts(undefined)).toEqual({ current: 1, lagging: 0, offline: 0, offlineNames: [] });
  expect(replicaCounts({ leader: 'a', replicas: [peer('b', true, 200), peer('c', true, 900)] })).toEqual({ current: 3, lagging: 0, offline: 0, offlineNames: [] });
  expect(replicaCounts({ leader: 'a', replicas: [peer('b', false, 300), peer('c', false, OFFLINE_AFTER_MS - 1)] })).toEqual({ current: 1, lagging: 2, offline: 0, offlineNames: [] });
  expect(replicaCounts({ leader: 'a', replicas: [peer('b', false, OFFLINE_AFTER_MS), peer('c', true, 100, true), peer('d', true, 100), peer('e', false, 50)] })).toEqual({ current: 2, lagging: 1, offline: 2, offlineNames: ['b', 'c'] });
});

test('a request nothing answers (503, no responders, as JetStream without a leader answers) is classed timeout', async () => {
  const noResponders = await connection.request('jetstream.test.nobody.listens', undefined, { timeout: 5000 }).catch((error: unknown) => error);
  // A real server's answer: 503 at once, not the client's timeout.
  expect(noResponders).toMatchObject({ code: ErrorCode.NoResponders });
  expect(natsFailureClass(noResponders)).toBe('timeout');
});

test('[jetstream] without [stream], or [stream] without servers: the run fails naming the key', async () => {
  for (const text of ['[jetstream]\n', '[stream]\n[jetstream]\n']) {
    await expect(collector.collect(collectorContext('jetstream', text, { stateDir: testDir('jetstream-no-stream') }))).rejects.toThrow('jetstream.test.cfg: [stream] servers is missing');
  }
});

test('sample.cfg, uncommented, is its default; the README shows it as it is', () => {
  const sample = readFileSync(path.join(__dirname, 'sample.cfg'), 'utf8');
  const uncommented = sample.replace(/^;(?=\[|\w+ = )/gm, '');
  expect(uncommented).not.toBe(sample);
  expect(Config.parse(uncommented, 'sample.cfg').section('jetstream').duration('timeout')).toBe(10_000);
  expect(readFileSync(path.join(__dirname, 'README.md'), 'utf8')).toContain(sample);
});

test('the README lists every tag and field of the schemas', () => {
  expect(readmeDisagreements(path.join(__dirname, 'README.md'), [JETSTREAM_STREAM, JETSTREAM_CONSUMER])).toEqual([]);
});
