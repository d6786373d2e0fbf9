import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { testDir } from '../../test/support/services';
import { SLOT_STORE_FILE, SlotStore } from './slotStore';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SLOTS = 144;
const SLOT = Date.UTC(2026, 10, 22, 10, 0);
/** A run's reads and windows end with its own slot: [.., slot + 10 minutes). */
const END = SLOT + 10 * MINUTE;
const READS = { recentMs: HOUR, lateMs: 6 * HOUR, fillMs: HOUR };

/** Reads `ranges` as a run would, each slot of each series given by `value` (undefined: no point). */
function read(store: SlotStore, ranges: Array<[number, number]>, keys: string[], value: (key: string, slotMs: number) => number | undefined): void {
  for (const [from, to] of ranges) {
    store.beginRead(from, to);
    for (let slotMs = from; slotMs < to; slotMs += 10 * MINUTE) {
      for (const key of keys) {
        const one = value(key, slotMs);
        if (one !== undefined) store.put(key, slotMs, one);
      }
    }
  }
}

function means(store: SlotStore, slotMs: number, durations: number[]): Map<string, number[]> {
  const result = new Map<string, number[]>();
  store.means(slotMs, durations, (key, window, mean) => {
    const row = result.get(key) ?? new Array<number>(durations.length).fill(NaN);
    row[window] = mean;
    result.set(key, row);
  });
  return result;
}

/** Runs from `fromMs` to `toMs` (slots), each reading what planReads asks, with every series present. */
function runs(store: SlotStore, fromMs: number, toMs: number, keys: string[], value: (key: string, slotMs: number) => number | undefined): void {
  for (let slotMs = fromMs; slotMs <= toMs; slotMs += 10 * MINUTE) read(store, store.planReads(slotMs, READS), keys, value);
}

describe('the slot store', () => {
  test('a first run reads the last hour up to its own slot; later runs an hour more of the past, until a day is held; then only the last hour', () => {
    const store = SlotStore.inMemory(SLOTS, 'finished');
    expect(store.planReads(SLOT, READS)).toEqual([[END - HOUR, END]]);
    read(store, [[END - HOUR, END]], ['a'], () => 1);
    expect(store.holds(SLOT, HOUR)).toBe(true);
    expect(store.holds(SLOT, 2 * HOUR)).toBe(false);
    expect(store.holds(SLOT + 10 * MINUTE, HOUR)).toBe(false); // that run's own slot is not read yet
    const next = SLOT + 10 * MINUTE;
    expect(store.planReads(next, READS)).toEqual([
      [END - 2 * HOUR, END - HOUR],
      [next + 10 * MINUTE - HOUR, next + 10 * MINUTE],
    ]);
    // The 21st run (the 20th after the first) is the one after which the store holds the whole day.
    runs(store, next, SLOT + 19 * 10 * MINUTE, ['a'], () => 1);
    expect(store.holds(SLOT + 20 * 10 * MINUTE, 24 * HOUR)).toBe(false);
    runs(store, SLOT + 20 * 10 * MINUTE, SLOT + 20 * 10 * MINUTE, ['a'], () => 1);
    expect(store.holds(SLOT + 20 * 10 * MINUTE, 24 * HOUR)).toBe(true);
    runs(store, SLOT + 21 * 10 * MINUTE, SLOT + 23 * 10 * MINUTE, ['a'], () => 1);
    const later = SLOT + 24 * 10 * MINUTE;
    const laterEnd = later + 10 * MINUTE;
    expect(store.planReads(later, READS)).toEqual([[laterEnd - HOUR, laterEnd]]);
    expect(store.holds(later, 24 * HOUR)).toBe(false); // its own slot is not read yet
    read(store, [[laterEnd - HOUR, laterEnd]], ['a'], () => 1);
    expect(store.holds(later, 24 * HOUR)).toBe(true);
  });

  test('means over the slots with a point, only for the windows held whole', () => {
    const store = SlotStore.inMemory(SLOTS, 'finished');
    runs(store, SLOT - HOUR, SLOT, ['a', 'b'], (key, slotMs) => {
      if (key === 'b') return slotMs < SLOT - 2 * HOUR ? 50 : undefined; // b: nothing in the last 2 hours
      return slotMs % HOUR === 20 * MINUTE ? undefined : (slotMs / (10 * MINUTE)) % 7; // a: a gap every hour, at :20
    });
    const durations = [HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR];
    const result = means(store, SLOT, durations);
    // The window ends with the slot itself.
    const expected = (durationMs: number): number => {
      const values: number[] = [];
      for (let slotMs = END - durationMs; slotMs < END; slotMs += 10 * MINUTE) if (slotMs % HOUR !== 20 * MINUTE) values.push((slotMs / (10 * MINUTE)) % 7);
      return values.reduce((sum, value) => sum + value, 0) / values.length;
    };
    expect(store.holds(SLOT, 6 * HOUR)).toBe(true);
    expect(store.holds(SLOT, 12 * HOUR)).toBe(false);
    expect(result.get('a')).toEqual([expected(HOUR), expected(6 * HOUR), NaN, NaN]);
    expect(result.get('b')).toEqual([NaN, 50, NaN, NaN]);
  });

  test('across midnight, after a missed run: each window ends with the slot itself and averages the points there (QMonit: the newest N)', () => {
    const store = SlotStore.inMemory(SLOTS, 'finished');
    const slot = Date.UTC(2026, 10, 23, 0, 20); // 20 minutes after midnight: every window reaches into the day before
    const missed = Date.UTC(2026, 10, 22, 23, 50); // panda did not run: no series has a point in that slot
    const value = (key: string, slotMs: number): number | undefined => (slotMs === missed ? undefined : (slotMs / (10 * MINUTE)) % 11 + (key === 'b' ? 100 : 0));
    runs(store, slot - 30 * 10 * MINUTE, slot, ['a', 'b'], value);
    const durations = [HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR];
    expect(durations.map((duration) => store.holds(slot, duration))).toEqual([true, true, true, true]);
    // Computed here from the values: the slots of [slot + 10 min − window, slot + 10 min), the slot itself included.
    const mean = (key: string, durationMs: number): number => {
      const present: number[] = [];
      for (let back = 0; back < durationMs / (10 * MINUTE); back++) {
        const one = value(key, slot - back * 10 * MINUTE);
        if (one !== undefined) present.push(one);
      }
      return present.reduce((sum, one) => sum + one, 0) / present.length;
    };
    const result = means(store, slot, durations);
    for (const key of ['a', 'b']) {
      const expected = durations.map((duration) => mean(key, duration));
      result.get(key)!.forEach((average, window) => expect({ key, window, average }).toEqual({ key, window, average: expect.closeTo(expected[window], 9) }));
    }
    // 1h: the 5 points of the hour (the missed one is not a zero), not the newest 6 whatever their age (QMonit).
    const hour = [0, 1, 2, 4, 5].map((back) => value('a', slot - back * 10 * MINUTE)!);
    expect(result.get('a')![0]).toBeCloseTo(hour.reduce((sum, one) => sum + one, 0) / 5, 9);
    const qmonitNewestSix = [0, 1, 2, 4, 5, 6].map((back) => value('a', slot - back * 10 * MINUTE)!);
    expect(result.get('a')![0]).not.toBeCloseTo(qmonitNewestSix.reduce((sum, one) => sum + one, 0) / 6, 9);
  });

  test("coverage: the share of the window's slots with data in which a series has a point (a missed run is not counted)", () => {
    const store = SlotStore.inMemory(SLOTS, 'finished');
    const missed = SLOT - 3 * 10 * MINUTE; // panda did not run: no series has a point there
    // 'a' has a point in every slot panda ran; 'b' (a prod source and resource type with jobs now and then) in every third.
    const value = (key: string, slotMs: number): number | undefined => {
      if (slotMs === missed) return undefined;
      if (key === 'b' && (slotMs / (10 * MINUTE)) % 3 !== 0) return undefined;
      return 30;
    };
    runs(store, SLOT - 30 * 10 * MINUTE, SLOT, ['a', 'b'], value);
    const durations = [HOUR, 6 * HOUR];
    const coverage = new Map<string, number[]>();
    store.means(SLOT, durations, (key, window, _mean, share) => {
      const row = coverage.get(key) ?? [NaN, NaN];
      row[window] = share;
      coverage.set(key, row);
    });
    // Counted here: of the window's slots panda ran in, those where the series has a point.
    const expected = (key: string, durationMs: number): number => {
      let ran = 0;
      let present = 0;
      for (let back = 0; back < durationMs / (10 * MINUTE); back++) {
        const slotMs = SLOT - back * 10 * MINUTE;
        if (slotMs === missed) continue;
        ran++;
        if (value(key, slotMs) !== undefined) present++;
      }
      return present / ran;
    };
    expect(coverage.get('a')).toEqual([1, 1]);
    expect(coverage.get('b')).toEqual(durations.map((duration) => expected('b', duration)));
    expect(coverage.get('b')![1]).toBeGreaterThan(0.3);
    expect(coverage.get('b')![1]).toBeLessThan(0.4);
  });

  test('a slot that had no point when read is read again while in the last 6 hours (a replayed spool)', () => {
    const store = SlotStore.inMemory(SLOTS, 'finished');
    const outage = (slotMs: number): boolean => slotMs >= SLOT - 4 * HOUR && slotMs < SLOT - 2 * HOUR;
    runs(store, SLOT - 30 * 10 * MINUTE, SLOT - 10 * MINUTE, ['a'], (_, slotMs) => (outage(slotMs) ? undefined : 1));
    expect(store.planReads(SLOT, READS)[0]).toEqual([SLOT - 4 * HOUR, END]);
    read(store, store.planReads(SLOT, READS), ['a'], () => 1); // the points came meanwhile
    expect(store.planReads(SLOT + 10 * MINUTE, READS)).toEqual([[END + 10 * MINUTE - HOUR, END + 10 * MINUTE]]);
    // Older than 6 hours, an empty slot stays so.
    const quiet = SlotStore.inMemory(SLOTS, 'finished');
    runs(quiet, SLOT - 60 * 10 * MINUTE, SLOT - 10 * MINUTE, ['a'], (_, slotMs) => (slotMs === SLOT - 7 * HOUR ? undefined : 1));
    expect(quiet.planReads(SLOT, READS)).toEqual([[END - HOUR, END]]);
  });

  test('saved and opened again; values above 16 bits and fractions kept; series without points in the day dropped', async () => {
    const dir = testDir('slot-store');
    const store = await SlotStore.open(dir, SLOTS, 'finished');
    runs(store, SLOT - 30 * 10 * MINUTE, SLOT, ['big', 'fraction', 'gone'], (key, slotMs) => {
      if (key === 'gone') return slotMs === SLOT - 30 * 10 * MINUTE ? 3 : undefined;
      return key === 'big' ? 70_000 + slotMs / (10 * MINUTE) % 3 : 2.5;
    });
    const before = means(store, SLOT, [HOUR, 6 * HOUR]);
    store.save(SLOT + 25 * HOUR); // 'gone' has no point in the day before this slot, nor has any other
    // Nothing it holds is within the day: read as on a first run.
    expect((await SlotStore.open(dir, SLOTS, 'finished')).planReads(SLOT + 25 * HOUR, READS)).toEqual([[END + 24 * HOUR, END + 25 * HOUR]]);
    store.save(SLOT);
    const reopened = await SlotStore.open(dir, SLOTS, 'finished');
    expect(means(reopened, SLOT, [HOUR, 6 * HOUR])).toEqual(before);
    expect(before.get('big')?.[0]).toBeGreaterThan(70_000);
    expect(before.get('fraction')).toEqual([2.5, 2.5]);
    expect(before.has('gone')).toBe(true);
    store.save(SLOT + 19 * HOUR + 10 * MINUTE); // the day up to it holds 'gone''s point (at SLOT − 5h) no more, the others' still
    const file = readFileSync(path.join(dir, SLOT_STORE_FILE));
    expect([file.includes('gone'), file.includes('big')]).toEqual([false, true]);
  });

  test.each([
    ['other settings', async (dir: string) => (await SlotStore.open(dir, SLOTS, 'finished')).save(SLOT), 'finished,failed'],
    ['another number of slots', async (dir: string) => (await SlotStore.open(dir, 72, 'finished')).save(SLOT), 'finished'],
    ['a damaged file', async (dir: string) => writeFileSync(path.join(dir, SLOT_STORE_FILE), Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 123])), 'finished'],
    ['a file cut short', async (dir: string) => {
      const store = await SlotStore.open(dir, SLOTS, 'finished');
      read(store, [[SLOT - HOUR, SLOT]], ['a'], () => 1);
      store.save(SLOT);
      const bytes = readFileSync(path.join(dir, SLOT_STORE_FILE));
      writeFileSync(path.join(dir, SLOT_STORE_FILE), bytes.subarray(0, bytes.length - 2));
    }, 'finished'],
  ])('%s: an empty store', async (_, prepare, fingerprint) => {
    const dir = testDir('slot-store');
    const writer = await SlotStore.open(dir, SLOTS, 'finished');
    read(writer, [[END - HOUR, END]], ['a'], () => 1);
    writer.save(SLOT);
    expect(writer.holds(SLOT, 10 * MINUTE)).toBe(true);
    await prepare(dir);
    const store = await SlotStore.open(dir, SLOTS, fingerprint);
    expect(store.holds(SLOT, 10 * MINUTE)).toBe(false);
    expect(store.planReads(SLOT, READS)).toEqual([[END - HOUR, END]]);
  });
});
