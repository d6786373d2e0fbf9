/**
 * The quickstart's recorded capture: queued by the demo as sent during the previous slot, it is
 * counted by the current slot's run, in the previous slot, with the recorded bytes.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { slotStart } from '../../lib/run/slot';
import demo, { RECORDED_PACKETS_FILE, replayedAt, type RecordedPackets } from './demo';
import { encodeRecord } from '../../lib/queue/records';
import { QueueWriter } from '../../lib/queue/segments';
import { parsePacket, type FileRecord } from './protocol';
import { collectFor } from './test/monitoredServer';

const SLOT = 600_000;

test('the demo capture counts in the previous slot, with the bytes the recorded close records say', async () => {
  const work = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'xrootd-demo-'));
  const stateDir = path.join(work, 'var', 'state', 'xrootd-transfers');
  mkdirSync(stateDir, { recursive: true });
  const configText = `[paths]\nvar = ${path.join(work, 'var')}\n\n[xrootd-transfers]\nqueue_dir = ${path.join(work, 'queue')}\ndns_servers = 127.0.0.1:9\ndns_timeout = 100ms\ndns_budget = 1s\n\n[demo]\nxrootd = 127.0.0.1:11094\n`;
  const currentSlot = slotStart(Date.now());
  // As in the quickstart: the regular runs reported every slot before the previous one.
  writeFileSync(path.join(stateDir, 'accounting.json'), JSON.stringify({ version: 1, servers: {}, reportedBefore: currentSlot - SLOT }));
  const component = demo.components?.find((candidate) => candidate.name === 'recorded-xrootd-transfers');
  if (!component) throw new Error('no recorded-xrootd-transfers component');
  const config = Config.parse(configText, 'demo.test.cfg');
  await component.start({ config, configFile: 'demo.test.cfg', varRoot: path.join(work, 'var'), runDir: work });

  const { documents, context } = await collectFor(configText, stateDir, currentSlot);

  // Independently: the byte totals of the recorded close records, decoded from the unshifted packets.
  const recorded = JSON.parse(readFileSync(path.join(__dirname, 'testdata', 'xrootd-5.5.3-packets.json'), 'utf8')) as { packets: Array<{ hex: string }> };
  const closes = recorded.packets
    .map((packet) => parsePacket(Buffer.from(packet.hex, 'hex')))
    .flatMap((packet) => (packet.kind === 'files' ? packet.records : []))
    .filter((record): record is Extract<FileRecord, { type: 'close' }> => record.type === 'close');
  const read = closes.reduce((sum, record) => sum + record.totals.read + record.totals.readv, 0);
  const written = closes.reduce((sum, record) => sum + record.totals.write, 0);
  expect(read).toBeGreaterThan(0);

  expect(context.log.lines.filter((line) => line.includes('already reported'))).toEqual([]);
  const transfers = documents.filter((document) => document.type === 'transfers');
  expect(transfers.length).toBeGreaterThan(0);
  expect(new Set(transfers.map((document) => document.timestamp))).toEqual(new Set([currentSlot - SLOT]));
  const total = (field: string): number => transfers.reduce((sum, document) => sum + ((document[field] as number | undefined) ?? 0), 0);
  expect([total('bytes_read'), total('bytes_written')]).toEqual([read, written]);
}, 60_000);

test('a backfill returns the per-file records of its slot, stamped with their close times', async () => {
  const work = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'xrootd-demo-'));
  const stateDir = path.join(work, 'var', 'state', 'xrootd-transfers');
  mkdirSync(stateDir, { recursive: true });
  const queueDir = path.join(work, 'queue');
  const configText = `[paths]\nvar = ${path.join(work, 'var')}\n\n[xrootd-transfers]\nqueue_dir = ${queueDir}\nfile_records = on\ndns_servers = 127.0.0.1:9\ndns_timeout = 100ms\ndns_budget = 1s\n`;
  const currentSlot = slotStart(Date.now());
  const pastSlot = currentSlot - 3 * SLOT;
  const recorded = JSON.parse(readFileSync(RECORDED_PACKETS_FILE, 'utf8')) as RecordedPackets;
  const writer = new QueueWriter(queueDir, 10_000);
  await writer.append(
    replayedAt(recorded, pastSlot + 60_000).map(({ receivedMs, packet }) => encodeRecord(receivedMs, '127.0.0.1:1094', packet)),
    pastSlot + 60_000,
  );
  await writer.closeCurrent();

  const regular = await collectFor(configText, stateDir, currentSlot);
  const regularCloses = regular.documents.filter((document) => document.producer === 'xrootd-files');
  // The recording holds three closes, at least one some seconds after the slot start.
  expect(regularCloses).toHaveLength(3);
  expect(regularCloses.some((document) => (document.timestamp as number) > pastSlot)).toBe(true);

  const backfill = await collectFor(configText, stateDir, pastSlot);
  expect(backfill.documents.every((document) => (document.timestamp as number) >= pastSlot && (document.timestamp as number) < pastSlot + SLOT)).toBe(true);
  expect(backfill.documents.filter((document) => document.producer === 'xrootd-files')).toEqual(regularCloses);
  expect(backfill.documents.filter((document) => document.type === 'transfers')).toEqual(regular.documents.filter((document) => document.type === 'transfers'));
}, 60_000);

test('backfill messages: what the archive covers, the slot\'s own rejections only, and no backfill with queue = stream', async () => {
  const work = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'xrootd-demo-'));
  const stateDir = path.join(work, 'var', 'state', 'xrootd-transfers');
  mkdirSync(stateDir, { recursive: true });
  const queueDir = path.join(work, 'queue');
  const configText = `[paths]\nvar = ${path.join(work, 'var')}\n\n[xrootd-transfers]\nqueue_dir = ${queueDir}\ndns_servers = 127.0.0.1:9\ndns_timeout = 100ms\ndns_budget = 1s\n`;
  const currentSlot = slotStart(Date.now());
  const pastSlot = currentSlot - 3 * SLOT;
  const recorded = JSON.parse(readFileSync(RECORDED_PACKETS_FILE, 'utf8')) as RecordedPackets;
  const writer = new QueueWriter(queueDir, 10_000);
  const records = replayedAt(recorded, pastSlot + 60_000).map(({ receivedMs, packet }) => encodeRecord(receivedMs, '127.0.0.1:1094', packet));
  // A packet of an unknown code, received a slot later: that slot's problem, not the backfill's.
  const malformedMs = pastSlot + SLOT + 30_000;
  records.push(encodeRecord(malformedMs, '127.0.0.1:1094', Buffer.from([0x5a, 0, 0, 8, 0, 0, 0, 1])));
  await writer.append(records, pastSlot + 60_000);
  await writer.closeCurrent();

  const regular = await collectFor(configText, stateDir, currentSlot);
  expect(regular.context.problems).toEqual([expect.stringMatching(/^1 malformed packets rejected: unknown_code 1/)]);

  const backfill = await collectFor(configText, stateDir, pastSlot);
  expect(backfill.documents.filter((document) => document.type === 'transfers').length).toBeGreaterThan(0);
  expect(backfill.context.problems).toEqual([]);
  expect(backfill.context.log.lines).toEqual(expect.arrayContaining([expect.stringContaining('1 malformed packets received outside slot')]));

  // Before the first archived packet: no documents, and the log says why.
  const tooOld = pastSlot - 6 * SLOT;
  const old = await collectFor(configText, stateDir, tooOld);
  expect(old.documents).toEqual([]);
  const first = new Date(recorded.packets[0].receivedMs + Math.round((pastSlot + 60_000 - recorded.packets[0].receivedMs) / 1000) * 1000).toISOString();
  expect(old.context.log.lines).toEqual(
    expect.arrayContaining([expect.stringContaining(`the archive and the queue hold packets received from ${first} on: slot ${new Date(tooOld).toISOString().slice(0, 16).replace('T', ' ')} is before that`)]),
  );

  // queue = stream keeps no copy here: a config matter (exit 2), said plainly.
  await expect(collectFor(`${configText}queue = stream\n`, stateDir, pastSlot)).rejects.toThrow(
    expect.objectContaining({ name: 'ConfigError', message: expect.stringMatching(/backfill is not available with queue = stream: the packets come from the stream/) }) as Error,
  );
}, 60_000);
