/**
 * A writer whose nats-server is killed (kill -9) while it writes a batch to InfluxDB: it must go on,
 * not exit. What nodeKill.e2e.test.ts meets by chance, made certain here: the writer's InfluxDB answer
 * is held until the server is dead, so that its acknowledgements and their flush fall while it is
 * disconnected. Spawns dist/cli/main.js: build first (npx tsc -p tsconfig.build.json).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { NatsConnection } from 'nats';
import { Config } from '../../lib/config/config';
import type { StreamPoint } from '../../lib/stream/messages';
import { publishPoints } from '../../lib/stream/publish';
import { streamSettings } from '../../lib/stream/settings';
import { ensureStreams } from '../../lib/stream/streams';
import { useStreamServers } from '../support/fixtures';
import { consumerLag, heldWritesProxy, metricTotal, spawnStreamWriter, streamSection, until, type HeldWritesProxy, type WriterProcess } from '../support/streamRoute';

jest.setTimeout(300_000);

const STREAM = 'HELD';
const PRODUCER = 'held';
const COUNT = 300;
const BASE_MS = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;

const servers = useStreamServers(1);

test('the nats-server of a writer killed while the writer writes a batch: the writer goes on, and once the server is back every point is stored once, nothing pending', async () => {
  const { cluster, influx, manager } = servers;
  const stream = streamSection(STREAM, cluster.servers);
  const points: StreamPoint[] = Array.from({ length: COUNT }, (_, n) => ({ producer: PRODUCER, line: `held,k=${n} v=${n}i ${BASE_MS + n}`, id: `${PRODUCER}-${n}` }));
  const publisher: NatsConnection = await cluster.connect();
  try {
    const settings = streamSettings(Config.parse(stream, 'held.cfg'));
    await ensureStreams(await publisher.jetstreamManager(), settings);
    await publishPoints(publisher.jetstream(), settings, points);
  } finally {
    await publisher.close();
  }
  const proxy: HeldWritesProxy = await heldWritesProxy(influx.port);
  let writer: WriterProcess | undefined;
  try {
    // One batch of everything, written through the proxy; ack_wait short, so what it held comes again soon.
    writer = await spawnStreamWriter(proxy.url, stream, { batch_size: '1000', ack_wait: '3s' });
    const started = writer;
    await until(() => `the writer's batch written and its answer held (writer: ${started.output()})`, async () => (proxy.held() > 0 ? true : undefined));
    const [node] = cluster.nodes;
    await cluster.kill(node);
    // InfluxDB stored the batch; the writer learns it now, acknowledges and flushes while its server is dead.
    proxy.release();
    // It says so and goes on. (Before, the rejected flush stopped it: "ERROR [writer] DISCONNECT", then
    // it hung closing its connection to the dead server.)
    const log = (): string => readFileSync(path.join(started.dir, 'log', 'writer.log'), 'utf8');
    await until(
      () => `the writer telling its acknowledgements may be lost (writer: ${started.output()})`,
      async () => (started.process().exitCode !== null || /may not have reached the stream|ERROR/.test(log()) ? true : undefined),
    );
    expect(log()).toContain('WARN  [writer] the acknowledgements of a batch may not have reached the stream, its messages may come again: DISCONNECT');
    expect(log()).not.toContain('ERROR');
    expect(writer.process().exitCode).toBeNull();

    await cluster.restart(node);
    await until(() => `the backlog drained (writer: ${started.output()})`, async () => ((await consumerLag(manager, STREAM).catch(() => -1)) === 0 ? true : undefined));
    expect(writer.process().exitCode).toBeNull();
    const rows = await influx.client.rows(`SELECT "v", "k" FROM "held"`, { database: `monit_production_${PRODUCER}` });
    expect(rows.map((row) => `${row.time} ${row.k} ${row.v}`).sort()).toEqual(points.map((_, n) => `${BASE_MS + n} ${n} ${n}`).sort());
    // Every message came again (its acknowledgement lost with the connection); whether written again or
    // recognised by its stream sequence, at least once and at most once more.
    const metrics = await writer.metrics();
    expect(metricTotal(metrics, 'writer_redeliveries_total')).toBeGreaterThan(0);
    expect(metricTotal(metrics, 'writer_points_written_total')).toBeGreaterThanOrEqual(COUNT);
    expect(metricTotal(metrics, 'writer_points_written_total')).toBeLessThanOrEqual(2 * COUNT);
  } finally {
    await writer?.stop();
    proxy.close();
  }
});
