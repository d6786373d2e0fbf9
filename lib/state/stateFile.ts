import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileDurably } from './durableFile';

/** A state file that exists but cannot be read as this job's state. */
export class StateFileError extends Error {
  override name = 'StateFileError';
}

export interface StateFileOptions<T> {
  /** The state before the first run (the file does not exist yet). */
  initial(): T;
  /** Checks what was read (and brings an older layout up to date); throws when it is not this job's state. */
  parse?(value: unknown): T;
  /** What is written for `state` when it is not plain JSON itself (a Map, say); parse() reads it back. */
  serialize?(state: T): unknown;
}

/**
 * One JSON document a job keeps between runs in its state folder (var/state/<job>/). It is read
 * whole and written so that a crash leaves the old or the new file, never a torn one (temporary
 * file, fsync, rename, folder fsync). A dry run reads it but never writes.
 */
export class StateFile<T> {
  constructor(
    readonly file: string,
    private readonly options: StateFileOptions<T>,
    /** False in a dry run: write() does nothing, so a dry run leaves no trace. */
    readonly writable = true,
  ) {}

  exists(): boolean {
    return existsSync(this.file);
  }

  /** The stored state, or the initial one when there is none; a file that is not this state throws a StateFileError. */
  read(): T {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      return this.absent(error);
    }
    return this.interpret(text);
  }

  /** read(), with the file read without blocking: requests started before go out while a large state is read. */
  async readAsync(): Promise<T> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      return this.absent(error);
    }
    return this.interpret(text);
  }

  private absent(error: unknown): T {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.options.initial();
    throw error;
  }

  private interpret(text: string): T {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new StateFileError(`${this.file} is not JSON (${(error as Error).message}); delete it to start afresh`);
    }
    try {
      return this.options.parse ? this.options.parse(value) : (value as T);
    } catch (error) {
      throw new StateFileError(`${this.file}: ${(error as Error).message}`);
    }
  }

  /** Stores `state` durably (nothing in a dry run). */
  write(state: T): void {
    if (this.writable) writeFileDurably(this.file, JSON.stringify(this.options.serialize ? this.options.serialize(state) : state), 0o644, 'state file');
  }
}
