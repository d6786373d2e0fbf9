/**
 * The record layout of the disk packet queue (lib/queue/segments.ts). Each record is
 *   u32 length of the rest | f64 receive time (UTC ms) | u8 sender length | sender "ip:port" | datagram
 * in big-endian order. A record cut short by a crash is recognised by its length and ignored.
 */

/** Length field, receive time and sender length. */
const FIXED_RECORD_BYTES = 4 + 8 + 1;
/** The sender is stored in at most this many bytes (its length is one byte). */
const MAX_SENDER_BYTES = 255;

/** One datagram as it was received. */
export interface QueuedPacket {
  receivedMs: number;
  /** "ip:port" of the sender ('' when unknown, e.g. packets imported from an older queue). */
  sender: string;
  packet: Buffer;
}

/** The bytes a sender name takes in a record (latin1, at most 255 bytes). */
export function senderBytes(sender: string): Buffer {
  return Buffer.from(sender, 'latin1').subarray(0, MAX_SENDER_BYTES);
}

export function encodeRecord(receivedMs: number, sender: string, packet: Buffer): Buffer {
  const batch = new RecordBatch();
  batch.add(receivedMs, senderBytes(sender), packet);
  return batch.encode();
}

/**
 * Datagrams waiting for the next write, kept as they came and encoded with one allocation per
 * batch (the receiver's hot path only pushes references).
 */
export class RecordBatch {
  private times: number[] = [];
  private senders: Buffer[] = [];
  private packets: Buffer[] = [];
  /** Encoded size of the batch. */
  bytes = 0;

  get length(): number {
    return this.packets.length;
  }

  /** `sender` as senderBytes() makes it. */
  add(receivedMs: number, sender: Buffer, packet: Buffer): void {
    this.times.push(receivedMs);
    this.senders.push(sender);
    this.packets.push(packet);
    this.bytes += FIXED_RECORD_BYTES + sender.length + packet.length;
  }

  /** Keeps the first records that fit in `maxBytes`; returns how many were left out. */
  keepWithin(maxBytes: number): number {
    let bytes = 0;
    let kept = 0;
    while (kept < this.packets.length) {
      const size = FIXED_RECORD_BYTES + this.senders[kept].length + this.packets[kept].length;
      if (bytes + size > maxBytes) break;
      bytes += size;
      kept += 1;
    }
    const removed = this.packets.length - kept;
    this.times = this.times.slice(0, kept);
    this.senders = this.senders.slice(0, kept);
    this.packets = this.packets.slice(0, kept);
    this.bytes = bytes;
    return removed;
  }

  encode(): Buffer {
    const data = Buffer.allocUnsafe(this.bytes);
    let at = 0;
    for (let index = 0; index < this.packets.length; index += 1) {
      const sender = this.senders[index];
      const packet = this.packets[index];
      const length = FIXED_RECORD_BYTES + sender.length + packet.length;
      data.writeUInt32BE(length - 4, at);
      data.writeDoubleBE(this.times[index], at + 4);
      data.writeUInt8(sender.length, at + 12);
      sender.copy(data, at + 13);
      packet.copy(data, at + 13 + sender.length);
      at += length;
    }
    return data;
  }
}

/** Decodes the complete records of `data` from `offset`; `end` is where each one ends. */
export function* decodeRecords(data: Buffer, offset = 0): Generator<QueuedPacket & { end: number }> {
  let at = offset;
  while (at + FIXED_RECORD_BYTES <= data.length) {
    const length = data.readUInt32BE(at);
    const end = at + 4 + length;
    if (length < FIXED_RECORD_BYTES - 4 || end > data.length) return;
    const senderLength = data.readUInt8(at + 12);
    if (13 + senderLength > 4 + length) return;
    yield {
      receivedMs: data.readDoubleBE(at + 4),
      sender: data.toString('latin1', at + 13, at + 13 + senderLength),
      packet: data.subarray(at + 13 + senderLength, end),
      end,
    };
    at = end;
  }
}

/** The length of the complete records at the start of `data`. */
export function completeLength(data: Buffer): number {
  let end = 0;
  for (const record of decodeRecords(data)) end = record.end;
  return end;
}
