import { nanos, StringCodec, type NatsConnection, type StreamInfo } from 'nats';
import { startNatsCluster, type NatsCluster, type NatsNode } from './nats';
import { eventually, sleep } from './xrootdServer';

/** Real nats-server processes (JetStream) on loopback: what issue 22's stream route relies on. */
const codec = StringCodec();

/** How often a JetStream request is tried before the test fails: a lost node may cost a leader election first. */
const ATTEMPTS = 60;

/**
 * `request` until it succeeds, pausing between tries; for publishes the message id makes a retried
 * publish that was stored after all count once.
 */
async function untilAnswered<T>(what: string, request: () => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      return await request();
    } catch (error) {
      lastError = error;
      await sleep(200);
    }
  }
  throw new Error(`${what}: no answer in ${ATTEMPTS} attempts: ${String(lastError)}`);
}

/** The messages node's own /jsz reports for `stream` (undefined while it holds no copy of it). */
async function messagesOn(cluster: NatsCluster, node: NatsNode, stream: string): Promise<number | undefined> {
  const jsz = await cluster.jsz(node).catch(() => undefined);
  const details = jsz?.account_details?.flatMap((account) => account.stream_detail ?? []);
  return details?.find((detail) => detail.name === stream)?.state.messages;
}

describe('a 3-node JetStream cluster', () => {
  let cluster: NatsCluster;
  let connection: NatsConnection;
  beforeAll(async () => {
    cluster = await startNatsCluster({ nodes: 3 });
    connection = await cluster.connect();
  }, 120_000);
  afterAll(async () => {
    await connection?.close();
    await cluster?.stop();
  });

  /** An R3 stream `name` on subject `name`.> that drops a message id seen in the last minute. */
  async function createStream(name: string): Promise<void> {
    const manager = await connection.jetstreamManager();
    await manager.streams.add({ name, subjects: [`${name}.>`], num_replicas: 3, duplicate_window: nanos(60_000) });
  }

  it('forms: every node names the same meta leader, one of the three, of a cluster of 3', async () => {
    const answers = await Promise.all(cluster.nodes.map((node) => cluster.jsz(node)));
    const names = cluster.nodes.map((node) => node.name);
    expect(new Set(names).size).toBe(3);
    for (const answer of answers) {
      expect(answer.meta_cluster?.cluster_size).toBe(3);
      expect(answer.meta_cluster?.leader).toBe(answers[0].meta_cluster?.leader);
    }
    expect(names).toContain(answers[0].meta_cluster?.leader);
  });

  it('stores a message id once: the second publish of the same id is acknowledged as a duplicate of the first', async () => {
    await createStream('dedup');
    const manager = await connection.jetstreamManager();
    const info = await manager.streams.info('dedup');
    expect(info.config.num_replicas).toBe(3);
    expect(info.config.duplicate_window).toBe(nanos(60_000));
    // A leader and two replicas, on the three nodes.
    const members = [info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((replica) => replica.name)];
    expect(members.sort()).toEqual(cluster.nodes.map((node) => node.name).sort());

    const js = connection.jetstream();
    const first = await js.publish('dedup.a', codec.encode('one'), { msgID: 'document-1' });
    expect(first).toMatchObject({ stream: 'dedup', seq: 1, duplicate: false });
    const again = await js.publish('dedup.a', codec.encode('one again'), { msgID: 'document-1' });
    expect(again).toMatchObject({ stream: 'dedup', seq: 1, duplicate: true });
    const other = await js.publish('dedup.a', codec.encode('two'), { msgID: 'document-2' });
    expect(other).toMatchObject({ seq: 2, duplicate: false });

    expect((await manager.streams.info('dedup')).state.messages).toBe(2);
    // The first body is the one kept.
    expect(codec.decode((await manager.streams.getMessage('dedup', { seq: 1 })).data)).toBe('one');
  });

  /** The nodes a test killed: the next test starts with all three again, whatever failed. */
  const killed = new Set<NatsNode>();
  async function kill(node: NatsNode): Promise<void> {
    await cluster.kill(node);
    killed.add(node);
  }
  async function restart(node: NatsNode): Promise<void> {
    await cluster.restart(node);
    killed.delete(node);
  }
  afterEach(async () => {
    for (const node of killed) await restart(node);
  });

  /** Stream `name`'s info, asked until JetStream answers (a lost meta leader leaves its API unanswered for a while). */
  async function streamInfo(name: string): Promise<StreamInfo> {
    // jetstreamManager() itself asks JetStream for the account's info: inside the retries too.
    return untilAnswered(`info of stream ${name}`, async () => (await connection.jetstreamManager()).streams.info(name));
  }

  /**
   * With `victim` killed, publishes 20 new ids to stream `name` (retrying each until acknowledged) and
   * restarts it: the stream then holds every id once, and the restarted node's own copy has caught up.
   */
  async function survivesLossOf(name: string, victim: NatsNode, before: number): Promise<void> {
    const js = connection.jetstream();
    const ids = Array.from({ length: 20 }, (_, index) => `${name}-after-${index}`);
    for (const id of ids) {
      const ack = await untilAnswered(`publish of ${id}`, () => js.publish(`${name}.a`, codec.encode(id), { msgID: id, timeout: 1000 }));
      expect(ack.stream).toBe(name);
    }
    const expected = before + ids.length;
    // Retried publishes included, each id is stored once.
    expect((await streamInfo(name)).state).toMatchObject({ messages: expected, first_seq: 1, last_seq: expected });

    await restart(victim);
    // Its own copy, read from its own monitoring port, reaches every message.
    expect(await eventually(async () => ((await messagesOn(cluster, victim, name)) === expected ? expected : undefined), 200)).toBe(expected);
    const replicas = await eventually(async () => {
      const now = (await streamInfo(name)).cluster?.replicas ?? [];
      return now.every((replica) => replica.current && !replica.offline) ? now : undefined;
    }, 200);
    expect(replicas.map((replica) => replica.name)).toHaveLength(2);
    expect((await streamInfo(name)).state.messages).toBe(expected);
  }

  /** Publishes `count` ids to stream `name`, all acknowledged while every node runs. */
  async function publishBefore(name: string, count: number): Promise<void> {
    const js = connection.jetstream();
    for (let index = 0; index < count; index++) {
      expect((await js.publish(`${name}.a`, codec.encode('x'), { msgID: `${name}-before-${index}` })).duplicate).toBe(false);
    }
  }

  it('keeps acknowledging publishes after kill -9 of a replica that is not the leader, and the replica catches up on restart', async () => {
    await createStream('follower');
    await publishBefore('follower', 10);
    const leader = (await streamInfo('follower')).cluster?.leader;
    // The meta leader when it is a replica of the stream: JetStream's API then has to find another one too.
    const metaLeader = (await cluster.jsz(cluster.nodes[0])).meta_cluster?.leader;
    const replicas = cluster.nodes.filter((node) => node.name !== leader);
    expect(replicas).toHaveLength(2);
    const victim = replicas.find((node) => node.name === metaLeader) ?? replicas[0];
    await kill(victim);
    await survivesLossOf('follower', victim, 10);
  }, 180_000);

  it('elects another stream leader after kill -9 of the leader, keeps acknowledging publishes, and the old leader catches up on restart', async () => {
    await createStream('leader');
    await publishBefore('leader', 10);
    const leader = (await streamInfo('leader')).cluster?.leader;
    const victim = cluster.nodes.find((node) => node.name === leader) as NatsNode;
    expect(victim).toBeDefined();
    await kill(victim);
    const elected = await eventually(async () => {
      const now = (await streamInfo('leader')).cluster?.leader;
      return now && now !== leader ? now : undefined;
    }, 200);
    expect(cluster.nodes.map((node) => node.name)).toContain(elected);
    await survivesLossOf('leader', victim, 10);
  }, 180_000);
});

describe('a single JetStream server (R1)', () => {
  let cluster: NatsCluster;
  let connection: NatsConnection;
  beforeAll(async () => {
    cluster = await startNatsCluster({ nodes: 1 });
    connection = await cluster.connect();
  }, 120_000);
  afterAll(async () => {
    await connection?.close();
    await cluster?.stop();
  });

  it('stores, drops a duplicate id, and keeps every acknowledged message across kill -9 and across a clean stop', async () => {
    const [node] = cluster.nodes;
    expect((await cluster.jsz(node)).meta_cluster).toBeUndefined();
    const manager = await connection.jetstreamManager();
    await manager.streams.add({ name: 'single', subjects: ['single.>'], num_replicas: 1, duplicate_window: nanos(60_000) });
    const js = connection.jetstream();
    expect(await js.publish('single.a', codec.encode('one'), { msgID: 'document-1' })).toMatchObject({ seq: 1, duplicate: false });
    expect(await js.publish('single.a', codec.encode('one'), { msgID: 'document-1' })).toMatchObject({ seq: 1, duplicate: true });
    expect((await manager.streams.info('single')).state.messages).toBe(1);
    // Many at once, so that the kill comes right after the last acknowledgement.
    const acks = await Promise.all(Array.from({ length: 500 }, (_, index) => js.publish('single.a', codec.encode('x'), { msgID: `document-more-${index}` })));
    expect(acks.filter((ack) => !ack.duplicate)).toHaveLength(500);

    /** After a restart: the store in its folder is found again, and so are the ids of the duplicate window. */
    const recovered = async (): Promise<void> => {
      await cluster.restart(node);
      expect(await eventually(async () => messagesOn(cluster, node, 'single'), 200)).toBe(501);
      const ack = await untilAnswered('publish after the restart', () => js.publish('single.a', codec.encode('one'), { msgID: 'document-1', timeout: 1000 }));
      expect(ack).toMatchObject({ seq: 1, duplicate: true });
    };
    // The file store has written each message before acknowledging it (no fsync: a process crash loses nothing).
    await cluster.kill(node);
    await recovered();
    await cluster.stop();
    await recovered();
  }, 120_000);
});
