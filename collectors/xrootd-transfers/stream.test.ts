import dgram from 'node:dgram';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { NatsConnection } from 'nats';
import { Config } from '../../lib/config/config';
import type { MonitDocument } from '../../lib/documents/types';
import { startForwarder, type RunningForwarder } from '../../lib/queue/forwarder';
import { startReceiver, type RunningReceiver } from '../../lib/queue/receiver';
import { collectedDocuments } from '../../lib/run/collector';
import { MemoryLogger } from '../../lib/run/log';
import { encodeRecord } from '../../lib/queue/records';
import { MESSAGE_ID_HEADER } from '../../lib/stream/messages';
import { packetForwarding, packetHeaders, packetStreamName, packetSubject } from '../../lib/stream/packetStreams';
import { streamSettings } from '../../lib/stream/settings';
import { collectorContext } from '../../test/support/collectorContext';
import { startNatsCluster, type NatsCluster } from '../../test/support/nats';
import { testDir } from '../../test/support/services';
import { eventually, sleep } from '../../test/support/xrootdServer';
import collector from './collector';
import { DETAILED_STREAM } from './receiver';
import { startTestDns, type TestDns } from './test/dnsServer';

/**
 * The stream route of the detailed stream (issue 22, item 4): two site receivers publish to the packet
 * stream, one accounting job reads it. A third receiver, on the local route, gets the same datagrams
 * from the same two servers: its collector's documents are what the stream route must produce.
 */
const MINUTE = 60_000;
const SLOT = 10 * MINUTE;
const SLOT_A = Date.UTC(2026, 10, 22, 10, 0);
const slot = (index: number): number => SLOT_A + index * SLOT;
/** Long enough that a run started at once after a failed one comes well within it. */
const ACK_WAIT_MS = 8000;

const recorded = JSON.parse(readFileSync(path.join(__dirname, 'testdata', 'xrootd-5.5.3-packets.json'), 'utf8')) as { packets: Array<{ hex: string }> };
const packets = recorded.packets.map((packet) => Buffer.from(packet.hex, 'hex'));
/** What the recorded closes report (decoding.test.ts): one upload of 1,000,980 bytes (pgwrite), its download, one upload of 4,000,000. */
const WRITTEN = 1_000_980 + 4_000_000;
const READ = 1_000_000;

let clockMs = slot(0);
let cluster: NatsCluster;
let connection: NatsConnection;
let dns: TestDns;
let local: RunningReceiver;
const siteReceivers: Array<{ name: string; dir: string; receiver: RunningReceiver; forwarder: RunningForwarder }> = [];
let localConfig: string;
let streamConfig: string;
const localState = testDir('xrootd-transfers-stream-local-state');
const streamState = testDir('xrootd-transfers-stream-state');
const sockets: dgram.Socket[] = [];

function receiverAt(queueDir: string): Promise<RunningReceiver> {
  return startReceiver({ ...DETAILED_STREAM, host: '127.0.0.1', port: 0, queueDir, segmentMs: 10_000, maxQueueBytes: 1 << 30, log: new MemoryLogger(), now: () => clockMs });
}

/** Two servers, each on a socket of its own: server i sends to site receiver i and to the local receiver. */
async function twoServers(): Promise<dgram.Socket[]> {
  const servers = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
  for (const socket of servers) await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  sockets.push(...servers);
  return servers;
}

const send = (socket: dgram.Socket, datagram: Buffer, port: number): Promise<void> =>
  new Promise((resolve, reject) => socket.send(datagram, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));

/** Replays the recorded packets from both servers, the i-th received at times[i]; waits until every receiver has each one. */
async function replay(servers: dgram.Socket[], times: number[]): Promise<void> {
  for (let index = 0; index < packets.length; index += 1) {
    clockMs = times[index];
    const before = { local: local.counters.received, sites: siteReceivers.map((site) => site.receiver.counters.received) };
    for (const [at, server] of servers.entries()) {
      await send(server, packets[index], siteReceivers[at].receiver.port);
      await send(server, packets[index], local.port);
    }
    await eventually(async () => (local.counters.received === before.local + 2 && siteReceivers.every((site, at) => site.receiver.counters.received === before.sites[at] + 1) ? true : undefined), 10);
  }
  await Promise.all([local, ...siteReceivers.map((site) => site.receiver)].map((receiver) => receiver.flushed()));
}

/** Moves the receive clock past the last segment, so the receivers close it, and waits until the site receivers published everything. */
async function publishedAll(): Promise<void> {
  clockMs += MINUTE;
  await eventually(async () => (siteReceivers.every((site) => site.forwarder.counters.published === site.receiver.counters.queued) ? true : undefined));
}

async function collect(configText: string, stateDir: string, slotMs: number, options: { commit?: boolean } = {}): Promise<MonitDocument[]> {
  const context = collectorContext('xrootd-transfers', configText, { slotMs, stateDir });
  const result = await collector.collect(context);
  if (Array.isArray(result)) throw new Error('expected { documents, commit }');
  const documents = collectedDocuments(result);
  if (options.commit ?? true) await result.commit?.();
  expect(context.problems).toEqual([]);
  return documents.sort((a, b) => (String(a._id) < String(b._id) ? -1 : 1));
}

/** The local route's documents and the stream route's, each committed. */
async function bothRoutes(slotMs: number): Promise<{ fromLocal: MonitDocument[]; fromStream: MonitDocument[] }> {
  return { fromLocal: await collect(localConfig, localState, slotMs), fromStream: await collect(streamConfig, streamState, slotMs) };
}

const sum = (documents: MonitDocument[], type: string, field: string): number =>
  documents.filter((document) => document.type === type).reduce((total, document) => total + ((document[field] as number | undefined) ?? 0), 0);

async function streamMessages(): Promise<number> {
  const manager = await connection.jetstreamManager();
  return (await manager.streams.info(packetStreamName(streamSettings(Config.parse(streamConfig))))).state.messages;
}

beforeAll(async () => {
  cluster = await startNatsCluster({ nodes: 1 });
  connection = await cluster.connect();
  dns = await startTestDns({});
  const work = testDir('xrootd-transfers-stream');
  const streamSection = `[stream]\nservers = ${cluster.servers.join(', ')}\npublish_timeout = 1s\n`;
  const common = `dns_servers = ${dns.server}\ndns_timeout = 500ms\ndns_budget = 5s\n`;
  localConfig = `[xrootd-transfers]\nqueue_dir = ${path.join(work, 'local')}\n${common}`;
  streamConfig = `[xrootd-transfers]\nqueue = stream\nstream_ack_wait = ${ACK_WAIT_MS}ms\n${common}\n${streamSection}`;
  local = await receiverAt(path.join(work, 'local'));
  const config = Config.parse(streamSection);
  for (const name of ['site-a', 'site-b']) {
    const dir = path.join(work, name);
    const receiver = await receiverAt(dir);
    const forwarder = startForwarder({ ...packetForwarding(config, 'detailed', name), queueDir: dir, log: new MemoryLogger(), pollMs: 50, retryMs: 100, maxRetryMs: 500 });
    siteReceivers.push({ name, dir, receiver, forwarder });
  }
}, 120_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  for (const site of siteReceivers) {
    await site.receiver.stop();
    await site.forwarder.stop();
  }
  await local?.stop();
  await dns?.close();
  await connection?.close();
  await cluster?.stop();
});

test('two receivers publish to one stream: one accounting run makes the documents of the local queue, slot by slot', async () => {
  // The first half in slot 0, the rest in slot 1: the run at slot 1 leaves the rest for the next.
  const times = packets.map((_, index) => (index < 8 ? slot(0) + 5 * MINUTE : slot(1) + MINUTE) + index * 1000);
  await replay(await twoServers(), times);
  await publishedAll();
  expect(siteReceivers.map((site) => site.forwarder.counters.published)).toEqual([packets.length, packets.length]);
  expect(await streamMessages()).toBeGreaterThanOrEqual(4); // each receiver's two slots are two messages at least

  const first = await bothRoutes(slot(1));
  expect(first.fromStream).toEqual(first.fromLocal);
  // Both servers name themselves vm:36923 (the recording's): one document, each one's 8 packets of slot 0.
  expect(first.fromStream.filter((document) => document.type === 'servers' && document.timestamp === slot(0))).toEqual([expect.objectContaining({ packets: 16 })]);
  expect(first.fromStream.some((document) => document.timestamp === slot(1))).toBe(false);
  const second = await bothRoutes(slot(2));
  expect(second.fromStream).toEqual(second.fromLocal);
  expect(second.fromStream.filter((document) => document.type === 'servers' && document.timestamp === slot(1))).toEqual([expect.objectContaining({ packets: 16 })]);
  // Both servers' closes, counted once each over the two runs.
  const all = [...first.fromStream, ...second.fromStream];
  expect(sum(all, 'transfers', 'bytes_written')).toBe(2 * WRITTEN);
  expect(sum(all, 'transfers', 'bytes_read')).toBe(2 * READ);
  // A work queue: what the job acknowledged is gone; the receivers' queues are empty too.
  expect(await streamMessages()).toBe(0);
  for (const site of siteReceivers) expect(readdirSync(site.dir).filter((file) => file.endsWith('.seg'))).toEqual([]);
});

test('a run that fails before its commit leaves the messages for the next run: no loss, no double count', async () => {
  await replay(await twoServers(), packets.map((_, index) => slot(3) + MINUTE + index * 1000));
  await publishedAll();
  const stored = await streamMessages();
  expect(stored).toBeGreaterThanOrEqual(2);

  const failed = await collect(streamConfig, streamState, slot(4), { commit: false });
  expect(sum(failed, 'transfers', 'bytes_written')).toBe(2 * WRITTEN);
  expect(await streamMessages()).toBe(stored);
  // A run at once (within ack_wait) would read the receivers' later messages before these: it reads nothing.
  await expect(collector.collect(collectorContext('xrootd-transfers', streamConfig, { slotMs: slot(4), stateDir: streamState }))).rejects.toThrow(
    new RegExp(`^${stored} messages of consumer xrootd-detailed were given to an earlier run that did not commit`),
  );
  // Delivered to the failed run, not acknowledged: delivered again once ack_wait is over.
  await sleep(ACK_WAIT_MS + 500);
  const { fromLocal, fromStream } = await bothRoutes(slot(4));
  expect(fromStream).toEqual(failed);
  expect(fromStream).toEqual(fromLocal);
  expect(await streamMessages()).toBe(0);
  const again = await collect(streamConfig, streamState, slot(4));
  expect(again.filter((document) => document.type === 'transfers')).toEqual([]);
});

test('a message published again after the duplicate window is read once', async () => {
  // As a forwarder that stored its message, crashed before noting it, and came back after the window: another id, the same place.
  const state = JSON.parse(readFileSync(path.join(streamState, 'accounting.json'), 'utf8')) as { stream: Record<string, { segment: string; offset: number }> };
  const settings = streamSettings(Config.parse(streamConfig));
  const subject = packetSubject(settings, 'detailed', 'site-a');
  const headers = packetHeaders('site-a', state.stream[subject]);
  headers.set(MESSAGE_ID_HEADER, 'published-again');
  const close = packets.find((packet) => packet[0] === 'f'.charCodeAt(0)) as Buffer;
  await connection.jetstream().publish(subject, encodeRecord(slot(4) + MINUTE, '127.0.0.1:1', close), { headers });
  expect(await streamMessages()).toBe(1);
  const documents = await collect(streamConfig, streamState, slot(5));
  expect(documents.filter((document) => document.type === 'servers' || document.type === 'transfers')).toEqual([]);
  expect(await streamMessages()).toBe(0);
});

test('the stream down at the receivers: the datagrams wait in their queues, nothing is lost', async () => {
  const [node] = cluster.nodes;
  await cluster.kill(node);
  await replay(await twoServers(), packets.map((_, index) => slot(6) + MINUTE + index * 1000));
  clockMs += MINUTE;
  await eventually(async () => (siteReceivers.every((site) => site.forwarder.failing()) ? true : undefined));
  for (const site of siteReceivers) {
    expect(site.forwarder.counters.publishErrors).toBeGreaterThan(0);
    expect(readdirSync(site.dir).filter((file) => file.endsWith('.seg')).length).toBeGreaterThan(0);
  }
  // The accounting job, meanwhile, fails saying why (its state and the messages stay as they were).
  await expect(collector.collect(collectorContext('xrootd-transfers', streamConfig, { slotMs: slot(7), stateDir: streamState }))).rejects.toThrow(
    /^cannot read the XRootD packet stream: no \[stream\] server answered \(nats:\/\/127\.0\.0\.1:\d+\)/,
  );
  await cluster.restart(node);
  await publishedAll();
  expect(siteReceivers.some((site) => site.forwarder.failing())).toBe(false);
  const { fromLocal, fromStream } = await bothRoutes(slot(7));
  expect(fromStream).toEqual(fromLocal);
  expect(sum(fromStream, 'transfers', 'bytes_written')).toBe(2 * WRITTEN);
  expect(sum(fromStream, 'transfers', 'bytes_read')).toBe(2 * READ);
  for (const site of siteReceivers) expect(existsSync(path.join(site.dir, 'stream-position.json'))).toBe(true);
}, 120_000);
