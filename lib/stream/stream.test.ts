import { createHash } from 'node:crypto';
/** [stream]'s streams and publishPoints against a real nats-server with JetStream. */
import type { JetStreamManager, NatsConnection } from 'nats';
import { Config } from '../config/config';
import { connectStream } from './client';
import { startNatsCluster, type NatsCluster } from '../../test/support/nats';
import { MESSAGE_ID_HEADER, PRODUCER_HEADER, producerOfToken, type StreamPoint } from './messages';
import { publishPoints, StreamPublishError } from './publish';
import type { StreamSettings } from './settings';
import { ensureStreams, StreamSetupError } from './streams';

jest.setTimeout(180_000);

let cluster: NatsCluster;
let connection: NatsConnection;
let manager: JetStreamManager;

const settingsFor = (name: string, overrides: Partial<StreamSettings> = {}): StreamSettings => ({
  servers: cluster.servers,
  name,
  subjectPrefix: name.toLowerCase(),
  replicas: 1,
  duplicateWindowMs: 120_000,
  maxAgeMs: 0,
  maxBytes: -1,
  publishTimeoutMs: 5000,
  ...overrides,
});

beforeAll(async () => {
  cluster = await startNatsCluster({ nodes: 1 });
  connection = await cluster.connect();
  manager = await connection.jetstreamManager();
});

afterAll(async () => {
  await connection?.close();
  await cluster?.stop();
});

test('ensureStreams creates the stream (a work queue on <prefix>.>) and <name>_DEAD on <prefix>_dead.>; other limits are kept unless applied', async () => {
  const settings = settingsFor('CREATE');
  expect(await ensureStreams(manager, settings)).toEqual({ created: ['CREATE', 'CREATE_DEAD'], differences: [], updated: [] });
  const stream = (await manager.streams.info('CREATE')).config;
  const dead = (await manager.streams.info('CREATE_DEAD')).config;
  expect([stream.subjects, stream.retention, stream.discard, stream.duplicate_window]).toEqual([['create.>'], 'workqueue', 'new', 120_000 * 1e6]);
  expect([dead.subjects, dead.retention]).toEqual([['create_dead.>'], 'limits']);

  // A start with other limits keeps the stream's and says what differs.
  const other = { ...settings, maxBytes: 1_000_000, duplicateWindowMs: 60_000 };
  const kept = await ensureStreams(manager, other);
  expect(kept.differences.filter((difference) => difference.stream === 'CREATE')).toEqual([
    { stream: 'CREATE', setting: 'duplicate_window', existing: '120000 ms', configured: '60000 ms' },
    { stream: 'CREATE', setting: 'max_bytes', existing: 'unlimited', configured: '1000000' },
  ]);
  expect(kept.updated).toEqual([]);
  expect((await manager.streams.info('CREATE')).config.max_bytes).toBe(-1);

  expect((await ensureStreams(manager, other, { apply: true })).updated).toEqual(['CREATE', 'CREATE_DEAD']);
  const updated = (await manager.streams.info('CREATE')).config;
  expect([updated.max_bytes, updated.duplicate_window]).toEqual([1_000_000, 60_000 * 1e6]);
});

test('more replicas than servers: a StreamSetupError naming the stream and [stream] replicas', async () => {
  await expect(ensureStreams(manager, settingsFor('TOOMANY', { replicas: 3 }))).rejects.toThrow(StreamSetupError);
  // No retry helps: a writer exits at once.
  await expect(ensureStreams(manager, settingsFor('TOOMANY', { replicas: 3 }))).rejects.toHaveProperty('transient', false);
  await expect(ensureStreams(manager, settingsFor('TOOMANY', { replicas: 3 }))).rejects.toThrow(/cannot create stream TOOMANY \(\[stream\] replicas = 3\): ./);
});

test('publishPoints resolves once every message is stored; one published twice is stored once and counted as a duplicate', async () => {
  const settings = settingsFor('PUBLISH');
  await ensureStreams(manager, settings);
  const points: StreamPoint[] = [
    { producer: 'cms.t0', line: 'jobs,site=CERN running=1i 1701790000000', id: 'id-1' },
    { producer: 'cms.t0', line: 'jobs,site=BNL running=2i 1701790000000', id: 'id-2' },
    { producer: 'atlas', line: 'jobs,site=CERN running=3i 1701790000000' },
  ];
  expect(await publishPoints(connection.jetstream(), settings, points)).toEqual({ stored: 3, duplicates: 0 });
  expect(await publishPoints(connection.jetstream(), settings, [points[0], points[2]])).toEqual({ stored: 2, duplicates: 2 });
  expect((await manager.streams.info('PUBLISH')).state.messages).toBe(3);

  const first = await manager.streams.getMessage('PUBLISH', { seq: 1 });
  expect(first.subject).toBe('publish.cms%2Et0');
  expect(producerOfToken(first.subject.split('.')[1])).toBe('cms.t0');
  expect(first.string()).toBe(points[0].line);
  // The _id and a hash of the line: the same document again is a duplicate, the same _id with other values is not.
  expect([first.header.get(MESSAGE_ID_HEADER), first.header.get(PRODUCER_HEADER)]).toEqual([`id-1:${createHash('sha256').update(points[0].line).digest('hex').slice(0, 16)}`, 'cms.t0']);
});

test('many points at once: more than the publishes kept in flight, each stored once', async () => {
  const settings = settingsFor('MANY');
  await ensureStreams(manager, settings);
  const points = Array.from({ length: 3000 }, (_, index) => ({ producer: `p${index % 3}`, line: `m v=${index}i ${1701790000000 + index}` }));
  expect(await publishPoints(connection.jetstream(), settings, points)).toEqual({ stored: 3000, duplicates: 0 });
  const info = await manager.streams.info('MANY', { subjects_filter: '>' });
  expect(info.state.messages).toBe(3000);
  expect(info.state.subjects).toEqual({ 'many.p0': 1000, 'many.p1': 1000, 'many.p2': 1000 });
});

test('no stream for the subject: a StreamPublishError "no_responders", the 503 case', async () => {
  const error = await publishPoints(connection.jetstream(), settingsFor('MISSING'), [{ producer: 'cms', line: 'm v=1i 1' }]).catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(StreamPublishError);
  expect((error as StreamPublishError).reason).toBe('no_responders');
  expect((error as StreamPublishError).message).toContain('stream MISSING did not store the message of cms on missing.cms (no_responders)');
});

test('a full stream (max_bytes) refuses: a StreamPublishError "refused" with JetStream\'s reason, what was stored before stays', async () => {
  const settings = settingsFor('FULL', { maxBytes: 2000 });
  await ensureStreams(manager, settings);
  const points = Array.from({ length: 100 }, (_, index) => ({ producer: 'cms', line: `m v=${index}i ${1701790000000 + index}` }));
  const error = await publishPoints(connection.jetstream(), settings, points).catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(StreamPublishError);
  expect((error as StreamPublishError).reason).toBe('refused');
  expect((error as StreamPublishError).message).toMatch(/maximum bytes exceeded/i);
  const stored = (await manager.streams.info('FULL')).state;
  expect(stored.messages).toBeGreaterThan(0);
  expect(stored.messages).toBeLessThan(100);
});

test('a message over the server\'s max_payload: a StreamPublishError "too_large" naming the point, a refusal of that document', async () => {
  const settings = settingsFor('LARGE');
  await ensureStreams(manager, settings);
  const large = { producer: 'cms', line: `m text="${'x'.repeat(connection.info?.max_payload ?? 0)}" 1701790000000` };
  const error = await publishPoints(connection.jetstream(), settings, [{ producer: 'cms', line: 'm v=1i 1' }, large]).catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(StreamPublishError);
  expect([(error as StreamPublishError).reason, (error as StreamPublishError).index]).toEqual(['too_large', 1]);
});

test('connectStream: from [stream], connected with its streams made, publishing through publishPoints', async () => {
  const config = Config.parse(`[stream]\nservers = ${cluster.servers.join(', ')}\nname = CLIENT\nsubject_prefix = client\n`, 'client.cfg');
  const client = await connectStream(config, 'test gateway');
  try {
    expect(await client.publish([{ producer: 'cms', line: 'm v=1i 1', id: 'one' }])).toEqual({ stored: 1, duplicates: 0 });
    expect((await manager.streams.info('CLIENT')).state.messages).toBe(1);
    expect((await manager.streams.info('CLIENT_DEAD')).config.subjects).toEqual(['client_dead.>']);
  } finally {
    await client.close();
  }
});

describe('a stream of three replicas on three servers', () => {
  let three: NatsCluster;
  let client: NatsConnection;

  beforeAll(async () => {
    three = await startNatsCluster({ nodes: 3 });
    client = await three.connect();
  });

  afterAll(async () => {
    await client?.close();
    await three?.stop();
  });

  test('one follower killed: every point is stored (a majority), once; two: publishPoints rejects with a StreamPublishError, the 503 case', async () => {
    const settings = { ...settingsFor('REPLICATED', { replicas: 3, publishTimeoutMs: 2000 }), servers: three.servers };
    const threeManager = await client.jetstreamManager();
    await ensureStreams(threeManager, settings);
    const batch = (first: number): StreamPoint[] => Array.from({ length: 100 }, (_, offset) => ({ producer: 'cms', line: `m v=${first + offset}i ${1701790000000 + first + offset}` }));
    expect(await publishPoints(client.jetstream(), settings, batch(0))).toEqual({ stored: 100, duplicates: 0 });

    const leader = (await threeManager.streams.info('REPLICATED')).cluster?.leader;
    const followers = three.nodes.filter((node) => node.name !== leader);
    expect(followers).toHaveLength(2);
    await three.kill(followers[0]);
    // A publish under way while the client reconnects may time out: the sender sends again (the gateway answered 503), as here.
    let result: Awaited<ReturnType<typeof publishPoints>> | undefined;
    for (let attempt = 1; attempt <= 20 && !result; attempt++) {
      result = await publishPoints(client.jetstream(), settings, batch(100)).catch((error: unknown) => {
        if (!(error instanceof StreamPublishError)) throw error;
        return undefined;
      });
    }
    expect(result?.stored).toBe(100);
    // The ids made of producer and line: what a failed attempt stored is not stored again.
    expect((await threeManager.streams.info('REPLICATED')).state.messages).toBe(200);

    await three.kill(followers[1]);
    const error = await publishPoints(client.jetstream(), settings, batch(200)).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(StreamPublishError);
    expect(['timeout', 'no_responders']).toContain((error as StreamPublishError).reason);
  });
});
