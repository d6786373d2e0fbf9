/**
 * Sequence streams, duplicates, U/T packets and session counts, with a real xrootd 5.5.3 whose
 * packets go through a relay that adds what this server cannot send (g-stream providers, U and T
 * map packets of a newer server) numbered as a server would number them, repeats or drops packets.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MonitDocument } from '../../lib/documents/types';
import { testDir } from '../../test/support/services';
import { Accounting, emptyState } from './accounting';
import { parsePacket, sequenceStream } from './protocol';
import { collectFor as collectForSlot, settle, startMonitoredServer, xrdcp, type MonitoredServer } from './test/monitoredServer';

const MINUTE = 60_000;
const SLOT = 10 * MINUTE;
const SLOT_A = Date.UTC(2026, 10, 23, 10, 0);
const slot = (index: number): number => SLOT_A + index * SLOT;
const SITE = 'T2_SEQUENCE_SITE';

let clockMs = slot(0) + MINUTE;
/** Main-stream packets the relay added so far: the server's later ones are numbered after them. */
let mainShift = 0;
let server: MonitoredServer;
let work: string;
let stateDir: string;
let configText: string;

const code = (packet: Buffer): string => String.fromCharCode(packet[0]);

/** A map packet ('u', 'U', 'T', 'd') as XrdXrootdMonitor::Map lays it out. */
function mapPacket(packetCode: string, sequence: number, serverStart: number, dictId: number, text: string): Buffer {
  const body = Buffer.from(`${text}\0`, 'latin1');
  const packet = Buffer.alloc(12 + body.length);
  packet.write(packetCode, 0, 'latin1');
  packet[1] = sequence & 0xff;
  packet.writeUInt16BE(packet.length, 2);
  packet.writeInt32BE(serverStart, 4);
  packet.writeUInt32BE(dictId, 8);
  body.copy(packet, 12);
  return packet;
}

/** A g-stream packet (XrdXrootdMonGS) of `provider` (C pfc, P tpc) with one JSON record of its kind. */
function gstreamPacket(provider: string, sequence: number, serverStart: number, timeS: number): Buffer {
  const json =
    provider === 'P'
      ? '{"TPC":"xroot","Client":"c.1:2@h","Xeq":{"Beg":"2026-11-22T10:00:00.000001Z","End":"2026-11-22T10:00:01.000001Z","RC":0,"Strm":1,"Type":"pull","IPv":4},"Src":"xroot://h:1094//f","Dst":"xroot://d:1094//f","Size":1}'
      : '{"event":"file_close","lfn":"/cached.bin","size":1,"b_hit":1,"b_miss":0,"b_bypass":0}';
  const record = Buffer.from(`${json}\0`, 'latin1');
  const packet = Buffer.alloc(24 + record.length);
  packet.write('g', 0, 'latin1');
  packet[1] = sequence & 0xff;
  packet.writeUInt16BE(packet.length, 2);
  packet.writeInt32BE(serverStart, 4);
  packet.writeInt32BE(timeS, 8);
  packet.writeInt32BE(timeS, 12);
  packet.writeBigUInt64BE((BigInt(provider.charCodeAt(0)) << 56n) | 0x7f0000011094n, 16);
  record.copy(packet, 24);
  return packet;
}

/** The packet renumbered after the main-stream packets the relay added. */
function renumbered(packet: Buffer): Buffer {
  if (sequenceStream(packet) !== 'main') return packet;
  const copy = Buffer.from(packet);
  copy[1] = (packet[1] + mainShift) & 0xff;
  return copy;
}

const disconnects = (packets: Buffer[]): number =>
  packets.reduce((sum, packet) => {
    const decoded = code(packet) === 'f' ? parsePacket(packet) : undefined;
    return sum + (decoded?.kind === 'files' ? decoded.records.filter((record) => record.type === 'disconnect').length : 0);
  }, 0);

function closesOf(packet: Buffer, file: string, paths: Map<number, string>): number {
  if (code(packet) !== 'f') return 0;
  const decoded = parsePacket(packet);
  if (decoded.kind !== 'files') return 0;
  let closes = 0;
  for (const record of decoded.records) {
    if (record.type === 'open' && record.path) paths.set(record.fileId, record.path);
    if (record.type === 'close' && paths.get(record.fileId) === file) closes += 1;
  }
  return closes;
}

const collectUpTo = (slotMs: number): ReturnType<typeof collectForSlot> => collectForSlot(configText, stateDir, slotMs);

const ofType = (documents: MonitDocument[], type: string, slotMs: number): MonitDocument[] =>
  documents.filter((document) => document.type === type && document.timestamp === slotMs);

beforeAll(async () => {
  work = testDir('xrootd-sequences');
  stateDir = testDir('xrootd-sequences-state');
  server = await startMonitoredServer(work, { site: SITE, now: () => clockMs });
  configText = `[xrootd-transfers]\nqueue_dir = ${path.join(work, 'queue')}\ndns_servers = 127.0.0.1:9\ndns_timeout = 100ms\ndns_budget = 1s\n`;
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

test('interleaved g, U and T packets cause no false loss; a repeated f-packet changes only packets_duplicate', async () => {
  const size = 700_001;
  writeFileSync(path.join(work, 'a.bin'), randomBytes(size));
  // The main stream renumbered as a server that also sent U and T would have numbered it; g packets
  // of two providers, each with its own counter (pfc from 254, wrapping to 0; tpc from 7), one after
  // each main-stream packet.
  const gToSend: Array<[string, number]> = [['C', 254], ['P', 7], ['C', 255], ['P', 8], ['C', 0]];
  let repeated: Buffer | undefined;
  const paths = new Map<number, string>();
  server.route = (packet) => {
    const stod = packet.readInt32BE(4);
    if (code(packet) === 'f') {
      if (repeated || closesOf(packet, '/a.bin', paths) === 0) return [packet];
      repeated = Buffer.from(packet); // UDP delivered it twice
      return [packet, repeated];
    }
    const out = [renumbered(packet)];
    if (code(packet) === 'u') {
      const user = packet.readUInt32BE(8);
      const identity = packet.toString('latin1', 12).split('\n')[0];
      const sequence = out[0][1];
      out.push(mapPacket('U', sequence + 1, stod, 9000 + mainShift, `${identity}\n&Uc=${user}&Ec=2&Ac=5`));
      out.push(mapPacket('T', sequence + 2, stod, 9001 + mainShift, `${identity}\n&Uc=${user}&s=subject-1&n=alice&o=https://issuer.example&r=&g=/atlas,/atlas/prod`));
      mainShift += 2;
    }
    const g = gToSend.shift();
    if (g) out.push(gstreamPacket(g[0], g[1], stod, Math.floor(Date.now() / 1000)));
    return out;
  };
  await xrdcp(path.join(work, 'a.bin'), server.url('a.bin'));
  await xrdcp(server.url('a.bin'), path.join(work, 'a.back'));
  const closes = (): number => {
    const seen = new Map<number, string>();
    return server.fromServer.reduce((sum, packet) => sum + closesOf(packet, '/a.bin', seen), 0);
  };
  await settle(server, 'both closes and disconnects, g packets sent', () => closes() === 2 && disconnects(server.fromServer) >= 2 && repeated !== undefined && gToSend.length === 0);
  clockMs = slot(1) + MINUTE;
  const { documents, context } = await collectUpTo(slot(1));

  expect(context.problems).toEqual([]);
  const sent = server.sent;
  expect(sent.filter((packet) => code(packet) === 'g').map((packet) => `${String.fromCharCode(packet[16])}${packet[1]}`)).toEqual(['C254', 'P7', 'C255', 'P8', 'C0']);
  expect(sent.filter((packet) => 'UT'.includes(code(packet)))).toHaveLength(4);
  // Independent of the collector: every stream's pseq runs without a gap in what was sent.
  const streams = new Map<string, number[]>();
  for (const packet of sent.filter((datagram) => datagram !== repeated)) streams.set(sequenceStream(packet), [...(streams.get(sequenceStream(packet)) ?? []), packet[1]]);
  for (const sequences of streams.values()) sequences.forEach((sequence, index) => index > 0 && expect(sequence).toBe((sequences[index - 1] + 1) & 0xff));

  const transfers = ofType(documents, 'transfers', slot(0));
  expect(transfers.reduce((sum, document) => sum + (document.bytes_read as number), 0)).toBe(size);
  expect(transfers.reduce((sum, document) => sum + (document.bytes_written as number), 0)).toBe(size);
  expect(transfers.reduce((sum, document) => sum + (document.files_closed as number), 0)).toBe(2);
  expect(ofType(documents, 'servers', slot(0))).toEqual([
    expect.objectContaining({
      server_site: SITE,
      packets: sent.length - 1,
      packets_lost: 0,
      packets_rejected: 0,
      packets_duplicate: 1,
      // One login per xrdcp and one of the harness's probe of the server at its start, each ending in a disconnect record.
      logins: server.fromServer.filter((packet) => code(packet) === 'u').length,
      disconnects: disconnects(server.fromServer),
    }),
  ]);
}, 120_000);

test('a real gap is counted, in the main stream and in a g-stream provider', async () => {
  clockMs = slot(2) + MINUTE;
  let droppedMain = 0;
  // The pfc provider goes on from 1 and skips 3: one packet lost. The first path map is lost too.
  const gToSend = [1, 2, 4];
  server.route = (packet) => {
    if (code(packet) === 'd' && droppedMain === 0) {
      droppedMain += 1;
      return [];
    }
    if (code(packet) === 'f') return [packet];
    const g = gToSend.shift();
    return g === undefined ? [renumbered(packet)] : [renumbered(packet), gstreamPacket('C', g, packet.readInt32BE(4), Math.floor(Date.now() / 1000))];
  };
  await xrdcp(server.url('a.bin'), path.join(work, 'a.again'));
  const seen = new Map<number, string>();
  const from = server.fromServer.length;
  await settle(server, 'the close and three g packets', () => droppedMain === 1 && gToSend.length === 0 && disconnects(server.fromServer.slice(from)) === 1 && server.fromServer.slice(from).some((packet) => closesOf(packet, '/a.bin', seen) > 0));
  clockMs = slot(3) + MINUTE;
  const { documents } = await collectUpTo(slot(3));
  expect(ofType(documents, 'servers', slot(2))).toEqual([expect.objectContaining({ packets_lost: 2, packets_duplicate: 0, packets_rejected: 0, logins: 1 })]);
  expect(ofType(documents, 'transfers', slot(2)).reduce((sum, document) => sum + (document.bytes_read as number), 0)).toBe(700_001);
}, 120_000);

describe('crafted sequences', () => {
  const stod = 1_700_000_000;
  const receivedMs = slot(0) + MINUTE;
  function accountingOf(datagrams: Buffer[]): Accounting {
    const accounting = new Accounting(emptyState(), { transferPrograms: new Set(), idleTimeoutMs: 3_600_000 });
    datagrams.forEach((datagram, index) => accounting.add(receivedMs + index, '10.0.0.1:1094', datagram));
    accounting.finish();
    return accounting;
  }
  const slotOf = (accounting: Accounting) => [...accounting.serverSlots.values()][0];
  const main = (sequence: number, dictId: number): Buffer => mapPacket('u', sequence, stod, dictId, `xroot/user${dictId}.1:2@client.example\n&x=xrdcp`);

  test('a wrap from 255 to 0 is no loss; a pseq a little behind is a late packet, neither 255 lost nor 1', () => {
    const wrapping = accountingOf([250, 251, 252, 253, 254, 255, 0, 1, 2].map((sequence, index) => main(sequence, index + 1)));
    expect(slotOf(wrapping)).toMatchObject({ packets: 9, packetsLost: 0, logins: 9 });
    const late = accountingOf([10, 12, 11, 13].map((sequence, index) => main(sequence, index + 1)));
    expect(slotOf(late)).toMatchObject({ packets: 4, packetsLost: 0 });
    // 14 and 16 never come; 17 arrives before 15: two lost.
    const gaps = accountingOf([10, 13, 11, 12, 17, 15].map((sequence, index) => main(sequence, index + 1)));
    expect(slotOf(gaps)).toMatchObject({ packets: 6, packetsLost: 2 });
  });

  test('a duplicate is recognised in the next run too (the window is in the state), and only there', () => {
    const first = new Accounting(emptyState(), { transferPrograms: new Set(), idleTimeoutMs: 3_600_000 });
    first.add(receivedMs, '10.0.0.1:1094', main(3, 1));
    const stored = JSON.parse(JSON.stringify(first.state)) as ReturnType<typeof emptyState>;
    const second = new Accounting(stored, { transferPrograms: new Set(), idleTimeoutMs: 3_600_000 });
    second.add(receivedMs + 1, '10.0.0.1:1094', main(3, 1));
    // Same pseq, other content: a packet of the next lap of the counter, not a duplicate.
    second.add(receivedMs + 2, '10.0.0.1:1094', main(3, 2));
    second.finish();
    expect([...second.serverSlots.values()]).toEqual([expect.objectContaining({ packets: 1, packetsDuplicate: 1, logins: 1 })]);
  });

  test('U and T packets attach the experiment, activity and token to the session', () => {
    const accounting = accountingOf([
      main(0, 7),
      mapPacket('U', 1, stod, 8, 'xroot/user7.1:2@client.example\n&Uc=7&Ec=2&Ac=5'),
      mapPacket('T', 2, stod, 9, 'xroot/user7.1:2@client.example\n&Uc=7&s=sub&n=alice&o=https://issuer.example&r=&g=/atlas,/atlas/prod'),
    ]);
    expect(accounting.state.servers['10.0.0.1:1094'].users[7]).toMatchObject({
      user: 'user7',
      experiment: 2,
      activity: 5,
      token: { subject: 'sub', issuer: 'https://issuer.example', groups: ['/atlas', '/atlas/prod'] },
    });
    expect(slotOf(accounting)).toMatchObject({ packets: 3, packetsLost: 0, packetsRejected: 0 });
  });

  test('every rejection kind is counted with its senders', () => {
    const accounting = new Accounting(emptyState(), { transferPrograms: new Set(), idleTimeoutMs: 3_600_000 });
    const bad = main(0, 1);
    bad.writeUInt16BE(bad.length + 5, 2);
    const senders = ['10.0.0.1:1', '10.0.0.2:1', '10.0.0.3:1', '10.0.0.4:1'];
    const unknown = Buffer.alloc(12);
    unknown.write('Z', 0, 'latin1');
    unknown.writeUInt16BE(12, 2);
    for (const sender of senders) accounting.add(receivedMs, sender, unknown);
    accounting.add(receivedMs, senders[0], bad);
    accounting.add(receivedMs, senders[0], Buffer.alloc(3));
    expect(accounting.rejected).toBe(6);
    expect(accounting.rejections.get('unknown_code')).toMatchObject({ count: 4, senders: new Map(senders.map((sender) => [sender, 1])) });
    expect(accounting.rejections.get('truncated')?.count).toBe(2);
  });
});
