import type { StateFileOptions } from '../../lib/state/stateFile';

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

/** The offsets file of the logs collector, in its state folder; absent before the first committed run. */
export const OFFSETS_FILE = 'offsets.json';

export const OFFSETS_STATE: StateFileOptions<LogsState | undefined> = {
  initial: () => undefined,
  parse(value) {
    const state = value as LogsState;
    if (state?.version !== 1) throw new Error(`unknown state version ${String(state?.version)}`);
    return state;
  },
};
