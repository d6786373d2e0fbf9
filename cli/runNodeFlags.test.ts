import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config/paths';

/** run.sh with a `node` on PATH that only prints the NODE_OPTIONS it was given. */
function nodeOptionsSeen(callerOptions: string | undefined): string {
  const bin = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'run-node-flags-'));
  writeFileSync(path.join(bin, 'node'), '#!/bin/sh\nprintf "%s" "$NODE_OPTIONS"\n');
  chmodSync(path.join(bin, 'node'), 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
  if (callerOptions === undefined) delete env.NODE_OPTIONS;
  else env.NODE_OPTIONS = callerOptions;
  const result = spawnSync(path.join(PROJECT_ROOT, 'run.sh'), ['heartbeat'], { encoding: 'utf8', env, timeout: 60_000 });
  expect(result.status).toBe(0);
  return result.stdout;
}

describe('run.sh node flags', () => {
  test('every node it starts may grow the young generation to 64 MB, through NODE_OPTIONS (inherited by supervised services and jobs)', () => {
    expect(nodeOptionsSeen(undefined)).toBe('--max-semi-space-size=64');
  });

  test("the caller's NODE_OPTIONS stay, after ours, so that its own --max-semi-space-size wins", () => {
    expect(nodeOptionsSeen('--max-semi-space-size=16 --max-old-space-size=700')).toBe('--max-semi-space-size=64 --max-semi-space-size=16 --max-old-space-size=700');
  });
});
