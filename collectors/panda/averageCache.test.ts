import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StateFile } from '../../lib/state/stateFile';
import { testDir } from '../../test/support/services';
import { AVERAGE_CACHE_FILE, AVERAGE_CACHE_STATE, AverageCache, type CachedEntries, type Renewal, renewalGroupOf } from './averageCache';
import { seriesKey } from './documents';
import { queueName } from './test/synthetic';

const GROUPS = 6;
const QUEUES = Array.from({ length: 60 }, (_, index) => queueName(index));
const key = (queue: string): string => seriesKey({ queue, prodSource: 'managed', resource: 'SCORE', jobStatus: 'running' });
const averageOf = (queue: string): number => Number(queue.slice(-5)) + 0.5;
/** The cache file of a state folder, as panda-derived's context.state gives it. */
const cacheIn = (dir: string): StateFile<CachedEntries> => new StateFile(path.join(dir, AVERAGE_CACHE_FILE), AVERAGE_CACHE_STATE);

/** Plans avg_7d with every group valid for hour 100, except those `later` names with their own hour. */
function plan(cache: AverageCache, currentQueues: string[], later: Record<number, number> = {}): { recorded: Map<string, number>; renewal: Renewal } {
  const recorded = new Map<string, number>();
  const validFor = (group: number): string => `1h ${later[group] ?? 100} ${group}/${GROUPS}`;
  const renewal = cache.renewal('avg_7d', GROUPS, validFor, currentQueues, (seriesKeyRead, value) => recorded.set(seriesKeyRead, value));
  return { recorded, renewal };
}

/** Answers a renewal as InfluxDB would: an average for each queue asked for (every one when no list is given). */
function answer(renewal: Renewal, knownQueues: string[]): void {
  for (const queue of renewal.queues ?? knownQueues) renewal.take(key(queue), averageOf(queue));
  renewal.finish();
}

describe('the cache of 1h and 1d averages', () => {
  test('queues are spread over the renewal groups, each group always the same', () => {
    const sizes = new Array<number>(GROUPS).fill(0);
    for (let index = 0; index < 2500; index++) sizes[renewalGroupOf(queueName(index), GROUPS)]++;
    for (const size of sizes) expect(Math.abs(size - 2500 / GROUPS)).toBeLessThan(2500 / GROUPS / 4);
    expect(renewalGroupOf('AGLT2_HOSPITAL', GROUPS)).toBe(renewalGroupOf('AGLT2_HOSPITAL', GROUPS));
  });

  test('an empty cache reads every queue; what is read comes back while valid, one expired group is read again', async () => {
    const dir = testDir('average-cache');
    const cache = await AverageCache.open(cacheIn(dir));
    const first = plan(cache, QUEUES);
    expect(first.renewal.queues).toBeUndefined();
    expect(first.recorded.size).toBe(0);
    answer(first.renewal, QUEUES);
    expect(existsSync(path.join(dir, AVERAGE_CACHE_FILE))).toBe(false); // written by save(), once the whole history is read
    cache.save();

    const file = path.join(dir, AVERAGE_CACHE_FILE);
    appendFileSync(file, '\n'); // a mark: a save that rewrites the file drops it
    const unchanged = await AverageCache.open(cacheIn(dir));
    const same = plan(unchanged, QUEUES);
    expect(same.renewal.queues).toEqual(new Set());
    expect(same.recorded).toEqual(new Map(QUEUES.map((queue) => [key(queue), averageOf(queue)])));
    same.renewal.finish();
    unchanged.save();
    expect(readFileSync(file, 'utf8').endsWith('\n')).toBe(true); // nothing new: not rewritten

    const reopened = await AverageCache.open(cacheIn(dir));
    const oneExpired = plan(reopened, QUEUES, { 2: 101 });
    const groupTwo = QUEUES.filter((queue) => renewalGroupOf(queue, GROUPS) === 2);
    expect(groupTwo.length).toBeGreaterThan(0);
    expect(oneExpired.renewal.queues).toEqual(new Set(groupTwo));
    expect(oneExpired.recorded.size).toBe(QUEUES.length - groupTwo.length); // the other groups, from the cache
    answer(oneExpired.renewal, QUEUES);
    reopened.save();
    const after = plan((await AverageCache.open(cacheIn(dir))), QUEUES, { 2: 101 });
    expect(after.renewal.queues).toEqual(new Set());
    expect(after.recorded.size).toBe(QUEUES.length);
  });

  test('a queue new since its group was read is read; one absent from a read of every queue is not', async () => {
    const dir = testDir('average-cache');
    const before = QUEUES.slice(0, 40);
    const cache = await AverageCache.open(cacheIn(dir));
    answer(plan(cache, before).renewal, before); // every queue read: the ten new ones simply had no data
    cache.save();
    const renewing = await AverageCache.open(cacheIn(dir));
    const groupOne = before.filter((queue) => renewalGroupOf(queue, GROUPS) === 1);
    answer(plan(renewing, before, { 1: 101 }).renewal, before); // group 1 read for its current queues only
    renewing.save();

    const newQueues = QUEUES.slice(40);
    const next = plan((await AverageCache.open(cacheIn(dir))), QUEUES, { 1: 101 });
    expect(next.renewal.queues).toEqual(new Set(newQueues.filter((queue) => renewalGroupOf(queue, GROUPS) === 1)));
    expect(groupOne.every((queue) => next.recorded.has(key(queue)))).toBe(true);
  });

  test('a queue PanDA no longer lists is read again while its last read found data for it', async () => {
    const dir = testDir('average-cache');
    const cache = await AverageCache.open(cacheIn(dir));
    answer(plan(cache, QUEUES).renewal, QUEUES);
    cache.save();
    const groupThree = QUEUES.filter((queue) => renewalGroupOf(queue, GROUPS) === 3);
    const [gone, ...stillListed] = groupThree;
    const listed = QUEUES.filter((queue) => queue !== gone);

    // Its group expires: it had data in the window, so it is read with the group's listed queues.
    const renewing = await AverageCache.open(cacheIn(dir));
    const withData = plan(renewing, listed, { 3: 101 });
    expect(withData.renewal.queues).toEqual(new Set(groupThree));
    for (const queue of stillListed) withData.renewal.take(key(queue), averageOf(queue)); // no data for it any more
    withData.renewal.finish();
    renewing.save();

    // The next renewal leaves it out: nothing of it is left in the window.
    const next = plan((await AverageCache.open(cacheIn(dir))), listed, { 3: 102 });
    expect(next.renewal.queues).toEqual(new Set(stillListed));
  });

  test.each([
    ['an earlier layout (one entry per window)', JSON.stringify({ avg_7d: { validFor: '1h 100', keys: ['a'], values: [1] } })],
    ['keys and values that do not match', JSON.stringify({ 'avg_7d/0': { validFor: '1h 100 0/6', keys: ['a', 'b'], values: [1] } })],
    ['queues that are not a list', JSON.stringify({ 'avg_7d/0': { validFor: '1h 100 0/6', keys: ['a'], values: [1], queues: 'a' } })],
    ['a damaged file', '{"avg_7d": {"validFor'],
  ])('%s reads as nothing cached, and is not kept', async (_, content) => {
    const dir = testDir('average-cache');
    writeFileSync(path.join(dir, AVERAGE_CACHE_FILE), content);
    const cache = await AverageCache.open(cacheIn(dir));
    const { renewal, recorded } = plan(cache, QUEUES);
    expect(renewal.queues).toBeUndefined();
    expect(recorded.size).toBe(0);
    answer(renewal, QUEUES);
    cache.save();
    expect(Object.keys(JSON.parse(readFileSync(path.join(dir, AVERAGE_CACHE_FILE), 'utf8')) as object).sort()).toEqual(
      Array.from({ length: GROUPS }, (_, group) => `avg_7d/${group}`),
    );
  });
});
