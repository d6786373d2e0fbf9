import { existsSync, readdirSync, readFileSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { QueuedPacket } from '../../lib/queue/records';
import { finishImports, importPackets } from '../../lib/queue/segments';

/**
 * Before the shared queue (lib/queue/), the summary receiver wrote each packet to a file of its own
 * in the queue folder, `<receivedMs>-<pid>-<sequence>.pkt`, through `tmp/`. The collector imports
 * such files once into the shared queue; those an older state names as already counted are removed,
 * not imported.
 */
const PACKET_FILE_SUFFIX = '.pkt';
/** A file in tmp/ older than this was never renamed into the queue, so never queued: its writer died. */
const STALE_MS = 10 * 60_000;
/** Files imported as one segment (about 10 MB): memory stays bounded however many an older queue left. */
const FILES_PER_IMPORT = 5_000;

/** The packet files in `dir`, oldest first. */
function packetFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith(PACKET_FILE_SUFFIX))
    .sort();
}

function readPackets(dir: string, names: string[]): QueuedPacket[] {
  // The receive time is the name's first part; the sender was not recorded.
  return names.map((name) => ({ receivedMs: Number(name.split('-')[0]), sender: '', packet: readFileSync(path.join(dir, name)) }));
}

/** The packets of the oldest `limit` files in `dir` that `counted` does not name (what a dry run reads). */
export function readPacketFiles(dir: string, counted: ReadonlySet<string>, limit: number): QueuedPacket[] {
  return readPackets(dir, packetFiles(dir).filter((name) => !counted.has(name)).slice(0, limit));
}

/** Imports the packet files of `dir` into the shared queue there (and completes an import a crash interrupted); returns how many packets. */
export function importPacketFiles(dir: string, counted: ReadonlySet<string>, filesPerImport = FILES_PER_IMPORT): number {
  finishImports(dir);
  const names = packetFiles(dir);
  for (let start = 0; start < names.length; start += filesPerImport) {
    const part = names.slice(start, start + filesPerImport);
    importPackets(dir, readPackets(dir, part.filter((name) => !counted.has(name))), part.map((name) => path.join(dir, name)));
  }
  removeStaleTemporaryFiles(path.join(dir, 'tmp'));
  return names.filter((name) => !counted.has(name)).length;
}

function removeStaleTemporaryFiles(tmpDir: string): void {
  if (!existsSync(tmpDir)) return;
  for (const name of readdirSync(tmpDir)) {
    const file = path.join(tmpDir, name);
    if (Date.now() - statSync(file).mtimeMs > STALE_MS) unlinkSync(file);
  }
  if (readdirSync(tmpDir).length === 0) rmdirSync(tmpDir);
}
