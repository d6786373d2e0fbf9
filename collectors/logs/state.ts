import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** What is remembered about one file, keyed by its identity (device:inode). */
export interface FileState {
  /** Where the file was last seen. */
  path: string;
  /** Bytes already counted: everything up to the end of the last complete line read. */
  offset: number;
  /** sha256 of the file's first `headLength` bytes, to tell a reused inode or a rewritten file from the same file. */
  headHash: string;
  headLength: number;
  /** Patterns that watch it, so its tail can still be read after a rotation moved it out of the globs. */
  patterns: string[];
}

export interface LogsState {
  version: 1;
  /** Globs watched by the last run: a file that newly matches one of them is new, and read from its start. */
  globs: string[];
  files: Record<string, FileState>;
  /** Per pattern, when its last match was seen (UTC ms). */
  lastMatchMs: Record<string, number>;
}

const STATE_FILE = 'offsets.json';

/** The state of the last committed run, or undefined on the first run. */
export function loadState(stateDir: string): LogsState | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(stateDir, STATE_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const state = JSON.parse(text) as LogsState;
  if (state.version !== 1) throw new Error(`${path.join(stateDir, STATE_FILE)}: unknown state version ${String(state.version)}`);
  return state;
}

/** Writes the state atomically (temporary file, then rename), so a crash leaves the old or the new state. */
export function saveState(stateDir: string, state: LogsState): void {
  mkdirSync(stateDir, { recursive: true });
  const file = path.join(stateDir, STATE_FILE);
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 1));
  renameSync(`${file}.tmp`, file);
}
