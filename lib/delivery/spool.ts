import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { syncDirectory, writeAll, writeFileDurably, writingFile } from '../state/durableFile';
import { isRunning, ownIdentity, type ProcessIdentity } from '../run/processIdentity';
import type { MonitDocument } from '../documents/types';

/** A rejected document kept with the reason the gateway gave. */
export interface RejectedDocument {
  reason: string;
  document: unknown;
}

export interface SpoolEntry {
  name: string;
  bytes: number;
}

let sequence = 0;

/** A batch written but not yet published: invisible to list() (its name starts with a dot). */
const STAGED_PREFIX = '.staged-';

/**
 * A staged batch's name: .staged-<ms>-<pid>-<sequence>-s<start ticks>.json, the writer named by pid and
 * start time (a pid alone may be reused). Older names have no -s<start ticks>.
 */
const STAGED_NAME = /^\.staged-(\d+)-(\d+)-\d+(?:-s(\d+))?\.json$/;

/** The number of documents a batch name records (-n<documents>.json), if it records one. */
export function documentsInName(name: string): number | undefined {
  const match = /-n(\d+)\.json$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** Characters of JSON gathered before one write: small strings stay in V8's young generation. */
const WRITE_CHUNK_CHARS = 64 * 1024;

/**
 * One batch being written document by document into a file deliver() cannot see yet (Spool.stage()), so
 * that no batch-sized string is ever built.
 */
export class StagedBatch {
  documents = 0;
  bytes = 2;
  /** Set by close(): the name the batch takes in the spool. */
  name?: string;
  private fd?: number;
  private pending: string[] = [];
  private pendingChars = 0;
  private started = false;

  constructor(
    readonly file: string,
    private readonly stem: string,
  ) {
    this.fd = this.writing(() => openSync(file, 'w'));
  }

  /** Errors name the batch file and the free space (a full disk): see writingFile. */
  private writing<T>(write: () => T): T {
    return writingFile('spool batch', this.file, write);
  }

  /** Adds one document's JSON text (of `bytes` UTF-8 bytes). */
  add(json: string, bytes = Buffer.byteLength(json)): void {
    this.pending.push(json);
    this.pendingChars += json.length;
    this.documents += 1;
    this.bytes += bytes + 1;
    if (this.pendingChars >= WRITE_CHUNK_CHARS) this.writePending();
  }

  private writePending(): void {
    const fd = this.fd;
    if (this.pending.length === 0 || fd === undefined) return;
    const text = (this.started ? ',' : '[') + this.pending.join(',');
    this.writing(() => writeAll(fd, Buffer.from(text)));
    this.started = true;
    this.pending = [];
    this.pendingChars = 0;
  }

  /** Ends the JSON array, fsyncs and closes the file, and names the batch. A failure leaves it for abandon(). */
  close(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    this.writePending();
    this.writing(() => {
      writeAll(fd, Buffer.from(this.started ? ']' : '[]'));
      fsyncSync(fd);
      closeSync(fd);
    });
    this.fd = undefined;
    this.name = `${this.stem}-n${this.documents}.json`;
  }

  /** Closes (if open) and removes the file; used on the way out of a failure, so it never throws. */
  abandon(): void {
    try {
      if (this.fd !== undefined) closeSync(this.fd);
    } catch {
      // already failing: the caller reports the first error
    }
    this.fd = undefined;
    rmSync(this.file, { force: true });
  }
}

/** Names of the batches waiting in a spool folder, oldest first (staged ones, still being written, are not). */
function batchNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
    .sort();
}

/**
 * How many batches wait in another job's spool folder, looked at without opening it as a Spool (which
 * makes the folder and clears abandoned staged batches: the job itself may be writing them).
 */
export function waitingBatches(dir: string): number {
  return batchNames(dir).length;
}

/**
 * Batches waiting to be delivered, one JSON file each, named so that sorting by name is oldest first.
 * A batch is on disk (fsynced) before anyone sends it, and leaves only once the gateway took it.
 */
export class Spool {
  readonly rejectedDir: string;

  constructor(readonly dir: string) {
    this.rejectedDir = path.join(dir, 'rejected');
    writingFile('spool folder', this.rejectedDir, () => mkdirSync(this.rejectedDir, { recursive: true }));
    this.removeAbandonedStaged();
  }

  /**
   * Starts a batch (a JSON array, sent as is) that deliver() cannot see yet: add() its documents, close() it,
   * then publish() the batches of a run together, or discard() them.
   */
  stage(): StagedBatch {
    sequence += 1;
    const stem = `${String(Date.now()).padStart(15, '0')}-${String(process.pid).padStart(7, '0')}-${String(sequence).padStart(6, '0')}`;
    const { startTicks } = ownIdentity();
    return new StagedBatch(path.join(this.dir, `${STAGED_PREFIX}${stem}${startTicks ? `-s${startTicks}` : ''}.json`), stem);
  }

  /**
   * Staged batches join the spool, in the order given (each closed first); one directory fsync makes the
   * renames durable. If one fails, the batches not yet in the spool are dropped (the run fails; a queue
   * collector's commit() is not called, so what was published is sent again next run, never lost).
   */
  publish(batches: StagedBatch[]): void {
    let published = 0;
    try {
      for (const batch of batches) {
        batch.close();
        const target = path.join(this.dir, batch.name ?? '');
        writingFile('spool batch', target, () => renameSync(batch.file, target));
        published += 1;
      }
    } catch (error) {
      this.discard(batches.slice(published));
      throw error;
    }
    if (batches.length > 0) writingFile('spool folder', this.dir, () => syncDirectory(this.dir));
  }

  /** Drops staged batches, closed or not. */
  discard(batches: StagedBatch[]): void {
    for (const batch of batches) batch.abandon();
  }

  /** Staged batches of a process that died before publishing them: that run never committed, so they go. */
  private removeAbandonedStaged(): void {
    const thisProcessStartedMs = Date.now() - process.uptime() * 1000;
    for (const file of readdirSync(this.dir)) {
      const match = STAGED_NAME.exec(file);
      if (!match) continue;
      const [, stagedAtMs, pid, startTicks] = match;
      const writer: ProcessIdentity = { pid: Number(pid), startTicks: startTicks ?? '' };
      // An older name (no start time) with our own pid, staged before this process started: an earlier run
      // that had the same pid (containers).
      const earlierWithOurPid = startTicks === undefined && writer.pid === process.pid && Number(stagedAtMs) < thisProcessStartedMs;
      if (earlierWithOurPid || !isRunning(writer)) rmSync(path.join(this.dir, file), { force: true });
    }
  }

  /** Waiting batches, oldest first. */
  list(): SpoolEntry[] {
    return batchNames(this.dir).map((name) => ({ name, bytes: statSync(path.join(this.dir, name)).size }));
  }

  /** The batch's body as stored (sent as is, so a replay sends exactly the same bytes). */
  read(name: string): string {
    return readFileSync(path.join(this.dir, name), 'utf8');
  }

  /** The batch's body as bytes (off V8's heap: what is sent). */
  readBytes(name: string): Buffer {
    return readFileSync(path.join(this.dir, name));
  }

  /** How many documents a batch holds: from its name when it records them, else by reading it (throws if not an array). */
  documentCount(name: string): number {
    const named = documentsInName(name);
    if (named !== undefined) return named;
    const value = JSON.parse(this.read(name)) as unknown;
    if (!Array.isArray(value)) throw new Error(`spool file ${name} is not a JSON array`);
    return value.length;
  }

  /** Delivered: the batch leaves the spool. */
  remove(name: string): void {
    try {
      unlinkSync(path.join(this.dir, name));
      syncDirectory(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  /** Replaces a batch by smaller ones (after a 413), keeping its place in the order. */
  split(name: string, parts: MonitDocument[][]): string[] {
    const stem = name.replace(/(-n\d+)?\.json$/, '');
    const names: string[] = [];
    try {
      for (const [index, part] of parts.entries()) {
        const partName = `${stem}-${String(index).padStart(3, '0')}-n${part.length}.json`;
        writeFileDurably(path.join(this.dir, partName), JSON.stringify(part), 0o644, 'spool batch');
        names.push(partName);
      }
    } catch (error) {
      // The whole batch stays: parts beside it would be sent twice.
      for (const partName of names) rmSync(path.join(this.dir, partName), { force: true });
      throw error;
    }
    this.remove(name);
    return names;
  }

  /** Keeps refused documents, each with its reason, in rejected/ (never silently dropped). */
  reject(name: string, documents: RejectedDocument[]): string {
    const file = path.join(this.rejectedDir, name);
    writeFileDurably(file, JSON.stringify(documents, null, 1), 0o644, 'rejected documents');
    return file;
  }

  /** Moves a whole batch file to rejected/ with a reason beside it (when it cannot be read or sent at all). */
  rejectWhole(name: string, reason: string): string {
    const target = path.join(this.rejectedDir, name);
    // The reason first: a batch is never in rejected/ without it.
    writeFileDurably(`${target}.reason.txt`, `${reason}\n`, 0o644, 'rejection reason');
    writingFile('rejected batch', target, () => {
      renameSync(path.join(this.dir, name), target);
      syncDirectory(this.rejectedDir);
      syncDirectory(this.dir);
    });
    return target;
  }

  totalBytes(): number {
    return this.list().reduce((sum, entry) => sum + entry.bytes, 0);
  }

  /**
   * Enforces the size bound by dropping the oldest batches. Returns what was dropped so the
   * caller logs and counts it: dropping is never silent.
   */
  enforceBound(maxBytes: number): { batches: number; documents: number } {
    const entries = this.list();
    let total = entries.reduce((sum, entry) => sum + entry.bytes, 0);
    const dropped = { batches: 0, documents: 0 };
    for (const entry of entries) {
      if (total <= maxBytes) break;
      try {
        dropped.documents += this.documentCount(entry.name);
      } catch {
        // unreadable: still counted as a dropped batch
      }
      this.remove(entry.name);
      total -= entry.bytes;
      dropped.batches += 1;
    }
    return dropped;
  }
}
