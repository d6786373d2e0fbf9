import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { testDir } from '../../test/support/services';
import { acquireLock } from './lock';
import { formatIdentity, identityOf } from './processIdentity';

/** The built lock (the children are plain node: tests that spawn dist/ need `npm run build` first). */
const BUILT_LOCK = path.join(PROJECT_ROOT, 'dist', 'lib', 'run', 'lock.js');

/**
 * A contender: for each byte on stdin (one round) it waits for the round's start time, tries the lock; while holding it appends
 * `enter` and `leave` lines (O_APPEND) to the journal, then says `done <round>` on stdout.
 */
const CONTENDER = `
const fs = require('node:fs');
const [lockModule, lockFile, journal, startFile, id] = process.argv.slice(2);
const { acquireLock } = require(lockModule);
const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const byte = Buffer.alloc(1);
function nextByte() {
  for (;;) {
    try {
      return fs.readSync(0, byte, 0, 1, null) === 1 ? byte[0] : undefined;
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      pause(1);
    }
  }
}
for (let round = 0; nextByte() === 0x67; round += 1) {
  // All contenders start in the same instant: they spin until the time the test set for this round.
  const start = Number(fs.readFileSync(startFile, 'utf8'));
  while (performance.timeOrigin + performance.now() < start);
  try {
    const lock = acquireLock(lockFile);
    if (lock.acquired) {
      fs.appendFileSync(journal, 'enter ' + round + ' ' + id + '\\n');
      pause(1);
      fs.appendFileSync(journal, 'leave ' + round + ' ' + id + '\\n');
      lock.release();
    }
    fs.writeSync(1, 'done ' + round + '\\n');
  } catch (error) {
    fs.writeSync(1, 'error ' + round + ' ' + String(error.message).replace(/\\n/g, ' ') + '\\n');
  }
}
`;

/** A pid no process has: one of a process that ran and exited. */
function deadPid(): number {
  const exited = spawnSync('true');
  if (!exited.pid) throw new Error('could not run true');
  return exited.pid;
}

/** Puts a lock of a dead process in place: an entry in the lock directory, or an old-format lock file. */
function placeStaleLock(lockFile: string): void {
  const pid = deadPid();
  if (existsSync(lockFile) && lstatSync(lockFile).isDirectory()) writeFileSync(path.join(lockFile, `${pid}:4242:0123456789ab`), '');
  else writeFileSync(lockFile, `${pid} 0123456789ab\n`);
}

interface RaceResult {
  /** Rounds in which two contenders held the lock at once, per the journal. */
  overlappingRounds: number;
  /** Rounds in which at least one contender held it. */
  heldRounds: number;
  /** Enter lines in the journal (each a holder). */
  holds: number;
  errors: string[];
}

/** `contenders` processes try the lock together, `rounds` times; the journal is replayed to count holders at once. */
async function race(contenders: number, rounds: number, beforeRound?: (lockFile: string) => void): Promise<RaceResult> {
  const dir = testDir('lock-race');
  const lockFile = path.join(dir, 'job.lock');
  const journal = path.join(dir, 'journal');
  const script = path.join(dir, 'contender.js');
  const startFile = path.join(dir, 'start');
  writeFileSync(script, CONTENDER);
  writeFileSync(journal, '');
  const errors: string[] = [];
  const doneCounts = new Map<number, number>();
  let wake: () => void = () => undefined;
  const children: ChildProcess[] = [];
  for (let id = 0; id < contenders; id += 1) {
    const child = spawn(process.execPath, [script, BUILT_LOCK, lockFile, journal, startFile, String(id)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const [word, round] = line.split(' ');
        if (word === 'error') errors.push(line);
        doneCounts.set(Number(round), (doneCounts.get(Number(round)) ?? 0) + 1);
      }
      wake();
    });
    children.push(child);
  }
  const exited = children.map((child) => new Promise((resolve) => child.on('exit', resolve)));
  for (let round = 0; round < rounds; round += 1) {
    beforeRound?.(lockFile);
    writeFileSync(startFile, String(Date.now() + 10));
    for (const child of children) child.stdin?.write('g');
    while ((doneCounts.get(round) ?? 0) < contenders) await new Promise<void>((resolve) => (wake = resolve));
  }
  for (const child of children) child.stdin?.end('q');
  await Promise.all(exited);

  const holdersByRound = new Map<number, Set<string>>();
  const overlapping = new Set<number>();
  const holds = readFileSync(journal, 'utf8').split('\n').filter(Boolean);
  for (const line of holds) {
    const [event, round, id] = line.split(' ');
    const holders = holdersByRound.get(Number(round)) ?? new Set<string>();
    holdersByRound.set(Number(round), holders);
    if (event === 'enter') {
      if (holders.size > 0) overlapping.add(Number(round));
      holders.add(id);
    } else {
      holders.delete(id);
    }
  }
  return { overlappingRounds: overlapping.size, heldRounds: holdersByRound.size, holds: holds.filter((line) => line.startsWith('enter')).length, errors };
}

describe('the run lock under a race of real processes', () => {
  it('8 processes, 200 rounds: never two holders', async () => {
    const result = await race(8, 200);
    expect(result.errors).toEqual([]);
    expect(result.overlappingRounds).toBe(0);
    expect(result.heldRounds).toBe(200);
  });

  it('8 processes, 200 rounds, a lock of a dead process present each round: never two holders', async () => {
    const result = await race(8, 200, placeStaleLock);
    expect(result.errors).toEqual([]);
    expect(result.overlappingRounds).toBe(0);
    expect(result.heldRounds).toBe(200);
  });
});

describe('stale locks', () => {
  let sleeper: ChildProcess | undefined;
  afterEach(() => {
    sleeper?.kill();
    sleeper = undefined;
  });

  function liveUnrelatedPid(): number {
    sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    if (!sleeper.pid) throw new Error('sleep did not start');
    return sleeper.pid;
  }

  it('an entry naming a live, unrelated pid (wrong start time) is stale: the lock is taken and the entry removed', () => {
    const lockFile = path.join(testDir('lock-reused'), 'job.lock');
    const first = acquireLock(lockFile);
    expect(first.acquired).toBe(true);
    if (first.acquired) first.release();
    const pid = liveUnrelatedPid();
    const identity = identityOf(pid);
    expect(identity).toBeDefined();
    const entry = `${formatIdentity({ pid, startTicks: String(Number(identity?.startTicks) + 1) })}:0123456789ab`;
    writeFileSync(path.join(lockFile, entry), '');
    const lock = acquireLock(lockFile);
    expect(lock).toMatchObject({ acquired: true, recoveredFrom: pid });
    expect(readdirSync(lockFile)).not.toContain(entry);
    if (lock.acquired) lock.release();
    expect(readdirSync(lockFile)).toEqual([]);
  });

  it('an old-format lock file naming a pid reused by a process started after it was written is stale', () => {
    const lockFile = path.join(testDir('lock-old'), 'job.lock');
    writeFileSync(lockFile, `${liveUnrelatedPid()} 0123456789ab\n`);
    const anHourAgo = (Date.now() - 3_600_000) / 1000;
    utimesSync(lockFile, anHourAgo, anHourAgo);
    const lock = acquireLock(lockFile);
    expect(lock).toMatchObject({ acquired: true, recoveredFrom: sleeper?.pid });
    if (lock.acquired) lock.release();
    expect(lstatSync(lockFile).isDirectory()).toBe(true);
    expect(readdirSync(lockFile)).toEqual([]);
  });

  it('an old-format lock file of a run still going (started before the file was written) holds', () => {
    const lockFile = path.join(testDir('lock-old-live'), 'job.lock');
    const pid = liveUnrelatedPid();
    writeFileSync(lockFile, `${pid} 0123456789ab\n`);
    expect(acquireLock(lockFile, { attempts: 1 })).toEqual({ acquired: false, holderPid: pid });
    expect(lstatSync(lockFile).isFile()).toBe(true);
  });

  it('an entry of a running holder holds; a second contender in the same process backs off', () => {
    const lockFile = path.join(testDir('lock-held'), 'job.lock');
    const first = acquireLock(lockFile);
    expect(first.acquired).toBe(true);
    expect(acquireLock(lockFile, { attempts: 2 })).toEqual({ acquired: false, holderPid: process.pid });
    if (first.acquired) first.release();
    const second = acquireLock(lockFile);
    expect(second.acquired).toBe(true);
    if (second.acquired) second.release();
  });
});
