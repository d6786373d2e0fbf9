/**
 * `--timestamp` for a slot that has not begun is bad usage: refused before the job runs, so that
 * nothing (here xrootd-transfers' reportedBefore) moves ahead of the clock.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config/paths';
import { futureSlotProblem, slotStart } from '../lib/run/slot';

const RUN = path.join(PROJECT_ROOT, 'run.sh');
const SLOT = 600_000;
const text = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

function setup(): { configFile: string; stateFile: string } {
  const dir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'future-slot-'));
  const configFile = path.join(dir, 'future.cfg');
  // The gateway is a closed port: the heartbeat waits in the spool, which is all this needs.
  writeFileSync(
    configFile,
    `[paths]\nvar = ${path.join(dir, 'var')}\n\n[monit]\nurl = http://127.0.0.1:9/\ntoken = x\n\n[xrootd-transfers]\nqueue_dir = ${path.join(dir, 'queue')}\ndns_servers = 127.0.0.1:9\ndns_timeout = 100ms\ndns_budget = 1s\n`,
  );
  return { configFile, stateFile: path.join(dir, 'var', 'state', 'xrootd-transfers', 'accounting.json') };
}

const run = (configFile: string, timestamp: string) => spawnSync(RUN, ['xrootd-transfers', '--config', configFile, '--timestamp', timestamp], { encoding: 'utf8', timeout: 60_000 });

test('a --timestamp in a slot that has not begun exits 2 naming the current slot, and writes no state', () => {
  const { configFile, stateFile } = setup();
  const next = slotStart(Date.now()) + SLOT;
  const refused = run(configFile, text(next + 60_000));
  expect(refused.status).toBe(2);
  expect(refused.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^run\.sh: --timestamp .* is in a slot that has not begun \(the current one starts \d{4}-\d\d-\d\d \d\d:\d\d UTC\)/)]);
  expect(existsSync(stateFile)).toBe(false);
});

test('the current slot, and a later time in a daily job\'s current slot, are accepted', () => {
  const now = Date.UTC(2026, 11, 6, 17, 23);
  expect(futureSlotProblem(Date.UTC(2026, 11, 6, 17, 20), SLOT, now)).toBeUndefined();
  expect(futureSlotProblem(Date.UTC(2026, 11, 6, 17, 29), SLOT, now)).toBeUndefined();
  expect(futureSlotProblem(Date.UTC(2026, 11, 6, 17, 30), SLOT, now)).toMatch(/2026-12-06 17:30 is in a slot that has not begun \(the current one starts 2026-12-06 17:20 UTC\)/);
  expect(futureSlotProblem(Date.UTC(2026, 11, 6, 23, 50), 86_400_000, now)).toBeUndefined();
  expect(futureSlotProblem(Date.UTC(2026, 11, 7, 0, 0), 86_400_000, now)).toMatch(/current one starts 2026-12-06 00:00/);
});
