/**
 * The disk packet queue between a UDP receiver and the collector that consumes it.
 *
 * A folder of append-only segment files, one per `segmentMs` interval of receive time, named by the
 * interval start so that names sort in time order. The receiver appends batches of records
 * (lib/queue/records.ts) to `<name>.open`, one write and one fdatasync per batch, and renames it to
 * `<name>.seg` when the interval is over. A record torn by a crash is ignored by the reader and
 * trimmed by the next receiver. The consumer keeps its position (segment and byte offset) with its
 * own state and moves it, and removes the segments it read to their end, only in its commit().
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory, writeFileDurably } from '../state/durableFile';
import { completeLength, decodeRecords, RecordBatch, senderBytes, type QueuedPacket } from './records';

const OPEN_SUFFIX = '.open';
const CLOSED_SUFFIX = '.seg';
/** A complete imported segment whose source files may still exist (see importPackets). */
const IMPORT_SUFFIX = '.import';
/** The source files an import replaces. */
const SOURCES_SUFFIX = '.sources';
/** Temporary files of writeFileDurably (an import that never completed). */
const TEMPORARY_PREFIX = '.tmp-';

export type { QueuedPacket } from './records';

/**
 * Where the consumer has read up to. It is stored with the consumer's own state, in one write, so the
 * position and what the consumer made of the packets before it never disagree.
 */
export interface QueuePosition {
  /** The segment read last, and the byte offset reached in it. */
  segment: string;
  offset: number;
  /**
   * Segments read to their end by the run that stored this position: its commit removes them, and a
   * read skips any that a crash left behind. (Positions stored before this list existed lack it:
   * then every segment sorting before `segment` counts as read.)
   */
  consumed?: string[];
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
  return new QueueSize(dir).measure();
}

/** The queue's size, measured again cheaply: a closed segment never changes, so it is looked at once. */
export class QueueSize {
  private readonly closed = new Map<string, number>();

  constructor(private readonly dir: string) {}

  measure(): number {
    let total = 0;
    const present = new Set<string>();
    for (const segment of listSegments(this.dir)) {
      let size = segment.open ? undefined : this.closed.get(segment.name);
      if (size === undefined) {
        try {
          size = statSync(segment.file).size;
        } catch {
          continue; // removed by the consumer, or closed by the receiver, meanwhile
        }
        if (!segment.open) this.closed.set(segment.name, size);
      }
      present.add(segment.name);
      total += size;
    }
    for (const name of this.closed.keys()) if (!present.has(name)) this.closed.delete(name);
    return total;
  }
}

/**
 * The receiver's side: appends batches of encoded records, one write plus one fdatasync per batch,
 * so a batch is durable when `append` resolves.
 */
export class QueueWriter {
  private handle: FileHandle | undefined;
  /** The interval the open segment belongs to, and its base name (the interval, or with a suffix after a restart). */
  private currentInterval = '';
  private currentBase = '';
  /** Bytes of the open segment that are complete records: a failed write is cut back to it. */
  private currentSize = 0;

  constructor(
    readonly dir: string,
    private readonly segmentMs: number,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /** Closes segments left open by a previous receiver, trimming a record a crash cut short; returns the bytes trimmed. */
  recover(): number {
    let trimmed = 0;
    for (const segment of listSegments(this.dir).filter((entry) => entry.open)) {
      const data = readFileSync(segment.file);
      const complete = completeLength(data);
      if (complete < data.length) {
        const fd = openSync(segment.file, 'r+');
        try {
          ftruncateSync(fd, complete);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        trimmed += data.length - complete;
      }
      renameSync(segment.file, path.join(this.dir, segment.name + CLOSED_SUFFIX));
    }
    return trimmed;
  }

  /** Writes one batch (or records already encoded) and syncs it; rotates the segment when its interval is over. */
  async append(records: Buffer[] | RecordBatch, nowMs: number): Promise<void> {
    const interval = segmentName(Math.floor(nowMs / this.segmentMs) * this.segmentMs);
    if (interval !== this.currentInterval) await this.rotate(interval);
    const handle = this.handle as FileHandle;
    const data = records instanceof RecordBatch ? records.encode() : Buffer.concat(records);
    try {
      let written = 0;
      while (written < data.length) written += (await handle.write(data, written, data.length - written)).bytesWritten;
      await handle.datasync();
      this.currentSize += data.length;
    } catch (error) {
      // A record cut in the middle of a segment would hide every later one from the reader.
      await handle.truncate(this.currentSize).catch(() => undefined);
      throw error;
    }
  }

  /** Closes the current segment if its interval is over (called on a timer, so idle segments get closed too). */
  async closeIfOver(nowMs: number): Promise<void> {
    const interval = segmentName(Math.floor(nowMs / this.segmentMs) * this.segmentMs);
    if (this.handle && interval !== this.currentInterval) await this.closeCurrent();
  }

  private async rotate(interval: string): Promise<void> {
    await this.closeCurrent();
    // An interval reused after a restart gets a suffix, so nothing is overwritten; padded, so names still sort in order.
    let base = interval;
    for (let attempt = 1; existsSync(path.join(this.dir, base + CLOSED_SUFFIX)); attempt += 1) base = `${interval}-${String(attempt).padStart(3, '0')}`;
    this.handle = await open(path.join(this.dir, base + OPEN_SUFFIX), 'a');
    this.currentInterval = interval;
    this.currentBase = base;
    this.currentSize = 0;
    syncDirectory(this.dir); // the new file's entry is durable before its first batch counts as queued
  }

  async closeCurrent(): Promise<void> {
    if (!this.handle) return;
    await this.handle.sync();
    await this.handle.close();
    this.handle = undefined;
    renameSync(path.join(this.dir, this.currentBase + OPEN_SUFFIX), path.join(this.dir, this.currentBase + CLOSED_SUFFIX));
    this.currentInterval = '';
  }
}

export interface QueueRead {
  /** The queued packets from the position on, oldest first. */
  packets: Generator<QueuedPacket>;
  /** Once `packets` is exhausted: the position to store in commit() (undefined when the queue never held anything). */
  position(): QueuePosition | undefined;
}

export interface ReadOptions {
  /** Stop at the first packet received at or after this time (UTC ms): it stays for a later run. */
  before?: number;
  /** Stop after this many packets (a run's memory stays bounded after a long outage). */
  maxPackets?: number;
}

/**
 * The consumer's side: yields queued packets from `from` on. Nothing moves and nothing is removed
 * here: the consumer stores position() in its commit, then calls removeConsumed().
 */
export function readQueue(dir: string, from: QueuePosition | undefined, options: ReadOptions = {}): QueueRead {
  const alreadyRead = from?.consumed ? new Set(from.consumed) : undefined;
  const consumed: string[] = [];
  let reached: { segment: string; offset: number } | undefined = from && { segment: from.segment, offset: from.offset };
  let count = 0;
  function* packets(): Generator<QueuedPacket> {
    for (const segment of listSegments(dir)) {
      const read = alreadyRead ? alreadyRead.has(segment.name) : from !== undefined && segment.name < from.segment;
      if (read) {
        if (!segment.open) consumed.push(segment.name); // read by a run whose commit did not remove it
        continue;
      }
      let data: Buffer;
      try {
        data = readFileSync(segment.file);
      } catch {
        // Closed by the receiver since the listing.
        const closed = path.join(dir, segment.name + CLOSED_SUFFIX);
        if (!segment.open || !existsSync(closed)) continue;
        data = readFileSync(closed);
      }
      const start = from && segment.name === from.segment ? from.offset : 0;
      let stopped = false;
      let end = start;
      for (const record of decodeRecords(data, start)) {
        if (options.before !== undefined && record.receivedMs >= options.before) {
          stopped = true;
          break;
        }
        end = record.end;
        count += 1;
        yield { receivedMs: record.receivedMs, sender: record.sender, packet: record.packet };
        if (options.maxPackets !== undefined && count >= options.maxPackets) {
          stopped = true;
          break;
        }
      }
      reached = { segment: segment.name, offset: end };
      // The last segment may hold less than an earlier run read, when a crash lost its unsynced tail.
      if (!stopped && !segment.open && end >= data.length) consumed.push(segment.name);
      if (stopped || segment.open) return; // an open segment is still written: later ones cannot exist yet
    }
  }
  return { packets: packets(), position: () => reached && { ...reached, consumed: [...consumed] } };
}

/**
 * Removes the segments a stored position names as read to their end (the end of a commit); with
 * `archiveDir`, moves them there instead (same file system), where a backfill can read them again.
 */
export function removeConsumed(dir: string, position: QueuePosition | undefined, archiveDir?: string): void {
  let removed = false;
  if (archiveDir && (position?.consumed?.length ?? 0) > 0) mkdirSync(archiveDir, { recursive: true });
  for (const name of position?.consumed ?? []) {
    try {
      if (archiveDir) renameSync(path.join(dir, name + CLOSED_SUFFIX), path.join(archiveDir, name + CLOSED_SUFFIX));
      else unlinkSync(path.join(dir, name + CLOSED_SUFFIX));
      removed = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  if (removed && archiveDir) syncDirectory(archiveDir);
  if (removed) syncDirectory(dir);
}

/**
 * A consumer's commit, once its documents are durably spooled: `store` writes the position durably
 * with the consumer's own state, then the segments read to their end are removed (or archived). A
 * crash between the two leaves segments that the next read skips (and removes at its commit).
 */
export function commitRead(dir: string, position: QueuePosition | undefined, store: (position: QueuePosition | undefined) => void, archiveDir?: string): void {
  store(position);
  removeConsumed(dir, position, archiveDir);
}

/** Removes the archived segments received before `beforeMs` (by their names); returns how many. */
export function pruneArchive(archiveDir: string, beforeMs: number): number {
  const old = listSegments(archiveDir).filter((segment) => !segment.open && Number(segment.name.slice(0, 15)) < beforeMs);
  removeFiles(old.map((segment) => segment.file));
  return old.length;
}

/** Every packet of the archive and then of the queue, each from its start, in receive order (a backfill's read). */
export function* readArchiveAndQueue(archiveDir: string, dir: string): Generator<QueuedPacket> {
  yield* readQueue(archiveDir, undefined).packets;
  yield* readQueue(dir, undefined).packets;
}

/** Removes files and makes their removal durable; those already gone are fine. */
function removeFiles(files: string[]): void {
  const folders = new Set<string>();
  for (const file of files) {
    try {
      unlinkSync(file);
      folders.add(path.dirname(file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  for (const folder of folders) syncDirectory(folder);
}

/**
 * Adds packets kept elsewhere (e.g. files of an older queue layout) to the queue as one closed
 * segment, and removes the files they came from, so that a crash at any step leaves every packet
 * exactly once: the list of source files is stored first; the segment appears complete under a name
 * that no reader takes (`.import`); the sources are removed; only then is it published as a segment.
 * finishImports() completes an import a crash interrupted. `sources` may name more files than
 * `packets` came from (files already consumed). Returns the segment's name.
 */
export function importPackets(dir: string, packets: QueuedPacket[], sources: string[]): string {
  mkdirSync(dir, { recursive: true });
  finishImports(dir);
  const oldest = packets.reduce((earliest, packet) => Math.min(earliest, packet.receivedMs), Date.now());
  // Named by the oldest packet, so the import is read before what the receiver queued since.
  let name = `${segmentName(oldest)}-import`;
  const taken = (candidate: string): boolean => [CLOSED_SUFFIX, OPEN_SUFFIX, IMPORT_SUFFIX, SOURCES_SUFFIX].some((suffix) => existsSync(path.join(dir, candidate + suffix)));
  for (let attempt = 1; taken(name); attempt += 1) name = `${segmentName(oldest)}-import-${String(attempt).padStart(3, '0')}`;
  const batch = new RecordBatch();
  for (const packet of packets) batch.add(packet.receivedMs, senderBytes(packet.sender), packet.packet);
  writeFileDurably(path.join(dir, name + SOURCES_SUFFIX), JSON.stringify(sources));
  writeFileDurably(path.join(dir, name + IMPORT_SUFFIX), batch.encode());
  publishImport(dir, name);
  return name;
}

/** Steps 3 and 4 of an import whose `.import` is complete: its sources go, then it becomes a segment. */
function publishImport(dir: string, name: string): void {
  const sourcesFile = path.join(dir, name + SOURCES_SUFFIX);
  const pending = path.join(dir, name + IMPORT_SUFFIX);
  if (existsSync(pending)) {
    removeFiles(JSON.parse(readFileSync(sourcesFile, 'utf8')) as string[]);
    renameSync(pending, path.join(dir, name + CLOSED_SUFFIX));
    syncDirectory(dir);
  }
  removeFiles([sourcesFile]);
}

/**
 * Completes imports a crash interrupted: one whose segment was complete is published (its sources
 * removed first); one whose segment was not is forgotten, its sources untouched.
 */
export function finishImports(dir: string): void {
  if (!existsSync(dir)) return;
  for (const file of readdirSync(dir)) {
    if (file.endsWith(SOURCES_SUFFIX)) publishImport(dir, file.slice(0, -SOURCES_SUFFIX.length));
    else if (file.startsWith(TEMPORARY_PREFIX) && (file.includes(IMPORT_SUFFIX) || file.includes(SOURCES_SUFFIX))) removeFiles([path.join(dir, file)]);
  }
}
