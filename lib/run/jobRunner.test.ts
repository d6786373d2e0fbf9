import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../config/config';
import { runPeriodicJob, type PeriodicJob } from './jobRunner';
import { acquireLock } from './lock';
import { PROJECT_ROOT } from '../config/paths';
import { TEST_TOKEN } from '../../test/support/gateway';
import { useInfluxAndGateway } from '../../test/support/fixtures';
import type { MonitDocument } from '../documents/types';

const servers = useInfluxAndGateway();

function testConfig(extra = ''): Config {
  const varDir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'runner-'));
  return Config.parse(`[paths]\nvar = ${varDir}\n[monit]\nurl = ${servers.gateway.url}/\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = ${servers.influx.url}\n${extra}`, 'runner.cfg');
}

function sampleJob(name: string, behaviour: (signal: AbortSignal) => Promise<void> = async () => undefined): PeriodicJob {
  return {
    name,
    periodMs: 600_000,
    run: async (context) => {
      await behaviour(context.signal);
      return [
        {
          producer: 'test-producer',
          type: 'sample',
          timestamp: context.slotMs,
          idb_tags: ['site', 'node'],
          idb_fields: ['count'],
          site: name,
          node: 'n',
          count: 1,
        } as MonitDocument,
      ];
    },
  };
}

async function heartbeats(job: string): Promise<Array<Record<string, unknown>>> {
  return servers.influx.client.rows(`SELECT * FROM "run" WHERE "job" = '${job}'`, { database: 'monit_production_monit_collectors' });
}

it('runs a job: documents and a heartbeat arrive, stamped with the slot', async () => {
  const now = Date.now();
  const outcome = await runPeriodicJob(sampleJob('plain'), { config: testConfig(), deadlineMs: 30_000, echoLog: false });
  expect(outcome).toMatchObject({ ok: true, documents: 1 });
  const slot = Math.floor(now / 600_000) * 600_000;
  const [heartbeat] = await heartbeats('plain');
  expect(heartbeat).toMatchObject({ time: slot, ok: true, documents_sent: 1, documents_spooled: 0, errors: 0, timed_out: false, message: '' });
});

it('--timestamp writes to the requested slot', async () => {
  const past = Date.UTC(2026, 10, 20, 13, 47);
  const outcome = await runPeriodicJob(sampleJob('backfill'), { config: testConfig(), deadlineMs: 30_000, timeMs: past, echoLog: false });
  expect(outcome.ok).toBe(true);
  const rows = await servers.influx.client.rows(`SELECT "count" FROM "sample" WHERE "site" = 'backfill'`, { database: 'monit_production_test_producer' });
  expect(rows).toEqual([{ time: Date.UTC(2026, 10, 20, 13, 40), count: 1 }]);
});

it('--dry-run prints the documents and sends nothing', async () => {
  const printed: string[] = [];
  const config = testConfig();
  const outcome = await runPeriodicJob(sampleJob('dry'), { config, deadlineMs: 30_000, dryRun: true, output: (text) => printed.push(text), echoLog: false });
  expect(outcome.ok).toBe(true);
  expect(printed.map((line) => JSON.parse(line).site)).toEqual(['dry']);
  expect(await heartbeats('dry')).toEqual([]);
  const rows = await servers.influx.client.rows(`SELECT "count" FROM "sample" WHERE "site" = 'dry'`, { database: 'monit_production_test_producer' });
  expect(rows).toEqual([]);
});

it('a job that hangs is stopped at its deadline, and its heartbeat says so', async () => {
  const hang = sampleJob('hangs', () => new Promise(() => undefined));
  const outcome = await runPeriodicJob(hang, { config: testConfig(), deadlineMs: 1000, echoLog: false });
  expect(outcome).toMatchObject({ ok: false, timedOut: true, message: expect.stringMatching(/deadline of 1s/) });
  const [heartbeat] = await heartbeats('hangs');
  expect(heartbeat).toMatchObject({ ok: false, timed_out: true, message: expect.stringMatching(/deadline/) });
});

it('a failing job sends nothing false, and its heartbeat says it failed', async () => {
  const failing = sampleJob('fails', async () => {
    throw new Error('source answered garbage');
  });
  const outcome = await runPeriodicJob(failing, { config: testConfig(), deadlineMs: 30_000, echoLog: false });
  expect(outcome).toMatchObject({ ok: false, message: 'source answered garbage' });
  expect(await heartbeats('fails')).toEqual([expect.objectContaining({ ok: false, errors: 1, message: 'source answered garbage' })]);
  const rows = await servers.influx.client.rows(`SELECT "count" FROM "sample" WHERE "site" = 'fails'`, { database: 'monit_production_test_producer' });
  expect(rows).toEqual([]);
});

it('an invalid document from a job fails the run loudly', async () => {
  const broken: PeriodicJob = { name: 'broken', periodMs: 600_000, run: async () => [{ producer: 'monit-collectors', type: 'run', idb_tags: ['job'], job: 'x', idb_fields: ['duration_ms'], duration_ms: 'x' } as MonitDocument] };
  const outcome = await runPeriodicJob(broken, { config: testConfig(), deadlineMs: 30_000, echoLog: false });
  expect(outcome).toMatchObject({ ok: false, message: expect.stringMatching(/invalid monit-collectors\/run document: field 'duration_ms' must be an integer/) });
});

it('a document built by the factory is checked once; changing it throws, and an altered copy is checked again', async () => {
  const altered: PeriodicJob = {
    name: 'altered',
    periodMs: 600_000,
    run: async (context) => {
      const built = context.documents.build('monit-collectors', 'run', { job: 'x' }, { duration_ms: 5 });
      expect(() => {
        built.duration_ms = 'x';
      }).toThrow(TypeError);
      return [{ ...built, duration_ms: 'x' }];
    },
  };
  const outcome = await runPeriodicJob(altered, { config: testConfig(), deadlineMs: 30_000, echoLog: false });
  expect(outcome).toMatchObject({ ok: false, message: expect.stringMatching(/invalid monit-collectors\/run document: field 'duration_ms' must be an integer/) });
});

it('commit runs only after the documents are in the spool', async () => {
  const config = testConfig();
  let spooledAtCommit = -1;
  const spoolDir = path.join(config.section('paths').string('var'), 'spool', 'queue');
  const queued: PeriodicJob = {
    name: 'queue',
    periodMs: 600_000,
    run: async (context) => ({
      documents: await sampleJob('queue').run(context).then((result) => (Array.isArray(result) ? result : result.documents)),
      commit: async () => {
        spooledAtCommit = existsSync(spoolDir) ? readdirSync(spoolDir).filter((name) => name.endsWith('.json')).length : 0;
      },
    }),
  };
  expect((await runPeriodicJob(queued, { config, deadlineMs: 30_000, echoLog: false })).ok).toBe(true);
  expect(spooledAtCommit).toBe(1);
});

describe('locks', () => {
  it('two concurrent runs of one job: one runs, one exits cleanly', async () => {
    const config = testConfig();
    let release: () => void = () => undefined;
    const first = runPeriodicJob(sampleJob('locked', () => new Promise<void>((resolve) => (release = resolve))), { config, deadlineMs: 30_000, echoLog: false });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = await runPeriodicJob(sampleJob('locked'), { config, deadlineMs: 30_000, echoLog: false });
    expect(second).toMatchObject({ ok: true, skipped: true, message: expect.stringMatching(/still running/) });
    release();
    expect(await first).toMatchObject({ ok: true, documents: 1 });
  });

  it('a stale lock (dead PID) is recovered', async () => {
    const config = testConfig();
    const lockDir = path.join(config.section('paths').string('var'), 'lock');
    mkdirSync(lockDir, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(path.join(lockDir, 'stale.lock'), `${dead}\n`);
    const outcome = await runPeriodicJob(sampleJob('stale'), { config, deadlineMs: 30_000, echoLog: false });
    expect(outcome).toMatchObject({ ok: true, documents: 1 });
    const log = readFileSync(path.join(config.section('paths').string('var'), 'log', 'stale.log'), 'utf8');
    expect(log).toContain(`recovered a stale lock left by pid ${dead}`);
    // The old-format lock file gave way to the lock directory, left empty by the run.
    expect(readdirSync(path.join(lockDir, 'stale.lock'))).toEqual([]);
  });

  it('acquireLock refuses while the holder lives', () => {
    const file = path.join(mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'lock-')), 'x.lock');
    writeFileSync(file, `${process.ppid}\n`);
    expect(acquireLock(file)).toEqual({ acquired: false, holderPid: process.ppid });
  });
});

it('SIGTERM stops a run: logged, lock released, heartbeat with the reason, exit 1', async () => {
  // A web server that takes connections and never answers: the run waits on it until told to stop.
  const sockets: Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as AddressInfo).port;
  const varDir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'runner-sigterm-'));
  const file = path.join(varDir, 'config.cfg');
  writeFileSync(file, `[paths]\nvar = ${varDir}\n[monit]\nurl = ${servers.gateway.url}/\ntoken = ${TEST_TOKEN}\n[web]\nurls = http://127.0.0.1:${port}/\ntimeout = 5m\ndeadline = 9m\n`);
  const job = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), 'web', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  job.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    // Polled: the probe's connection shows the run is under way.
    let exited = false;
    job.on('exit', () => (exited = true));
    for (let tries = 0; sockets.length === 0 && !exited && tries < 300; tries += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    expect({ connected: sockets.length > 0, stderr }).toEqual({ connected: true, stderr: '' });
    job.kill('SIGTERM');
    const status = await new Promise<number | null>((resolve) => job.on('exit', resolve));
    expect({ status, stderr }).toEqual({ status: 1, stderr: expect.stringContaining('web: failed: stopped by SIGTERM') });
    const log = readFileSync(path.join(varDir, 'log', 'web.log'), 'utf8');
    expect(log).toContain('SIGTERM received: stopping this run');
    expect(readdirSync(path.join(varDir, 'lock', 'web.lock'))).toEqual([]);
    const [heartbeat] = await heartbeats('web').then((rows) => rows.filter((row) => row.message === 'stopped by SIGTERM'));
    expect(heartbeat).toMatchObject({ ok: false, message: 'stopped by SIGTERM' });
  } finally {
    job.kill('SIGKILL');
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
});
