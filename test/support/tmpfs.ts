import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, statfsSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Small tmpfs file systems for full-disk tests: real ENOSPC, made by the test (tests run as root). */
const mounted: string[] = [];

/** Mounts a tmpfs with `options` (e.g. 'size=1m', 'size=1m,nr_inodes=2') on `dir`, made if needed. */
export function mountTmpfs(dir: string, options: string): void {
  mkdirSync(dir, { recursive: true });
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mount ${dir}: ${result.stderr}`);
  mounted.push(dir);
}

/** Unmounts what mountTmpfs mounted, innermost first (for afterAll). */
export function unmountTmpfs(): void {
  for (const dir of mounted.splice(0).reverse()) spawnSync('umount', [dir]);
}

/** Bytes an unprivileged writer may still use on the file system of `dir`, read by the test itself. */
export function freeBytesOn(dir: string): number {
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
}

/** Fills the file system of `dir` to the last byte with one file `name`, whose path is returned. */
export function fillDisk(dir: string, name = 'filler'): string {
  const file = path.join(dir, name);
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let size = chunk.length; size >= 1; ) {
      try {
        writeSync(fd, chunk, 0, size);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        size = Math.floor(size / 2);
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}
