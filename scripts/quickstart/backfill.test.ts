import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { databaseFor } from '../../lib/documents/interpret';
import { HEARTBEAT } from '../../lib/run/jobRunner';
import { startInfluxDB, testDir, type TestInfluxDB } from '../../test/support/services';
import { backfill, describeBackfill, pastSlots, slotText, sourceChains } from './backfill';

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

describe('heartbeats on an [influxdb.NAME] instance', () => {
  let main: TestInfluxDB;
  let operations: TestInfluxDB;

  beforeAll(async () => {
    [main, operations] = await Promise.all([startInfluxDB(), startInfluxDB()]);
  }, 600_000);

  afterAll(async () => {
    await Promise.all([main?.stop(), operations?.stop()]);
  });

  test('the runs already made are read from the instance holding monit-collectors: every past slot there, nothing to do', async () => {
    const nowMs = Date.now();
    const slots = pastSlots(nowMs);
    const database = databaseFor(HEARTBEAT.producer);
    // status is the one job this config schedules (no source has a section); it ran for every past slot.
    await operations.client.ensureDatabase(database, { raw: 'INF', '1h': 'INF', '1d': 'INF' });
    await operations.client.write(database, slots.map((slotMs) => `${HEARTBEAT.type},${HEARTBEAT.tags.job}=status ok=true ${slotMs}`).join('\n'), { precision: 'ms' });
    const dir = testDir('backfill-instances');
    const file = path.join(dir, 'backfill.cfg');
    writeFileSync(file, `[paths]\nvar = ${dir}\n[influxdb]\nurl = ${main.url}\n[influxdb.operations]\nurl = ${operations.url}\nproducers = ${HEARTBEAT.producer}\n`);
    const result = await backfill(file, nowMs);
    expect(result).toEqual({ slots, runs: 0, failures: [], downsampled: undefined });
  });
});
