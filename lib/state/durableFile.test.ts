import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { testDir } from '../../test/support/services';
import { fillDisk, freeBytesOn, mountTmpfs, unmountTmpfs } from '../../test/support/tmpfs';
import { writeFileDurably } from './durableFile';
import { StateFile } from './stateFile';

// A real full file system: a small tmpfs this test mounts.
let mountpoint: string;
beforeAll(() => {
  mountpoint = testDir('state-disk-full');
  mountTmpfs(mountpoint, 'size=1m');
});
afterAll(unmountTmpfs);

test('on a full disk a state file keeps its previous content, and the error names the file and the free space', () => {
  const dir = path.join(mountpoint, 'state', 'job');
  const state = new StateFile(path.join(dir, 'state.json'), { initial: () => ({ items: [] as string[] }) });
  state.write({ items: ['before'] });
  const filler = fillDisk(mountpoint);
  expect(freeBytesOn(dir)).toBe(0);
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
    const free = freeBytesOn(dir);
    expect(free).toBeGreaterThan(0);
    expect(() => writeFileDurably(file, 'new')).toThrow(`cannot write file ${file}: read-only file system (EROFS), ${free} bytes free on the file system of ${dir}`);
  } finally {
    execFileSync('mount', ['-o', 'remount,rw', mountpoint]);
  }
  expect(readFileSync(file, 'utf8')).toBe('kept');
});
