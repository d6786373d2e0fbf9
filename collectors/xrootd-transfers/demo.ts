import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { COLLECTORS_DIR } from '../../lib/config/paths';
import { slotStart } from '../../lib/run/slot';
import { defineDemo } from '../../scripts/quickstart/components';
import { encodeRecord } from '../../lib/queue/records';
import { QueueWriter } from '../../lib/queue/segments';
import { HEADER_BYTES } from './protocol';
import { receiverOptions } from './receiver';

/** The recorded capture: each packet's receive time (Unix ms) and bytes. */
export interface RecordedPackets {
  packets: Array<{ receivedMs: number; hex: string }>;
}

export const RECORDED_PACKETS_FILE = path.join(COLLECTORS_DIR, 'xrootd-transfers', 'testdata', 'xrootd-5.5.3-packets.json');

// Layouts from XrdXrootdMonData.hh (5.5): every packet starts with code, pseq, plen, stod.
const STOD_OFFSET = 4;
const TRACE_ENTRY_BYTES = 16;
const TRACE_WINDOW = 0xe0;
const REDIRECT_BODY_OFFSET = HEADER_BYTES + 8;
const REDIRECT_ENTRY_BYTES = 8;
const REDIRECT_TIME_MARK = 0x00;

function shiftInt32(packet: Buffer, offset: number, seconds: number): void {
  if (offset + 4 > packet.length) return;
  const value = packet.readInt32BE(offset);
  // 0 means "no time" in these records: left as it is.
  if (value !== 0) packet.writeInt32BE(value + seconds, offset);
}

/**
 * A copy of a detailed-monitoring packet whose own times are `seconds` later: the header's stod, an
 * f-stream's time record (tBeg, tEnd), a trace packet's window marks, a g-stream's window, an r
 * packet's time marks. Every other byte stays as recorded, so the decoders see the real server's packet.
 */
export function shiftPacketTimes(packet: Buffer, seconds: number): Buffer {
  const shifted = Buffer.from(packet);
  if (shifted.length < HEADER_BYTES) return shifted;
  shifted.writeUInt32BE(shifted.readUInt32BE(STOD_OFFSET) + seconds, STOD_OFFSET);
  switch (String.fromCharCode(shifted[0])) {
    case 'f': // XrdXrootdMonFileTOD: an 8-byte record header, then tBeg, tEnd
      shiftInt32(shifted, HEADER_BYTES + 8, seconds);
      shiftInt32(shifted, HEADER_BYTES + 12, seconds);
      break;
    case 'g': // XrdXrootdMonGS: tBeg, tEnd right after the packet header
      shiftInt32(shifted, HEADER_BYTES, seconds);
      shiftInt32(shifted, HEADER_BYTES + 4, seconds);
      break;
    case 't': // XrdXrootdMonTrace: a window mark holds the previous window's end and this one's start
      for (let offset = HEADER_BYTES; offset + TRACE_ENTRY_BYTES <= shifted.length; offset += TRACE_ENTRY_BYTES) {
        if (shifted[offset] !== TRACE_WINDOW) continue;
        shiftInt32(shifted, offset + 8, seconds);
        shiftInt32(shifted, offset + 12, seconds);
      }
      break;
    case 'r': // XrdXrootdMonBurr: time marks among redirect entries that span 1 + their target slots
      for (let offset = REDIRECT_BODY_OFFSET; offset + REDIRECT_ENTRY_BYTES <= shifted.length; ) {
        if (shifted[offset] === REDIRECT_TIME_MARK) {
          shiftInt32(shifted, offset + 4, seconds);
          offset += REDIRECT_ENTRY_BYTES;
        } else {
          offset += REDIRECT_ENTRY_BYTES * (shifted[offset + 1] + 1);
        }
      }
      break;
  }
  return shifted;
}

/**
 * The recorded packets as if the server had sent them from `startMs` on: receive times and the
 * packets' own times moved by the same whole number of seconds (the packets count seconds).
 */
export function replayedAt(recorded: RecordedPackets, startMs: number): Array<{ receivedMs: number; packet: Buffer }> {
  const seconds = Math.round((startMs - recorded.packets[0].receivedMs) / 1000);
  return recorded.packets.map((packet) => ({ receivedMs: packet.receivedMs + seconds * 1000, packet: shiftPacketTimes(Buffer.from(packet.hex, 'hex'), seconds) }));
}

/**
 * A recorded detailed-monitoring capture of a real xrootd 5.5.3 (xrdcp up and down), queued once as
 * if sent and received during the previous 10-minute slot: the aggregator reports a slot once it is
 * complete, so the quickstart has transfer documents at once; the demo server's own show up a slot later.
 */
export default defineDemo({
  components: [
    {
      name: 'recorded-xrootd-transfers',
      phase: 'data',
      wanted: (context) => context.config.hasSection('xrootd-transfers') && context.config.section('demo').has('xrootd'),
      start: async (context) => {
        const marker = path.join(context.varRoot, 'demo', 'recorded-transfers-queued');
        if (existsSync(marker)) return;
        const recorded = JSON.parse(readFileSync(RECORDED_PACKETS_FILE, 'utf8')) as RecordedPackets;
        const startMs = slotStart(Date.now()) - 600_000 + 60_000;
        const options = receiverOptions(context.config);
        const writer = new QueueWriter(options.queueDir, options.segmentMs);
        const records = replayedAt(recorded, startMs).map(({ receivedMs, packet }) => encodeRecord(receivedMs, '127.0.0.1:1094', packet));
        await writer.append(records, startMs);
        await writer.closeCurrent();
        mkdirSync(path.dirname(marker), { recursive: true });
        writeFileSync(marker, `${new Date().toISOString()}\n`);
      },
      stop: async () => undefined,
    },
  ],
});
