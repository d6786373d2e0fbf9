/**
 * Backfill: a real xrootd's packets recorded "yesterday" (its clock) and replayed "today" (the
 * receiver's clock, one day ahead) land in their own slot only when the collector runs with
 * --timestamp for it; the regular runs neither count them nor replace the slot.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../lib/config/paths';
import type { MonitDocument } from '../../lib/documents/types';
import { slotStart } from '../../lib/run/slot';
import { testDir } from '../../test/support/services';
import { parsePacket } from './protocol';
import { collectFor as collectForSlot, settle, startMonitoredServer, xrdcp, type MonitoredServer } from './test/monitoredServer';

const DAY = 86_400_000;
const SLOT = 600_000;
const SITE = 'T2_BACKFILL_SITE';

/** The receiver's clock: a day after the server's. */
let clockMs = Date.now() + DAY;
let server: MonitoredServer;
let work: string;
let stateDir: string;
let configText: string;

const code = (packet: Buffer): string => String.fromCharCode(packet[0]);

function records(packets: Buffer[]) {
  return packets.flatMap((packet) => {
    const decoded = code(packet) === 'f' ? parsePacket(packet) : undefined;
    return decoded?.kind === 'files' ? decoded.records : [];
  });
}

const collectFor = (slotMs: number): ReturnType<typeof collectForSlot> => collectForSlot(configText, stateDir, slotMs);

const sum = (documents: MonitDocument[], type: string, field: string): number =>
  documents.filter((document) => document.type === type).reduce((total, document) => total + ((document[field] as number | undefined) ?? 0), 0);

beforeAll(async () => {
  work = testDir('xrootd-backfill');
  // Where ./run.sh finds it too, with [paths] var.
  stateDir = path.join(work, 'var', 'state', 'xrootd-transfers');
  mkdirSync(stateDir, { recursive: true });
  // Recorded only, from the server's start on: nothing reaches the receiver until the replay.
  server = await startMonitoredServer(work, { site: SITE, now: () => clockMs, route: () => [] });
  configText = `[paths]\nvar = ${path.join(work, 'var')}\n\n[xrootd-transfers]\nqueue_dir = ${path.join(work, 'queue')}\ndns_servers = 127.0.0.1:9\ndns_timeout = 100ms\ndns_budget = 1s\n`;
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

test('a transfer recorded yesterday and replayed today lands in its own slot with --timestamp, and only there', async () => {
  const size = 512_345;
  writeFileSync(path.join(work, 'b.bin'), randomBytes(size));
  await xrdcp(path.join(work, 'b.bin'), server.url('b.bin'));
  await xrdcp(server.url('b.bin'), path.join(work, 'b.back'));
  await settle(server, 'two closes and the disconnects recorded', () => {
    const recorded = records(server.fromServer);
    return recorded.filter((record) => record.type === 'close').length === 2 && recorded.filter((record) => record.type === 'disconnect').length >= server.fromServer.filter((packet) => code(packet) === 'u').length;
  });
  const recorded = [...server.fromServer];
  // The slots of yesterday the server's f-stream time records fall in (two when a slot boundary passed meanwhile).
  const slots = [...new Set(recorded.filter((packet) => code(packet) === 'f').map((packet) => slotStart(packet.readInt32BE(20) * 1000)))].sort();

  // A regular run of today reports every slot before today's, yesterday's included (with nothing).
  const today = slotStart(clockMs);
  expect((await collectFor(today)).documents.filter((document) => document.type === 'transfers')).toEqual([]);

  // The replay: received today.
  for (const packet of recorded) await server.send(packet);
  await settle(server, 'the replay queued', () => true);
  clockMs += SLOT;
  const regular = await collectFor(today + SLOT);
  expect(regular.documents.filter((document) => document.type === 'transfers')).toEqual([]);
  expect(regular.documents.filter((document) => (document.timestamp as number) < today)).toEqual([]);
  const slotNames = slots.map((slotMs) => new Date(slotMs).toISOString().slice(0, 16).replace('T', ' '));
  expect(regular.context.log.lines).toEqual(expect.arrayContaining([expect.stringContaining(`${recorded.length} packets belong to slots already reported (${slotNames.join(', ')}), from 127.0.0.1:`)]));
  // The sender is named with its clock offset: a day behind the receiver, give or take the replay's seconds.
  const offset = Number(/\(clock (-?\d+) s off\)/.exec(regular.context.log.lines.find((line) => line.includes('already reported')) ?? '')?.[1]);
  expect(Math.abs(offset + DAY / 1000)).toBeLessThan(60);
  const stateBefore = readFileSync(path.join(stateDir, 'accounting.json'), 'utf8');

  // --timestamp for yesterday's slots: the transfer, with the bytes of the files copied.
  const backfilled: MonitDocument[] = [];
  for (const slotMs of slots) {
    const { documents, context } = await collectFor(slotMs);
    expect(context.problems).toEqual([]);
    expect(documents.every((document) => document.timestamp === slotMs)).toBe(true);
    backfilled.push(...documents);
  }
  expect(sum(backfilled, 'transfers', 'bytes_read')).toBe(size);
  expect(sum(backfilled, 'transfers', 'bytes_written')).toBe(size);
  expect(sum(backfilled, 'transfers', 'files_closed')).toBe(2);
  expect(backfilled.filter((document) => document.type === 'servers').map((document) => document.server_site)).toEqual(slots.map(() => SITE));
  expect(sum(backfilled, 'servers', 'packets')).toBe(recorded.length);
  expect(sum(backfilled, 'servers', 'packets_lost')).toBe(0);
  expect(sum(backfilled, 'servers', 'logins')).toBe(recorded.filter((packet) => code(packet) === 'u').length);
  // A backfill moves nothing: the regular runs' state is as it was, and a second backfill gives the same.
  expect(readFileSync(path.join(stateDir, 'accounting.json'), 'utf8')).toBe(stateBefore);
  expect((await collectFor(slots[0])).documents).toEqual(backfilled.filter((document) => document.timestamp === slots[0]));
  // The same through ./run.sh (the built main.js), as an operator runs it: --timestamp, here with --dry-run.
  const configFile = path.join(work, 'backfill.cfg');
  writeFileSync(configFile, configText);
  const printed: MonitDocument[] = [];
  for (const name of slotNames) {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), 'xrootd-transfers', '--config', configFile, '--dry-run', '--timestamp', name]);
    printed.push(...stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as MonitDocument));
  }
  expect(sum(printed, 'transfers', 'bytes_read')).toBe(size);
  expect(sum(printed, 'transfers', 'bytes_written')).toBe(size);
  expect(readFileSync(path.join(stateDir, 'accounting.json'), 'utf8')).toBe(stateBefore);

  // The next regular run does not count the transfer again.
  clockMs += SLOT;
  const next = await collectFor(today + 2 * SLOT);
  expect(sum(next.documents, 'transfers', 'bytes_read') + sum(next.documents, 'transfers', 'bytes_written')).toBe(0);
  expect(next.documents.filter((document) => (document.timestamp as number) < today + SLOT)).toEqual([]);
}, 120_000);
