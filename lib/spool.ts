import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { syncDirectory, writeFileDurably, writeFileSynced } from './durableFile';
import type { MonitDocument } from './types';

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

/** The pid in a batch name (<ms>-<pid>-<sequence>.json), or 0. */
function writerPid(name: string): number {
  return Number(/^\d+-(\d+)-/.exec(name)?.[1] ?? 0);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Batches waiting to be delivered, one JSON file each, named so that sorting by name is oldest first.
 * A batch is on disk (fsynced) before anyone sends it, and leaves only once the gateway took it.
 */
export class Spool {
  readonly rejectedDir: string;

  constructor(readonly dir: string) {
    this.rejectedDir = path.join(dir, 'rejected');
    mkdirSync(this.rejectedDir, { recursive: true });
    this.removeAbandonedStaged();
  }

  /**
   * Writes one batch (a JSON array, sent as is) where deliver() cannot see it yet and returns its name;
   * publish() makes the batches of a run visible together, discard() drops them.
   */
  stage(body: string): string {
    sequence += 1;
    const name = `${String(Date.now()).padStart(15, '0')}-${String(process.pid).padStart(7, '0')}-${String(sequence).padStart(6, '0')}.json`;
    writeFileSynced(path.join(this.dir, STAGED_PREFIX + name), body);
    return name;
  }

  /** The staged batches join the spool, in the order given; one directory fsync makes all the renames durable. */
  publish(names: string[]): void {
    for (const name of names) renameSync(path.join(this.dir, STAGED_PREFIX + name), path.join(this.dir, name));
    if (names.length > 0) syncDirectory(this.dir);
  }

  discard(names: string[]): void {
    for (const name of names) unlinkSync(path.join(this.dir, STAGED_PREFIX + name));
  }

  /** Staged batches of a process that died before publishing them: that run never committed, so they go. */
  private removeAbandonedStaged(): void {
    for (const file of readdirSync(this.dir)) {
      if (file.startsWith(STAGED_PREFIX) && !isRunning(writerPid(file.slice(STAGED_PREFIX.length)))) unlinkSync(path.join(this.dir, file));
    }
  }

  /** Waiting batches, oldest first. */
  list(): SpoolEntry[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
      .sort()
      .map((name) => ({ name, bytes: statSync(path.join(this.dir, name)).size }));
  }

  /** The batch's body as stored (sent as is, so a replay sends exactly the same bytes). */
  read(name: string): string {
    return readFileSync(path.join(this.dir, name), 'utf8');
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
    const stem = name.replace(/\.json$/, '');
    const names = parts.map((part, index) => {
      const partName = `${stem}-${String(index).padStart(3, '0')}.json`;
      writeFileDurably(path.join(this.dir, partName), JSON.stringify(part));
      return partName;
    });
    this.remove(name);
    return names;
  }

  /** Keeps refused documents, each with its reason, in rejected/ (never silently dropped). */
  reject(name: string, documents: RejectedDocument[]): string {
    const file = path.join(this.rejectedDir, name);
    writeFileDurably(file, JSON.stringify(documents, null, 1));
    return file;
  }

  /** Moves a whole batch file to rejected/ with a reason beside it (when it cannot be read or sent at all). */
  rejectWhole(name: string, reason: string): string {
    const target = path.join(this.rejectedDir, name);
    renameSync(path.join(this.dir, name), target);
    writeFileDurably(`${target}.reason.txt`, `${reason}\n`);
    syncDirectory(this.dir);
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
        dropped.documents += (JSON.parse(this.read(entry.name)) as unknown[]).length;
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
