import { mkdirSync } from 'node:fs';
import { open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

/** One packet waiting in the queue. */
export interface QueuedPacket {
  /** File name in the queue folder; also what remove() takes. */
  name: string;
  receivedMs: number;
  data: Buffer;
}

const SUFFIX = '.pkt';
/** File operations in flight at once when reading or removing many packets. */
const PARALLEL = 64;

async function fsyncPath(target: string): Promise<void> {
  const handle = await open(target, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A directory queue with one file per packet (after the dirq queues of seed 002). add() returns once
 * the packets are on disk (file and folder entry fsynced), so a crash or power cut after it loses
 * nothing. Files appear under their final name only complete (written in tmp/, then renamed).
 * Names sort in arrival order. Several writers and one reader may share a folder.
 */
export class PacketQueue {
  private readonly tmpDir: string;
  private sequence = 0;

  constructor(readonly dir: string) {
    this.tmpDir = path.join(dir, 'tmp');
    mkdirSync(this.tmpDir, { recursive: true });
  }

  private nextName(receivedMs: number): string {
    this.sequence = (this.sequence + 1) % 1e9;
    return `${String(receivedMs).padStart(15, '0')}-${process.pid}-${String(this.sequence).padStart(9, '0')}${SUFFIX}`;
  }

  /** Writes the packets durably, with one folder fsync for the whole batch. Returns their names. */
  async add(packets: Array<{ data: Buffer; receivedMs: number }>): Promise<string[]> {
    const names = packets.map((packet) => this.nextName(packet.receivedMs));
    // Written in parallel: the file system merges the concurrent fsyncs into few journal commits.
    await Promise.all(
      packets.map(async (packet, index) => {
        const handle = await open(path.join(this.tmpDir, names[index]), 'wx');
        try {
          await handle.writeFile(packet.data);
          await handle.sync();
        } finally {
          await handle.close();
        }
      }),
    );
    for (const name of names) await rename(path.join(this.tmpDir, name), path.join(this.dir, name));
    if (names.length) await fsyncPath(this.dir);
    return names;
  }

  /** Names of the queued packets, oldest first. */
  async list(): Promise<string[]> {
    const entries = await readdir(this.dir);
    return entries.filter((name) => name.endsWith(SUFFIX)).sort();
  }

  /** Reads one packet; undefined when it has been removed meanwhile. */
  async read(name: string): Promise<QueuedPacket | undefined> {
    try {
      const data = await readFile(path.join(this.dir, name));
      return { name, receivedMs: Number(name.split('-')[0]), data };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Removes consumed packets (those already gone are fine) and makes the removal durable. */
  async remove(names: Iterable<string>): Promise<void> {
    const all = [...names];
    for (const name of all) {
      if (path.basename(name) !== name || !name.endsWith(SUFFIX)) throw new Error(`not a queued packet: ${name}`);
    }
    let removed = 0;
    // In parallel chunks: each unlink waits on the file system, not on the CPU.
    for (let start = 0; start < all.length; start += PARALLEL) {
      const results = await Promise.all(
        all.slice(start, start + PARALLEL).map((name) =>
          unlink(path.join(this.dir, name)).then(
            () => 1,
            (error: NodeJS.ErrnoException) => {
              if (error.code === 'ENOENT') return 0;
              throw error;
            },
          ),
        ),
      );
      removed += results.reduce((sum, one) => sum + one, 0);
    }
    if (removed) await fsyncPath(this.dir);
  }

  /** Reads packets in parallel chunks, keeping their order; those removed meanwhile are left out. */
  async readMany(names: string[]): Promise<QueuedPacket[]> {
    const packets: QueuedPacket[] = [];
    for (let start = 0; start < names.length; start += PARALLEL) {
      const chunk = await Promise.all(names.slice(start, start + PARALLEL).map((name) => this.read(name)));
      for (const packet of chunk) if (packet) packets.push(packet);
    }
    return packets;
  }

  /** Deletes leftovers in tmp/ of a writer that died mid-write (never renamed, so never acknowledged). */
  async clearStaleTmp(olderThanMs = 10 * 60_000): Promise<void> {
    for (const name of await readdir(this.tmpDir)) {
      const file = path.join(this.tmpDir, name);
      const info = await stat(file).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > olderThanMs) await unlink(file).catch(() => undefined);
    }
  }
}
