import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { DocumentFactory } from '../../lib/documents/document';
import type { MonitDocument } from '../../lib/documents/types';
import { slotStart, TEN_MINUTES_MS } from '../../lib/run/slot';
import { Accounting, emptyState, type AccountingState, type ServerState } from './accounting';
import { PacketError, parsePacket, type ClientLogin } from './protocol';
import { RedirectionAccounting } from './redirections';
import { buildReport } from './report';
import { parseSiteTable, siteOfHostName, UNKNOWN, type ClientPlace } from '../../lib/sites/siteTable';
import { parseTopologyTable } from './topology';
import { parseVoRules } from './vo';
import { COPY_PROGRAMS, generatePacketMix, mixConfigText, type MixPacket } from './test/packetMix';

// The accounting is tuned for speed (open-file counts, cell reuse, indexed redirect opens, memoised
// places): the documents of a packet mix must stay those of the code before the tuning. The golden
// file was written by main at 93e5d88 (GOLDEN_UPDATE=1 npx jest accountingGolden).
const GOLDEN = path.join(__dirname, 'testdata', 'accounting-golden.json');

/** Packets with one sender's server start moved on after `fromMs`: a restart in the middle of the mix. */
function withRestart(packets: MixPacket[], sender: string, fromMs: number): MixPacket[] {
  return packets.map((packet) => {
    if (packet.sender !== sender || packet.receivedMs < fromMs) return packet;
    const copy = Buffer.from(packet.packet);
    copy.writeInt32BE(copy.readInt32BE(4) + 100, 4);
    return { ...packet, packet: copy };
  });
}

/**
 * Every 29th packet a second time, right after the first (UDP duplicates); every 13th f packet
 * again with another server id in its time record: not a duplicate, so its opens reuse file ids
 * still open and its closes find files already closed.
 */
function withDuplicates(packets: MixPacket[]): MixPacket[] {
  let files = 0;
  return packets.flatMap((packet, index) => {
    const copies = index % 29 === 0 ? [packet, packet] : [packet];
    if (String.fromCharCode(packet.packet[0]) !== 'f' || (files += 1) % 13 !== 0) return copies;
    const replay = Buffer.from(packet.packet);
    replay[31] ^= 0xff;
    return [...copies, { ...packet, packet: replay }];
  });
}

interface Outcome {
  documents: MonitDocument[];
  /** Server slots whose filesOpen was compared with the server's files right after a packet. */
  openCountsChecked: number;
  /** Files the expiries in the middle of runs forgot. */
  expiredMidRun: number;
}

function runMix(): Outcome {
  const mix = generatePacketMix({ dataServers: 2, opensPerSecond: 1, seconds: 2400 });
  const startMs = mix.packets[0].receivedMs;
  const restarted = mix.packets.find((packet) => String.fromCharCode(packet.packet[0]) === 'f')?.sender ?? '';
  const packets = withDuplicates(withRestart(mix.packets, restarted, startMs + 1_300_000));
  const config = Config.parse(mixConfigText(), 'accounting golden test');
  const table = parseSiteTable(config.section('xrootd-transfers.sites').entries());
  const places = { place: (host: string) => siteOfHostName(table, host) };
  const topology = parseTopologyTable(config.section('xrootd-transfers.topology'));
  // A short idle timeout (the mix's files report every minute or so), so that files expire within runs and between them.
  const options = { transferPrograms: new Set(COPY_PROGRAMS), idleTimeoutMs: 45_000, voRules: parseVoRules(config.section('xrootd-transfers.vo')) };
  // One run per two slots (a run that came late): a file's records then span slots within a run.
  const byRun = new Map<number, MixPacket[]>();
  for (const packet of packets) {
    const runStartMs = Math.floor(packet.receivedMs / (2 * TEN_MINUTES_MS)) * 2 * TEN_MINUTES_MS;
    byRun.set(runStartMs, [...(byRun.get(runStartMs) ?? []), packet]);
  }
  const documents: MonitDocument[] = [];
  let openCountsChecked = 0;
  let expiredMidRun = 0;
  let saved = JSON.stringify(emptyState());
  for (const [runStartMs, slotPackets] of byRun) {
    // Each run starts from the state as the state file gives it back.
    const state = JSON.parse(saved) as AccountingState;
    const accounting = new Accounting(state, { ...options, reportedBefore: state.reportedBefore });
    for (const [index, packet] of slotPackets.entries()) {
      // Expiry in the middle of a run too: the counts must follow it.
      if (index > 0 && index % Math.floor(slotPackets.length / 4) === 0) expiredMidRun += accounting.expire(packet.receivedMs);
      const key = `${slotStart(packet.receivedMs)}\u0000${packet.sender}`;
      const before = accounting.serverSlots.get(key);
      const countedBefore = before ? before.packets + before.packetsDuplicate : -1;
      accounting.add(packet.receivedMs, packet.sender, packet.packet);
      // When this packet was counted in its receive slot, that slot's filesOpen is the server's count now.
      const slot = accounting.serverSlots.get(key);
      const server = state.servers[packet.sender];
      if (slot && server && slot.packets + slot.packetsDuplicate !== countedBefore) {
        expect(slot.filesOpen).toBe(Object.keys(server.files).length);
        openCountsChecked += 1;
      }
    }
    accounting.finish();
    const runSlotMs = runStartMs + 2 * TEN_MINUTES_MS;
    accounting.expire(runSlotMs);
    accounting.redirections.useTopology(topology);
    documents.push(...buildReport(accounting, places, new DocumentFactory({ slotMs: runSlotMs, host: 'golden' })).documents);
    state.reportedBefore = runSlotMs;
    saved = JSON.stringify(state);
  }
  return { documents, openCountsChecked, expiredMidRun };
}

test('a packet mix with duplicates, a restart and expiry gives the documents it gave before the tuning', () => {
  const { documents, openCountsChecked, expiredMidRun } = runMix();
  expect(openCountsChecked).toBeGreaterThan(1000);
  expect(expiredMidRun).toBeGreaterThan(0);
  // One document per line, for readable diffs.
  const text = `[\n${documents.map((document) => JSON.stringify(document)).join(',\n')}\n]\n`;
  if (process.env.GOLDEN_UPDATE === '1') writeFileSync(GOLDEN, text);
  const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as MonitDocument[];
  expect(golden.length).toBeGreaterThan(100);
  const kinds = new Set(golden.map((document) => document.type));
  for (const kind of ['transfers', 'users', 'servers', 'redirections', 'tpc', 'cache']) expect(kinds).toContain(kind);
  expect(documents).toEqual(golden);
});

test('a redirect resolves to the first unclaimed open of its client and path, in the order the opens came', () => {
  const server = (name: string, site: string): ServerState => ({ serverStart: 1, lastSequence: {}, name, site, host: name.split(':')[0], lastSeenMs: 0, users: {}, paths: {}, files: {} });
  const redirector = server('red.example:1094', 'RED');
  const [siteA, siteB, siteC] = [server('a.example:1094', 'SITE-A'), server('b.example:1094', 'SITE-B'), server('c.example:1094', 'SITE-C')];
  const slotMs = Date.UTC(2026, 10, 22, 10, 0);
  const client = (pid: number, host = 'worker.example'): ClientLogin => ({ protocol: 'xroot', user: 'alice', pid, sessionId: '1', host, info: {} });
  const places = { place: (host: string): ClientPlace => ({ hostName: host, domain: UNKNOWN, site: host === 'worker.example' ? 'SITE-A' : UNKNOWN }) };
  const scopes = (opens: Array<[ServerState, ClientLogin, string, number]>, redirects: number): Record<string, number> => {
    const redirections = new RedirectionAccounting(() => [redirector, siteA, siteB, siteC]);
    redirections.useTopology(new Map([['SITE-A', { cloud: 'EU' }], ['SITE-B', { cloud: 'EU' }], ['SITE-C', { cloud: 'US' }]]));
    redirections.observeLogin(redirector, 7, client(4242));
    for (const [at, login, file, receivedMs] of opens) redirections.observeOpen(at, login, file, receivedMs);
    const record = { operation: 'openr', configuredRoute: false, userId: 7, host: 'elsewhere.example', port: 1094, path: '/store/f', time: 0 };
    const header = { code: 'r', sequence: 0, length: 0, serverStart: 1 };
    redirections.add(redirector, { header, begin: 0, end: 0, redirects: Array.from({ length: redirects }, () => record) }, slotMs);
    return Object.fromEntries(redirections.counts(places).map((group) => [group.scope, group.redirects]));
  };
  const at = slotMs + 60_000;
  // Not the client's: another pid, another host, another path, the redirector itself, an open 20 minutes too early.
  const decoys: Array<[ServerState, ClientLogin, string, number]> = [
    [siteC, client(999), '/store/f', at],
    [siteC, client(4242, 'other.example'), '/store/f', at],
    [siteC, client(4242), '/store/g', at],
    [redirector, client(4242), '/store/f', at],
    [siteC, client(4242), '/store/f', at - 20 * 60_000],
  ];
  expect(scopes([...decoys, [siteA, client(4242), '/store/f', at], [siteC, client(4242), '/store/f', at]], 1)).toEqual({ local: 1 });
  expect(scopes([...decoys, [siteC, client(4242), '/store/f', at], [siteA, client(4242), '/store/f', at]], 1)).toEqual({ other_cloud: 1 });
  // Each open is claimed once: the second redirect takes the second open, the third finds none (the target host: unknown).
  expect(scopes([[siteB, client(4242), '/store/f', at], ...decoys, [siteC, client(4242), '/store/f', at]], 3)).toEqual({ same_cloud: 1, other_cloud: 1, unknown: 1 });
});

test('byte counts decode as the signed 64-bit values they are, up to the largest safe integer', () => {
  /** An f packet: a time record, then one xfr record whose read total is `read`. */
  const transfer = (read: bigint): Buffer => {
    const packet = Buffer.alloc(8 + 24 + 32);
    packet.write('f', 0, 'latin1');
    packet.writeUInt16BE(packet.length, 2);
    packet.writeInt32BE(1_795_000_000, 4);
    packet.writeUInt8(2, 8);
    packet.writeUInt16BE(24, 10);
    packet.writeInt16BE(1, 14);
    packet.writeUInt8(3, 32);
    packet.writeUInt16BE(32, 34);
    packet.writeUInt32BE(7, 36);
    packet.writeBigInt64BE(read, 40);
    return packet;
  };
  const readOf = (read: bigint): number | string => {
    try {
      const packet = parsePacket(transfer(read));
      const record = packet.kind === 'files' ? packet.records.find((candidate) => candidate.type === 'transfer') : undefined;
      return record?.type === 'transfer' ? record.totals.read : 'no transfer record';
    } catch (error) {
      return error instanceof PacketError ? `${error.kind}: ${error.message}` : String(error);
    }
  };
  for (const value of [0n, 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x1_0000_0000n, 0x1_8000_0001n, 0x1f_ffff_0000_0000n, BigInt(Number.MAX_SAFE_INTEGER)]) {
    expect(readOf(value)).toBe(Number(value));
  }
  expect(readOf(BigInt(Number.MAX_SAFE_INTEGER) + 1n)).toBe('bad_value: byte count 9007199254740992 out of range');
  expect(readOf(-1n)).toBe('bad_value: byte count -1 out of range');
  expect(readOf(-(2n ** 63n))).toBe('bad_value: byte count -9223372036854775808 out of range');
});
