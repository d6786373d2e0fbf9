/**
 * Rejected packets through the queue and the collector: senders that never sent a valid packet
 * share one servers document, text g-stream packets (recorded from a real 5.5.3 server) have a
 * rejection kind of their own, whose example in the problem line says how to send them in binary.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { collectedDocuments } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext } from '../../test/support/collectorContext';
import { queuePackets } from '../../test/support/packetQueue';
import { testDir } from '../../test/support/services';
import collector from './collector';
import { mapPacket } from './test/packets';

const SLOT_0 = Date.UTC(2026, 10, 24, 10, 0);
const START = 1_795_000_000;
const SERVER = '10.0.0.1:1094';
const LATE_SERVER = '10.0.0.2:1094';
const JUNK = ['127.0.0.1:45022', '127.0.0.1:45023', '127.0.0.1:45024'];
const TEXT_SENDER = '127.0.0.1:45100';

const recorded = JSON.parse(readFileSync(path.join(__dirname, 'testdata', 'xrootd-5.5.3-gstream-packets.json'), 'utf8')) as { textPackets: Array<{ hex: string }> };
const textPackets = recorded.textPackets.map((packet) => Buffer.from(packet.hex, 'hex'));

/** A packet of the unknown code 'Z' with a consistent header. */
function unknownCode(): Buffer {
  const packet = Buffer.alloc(12);
  packet.write('Z', 0, 'latin1');
  packet.writeUInt16BE(packet.length, 2);
  packet.writeUInt32BE(START, 4);
  return packet;
}

function identification(sequence: number, host: string): Buffer {
  return mapPacket('=', sequence, START, 0, `xrootd/daemon.1:1@${host}\n&site=SITE_X&port=1094&inst=x&pgm=xrootd&ver=v5.5.3`);
}

let documents: MonitDocument[];
let problems: string[];

beforeAll(async () => {
  const work = testDir('xrootd-rejections');
  const queueDir = path.join(work, 'queue');
  const at = SLOT_0 + 60_000;
  // The unknown code comes first, so a shared kind would show it, not the text g-stream's hint.
  const packets = [
    { data: identification(0, 'xrootd.example.org'), sender: SERVER },
    { data: Buffer.alloc(3), sender: SERVER },
    ...JUNK.map((sender) => ({ data: unknownCode(), sender })),
    ...textPackets.map((data) => ({ data, sender: TEXT_SENDER })),
    // Garbage first, then its identification in the same slot: it is a server after all.
    { data: Buffer.from('garbage!'), sender: LATE_SERVER },
    { data: identification(0, 'late.example.org'), sender: LATE_SERVER },
  ].map((packet, index) => ({ ...packet, receivedMs: at + index }));
  await queuePackets(queueDir, packets);
  const config = `[xrootd-transfers]\nqueue_dir = ${queueDir}\n[xrootd-transfers.sites]\nexample.org = SITE_X\n`;
  const context = collectorContext('xrootd-transfers', config, { slotMs: SLOT_0 + 600_000, stateDir: path.join(work, 'state') });
  documents = collectedDocuments(await collector.collect(context));
  problems = context.problems;
});

test('senders that never sent a valid packet share one servers document, unidentified at an unknown site', () => {
  const servers = documents.filter((document) => document.type === 'servers');
  const pick = (document: MonitDocument): unknown[] => [document.server, document.server_site, document.packets, document.packets_rejected];
  expect(servers.map(pick).sort()).toEqual(
    [
      ['xrootd.example.org:1094', 'SITE_X', 1, 1],
      ['late.example.org:1094', 'SITE_X', 1, 1],
      ['unidentified', 'unknown', 0, JUNK.length + textPackets.length],
    ].sort(),
  );
  expect(servers.map((document) => document.server).join(' ')).not.toMatch(/127\.0\.0\.1/);
});

test('text g-stream packets have their own rejection kind, whose example carries the hint; the senders are named', () => {
  expect(problems).toHaveLength(1);
  const [line] = problems;
  expect(line).toMatch(new RegExp(`^${2 + JUNK.length + textPackets.length} malformed packets rejected: `));
  expect(line).toContain(`unknown_code ${JUNK.length} from ${JUNK.map((sender) => `${sender} (1)`).join(', ')}, e.g. ${JUNK[0]}: unknown packet code 0x5a`);
  expect(line).toContain(`text_gstream ${textPackets.length} from ${TEXT_SENDER} (${textPackets.length}), e.g. ${TEXT_SENDER}: text g-stream packet`);
  expect(line.slice(line.indexOf('text_gstream '))).toContain('not decoded; send the g-stream in binary with "tpc pfc" in an xrootd.monitor dest');
});
