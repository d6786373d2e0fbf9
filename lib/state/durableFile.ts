import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
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

/** A file's content: text, bytes, or bytes in parts (written one after the other, so a large file needs no joined copy). */
export type FileContent = string | Uint8Array | readonly Uint8Array[];

/** Writes a file and fsyncs its content (not its directory entry: see writeFileDurably). */
function writeFileSynced(file: string, content: FileContent, mode = 0o644): void {
  const parts = typeof content === 'string' ? [Buffer.from(content)] : content instanceof Uint8Array ? [content] : content;
  const fd = openSync(file, 'w', mode);
  try {
    for (const part of parts) {
      for (let written = 0; written < part.length; ) written += writeSync(fd, part, written);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a file so that after a crash it is either absent or complete: write a temporary file,
 * fsync it, rename it into place, fsync the directory.
 */
export function writeFileDurably(file: string, content: FileContent, mode = 0o644): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true });
  const temporary = path.join(dir, `.tmp-${path.basename(file)}-${process.pid}`);
  writeFileSynced(temporary, content, mode);
  renameSync(temporary, file);
  syncDirectory(dir);
}
