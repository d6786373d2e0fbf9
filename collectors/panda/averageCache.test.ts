import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { testDir } from '../../test/support/services';
import { AVERAGE_CACHE_FILE, AverageCache } from './averageCache';

describe('the cache of 1h and 1d averages', () => {
  test('what is saved comes back while valid, and not after', () => {
    const dir = testDir('average-cache');
    const cache = AverageCache.open(dir);
    cache.set('avg_7d', '1h 493150', { keys: ['Q\u0000managed\u0000SCORE\u0000running', 'Q\u0000user\u0000MCORE\u0000finished'], values: [12.5, 0.25] });
    cache.save();
    const reopened = AverageCache.open(dir);
    expect(reopened.get('avg_7d', '1h 493150')).toEqual({ validFor: '1h 493150', keys: ['Q\u0000managed\u0000SCORE\u0000running', 'Q\u0000user\u0000MCORE\u0000finished'], values: [12.5, 0.25] });
    expect(reopened.get('avg_7d', '1h 493151')).toBeUndefined(); // the next hour
    expect(reopened.get('avg_30d', '1h 493150')).toBeUndefined();
  });

  test.each([
    ['an earlier layout (an object of averages)', JSON.stringify({ avg_7d: { validFor: '1h 1', values: { a: 1 } } })],
    ['keys and values that do not match', JSON.stringify({ avg_7d: { validFor: '1h 1', keys: ['a', 'b'], values: [1] } })],
    ['a damaged file', '{"avg_7d": {"validFor'],
  ])('%s reads as nothing cached', (_, content) => {
    const dir = testDir('average-cache');
    writeFileSync(path.join(dir, AVERAGE_CACHE_FILE), content);
    expect(AverageCache.open(dir).get('avg_7d', '1h 1')).toBeUndefined();
  });
});
