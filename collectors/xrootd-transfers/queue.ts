/**
 * The on-disk packet queue between the UDP receiver and the aggregator.
 *
 * A folder of append-only segment files, one per `segmentMs` interval of receive time, named by
 * the interval start so that names sort in time order. The receiver appends to `<name>.open` and
 * renames it to `<name>.seg` when the interval is over. Each record is
 *   u32 length of the rest | f64 receive time (UTC ms) | u8 sender length | sender "ip:port" | datagram
 * in big-endian order. A record cut by a crash is ignored by the reader and trimmed by the writer.
 */
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

const OPEN_SUFFIX = '.open';
const CLOSED_SUFFIX = '.seg';
const FIXED_RECORD_BYTES = 4 + 8 + 1;

export interface QueuedPacket {
  receivedMs: number;
  /** "ip:port" of the sending server. */
  sender: string;
  packet: Buffer;
}

/** Where the aggregator has read up to: the segment's base name and the byte offset inside it. */
export interface QueuePosition {
  segment: string;
  offset: number;
}

export function encodeRecord(receivedMs: number, sender: string, packet: Buffer): Buffer {
  const senderBytes = Buffer.from(sender, 'latin1').subarray(0, 255);
  const record = Buffer.allocUnsafe(FIXED_RECORD_BYTES + senderBytes.length + packet.length);
  record.writeUInt32BE(record.length - 4, 0);
  record.writeDoubleBE(receivedMs, 4);
  record.writeUInt8(senderBytes.length, 12);
  senderBytes.copy(record, 13);
  packet.copy(record, 13 + senderBytes.length);
  return record;
}

/**
 * Datagrams waiting for the next write, kept as they came and encoded with one allocation per
 * batch (the receiver's hot path only pushes references).
 */
export class RecordBatch {
  private readonly times: number[] = [];
  private readonly senders: Buffer[] = [];
  private readonly packets: Buffer[] = [];
  bytes = 0;

  get length(): number {
    return this.packets.length;
  }

  /** `sender` is the latin1 "ip:port", at most 255 bytes. */
  add(receivedMs: number, sender: Buffer, packet: Buffer): void {
    this.times.push(receivedMs);
    this.senders.push(sender);
    this.packets.push(packet);
    this.bytes += FIXED_RECORD_BYTES + sender.length + packet.length;
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

/** Decodes the complete records of `data` from `offset`; `end` is where the last complete one ends. */
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

function segmentName(intervalStartMs: number): string {
  return String(intervalStartMs).padStart(15, '0');
}

/** Segment base names present in `dir`, oldest first, with whether the receiver still writes them. */
export function listSegments(dir: string): Array<{ name: string; file: string; open: boolean }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith(OPEN_SUFFIX) || file.endsWith(CLOSED_SUFFIX))
    .map((file) => {
      const open = file.endsWith(OPEN_SUFFIX);
      return { name: file.slice(0, -(open ? OPEN_SUFFIX : CLOSED_SUFFIX).length), file: path.join(dir, file), open };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Total bytes of the queue's segments. */
export function queueBytes(dir: string): number {
  let total = 0;
  for (const segment of listSegments(dir)) {
    try {
      total += statSync(segment.file).size;
    } catch {
      // removed by the aggregator meanwhile
    }
  }
  return total;
}

/** The length of the complete records at the start of `data`. */
function completeLength(data: Buffer): number {
  let end = 0;
  for (const record of decodeRecords(data)) end = record.end;
  return end;
}

/**
 * The receiver's side: appends batches of encoded records, one write plus one fdatasync per batch,
 * so a batch is durable when `append` resolves.
 */
export class QueueWriter {
  private handle: FileHandle | undefined;
  private currentName = '';

  constructor(
    readonly dir: string,
    private readonly segmentMs: number,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /** Closes segments left open by a previous receiver, trimming a record a crash cut short. */
  recover(): number {
    let trimmed = 0;
    for (const segment of listSegments(this.dir).filter((entry) => entry.open)) {
      const data = readFileSync(segment.file);
      const complete = completeLength(data);
      if (complete < data.length) {
        const fd = openSync(segment.file, 'r+');
        ftruncateSync(fd, complete);
        closeSync(fd);
        trimmed += data.length - complete;
      }
      renameSync(segment.file, path.join(this.dir, segment.name + CLOSED_SUFFIX));
    }
    return trimmed;
  }

  /** Writes one batch (already encoded records) and syncs it; rotates the segment when its interval is over. */
  async append(records: Buffer[] | RecordBatch, nowMs: number): Promise<void> {
    const name = segmentName(Math.floor(nowMs / this.segmentMs) * this.segmentMs);
    if (name !== this.currentName) await this.rotate(name);
    const handle = this.handle as FileHandle;
    const data = records instanceof RecordBatch ? records.encode() : Buffer.concat(records);
    let written = 0;
    while (written < data.length) written += (await handle.write(data, written, data.length - written)).bytesWritten;
    await handle.datasync();
  }

  /** Closes the current segment if its interval is over (called on a timer, so idle segments get closed too). */
  async closeIfOver(nowMs: number): Promise<void> {
    const name = segmentName(Math.floor(nowMs / this.segmentMs) * this.segmentMs);
    if (this.handle && name !== this.currentName) await this.closeCurrent();
  }

  private async rotate(name: string): Promise<void> {
    await this.closeCurrent();
    // A name reused after a restart within the same interval gets a suffix, so nothing is overwritten.
    let base = name;
    for (let attempt = 1; existsSync(path.join(this.dir, base + CLOSED_SUFFIX)); attempt += 1) base = `${name}-${attempt}`;
    this.handle = await open(path.join(this.dir, base + OPEN_SUFFIX), 'a');
    this.currentName = name;
    this.currentBase = base;
  }

  private currentBase = '';

  async closeCurrent(): Promise<void> {
    if (!this.handle) return;
    await this.handle.sync();
    await this.handle.close();
    this.handle = undefined;
    renameSync(path.join(this.dir, this.currentBase + OPEN_SUFFIX), path.join(this.dir, this.currentBase + CLOSED_SUFFIX));
    this.currentName = '';
  }
}

export interface QueueRead {
  /** Packets received before the cutoff, oldest first. */
  packets: Generator<QueuedPacket>;
  /** After the generator is exhausted: where the next run starts, and the closed segments fully read. */
  result(): { position: QueuePosition | undefined; consumed: string[] };
}

/**
 * The aggregator's side: yields queued packets from `position` on, stopping at the first one
 * received at or after `cutoffMs`. Nothing is removed until `removeSegments` is called.
 */
export function readQueue(dir: string, position: QueuePosition | undefined, cutoffMs: number): QueueRead {
  let next = position;
  const consumed: string[] = [];
  function* packets(): Generator<QueuedPacket> {
    for (const segment of listSegments(dir)) {
      if (position && segment.name < position.segment) {
        if (!segment.open) consumed.push(segment.file); // read by a run whose commit did not remove it
        continue;
      }
      let data: Buffer;
      try {
        data = readFileSync(segment.file);
      } catch {
        const other = segment.open ? segment.file.slice(0, -OPEN_SUFFIX.length) + CLOSED_SUFFIX : undefined;
        if (!other || !existsSync(other)) continue;
        data = readFileSync(other);
      }
      const start = position && segment.name === position.segment ? position.offset : 0;
      let reachedCutoff = false;
      let end = start;
      for (const record of decodeRecords(data, start)) {
        if (record.receivedMs >= cutoffMs) {
          reachedCutoff = true;
          break;
        }
        end = record.end;
        yield { receivedMs: record.receivedMs, sender: record.sender, packet: record.packet };
      }
      next = { segment: segment.name, offset: end };
      if (reachedCutoff) return;
      if (!segment.open && end === data.length) consumed.push(segment.file);
      if (segment.open) return; // the receiver is still writing here: later segments cannot exist yet
    }
  }
  return { packets: packets(), result: () => ({ position: next, consumed }) };
}

/** Removes consumed segment files (the commit step, once their accounting is durably spooled). */
export function removeSegments(files: string[]): void {
  for (const file of files) {
    try {
      unlinkSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}
