import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { InfluxClient } from '../../lib/influx/influxdb';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { collectorNames } from '../../cli/registry';
import { configuredSchedule } from '../../cli/schedule';

/**
 * The README's first command on a fresh checkout: a clone of this repository (its committed state),
 * with every port shifted so it cannot meet another setup on this machine. It must end with data
 * from every shipped collector in InfluxDB, and a second run must succeed too.
 */
const TIMEOUT_MS = 15 * 60_000;

it(
  'quickstart on a fresh clone: every collector has data in InfluxDB; a second run is idempotent; stop stops it',
  async () => {
    mkdirSync(path.join(PROJECT_ROOT, 'var', 'test'), { recursive: true });
    const scratch = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'quickstart-'));
    chmodSync(scratch, 0o755); // the demo XRootD runs as user xrootd and must reach its folder
    const clone = path.join(scratch, 'checkout');
    execFileSync('git', ['clone', '--quiet', '--local', PROJECT_ROOT, clone]);
    // Same packages as a fresh `npm ci` would install, without downloading them again.
    execFileSync('cp', ['-al', path.join(PROJECT_ROOT, 'node_modules'), path.join(clone, 'node_modules')]);
    // Shifted ports stay below the kernel's ephemeral range (32768 and up), where the free ports that
    // other test files ask for come from: the two never meet. The highest default port is 11094.
    const offset = 12_000 + Math.floor(Math.random() * 9_000);
    const env = { ...process.env, MONIT_QUICKSTART_PORT_OFFSET: String(offset) };
    const quickstart = (): ReturnType<typeof spawnSync> => spawnSync(path.join(clone, 'run.sh'), ['quickstart'], { cwd: clone, env, encoding: 'utf8', timeout: TIMEOUT_MS });
    try {
      const first = quickstart();
      if (first.status !== 0) throw new Error(`quickstart exited ${first.status}:\n${String(first.stdout).slice(-3000)}\n${String(first.stderr).slice(-3000)}`);
      expect(String(first.stdout)).toMatch(/Status page: http:\/\/127\.0\.0\.1:\d+\/status/);
      expect(String(first.stdout)).toMatch(/run\.sh .* >> .*\.log 2>&1/);
      const configFile = path.join(clone, 'config.cfg');
      expect(statSync(configFile).mode & 0o777).toBe(0o600);
      const config = Config.load(configFile);
      const influx = new InfluxClient(config.section('influxdb').url('url'));
      const scheduled = configuredSchedule(config).map((entry) => entry.job);
      const shipped = collectorNames();
      // Every shipped collector is configured in the quickstart and sent data.
      expect(shipped.filter((name) => !scheduled.includes(name))).toEqual([]);
      for (const name of shipped) {
        const heartbeats = await influx.rows(`SELECT "ok", "documents_sent" FROM "run" WHERE "job" = '${name}'`, { database: 'monit_production_monit_collectors' });
        expect({ name, heartbeats: heartbeats.map((row) => row.ok) }).toEqual({ name, heartbeats: expect.arrayContaining([true]) });
        expect(Number(heartbeats[0].documents_sent)).toBeGreaterThan(0);
      }
      const second = quickstart();
      if (second.status !== 0) throw new Error(`second quickstart exited ${second.status}:\n${String(second.stdout).slice(-3000)}\n${String(second.stderr).slice(-3000)}`);
      expect(String(second.stdout)).toContain('kept existing');
    } finally {
      spawnSync(path.join(clone, 'run.sh'), ['stop'], { cwd: clone, encoding: 'utf8', timeout: 120_000 });
      if (existsSync(path.join(clone, 'var', 'influxdb', 'server.pid'))) throw new Error('stop left InfluxDB running');
    }
  },
  TIMEOUT_MS * 2,
);
