import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config/paths';
import { freePort } from '../test/support/ports';
import { testDir } from '../test/support/services';

const MAIN = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

test('./run.sh stream-setup with no server listening: exit 1, naming [stream] servers and the failure class', async () => {
  const ports = [await freePort(), await freePort()];
  const servers = ports.map((port) => `nats://127.0.0.1:${port}`).join(', ');
  const configFile = path.join(testDir('stream-setup-down'), 'config.cfg');
  writeFileSync(configFile, `[stream]\nservers = ${servers}\n`);
  const run = spawnSync(process.execPath, [MAIN, 'stream-setup', '--config', configFile], { encoding: 'utf8', timeout: 60_000 });
  expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({
    status: 1,
    stdout: '',
    stderr: `run.sh: stream-setup: cannot connect to [stream] servers = ${servers} (refused): CONNECTION_REFUSED\n`,
  });
});
