import { describeBackfill, pastSlots, slotText, sourceChains } from './backfill';

const at = (text: string): number => Date.parse(text);

test('the past slots run: from the start of the previous UTC hour up to the slot before the current one, oldest first', () => {
  expect(pastSlots(at('2026-12-06T10:20:00Z')).map(slotText)).toEqual([
    '2026-12-06 09:00', '2026-12-06 09:10', '2026-12-06 09:20', '2026-12-06 09:30', '2026-12-06 09:40', '2026-12-06 09:50',
    '2026-12-06 10:00', '2026-12-06 10:10',
  ]);
  // Any time in the current slot (the quickstart gives the minute it started at): the slot itself is not a past one.
  expect(pastSlots(at('2026-12-06T10:27:00Z'))).toEqual(pastSlots(at('2026-12-06T10:20:00Z')));
  // At the start of an hour: the whole previous hour, a finished one for downsample-1h.
  expect(pastSlots(at('2026-12-06T00:00:00Z')).map(slotText)).toEqual(['2026-12-05 23:00', '2026-12-05 23:10', '2026-12-05 23:20', '2026-12-05 23:30', '2026-12-05 23:40', '2026-12-05 23:50']);
});

test("each source's scheduled jobs form one chain, its collector first (panda-derived after panda); unscheduled ones are left out", () => {
  const chains = sourceChains(new Set(['panda', 'panda-derived', 'host', 'status', 'downsample-1h']));
  expect(chains).toEqual(expect.arrayContaining([['panda', 'panda-derived'], ['host']]));
  expect(chains).toHaveLength(2);
  expect(sourceChains(new Set(['panda-derived']))).toEqual([['panda-derived']]);
});

test('one line for the backfill, and one per failed run naming the job, its slot and its log', () => {
  const slots = pastSlots(at('2026-12-06T10:20:00Z'));
  expect(describeBackfill({ slots, runs: 97, failures: [], downsampled: [at('2026-12-06T09:00:00Z'), at('2026-12-06T10:00:00Z')] }, '/x/var/log')).toEqual([
    '  backfill                     97 of 97 runs ok over the 8 past slots of 09:00–10:20 UTC, downsample-1h over 09:00–10:00',
  ]);
  expect(describeBackfill({ slots, runs: 0, failures: [] }, '/x/var/log')).toEqual(['  backfill                     nothing to do (every past slot of 09:00–10:20 UTC has run already)']);
  const failed = describeBackfill({ slots, runs: 3, failures: [{ job: 'host', slotMs: at('2026-12-06T09:10:00Z'), message: 'host: failed, refused' }] }, '/x/var/log');
  expect(failed).toEqual([
    '  backfill                     FAILED: 2 of 3 runs ok over the 8 past slots of 09:00–10:20 UTC',
    '    host --timestamp "2026-12-06 09:10" failed: host: failed, refused (log: /x/var/log/host.log)',
  ]);
});
