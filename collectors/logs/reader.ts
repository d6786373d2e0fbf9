import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;
export const HEAD_BYTES = 1024;

/** sha256 of the first `length` bytes of the file. */
export async function headHash(file: string, length: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return createHash('sha256').update(buffer.subarray(0, bytesRead)).digest('hex');
  } finally {
    await handle.close();
  }
}

/** The offset just after the last newline before `size` (0 if none in the last chunk): where a line starts. */
export async function lastLineStart(file: string, size: number): Promise<number> {
  const from = Math.max(0, size - CHUNK_BYTES);
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(size - from);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
    const newline = buffer.subarray(0, bytesRead).lastIndexOf(NEWLINE);
    return newline === -1 ? (from === 0 ? 0 : size) : from + newline + 1;
  } finally {
    await handle.close();
  }
}

/**
 * Calls `onLine` for every complete line (ending in \n) between `start` and `end`, and returns the
 * offset after the last complete line. A partial last line is left for a later run, when it is complete.
 */
export async function readCompleteLines(file: string, start: number, end: number, onLine: (line: string) => void, signal: AbortSignal): Promise<number> {
  const handle = await open(file, 'r');
  try {
    let position = start;
    let pending = Buffer.alloc(0); // the start of a line that continues in the next chunk
    const chunk = Buffer.alloc(CHUNK_BYTES);
    while (position < end) {
      signal.throwIfAborted();
      const { bytesRead } = await handle.read(chunk, 0, Math.min(CHUNK_BYTES, end - position), position);
      if (bytesRead === 0) break; // the file shrank while we read it
      position += bytesRead;
      const data = pending.length ? Buffer.concat([pending, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      let lineStart = 0;
      for (let newline = data.indexOf(NEWLINE); newline !== -1; newline = data.indexOf(NEWLINE, lineStart)) {
        const lineEnd = newline > lineStart && data[newline - 1] === 0x0d ? newline - 1 : newline;
        onLine(data.toString('utf8', lineStart, lineEnd));
        lineStart = newline + 1;
      }
      pending = Buffer.from(data.subarray(lineStart));
    }
    return position - pending.length;
  } finally {
    await handle.close();
  }
}
