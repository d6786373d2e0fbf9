/**
 * Issue 22, what must be shown, item 1: one of three nats-server nodes killed (kill -9) while senders
 * send 100,000 documents through two gateways on the stream route; every acknowledged document is in
 * InfluxDB exactly once. Real processes on loopback: three nats-servers (a stream of three replicas),
 * two `./run.sh gateway`, two `./run.sh writer`, InfluxDB 1.6, and two real senders with their spools.
 * Spawns dist/cli/main.js: build first (npx tsc -p tsconfig.build.json).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Spool } from '../../lib/delivery/spool';
import { databaseFor } from '../../lib/documents/interpret';
import type { MonitDocument } from '../../lib/documents/types';
import { testSender, type GatewayProcess } from '../support/gateway';
import type { NatsNode } from '../support/nats';
import { useStreamServers } from '../support/fixtures';
import { testDir } from '../support/services';
import { metricTotal, scrapeMetrics, spawnStreamGateway, spawnStreamWriter, streamSection, until, WRITER_CONSUMER, type WriterProcess } from '../support/streamRoute';

jest.setTimeout(600_000);

const STREAM = 'NODEKILL';
const PRODUCER = 'nodekill';
const TYPE = 'point';
const TOTAL = 100_000;
/** Document n has timestamp BASE_MS + n: an hour ago, well inside the raw retention. */
const BASE_MS = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;

const servers = useStreamServers(3);

/** Documents first..first+count-1 of `sender`: document n is the point (sender, BASE_MS + n) with value n and its own _id. */
function documents(sender: string, first: number, count: number): MonitDocument[] {
  return Array.from({ length: count }, (_, offset) => {
    const n = first + offset;
    return { producer: PRODUCER, type: TYPE, timestamp: BASE_MS + n, _id: `${PRODUCER}-${n}`, idb_tags: ['sender'], sender, value: n };
  });
}

/**
 * Every point of TYPE in InfluxDB, read back whole: how many rows there are, and the numbers n of the
 * rows that are exactly the point document n made (its time, value and sender).
 */
async function storedPoints(senderOf: (n: number) => string): Promise<{ rows: number; matching: Set<number>; wrong: string[] }> {
  const matching = new Set<number>();
  const wrong: string[] = [];
  let rows = 0;
  await servers.influx.client.queryPieces(
    `SELECT "value", "sender" FROM "${TYPE}"`,
    (piece) => {
      const columns = piece.columns ?? [];
      const [time, value, sender] = ['time', 'value', 'sender'].map((name) => columns.indexOf(name));
      for (const row of piece.values ?? []) {
        rows++;
        const n = Number(row[value]);
        if (row[time] === BASE_MS + n && row[sender] === senderOf(n) && !matching.has(n)) matching.add(n);
        else if (wrong.length < 5) wrong.push(JSON.stringify(row));
      }
    },
    { database: databaseFor(PRODUCER) },
  );
  return { rows, matching, wrong };
}

test('kill -9 of the stream leader, one node of three, while two senders send 100,000 documents through two gateways: every one acknowledged, in InfluxDB exactly once', async () => {
  const { cluster, influx, manager } = servers;
  const stream = streamSection(STREAM, cluster.servers, 'replicas = 3\npublish_timeout = 5s\n');
  const gateways: GatewayProcess[] = await Promise.all([spawnStreamGateway(influx.url, stream), spawnStreamGateway(influx.url, stream)]);
  const writers: WriterProcess[] = [];
  let killed: NatsNode | undefined;
  try {
    await until('both gateways connected to the stream', async () => {
      const answers = await Promise.all(gateways.map((gateway) => fetch(`${gateway.url}/ping`).then((response) => response.status)));
      return answers.every((status) => status === 200) ? true : undefined;
    });
    expect((await manager.streams.info(STREAM)).config.num_replicas).toBe(3);
    const leaderName = (await manager.streams.info(STREAM)).cluster?.leader;
    const leader = cluster.nodes.find((node) => node.name === leaderName);
    if (!leader) throw new Error(`stream ${STREAM}'s leader ${leaderName} is none of ${cluster.nodes.map((node) => node.name).join(', ')}`);
    // Once the stream exists, one after the other (each makes or updates the R3 consumer). The first one
    // is given only the leader's address: it is connected to the node that dies, and must go on through
    // the others (which its client learns from the cluster).
    writers.push(await spawnStreamWriter(influx.url, streamSection(STREAM, [leader.url], 'replicas = 3\n')));
    writers.push(await spawnStreamWriter(influx.url, stream));

    // Two senders, each with its own spool and gateway, half of the documents each.
    const half = TOTAL / 2;
    const senders = ['a', 'b'].map((name, index) => {
      const spool = new Spool(path.join(testDir(`nodekill-sender-${name}`), 'spool'));
      const sender = testSender(gateways[index].url, spool, { maxBatchDocuments: 1000, concurrency: 2, timeoutMs: 60_000 });
      sender.enqueue(documents(name, index * half, half));
      return { spool, sender };
    });
    const senderOf = (n: number): string => (n < half ? 'a' : 'b');
    const reports = Promise.all(senders.map(({ sender }) => sender.deliver({ deadlineMs: Date.now() + 480_000 })));

    const accepted = async (): Promise<number> => {
      const pages = await Promise.all(gateways.map((gateway) => scrapeMetrics(gateway.url)));
      return pages.reduce((sum, page) => sum + (page.get(`gateway_documents_accepted_total{producer="${PRODUCER}"}`) ?? 0), 0);
    };
    await until('a third of the documents acknowledged', async () => ((await accepted()) >= TOTAL / 3 ? true : undefined));
    // The senders are still at work: the kill falls in the middle of their posts.
    const acceptedBeforeKill = await accepted();
    expect(acceptedBeforeKill).toBeLessThan(TOTAL);
    expect((await manager.streams.info(STREAM)).cluster?.leader).toBe(leader.name);
    const clientsOfKilled = await cluster.clientNames(leader);
    expect(clientsOfKilled).toContain(`monit-writer ${writers[0].process().pid}`);
    killed = leader;
    await cluster.kill(leader);

    // Every document acknowledged by a gateway: the senders sent each 503 again until it was taken, none
    // was refused, and nothing is left in their spools (nor in rejected/).
    for (const report of await reports) expect(report).toMatchObject({ documentsSent: half, documentsRejected: 0, documentsDropped: 0, documentsSpooled: 0 });
    for (const { spool } of senders) {
      expect(spool.list()).toEqual([]);
      expect(readdirSync(spool.rejectedDir)).toEqual([]);
    }
    const gatewayPages = await Promise.all(gateways.map((gateway) => scrapeMetrics(gateway.url)));
    const publishFailures = gatewayPages.reduce((sum, page) => sum + metricTotal(page, 'gateway_stream_publish_failures_total'), 0);
    const duplicates = gatewayPages.reduce((sum, page) => sum + (page.get('gateway_stream_documents_published_total{result="duplicate"}') ?? 0), 0);

    // The killed node comes back, on the same ports and store.
    await cluster.restart(leader);
    killed = undefined;

    // The writers drain the stream; neither stopped on the way (the first lost its server).
    let consumerState = '';
    await until(
      () => `the writers' consumer drained (${consumerState}; writers: ${writers.map((writer) => writer.output()).join('\n---\n')})`,
      async () => {
        const exited = writers.find((writer) => writer.process().exitCode !== null);
        if (exited) throw new Error(`writer ${exited.dir} exited with ${exited.process().exitCode}: ${exited.output()}`);
        const info = await manager.consumers.info(STREAM, WRITER_CONSUMER).catch((error: Error) => error);
        if (info instanceof Error) {
          consumerState = info.message;
          return undefined;
        }
        consumerState = `leader ${info.cluster?.leader}, ${info.num_pending} pending, ${info.num_ack_pending} acknowledgements pending`;
        return info.num_pending + info.num_ack_pending === 0 ? true : undefined;
      },
    );

    // In InfluxDB: 100,000 rows, each exactly the point of one document (its time, value and sender),
    // every document once. A document written twice would not show here (the same point written again
    // overwrites itself): the stream and writer counts below show what was written how often.
    const stored = await storedPoints(senderOf);
    expect(stored.wrong).toEqual([]);
    expect(stored.rows).toBe(TOTAL);
    expect(stored.matching.size).toBe(TOTAL);

    // Each document is one message of the stream, stored once: the stream (made for this test) gave out
    // exactly 100,000 sequence numbers, so no document that a sender sent again after a 503 or a timeout
    // became a second message (JetStream knew its _id). All of them are acknowledged and removed (a work
    // queue), the consumer delivered and acknowledged up to the last, and nothing went to the dead letters.
    expect((await manager.streams.info(STREAM)).state).toMatchObject({ messages: 0, last_seq: TOTAL });
    const consumer = await manager.consumers.info(STREAM, WRITER_CONSUMER);
    expect(consumer).toMatchObject({ num_pending: 0, num_ack_pending: 0, delivered: { stream_seq: TOTAL }, ack_floor: { stream_seq: TOTAL } });
    expect((await manager.streams.info(`${STREAM}_DEAD`)).state.messages).toBe(0);

    // The writers wrote each message at least once, and a message more than once only when it came
    // again: their points_written_total (counted once InfluxDB stored the point and it was acknowledged)
    // is 100,000 plus at most their redeliveries. An acknowledgement lost with the killed node brings its
    // message again after ack_wait, to either writer; written again, it is the same point (see above).
    // Both writers ran from start to end, so their counters cover the whole run.
    for (const writer of writers) expect(writer.process().exitCode).toBeNull();
    const writerPages = await Promise.all(writers.map((writer) => writer.metrics()));
    const written = writerPages.map((page) => metricTotal(page, 'writer_points_written_total'));
    const redeliveries = writerPages.reduce((sum, page) => sum + metricTotal(page, 'writer_redeliveries_total'), 0);
    const writtenTotal = written.reduce((sum, value) => sum + value, 0);
    expect(writtenTotal).toBeGreaterThanOrEqual(TOTAL);
    expect(writtenTotal - TOTAL).toBeLessThanOrEqual(redeliveries);
    // Both took part (they share the consumer).
    for (const count of written) expect(count).toBeGreaterThan(0);

    // The restarted node rejoined the stream's group: it follows the current leader and has its last
    // message. Its sequence numbers and message count are only logged: nats-server 2.9.10 leaves on a
    // replica that was down the messages of a work queue acknowledged in the meantime
    // (nats-io/nats-server#3368), and a killed leader can come back with messages it had stored and the
    // others never got, shifting its sequence numbers (seen here: last_seq 100,730 against 100,000).
    // The stream's leader and the consumer above say what was stored and written.
    const currentLeader = (await manager.streams.info(STREAM)).cluster?.leader;
    let restartedState: { messages: number; last_seq: number } | undefined;
    let seen = '';
    await until(() => `${leader.name} following leader ${currentLeader} of stream ${STREAM} with its last message (every node's stream: ${seen})`, async () => {
      const states = await Promise.all(
        cluster.nodes.map(async (node) => {
          const jsz = await cluster.jsz(node).catch(() => undefined);
          return jsz?.account_details?.flatMap((account) => account.stream_detail ?? []).find((one) => one.name === STREAM);
        }),
      );
      seen = JSON.stringify(states.map((detail, index) => ({ node: cluster.nodes[index].name, leader: detail?.cluster?.leader, state: detail?.state })));
      const restarted = states[cluster.nodes.indexOf(leader)];
      const leading = states[cluster.nodes.findIndex((node) => node.name === currentLeader)];
      if (!restarted || !leading || restarted.cluster?.leader !== currentLeader || restarted.state.last_ts !== leading.state.last_ts) return undefined;
      return (restartedState = restarted.state);
    }, 600);

    console.log(
      `node kill: ${leader.name}, the stream leader, killed after ${acceptedBeforeKill} documents acknowledged, with its clients ${clientsOfKilled.join(', ')}; ` +
        `gateways: ${publishFailures} publish failures, ${duplicates} documents sent again that the stream knew; writers: ${written.join(' + ')} points written, ` +
        `${redeliveries} redeliveries, ${writers.map((writer) => writer.restartsAtStart).join('/')} restarts at start; ${leader.name} restarted: last_seq ${restartedState?.last_seq}, ${restartedState?.messages} messages`,
    );
  } finally {
    await Promise.all([...gateways.map((gateway) => gateway.stop()), ...writers.map((writer) => writer.stop())]);
    if (killed) await cluster.restart(killed);
  }
});
