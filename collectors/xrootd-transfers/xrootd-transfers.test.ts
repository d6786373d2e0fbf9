import { execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RunningReceiver } from '../../lib/queue/receiver';
import { startTestReceiver } from './test/monitoredServer';
import { readQueue } from '../../lib/queue/segments';
import { collectedDocuments } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext, type TestContext } from '../../test/support/collectorContext';
import { readmeDisagreements } from '../../test/support/readme';
import { startServer, testDir, type RunningServer } from '../../test/support/services';
import collector from './collector';
import { parsePacket, type FileRecord } from './protocol';
import { startTestDns, type TestDns } from './test/dnsServer';

const run = promisify(execFile);
const MINUTE = 60_000;
const SLOT = 10 * MINUTE;
const SLOT_A = Date.UTC(2026, 10, 22, 10, 0);
const slot = (index: number): number => SLOT_A + index * SLOT;
const SITE = 'T2_TEST_SITE';
const CLIENT_ENV = { ...process.env, XRD_CONNECTIONRETRY: '1', XRD_REQUESTTIMEOUT: '5' };
/** xrdcp without pgwrite, so the server counts exactly the file's bytes. */
const PLAIN_WRITES = { ...CLIENT_ENV, XRD_CPUSEPGWRTRD: '0' };

let clockMs = slot(0) + MINUTE;
let receiver: RunningReceiver;
let xrootd: RunningServer;
let dns: TestDns;
let relay: dgram.Socket;
let dropCode: string | undefined;
let dropped = 0;
let queueDir: string;
let stateDir: string;
let configText: string;
let work: string;

/** Every f-stream record still in the queue, with the path of its file from the open records. */
function queuedFileRecords(): Array<FileRecord & { path?: string }> {
  const paths = new Map<number, string>();
  const records: Array<FileRecord & { path?: string }> = [];
  for (const queued of readQueue(queueDir, undefined).packets) {
    if (String.fromCharCode(queued.packet[0]) !== 'f') continue;
    const packet = parsePacket(queued.packet);
    if (packet.kind !== 'files') continue;
    for (const record of packet.records) {
      if (record.type === 'open' && record.path) paths.set(record.fileId, record.path);
      records.push({ ...record, path: 'fileId' in record ? paths.get(record.fileId) : undefined });
    }
  }
  return records;
}

async function waitFor(what: string, check: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    await receiver.flushed();
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const closesOf = (file: string): number => queuedFileRecords().filter((record) => record.type === 'close' && record.path === file).length;

async function xrdcp(source: string, destination: string, env: NodeJS.ProcessEnv = CLIENT_ENV): Promise<void> {
  await run('timeout', ['30', 'xrdcp', '-f', '-s', source, destination], { env });
}

async function collectUpTo(cutoffMs: number): Promise<{ documents: MonitDocument[]; context: TestContext }> {
  const context = collectorContext('xrootd-transfers', configText, { slotMs: cutoffMs, stateDir });
  const result = await collector.collect(context);
  if (Array.isArray(result)) throw new Error('expected { documents, commit }');
  await result.commit?.();
  return { documents: collectedDocuments(result), context };
}

function ofType(documents: MonitDocument[], type: string, slotMs: number): MonitDocument[] {
  return documents.filter((document) => document.type === type && document.timestamp === slotMs);
}

function total(documents: MonitDocument[], field: string): number {
  return documents.reduce((sum, document) => sum + ((document[field] as number | undefined) ?? 0), 0);
}

beforeAll(async () => {
  work = testDir('xrootd-transfers');
  queueDir = path.join(work, 'queue');
  stateDir = testDir('xrootd-transfers-state');
  receiver = await startTestReceiver(queueDir, () => clockMs);
  // xrootd → relay → receiver: the relay can drop a packet, as a network would.
  relay = dgram.createSocket('udp4');
  relay.on('message', (message) => {
    if (dropCode && String.fromCharCode(message[0]) === dropCode) {
      dropCode = undefined;
      dropped += 1;
      return;
    }
    relay.send(message, receiver.port, '127.0.0.1');
  });
  await new Promise<void>((resolve) => relay.bind(0, '127.0.0.1', resolve));
  const extra = path.join(work, 'monitor.cfg');
  writeFileSync(
    extra,
    `all.sitename ${SITE}\nxrootd.monitor all auth flush 1s window 1s fstat 1s lfn ops xfr 1 ident 1h dest fstat files info user io redir 127.0.0.1:${relay.address().port}\n`,
  );
  xrootd = await startServer('xrootd', { configExtra: extra });
  // The client is 127.0.0.1; the resolver answers it from /etc/hosts, and anything else from the test DNS.
  dns = await startTestDns({});
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([dns.server]);
  const clientName = (await resolver.reverse('127.0.0.1'))[0];
  const [firstLabel, ...domain] = clientName.split('.');
  const siteEntry = domain.length > 0 ? `${domain.join('.')} = ${firstLabel.slice(0, 2)}*:${SITE}, OTHER-SITE` : `${clientName} = ${SITE}`;
  configText = `[xrootd-transfers]\nqueue_dir = ${queueDir}\ndns_servers = ${dns.server}\ndns_timeout = 500ms\ndns_budget = 5s\n\n[xrootd-transfers.sites]\n${siteEntry}\n`;
}, 120_000);

afterAll(async () => {
  await xrootd?.stop();
  await receiver?.stop();
  relay?.close();
  await dns?.close();
});

test('files copied in and out: bytes and file counts equal what was copied', async () => {
  const url = (name: string): string => `root://127.0.0.1:${xrootd.port}//${name}`;
  writeFileSync(path.join(work, 'one.bin'), randomBytes(1_000_000));
  writeFileSync(path.join(work, 'two.bin'), randomBytes(300_000));
  await xrdcp(path.join(work, 'one.bin'), url('one.bin'), PLAIN_WRITES);
  await xrdcp(path.join(work, 'two.bin'), url('two.bin')); // with pgwrite
  await xrdcp(url('one.bin'), path.join(work, 'one.back'));
  await xrdcp(url('two.bin'), path.join(work, 'two.back'));
  expect(statSync(path.join(work, 'two.back')).size).toBe(300_000);
  await waitFor('4 closes', () => closesOf('/one.bin') === 2 && closesOf('/two.bin') === 2);
  clockMs = slot(1) + MINUTE;

  // Without commit nothing moves: a failed delivery leads to the same documents next run.
  const uncommitted = await collector.collect(collectorContext('xrootd-transfers', configText, { slotMs: slot(1), stateDir }));
  const { documents, context } = await collectUpTo(slot(1));
  expect(Array.isArray(uncommitted) ? uncommitted : uncommitted.documents).toEqual(documents);
  expect(context.problems).toEqual([]);
  const transfers = ofType(documents, 'transfers', slot(0));
  expect(transfers).toHaveLength(1);
  expect(transfers[0]).toMatchObject({
    server: expect.stringMatching(new RegExp(`:${xrootd.port}$`)),
    server_site: SITE,
    client_site: SITE,
    access: 'local',
    bytes_read: 1_300_000,
    bytes_read_single: 1_300_000,
    bytes_read_vector: 0,
    // The pgwrite upload is counted by XRootD 5.5 with 4 bytes of CRC32C per 4 KiB page (74 pages).
    bytes_written: 1_000_000 + 300_000 + 74 * 4,
    files_opened: 4,
    files_closed: 4,
    files_closed_forced: 0,
    readv_calls: 0,
    fraction_read_mean: 1,
  });
  expect(transfers[0].read_calls).toBeGreaterThanOrEqual(2);
  expect(ofType(documents, 'users', slot(0))).toEqual([
    expect.objectContaining({ user: 'root', bytes_read: 1_300_000, accesses_total: 4, accesses_local: 4, accesses_remote: 0, local_access_ratio: 1, transfers: 4, remote_io: 0, vector_read_ratio: 0 }),
  ]);
  expect(ofType(documents, 'servers', slot(0))).toEqual([expect.objectContaining({ server_site: SITE, packets_lost: 0, packets_rejected: 0, files_open: 0 })]);
  expect(documents.every((document) => !JSON.stringify(document.idb_tags).includes('.bin'))).toBe(true);
});

test('a file open across two slots counts in both, never twice', async () => {
  clockMs = slot(2) + MINUTE;
  const writer = spawn('timeout', ['60', 'xrdcp', '-f', '-s', '-', `root://127.0.0.1:${xrootd.port}//held.bin`], {
    env: { ...PLAIN_WRITES, XRD_CPCHUNKSIZE: '1048576' },
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const finished = new Promise<number | null>((resolve) => writer.on('close', resolve));
  writer.stdin.write(randomBytes(3 << 20));
  await waitFor('an xfr record of held.bin', () => queuedFileRecords().some((record) => record.type === 'transfer' && record.path === '/held.bin' && record.totals.write > 0));
  clockMs = slot(3) + MINUTE;
  writer.stdin.end(randomBytes(4_000_000 - (3 << 20)));
  expect(await finished).toBe(0);
  await waitFor('the close of held.bin', () => closesOf('/held.bin') === 1);

  const first = await collectUpTo(slot(3));
  const before = ofType(first.documents, 'transfers', slot(2));
  expect(ofType(first.documents, 'transfers', slot(3))).toEqual([]); // not complete yet: left in the queue
  expect(total(before, 'files_opened')).toBe(1);
  expect(total(before, 'files_closed')).toBe(0);
  expect(ofType(first.documents, 'servers', slot(2))[0].files_open).toBe(1);

  clockMs = slot(4) + MINUTE;
  const second = await collectUpTo(slot(4));
  const after = ofType(second.documents, 'transfers', slot(3));
  expect(total(after, 'files_opened')).toBe(0);
  expect(total(after, 'files_closed')).toBe(1);
  const writtenBefore = total(before, 'bytes_written');
  const writtenAfter = total(after, 'bytes_written');
  expect(writtenBefore).toBeGreaterThan(0);
  expect(writtenBefore).toBeLessThanOrEqual(3 << 20);
  expect(writtenAfter).toBeGreaterThan(0);
  expect(writtenBefore + writtenAfter).toBe(4_000_000);
  expect(ofType(second.documents, 'servers', slot(3))[0].files_open).toBe(0);
});

test('a packet lost on the way shows in packets_lost', async () => {
  clockMs = slot(5) + MINUTE;
  dropCode = 't';
  await xrdcp(`root://127.0.0.1:${xrootd.port}//one.bin`, path.join(work, 'one.again'));
  await waitFor('a dropped packet and the close', () => dropped === 1 && closesOf('/one.bin') >= 1);
  clockMs = slot(6) + MINUTE;
  const { documents } = await collectUpTo(slot(6));
  expect(ofType(documents, 'servers', slot(5))).toEqual([expect.objectContaining({ packets_lost: 1, packets_rejected: 0 })]);
  expect(total(ofType(documents, 'transfers', slot(5)), 'bytes_read')).toBe(1_000_000);
});

test('truncated and garbage packets are rejected and counted, the run goes on', async () => {
  clockMs = slot(7) + MINUTE;
  const recorded = JSON.parse(readFileSync(path.join(__dirname, 'testdata', 'xrootd-5.5.3-packets.json'), 'utf8')) as { packets: Array<{ hex: string }> };
  const fileStream = recorded.packets.map((packet) => Buffer.from(packet.hex, 'hex')).find((packet) => packet[0] === 0x66) as Buffer;
  const zeroSizeRecord = Buffer.from(fileStream);
  zeroSizeRecord.writeUInt16BE(0, 34);
  const sender = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sender.bind(0, '127.0.0.1', resolve));
  const before = receiver.counters.queued;
  for (const datagram of [Buffer.from('garbage!'), fileStream.subarray(0, 50), zeroSizeRecord, Buffer.alloc(3)]) {
    await new Promise<void>((resolve, reject) => sender.send(datagram, receiver.port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  }
  await waitFor('4 datagrams queued', () => receiver.counters.queued >= before + 4);
  sender.close();
  clockMs = slot(8) + MINUTE;
  const { documents, context } = await collectUpTo(slot(8));
  expect(context.problems).toEqual([expect.stringMatching(/^4 malformed packets rejected/)]);
  expect(ofType(documents, 'servers', slot(7))).toEqual(expect.arrayContaining([expect.objectContaining({ packets: 0, packets_rejected: 4 })]));
});

test('README lists every tag and field of the schemas', () => {
  const types = ['transfers', 'users', 'servers'].map((type) => ({ producer: 'xrootd-transfers', type }));
  expect(readmeDisagreements(path.join(__dirname, 'README.md'), types)).toEqual([]);
});
