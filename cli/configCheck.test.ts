import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config/paths';
import { acquireLock } from '../lib/run/lock';
import { testDir } from '../test/support/services';
import { Config } from '../lib/config/config';
import { configWarnings } from './configCheck';

const MAIN = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

/** `./run.sh web` on a config whose [web] has one real key and one misspelt one; build first. */
function runWeb(dir: string): { status: number | null; stderr: string } {
  const file = path.join(dir, 'config.cfg');
  // Port 9 (discard) on loopback: nothing answers, and the run only needs to read its keys.
  writeFileSync(file, `[paths]\nvar = ${dir}/var\n[monit]\nurl = http://127.0.0.1:9/\ntoken = t\ntimeout = 1s\n[web]\nurls = http://127.0.0.1:9/\ndeadline = 5s\ntimout = 3s\n`);
  const result = spawnSync(process.execPath, [MAIN, 'web', '--config', file], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stderr: result.stderr };
}

describe('typo warnings for a job\'s own keys', () => {
  it('a run skipped because another holds its lock does not call the keys it never read typos', () => {
    const dir = testDir('config-check-skipped');
    const lock = acquireLock(path.join(dir, 'var', 'lock', 'web.lock'));
    expect(lock.acquired).toBe(true);
    try {
      const { status, stderr } = runWeb(dir);
      expect(status).toBe(0);
      expect(stderr).toMatch(/web: previous run \(pid \d+\) is still running; this run exits/);
      expect(stderr).not.toMatch(/a typo\?/);
    } finally {
      if (lock.acquired) lock.release();
    }
  });

  it('a whole run still warns about the misspelt key, and only about it', () => {
    const dir = testDir('config-check-whole');
    const { stderr } = runWeb(dir);
    const typos = stderr.split('\n').filter((line) => line.includes('a typo?'));
    expect(typos).toEqual([`warning: ${path.join(dir, 'config.cfg')}: [web] timout is not a setting of web (a typo?)`]);
  });
});

describe('typo warnings for [tls.<source>] sections', () => {
  it('a section naming no source or route is reported; those of sources, of CRIC and of configured routes are not', () => {
    const config = Config.parse(
      '[monit]\nurl = http://127.0.0.1:9/\n[monit.route.tenant]\nproducers = web\nurl = http://127.0.0.1:9/\n' +
        '[tls.panda]\nca_dir = none\n[tls.cric]\nca_dir = none\n[tls.monit]\nca_dir = none\n[tls.monit.route.tenant]\nca_dir = none\n' +
        '[tls.pandaa]\nca_dir = none\n[tls.monit.route.nosuch]\nca_dir = none\n',
      'tls.cfg',
    );
    const typos = configWarnings(config, 'web').filter((line) => line.includes('names no source'));
    expect(typos.map((line) => /section \[([^\]]+)\]/.exec(line)?.[1]).sort()).toEqual(['tls.monit.route.nosuch', 'tls.pandaa']);
    expect(typos[0]).toContain('[tls.cric]');
    expect(typos[0]).toContain('[tls.monit.route.tenant]');
  });
});
