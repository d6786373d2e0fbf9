import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { TEST_TOKEN } from '../../test/support/gateway';
import { useInfluxAndGateway } from '../../test/support/fixtures';
import { testDir } from '../../test/support/services';
import { fillDisk, mountTmpfs, unmountTmpfs } from '../../test/support/tmpfs';

const servers = useInfluxAndGateway();
const MAIN = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

afterAll(unmountTmpfs);

/** `./run.sh heartbeat` without blocking this process, where the gateway lives. */
function heartbeat(config: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, 'heartbeat', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

/** Every file (not folder) below `dir`, with its size: what a run left in the lock folder. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => path.join(dir, name))
    .filter((file) => statSync(file).isFile())
    .map((file) => `${file} (${statSync(file).size} bytes)`);
}

function writeConfig(root: string, varDir: string): string {
  const file = path.join(root, 'config.cfg');
  writeFileSync(file, `[paths]\nvar = ${varDir}\n[monit]\nurl = ${servers.gateway.url}/\ntoken = ${TEST_TOKEN}\n`);
  return file;
}

it('a full disk: the log line reaches stderr, no lock is left, a lost heartbeat fails the run; then a clean run', async () => {
  const root = testDir('disk-full');
  const varDir = path.join(root, 'var');
  mountTmpfs(varDir, 'size=2m');
  // The spool on a file system of its own, so that it can stay full while the log has room again.
  const spoolDir = path.join(varDir, 'spool');
  mountTmpfs(spoolDir, 'size=1m');
  const config = writeConfig(root, varDir);
  const logFile = path.join(varDir, 'log', 'heartbeat.log');
  const lockDir = path.join(varDir, 'lock');
  mkdirSync(path.dirname(logFile), { recursive: true });
  const varFiller = fillDisk(varDir);
  const spoolFiller = fillDisk(spoolDir);

  // Everything full: the log cannot be written, so its lines go to stderr with the reason.
  const full = await heartbeat(config);
  expect(full.status).toBe(1);
  expect(full.stderr).toContain(`cannot write the log ${logFile}: ENOSPC`);
  expect(full.stderr).toMatch(/ERROR \[heartbeat\] run failed: heartbeat not spooled/);
  expect(filesBelow(lockDir)).toEqual([]);

  // The log has room again, the spool not: the run fails and its log says why.
  unlinkSync(varFiller);
  const spoolFull = await heartbeat(config);
  expect(spoolFull.status).toBe(1);
  expect(spoolFull.stderr).toContain('heartbeat: failed: heartbeat not spooled');
  expect(readFileSync(logFile, 'utf8')).toMatch(/ERROR \[heartbeat\] run failed: heartbeat not spooled/);
  expect(filesBelow(lockDir)).toEqual([]);

  // Room everywhere: the next run succeeds, its heartbeat arrives, and the spool holds only whole batches.
  unlinkSync(spoolFiller);
  const after = await heartbeat(config);
  expect(after).toMatchObject({ status: 0 });
  const rows = await servers.influx.client.rows(`SELECT "ok" FROM "run" WHERE "job" = 'heartbeat'`, { database: 'monit_production_monit_collectors' });
  expect(rows).toEqual([expect.objectContaining({ ok: true })]);
  const batches = readdirSync(spoolDir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.json') && !path.basename(name).startsWith('.'));
  for (const name of batches) expect(Array.isArray(JSON.parse(readFileSync(path.join(spoolDir, name), 'utf8')))).toBe(true);
  expect(filesBelow(lockDir)).toEqual([]);
  expect(readFileSync(logFile, 'utf8').split('\n').filter(Boolean).pop()).toMatch(/INFO  \[heartbeat\] 0 documents collected/);
});

it('no room for a lock entry: the run fails naming the lock path and leaves nothing', async () => {
  const root = testDir('disk-full-lock');
  const varDir = path.join(root, 'var');
  const lockDir = path.join(varDir, 'lock');
  // Two inodes: the root and the job's lock folder; none for an entry.
  mountTmpfs(lockDir, 'size=1m,nr_inodes=2');
  const result = await heartbeat(writeConfig(root, varDir));
  expect(result.status).toBe(1);
  expect(result.stderr).toContain(`heartbeat: failed: cannot take the lock ${lockDir}/heartbeat.lock: cannot create ${lockDir}/heartbeat.lock/`);
  expect(result.stderr).toContain('ENOSPC');
  expect(filesBelow(lockDir)).toEqual([]);
});
