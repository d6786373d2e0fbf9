/**
 * ensureStreams on an existing stream, and `./run.sh stream-setup`, against three real nats-server
 * processes: a start never lowers the replicas nor undoes another host's settings; stream-setup applies
 * them, or refuses clearly what JetStream cannot do.
 */
import { RetentionPolicy, StorageType, type JetStreamManager, type NatsConnection } from 'nats';
import { streamSetup } from '../../cli/streamSetup';
import { startNatsCluster, type NatsCluster } from '../../test/support/nats';
import { writerSettings } from '../../writer/settings';
import { Writer } from '../../writer/writer';
import { Config } from '../config/config';
import { influxInstances } from '../influx/instances';
import { encodeRecord } from '../queue/records';
import { MemoryLogger } from '../run/log';
import { connectPacketStream, packetForwarding, packetHeaders, readPacketStream } from './packetStreams';
import { streamSettings, type StreamSettings } from './settings';
import { describeDifferences, ensureStreams, streamExists, StreamSetupError } from './streams';

jest.setTimeout(180_000);

let cluster: NatsCluster;
let connection: NatsConnection;
let manager: JetStreamManager;

beforeAll(async () => {
  cluster = await startNatsCluster({ nodes: 3 });
  connection = await cluster.connect();
  manager = await connection.jetstreamManager();
});

afterAll(async () => {
  await connection?.close();
  await cluster?.stop();
});

/** A host's config: its [stream] section with `keys` over the stream's name and servers, then `sections` (other sections, as written). */
function hostConfig(stream: string, keys: Record<string, string>, sections = ''): Config {
  const lines = Object.entries({ servers: cluster.servers.join(', '), name: stream, subject_prefix: stream.toLowerCase(), ...keys }).map(([key, value]) => `${key} = ${value}`);
  return Config.parse(`[stream]\n${lines.join('\n')}\n${sections}`, `${stream}.cfg`);
}

const hostSettings = (stream: string, keys: Record<string, string>): StreamSettings => streamSettings(hostConfig(stream, keys));

/** The settings a start may change, as the stream has them now. */
async function current(stream: string): Promise<{ replicas: number; maxBytes: number; duplicateWindowMs: number }> {
  const { config } = await manager.streams.info(stream);
  return { replicas: config.num_replicas, maxBytes: config.max_bytes, duplicateWindowMs: config.duplicate_window / 1e6 };
}

test('a host with replicas = 1 and other limits starting beside an R3 stream keeps it as it is, and says what differs; no flip-flop between two hosts', async () => {
  const first = hostSettings('KEEP', { replicas: '3', max_bytes: '50000000', duplicate_window: '2m' });
  const second = hostSettings('KEEP', { replicas: '1', max_bytes: '20000000', duplicate_window: '1m' });
  expect((await ensureStreams(manager, first)).created).toEqual(['KEEP', 'KEEP_DEAD']);
  const made = { replicas: 3, maxBytes: 50_000_000, duplicateWindowMs: 120_000 };
  expect(await current('KEEP')).toEqual(made);

  const outcome = await ensureStreams(manager, second);
  expect(await current('KEEP')).toEqual(made);
  expect(await current('KEEP_DEAD')).toEqual(made);
  expect(outcome.updated).toEqual([]);
  expect(outcome.differences.filter((difference) => difference.stream === 'KEEP')).toEqual([
    { stream: 'KEEP', setting: 'replicas', existing: '3', configured: '1' },
    { stream: 'KEEP', setting: 'duplicate_window', existing: '120000 ms', configured: '60000 ms' },
    { stream: 'KEEP', setting: 'max_bytes', existing: '50000000', configured: '20000000' },
  ]);
  expect(describeDifferences(outcome.differences)).toMatch(/^existing stream settings kept .*`\.\/run\.sh stream-setup` applies \[stream\]'s\): KEEP replicas is 3, \[stream\] says 1; /);
  // Still three replicas: a leader and two followers.
  expect((await manager.streams.info('KEEP')).cluster?.replicas).toHaveLength(2);

  // The two hosts start again, one after the other: the stream keeps the first one's settings.
  for (const settings of [first, second, first, second]) {
    await ensureStreams(manager, settings);
    expect(await current('KEEP')).toEqual(made);
  }
  expect((await ensureStreams(manager, first)).differences).toEqual([]);
});

test('stream-setup applies this host\'s [stream], replicas lowered included, and prints each change; a second run changes nothing', async () => {
  await ensureStreams(manager, hostSettings('SETUP', { replicas: '3' }));
  const lines: string[] = [];
  expect(await streamSetup(hostConfig('SETUP', { replicas: '1', max_bytes: '30000000' }), (line) => lines.push(line))).toBe(0);
  expect(lines).toEqual([
    'stream SETUP: replicas 3 -> 1',
    'stream SETUP: max_bytes unlimited -> 30000000',
    'stream SETUP_DEAD: replicas 3 -> 1',
    'stream SETUP_DEAD: max_bytes unlimited -> 30000000',
  ]);
  expect(await current('SETUP')).toEqual({ replicas: 1, maxBytes: 30_000_000, duplicateWindowMs: 120_000 });
  expect(await current('SETUP_DEAD')).toEqual({ replicas: 1, maxBytes: 30_000_000, duplicateWindowMs: 120_000 });

  lines.length = 0;
  expect(await streamSetup(hostConfig('SETUP', { replicas: '1', max_bytes: '30000000' }), (line) => lines.push(line))).toBe(0);
  expect(lines).toEqual(["stream SETUP has [stream]'s settings already", "stream SETUP_DEAD has [stream]'s settings already"]);

  // A missing stream is created.
  lines.length = 0;
  expect(await streamSetup(hostConfig('FRESH', {}), (line) => lines.push(line))).toBe(0);
  expect(lines).toEqual(['created stream FRESH', 'created stream FRESH_DEAD']);
});

test('stream-setup with more replicas than servers: a StreamSetupError naming the stream and [stream] replicas; the stream is left as it was', async () => {
  await ensureStreams(manager, hostSettings('TOOMANY', { replicas: '1' }));
  const error = await streamSetup(hostConfig('TOOMANY', { replicas: '5' }), () => undefined).catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(StreamSetupError);
  expect((error as Error).message).toMatch(/^cannot update stream TOOMANY \(\[stream\] replicas = 5\): .* \(fewer JetStream servers up than 5: one is down or starting, or the cluster has fewer\)$/);
  expect(await current('TOOMANY')).toEqual({ replicas: 1, maxBytes: -1, duplicateWindowMs: 120_000 });
});

test('a stream of that name with another retention: a StreamSetupError no retry fixes, at a start and from stream-setup; the stream untouched', async () => {
  await manager.streams.add({ name: 'OTHER', subjects: ['other.>'], retention: RetentionPolicy.Limits, storage: StorageType.File, num_replicas: 1 });
  const atStart = await ensureStreams(manager, hostSettings('OTHER', {})).catch((thrown: unknown) => thrown);
  expect(atStart).toBeInstanceOf(StreamSetupError);
  expect((atStart as StreamSetupError).transient).toBe(false);
  expect((atStart as Error).message).toBe('stream OTHER exists with limits retention and file storage, not workqueue and file: JetStream cannot change them in place (delete or rename the stream)');
  await expect(streamSetup(hostConfig('OTHER', {}), () => undefined)).rejects.toThrow(/^stream OTHER exists with limits retention/);
  expect((await manager.streams.info('OTHER')).config.retention).toBe('limits');
});

/** The settings of a consumer a start may change, as it has them now. */
const consumerNow = async (stream: string, consumer: string): Promise<{ ackWaitMs: number; maxAckPending: number; filterSubject: string | undefined }> => {
  const { config } = await manager.consumers.info(stream, consumer);
  return { ackWaitMs: (config.ack_wait ?? 0) / 1e6, maxAckPending: config.max_ack_pending ?? 0, filterSubject: config.filter_subject || undefined };
};

const warnings = (log: MemoryLogger): string[] => log.lines.filter((line) => line.startsWith('WARN '));

test('the packet stream: receivers with other [stream] settings keep it as it is, each warns once; stream-setup applies [stream] to it where it exists', async () => {
  const first = hostConfig('PKT', { replicas: '3', max_bytes: '50000000' });
  const second = hostConfig('PKT', { replicas: '1', max_bytes: '20000000' });
  const made = { replicas: 3, maxBytes: 50_000_000, duplicateWindowMs: 120_000 };
  // Two receivers of two hosts start one after the other, twice: no flip-flop.
  for (const config of [first, second, first, second]) {
    const { connection: client } = await connectPacketStream(config, 'receiver');
    await client.close();
    expect(await current('PKT_XROOTD')).toEqual(made);
  }
  const log = new MemoryLogger();
  const forwarding = packetForwarding(second, 'summary', 'receiver-2', log);
  for (let attempt = 0; attempt < 2; attempt++) await (await forwarding.connect()).connection.close();
  expect(warnings(log)).toEqual([
    "WARN existing stream settings kept (set by another host or an earlier config; `./run.sh stream-setup` applies [stream]'s): PKT_XROOTD replicas is 3, [stream] says 1; PKT_XROOTD max_bytes is 50000000, [stream] says 20000000",
  ]);
  expect((await manager.streams.info('PKT_XROOTD')).cluster?.replicas).toHaveLength(2);

  // A host without queue = stream: the packet stream exists, so it gets [stream]'s settings too.
  const lines: string[] = [];
  expect(await streamSetup(second, (line) => lines.push(line))).toBe(0);
  expect(lines).toEqual(['created stream PKT', 'created stream PKT_DEAD', 'stream PKT_XROOTD: replicas 3 -> 1', 'stream PKT_XROOTD: max_bytes 50000000 -> 20000000']);
  expect(await current('PKT_XROOTD')).toEqual({ replicas: 1, maxBytes: 20_000_000, duplicateWindowMs: 120_000 });
});

test('stream-setup makes the packet stream and its consumers only where [xrootd] or [xrootd-transfers] has queue = stream', async () => {
  expect(await streamSetup(hostConfig('NOPKT', {}, '[xrootd]\nqueue = local\n'), () => undefined)).toBe(0);
  expect(await streamExists(manager, 'NOPKT_XROOTD')).toBe(false);

  const lines: string[] = [];
  expect(await streamSetup(hostConfig('USEPKT', {}, '[xrootd]\nqueue = stream\nstream_ack_wait = 40s\n[xrootd-transfers]\nqueue = stream\n'), (line) => lines.push(line))).toBe(0);
  expect(lines).toEqual([
    'created stream USEPKT',
    'created stream USEPKT_DEAD',
    'created stream USEPKT_XROOTD',
    'created consumer xrootd-summary of USEPKT_XROOTD',
    'created consumer xrootd-detailed of USEPKT_XROOTD',
  ]);
  expect(await consumerNow('USEPKT_XROOTD', 'xrootd-summary')).toEqual({ ackWaitMs: 40_000, maxAckPending: 20_000, filterSubject: 'usepkt_xrootd.summary.>' });
  // The default stream_ack_wait of [xrootd-transfers], 5m.
  expect(await consumerNow('USEPKT_XROOTD', 'xrootd-detailed')).toEqual({ ackWaitMs: 300_000, maxAckPending: 20_000, filterSubject: 'usepkt_xrootd.detailed.>' });
});

/** An accounting job's read of the summary packets, handed back at once. */
async function readSummaries(config: Config, ackWaitMs: number, log: MemoryLogger): Promise<number> {
  const read = await readPacketStream(config, 'summary', { reached: {}, ackWaitMs, name: 'accounting', log });
  await read.release();
  return read.packets.length;
}

test("a packet consumer keeps its ack_wait when a run has another stream_ack_wait, and warns naming the key; stream-setup applies it", async () => {
  const config = hostConfig('CONS', {});
  expect(await readSummaries(config, 30_000, new MemoryLogger())).toBe(0);
  const log = new MemoryLogger();
  for (let run = 0; run < 2; run++) {
    await readSummaries(config, 60_000, log);
    expect(await consumerNow('CONS_XROOTD', 'xrootd-summary')).toEqual({ ackWaitMs: 30_000, maxAckPending: 20_000, filterSubject: 'cons_xrootd.summary.>' });
  }
  expect(warnings(log)[0]).toBe(
    "WARN existing consumer settings kept (set by another host or an earlier config; `./run.sh stream-setup` applies this host's): consumer xrootd-summary of CONS_XROOTD: ack_wait is 30000 ms, [xrootd] stream_ack_wait says 60000 ms",
  );

  const lines: string[] = [];
  expect(await streamSetup(hostConfig('CONS', {}, '[xrootd]\nqueue = stream\nstream_ack_wait = 60s\n'), (line) => lines.push(line))).toBe(0);
  expect(lines.filter((line) => line.startsWith('consumer'))).toEqual(['consumer xrootd-summary of CONS_XROOTD: ack_wait 30000 ms -> 60000 ms']);
  expect(await consumerNow('CONS_XROOTD', 'xrootd-summary')).toEqual({ ackWaitMs: 60_000, maxAckPending: 20_000, filterSubject: 'cons_xrootd.summary.>' });
});

test('a changed subject_prefix: a run warns that the stream and the consumer are on the old subjects, naming stream-setup; after it the new subjects are read', async () => {
  const before = hostConfig('PREFIX', { subject_prefix: 'old' }, '[xrootd]\nqueue = stream\nstream_ack_wait = 30s\n');
  const after = hostConfig('PREFIX', { subject_prefix: 'new' }, '[xrootd]\nqueue = stream\nstream_ack_wait = 30s\n');
  expect(await readSummaries(before, 30_000, new MemoryLogger())).toBe(0);
  const log = new MemoryLogger();
  expect(await readSummaries(after, 30_000, log)).toBe(0);
  expect(warnings(log)).toEqual([
    "WARN existing stream settings kept (set by another host or an earlier config; `./run.sh stream-setup` applies [stream]'s): PREFIX_XROOTD subjects is old_xrootd.>, [stream] says new_xrootd.>",
    "WARN existing consumer settings kept (set by another host or an earlier config; `./run.sh stream-setup` applies this host's) (a consumer on other subjects than [stream] subject_prefix names reads none of the messages published with it: run stream-setup): consumer xrootd-summary of PREFIX_XROOTD: filter_subject is old_xrootd.summary.>, [stream] subject_prefix says new_xrootd.summary.>",
  ]);

  const lines: string[] = [];
  expect(await streamSetup(after, (line) => lines.push(line))).toBe(0);
  expect(lines).toEqual([
    'created stream PREFIX',
    'created stream PREFIX_DEAD',
    'stream PREFIX_XROOTD: subjects old_xrootd.> -> new_xrootd.>',
    'consumer xrootd-summary of PREFIX_XROOTD: filter_subject old_xrootd.summary.> -> new_xrootd.summary.>',
  ]);
  // A receiver publishing with the new prefix is read.
  const headers = packetHeaders('receiver-1', { segment: '0001', offset: 0 });
  await connection.jetstream().publish('new_xrootd.summary.receiver-1', encodeRecord(Date.UTC(2026, 11, 1), '192.0.2.1:1094', Buffer.from('<statistics/>')), { headers });
  expect(await readSummaries(after, 30_000, new MemoryLogger())).toBe(1);
});

/** A writer of a host whose [writer] has `keys`, prepared (streams and consumer made or kept). */
async function preparedWriter(stream: string, keys: string, log: MemoryLogger): Promise<void> {
  const config = hostConfig(stream, {}, `[influxdb]\nurl = http://127.0.0.1:8086\n[writer]\nconsumer = writers\nbatch_size = 500\n${keys}\n`);
  const writer = new Writer({ connection, stream: streamSettings(config), settings: writerSettings(config), instances: influxInstances(config), log });
  expect(await writer.prepare()).toBe(true);
}

test("the writers' consumer: a writer with another ack_wait and max_ack_pending keeps it, each such writer warns once; stream-setup applies [writer], and leaves it alone on a host without [writer]", async () => {
  const made = { ackWaitMs: 60_000, maxAckPending: 1000, filterSubject: undefined };
  await preparedWriter('WCONS', 'ack_wait = 1m\nmax_ack_pending = 1000', new MemoryLogger());
  expect(await consumerNow('WCONS', 'writers')).toEqual(made);
  const log = new MemoryLogger();
  for (const keys of ['ack_wait = 2m\nmax_ack_pending = 2000', 'ack_wait = 1m\nmax_ack_pending = 1000', 'ack_wait = 2m\nmax_ack_pending = 2000']) {
    await preparedWriter('WCONS', keys, keys.includes('2m') ? log : new MemoryLogger());
    expect(await consumerNow('WCONS', 'writers')).toEqual(made);
  }
  expect(warnings(log)).toEqual([
    "WARN existing consumer settings kept (set by another host or an earlier config; `./run.sh stream-setup` applies this host's): consumer writers of WCONS: ack_wait is 60000 ms, [writer] ack_wait says 120000 ms; consumer writers of WCONS: max_ack_pending is 1000, [writer] max_ack_pending says 2000",
    "WARN existing consumer settings kept (set by another host or an earlier config; `./run.sh stream-setup` applies this host's): consumer writers of WCONS: ack_wait is 60000 ms, [writer] ack_wait says 120000 ms; consumer writers of WCONS: max_ack_pending is 1000, [writer] max_ack_pending says 2000",
  ]);

  const lines: string[] = [];
  expect(await streamSetup(hostConfig('WCONS', {}), (line) => lines.push(line))).toBe(0);
  expect(lines).toEqual(["stream WCONS has [stream]'s settings already", "stream WCONS_DEAD has [stream]'s settings already"]);
  expect(await consumerNow('WCONS', 'writers')).toEqual(made);

  lines.length = 0;
  const withWriter = hostConfig('WCONS', {}, '[writer]\nconsumer = writers\nbatch_size = 500\nack_wait = 2m\nmax_ack_pending = 2000\n');
  expect(await streamSetup(withWriter, (line) => lines.push(line))).toBe(0);
  expect(lines.slice(2)).toEqual(['consumer writers of WCONS: ack_wait 60000 ms -> 120000 ms', 'consumer writers of WCONS: max_ack_pending 1000 -> 2000']);
  expect(await consumerNow('WCONS', 'writers')).toEqual({ ackWaitMs: 120_000, maxAckPending: 2000, filterSubject: undefined });
  lines.length = 0;
  expect(await streamSetup(withWriter, (line) => lines.push(line))).toBe(0);
  expect(lines.slice(2)).toEqual(["consumer writers of WCONS has this host's settings already"]);
});
