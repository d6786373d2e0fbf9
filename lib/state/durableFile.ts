import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statfsSync, writeSync } from 'node:fs';
import path from 'node:path';

/** fsync a directory so a rename or unlink in it survives a crash. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A write that failed (full disk, quota, read-only file system…), naming the file and the free space left. */
export class FileWriteError extends Error {
  override name = 'FileWriteError';

  constructor(
    message: string,
    readonly file: string,
    readonly code: string,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Bytes an unprivileged writer may still use on the file system of `dir` (of its nearest existing parent
 * when it is not made yet), or undefined when it cannot be asked.
 */
export function freeBytes(dir: string): number | undefined {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch (error) {
    const parent = path.dirname(dir);
    return (error as NodeJS.ErrnoException).code === 'ENOENT' && parent !== dir ? freeBytes(parent) : undefined;
  }
}

/**
 * Runs `write` (which writes `file`, described as `what`: "spool batch", "state file"…) and turns a
 * system error into a FileWriteError naming the file and the free space on its file system: "no space
 * left" alone does not say which disk to clean. The one place such errors are worded.
 */
export function writingFile<T>(what: string, file: string, write: () => T): T {
  try {
    return write();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof FileWriteError || typeof code !== 'string') throw error;
    const dir = path.dirname(file);
    // Node words it "ENOSPC: no space left on device, write": keep the description only.
    const description = /^[A-Z0-9]+: (.*?)(?:, \w+(?: '.*')?)?$/.exec((error as Error).message)?.[1] ?? (error as Error).message;
    const free = freeBytes(dir);
    const space = free === undefined ? `free space unknown on the file system of ${dir}` : `${free} bytes free on the file system of ${dir}`;
    throw new FileWriteError(`cannot write ${what} ${file}: ${description} (${code}), ${space}`, file, code, { cause: error });
  }
}

/** Writes all of `bytes` at the file's current position (a short write near a full disk is continued, or throws). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
}

/** A file's content: text, bytes, or bytes in parts (written one after the other, so a large file needs no joined copy). */
export type FileContent = string | Uint8Array | readonly Uint8Array[];

/** Writes a file and fsyncs its content (not its directory entry: see writeFileDurably). */
function writeFileSynced(file: string, content: FileContent, mode = 0o644): void {
  const parts = typeof content === 'string' ? [Buffer.from(content)] : content instanceof Uint8Array ? [content] : content;
  const fd = openSync(file, 'w', mode);
  try {
    for (const part of parts) writeAll(fd, part);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a file so that after a crash or a failed write it is either as before or complete: write a
 * temporary file, fsync it, rename it into place, fsync the directory. A failure removes the
 * temporary file and throws a FileWriteError naming `file` (described as `what`).
 */
export function writeFileDurably(file: string, content: FileContent, mode = 0o644, what = 'file'): void {
  const dir = path.dirname(file);
  const temporary = path.join(dir, `.tmp-${path.basename(file)}-${process.pid}`);
  writingFile(what, file, () => {
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSynced(temporary, content, mode);
      renameSync(temporary, file);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
    syncDirectory(dir);
  });
}
