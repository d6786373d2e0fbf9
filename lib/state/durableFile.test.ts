import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statfsSync, writeSync } from 'node:fs';
import path from 'node:path';
import { testDir } from '../../test/support/services';
import { writeFileDurably } from './durableFile';
import { StateFile } from './stateFile';

// A real full file system: a small tmpfs this test mounts (the tests run as root).
let mountpoint: string;
let mounted = false;
beforeAll(() => {
  mountpoint = testDir('state-disk-full');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountpoint]);
  mounted = true;
});
afterAll(() => {
  if (mounted) execFileSync('umount', [mountpoint]);
});

const freeOn = (dir: string): number => {
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
};

/** Fills the file system with one file until it refuses more; returns its path. */
function fill(): string {
  const file = path.join(mountpoint, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return file;
}

test('on a full disk a state file keeps its previous content, and the error names the file and the free space', () => {
  const dir = path.join(mountpoint, 'state', 'job');
  const state = new StateFile(path.join(dir, 'state.json'), { initial: () => ({ items: [] as string[] }) });
  state.write({ items: ['before'] });
  const filler = fill();
  expect(freeOn(dir)).toBe(0);
  expect(() => state.write({ items: Array.from({ length: 1000 }, (_, index) => `item ${index}`) })).toThrow(
    `cannot write state file ${state.file}: no space left on device (ENOSPC), 0 bytes free on the file system of ${dir}`,
  );
  expect(state.read()).toEqual({ items: ['before'] });
  expect(readdirSync(dir)).toEqual(['state.json']); // no temporary file left behind
  rmSync(filler);
  state.write({ items: ['after'] });
  expect(state.read()).toEqual({ items: ['after'] });
});

test('on a read-only file system the error names the file and the free space too', () => {
  const dir = path.join(mountpoint, 'read-only');
  mkdirSync(dir);
  const file = path.join(dir, 'file.bin');
  writeFileDurably(file, 'kept');
  execFileSync('mount', ['-o', 'remount,ro', mountpoint]);
  try {
    const free = freeOn(dir);
    expect(free).toBeGreaterThan(0);
    expect(() => writeFileDurably(file, 'new')).toThrow(`cannot write file ${file}: read-only file system (EROFS), ${free} bytes free on the file system of ${dir}`);
  } finally {
    execFileSync('mount', ['-o', 'remount,rw', mountpoint]);
  }
  expect(readFileSync(file, 'utf8')).toBe('kept');
});
