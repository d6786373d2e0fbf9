import { open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Sample } from './aggregate';

/**
 * What the collector keeps between runs (var/state/xrootd/samples.json): the last sample of each
 * server process, for the next rates, and the queue packets whose documents are already committed
 * (so a crash between saving this and deleting them never sends them twice).
 */
export interface CollectorState {
  servers: Record<string, Sample>;
  consumed: string[];
}

/** Samples older than this are forgotten: a server silent for that long starts afresh. */
const FORGET_AFTER_S = 30 * 24 * 3600;

export async function loadState(file: string): Promise<CollectorState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { servers: {}, consumed: [] };
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<CollectorState>;
  return { servers: parsed.servers ?? {}, consumed: parsed.consumed ?? [] };
}

/** Writes the state atomically and durably (temporary file, fsync, rename, folder fsync). */
export async function saveState(file: string, state: CollectorState): Promise<void> {
  const newest = Math.max(0, ...Object.values(state.servers).map((sample) => sample.time));
  const servers = Object.fromEntries(Object.entries(state.servers).filter(([, sample]) => sample.time >= newest - FORGET_AFTER_S));
  const temporary = `${file}.${process.pid}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(JSON.stringify({ servers, consumed: state.consumed }));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
  const folder = await open(path.dirname(file), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
