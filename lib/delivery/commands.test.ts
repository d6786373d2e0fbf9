import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { acquireLock } from '../run/lock';
import { MemoryLogger } from '../run/log';
import { TEST_TOKEN } from '../../test/support/gateway';
import { useInfluxAndGateway } from '../../test/support/fixtures';
import { testDir } from '../../test/support/services';
import type { MonitDocument } from '../documents/types';
import { Sender } from './sender';
import { Spool } from './spool';
import { EXIT_SPOOLED, validateFile } from './commands';
import { UsageError } from '../run/usageError';
import { monitSettings } from './settings';
import { Config } from '../config/config';
import { spooledDocuments } from '../../test/support/spooled';

const servers = useInfluxAndGateway();
const MAIN = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

/** Runs `./run.sh` (the built main.js) without blocking this process, where the gateway lives. */
function runCli(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

function writeConfig(dir: string): string {
  const file = path.join(dir, 'config.cfg');
  writeFileSync(file, `[paths]\nvar = ${dir}\n[monit]\nurl = ${servers.gateway.url}/\ntoken = ${TEST_TOKEN}\n`);
  return file;
}


it('ten parallel sends: each one\'s documents are in InfluxDB, or it says how many wait and where, and exits 75', async () => {
  const dir = testDir('parallel-send');
  const config = writeConfig(dir);
  const senders = 10;
  const perSender = 5000;
  // Within the raw retention; one point per document (distinct time and tag).
  const base = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
  const files = Array.from({ length: senders }, (_, sender) => {
    const file = path.join(dir, `documents-${sender}.json`);
    const documents = Array.from({ length: perSender }, (_, index) => ({
      producer: 'parallel-send',
      type: 'load',
      timestamp: base + index,
      idb_tags: ['sender'],
      sender: `s${sender}`,
      idb_fields: ['n'],
      n: index,
    }));
    writeFileSync(file, JSON.stringify(documents));
    return file;
  });
  const results = await Promise.all(files.map((file) => runCli(['send', file, '--config', config])));

  const database = 'monit_production_parallel_send';
  const stored = async (sender: number): Promise<number> => {
    const rows = await servers.influx.client.rows(`SELECT count("n") FROM "load" WHERE "sender" = 's${sender}'`, { database });
    return Number(rows[0]?.count ?? 0);
  };
  const spoolDir = path.join(dir, 'spool', 'send');
  let storedTotal = 0;
  for (let sender = 0; sender < senders; sender += 1) {
    const count = await stored(sender);
    storedTotal += count;
    const { status, stderr } = results[sender];
    if (status === 0) {
      expect({ sender, count, stderr }).toEqual({ sender, count: perSender, stderr: expect.not.stringMatching(/nothing to replay/) });
    } else {
      // Not all delivered: the exit status and stderr say so, with the count and the folder.
      expect({ sender, status, stderr }).toEqual({ sender, status: EXIT_SPOOLED, stderr: expect.stringMatching(new RegExp(`\\d+ documents .*(spooled|wait) in ${spoolDir}`)) });
    }
  }
  // Nothing lost: what InfluxDB holds and what the spool still holds make up everything sent.
  expect(storedTotal + spooledDocuments(spoolDir).length).toBe(senders * perSender);
});

it('replay does not call a spool empty when its job holds the lock', async () => {
  const dir = testDir('replay-locked');
  const config = writeConfig(dir);
  const spool = new Spool(path.join(dir, 'spool', 'busy'));
  new Sender({ ...monitSettings(Config.load(config)), spool, log: new MemoryLogger() }).enqueue([
    { producer: 'parallel-send', type: 'load', timestamp: Math.floor(Date.now() / 1000) * 1000, idb_tags: ['sender'], sender: 'busy', idb_fields: ['n'], n: 1 } as MonitDocument,
  ]);
  const lock = acquireLock(path.join(dir, 'lock', 'busy.lock'));
  expect(lock.acquired).toBe(true);
  try {
    const { stderr } = await runCli(['replay', '--config', config, '--debug']);
    expect(stderr).not.toContain('nothing to replay');
    expect(stderr).toContain('not replayed now, their lock is held by a run that delivers them: busy');
    expect(spooledDocuments(spool.dir)).toHaveLength(1);
  } finally {
    if (lock.acquired) lock.release();
  }
});

it('send whose lock stays held past replay_deadline spools its documents, says how many and where, and exits 75', async () => {
  const dir = testDir('send-locked');
  const config = writeConfig(dir);
  writeFileSync(config, `${readFileSync(config, 'utf8')}replay_deadline = 1s\n`);
  const file = path.join(dir, 'documents.json');
  writeFileSync(file, JSON.stringify([1, 2, 3].map((n) => ({ producer: 'parallel-send', type: 'load', timestamp: Math.floor(Date.now() / 1000) * 1000 + n, idb_tags: ['sender'], sender: 'locked', idb_fields: ['n'], n }))));
  const lock = acquireLock(path.join(dir, 'lock', 'send.lock'));
  expect(lock.acquired).toBe(true);
  try {
    const spoolDir = path.join(dir, 'spool', 'send');
    const { status, stderr } = await runCli(['send', file, '--config', config]);
    expect(status).toBe(EXIT_SPOOLED);
    expect(stderr).toContain(`waiting for it`);
    expect(stderr).toContain(`send: 3 documents from ${file} are spooled in ${spoolDir}, not sent: pid ${process.pid} still holds the lock`);
    expect(spooledDocuments(spoolDir).map((document) => document.n)).toEqual([1, 2, 3]);
  } finally {
    if (lock.acquired) lock.release();
  }
});

it('send to a gateway that does not answer keeps the documents, says how many wait and where, and exits 75', async () => {
  const dir = testDir('send-down');
  const config = path.join(dir, 'config.cfg');
  writeFileSync(config, `[paths]\nvar = ${dir}\n[monit]\nurl = http://127.0.0.1:9/\ntoken = ${TEST_TOKEN}\nreplay_deadline = 1s\n`);
  const file = path.join(dir, 'documents.json');
  writeFileSync(file, JSON.stringify([1, 2].map((n) => ({ producer: 'parallel-send', type: 'load', timestamp: Math.floor(Date.now() / 1000) * 1000 + n, idb_tags: ['sender'], sender: 'down', idb_fields: ['n'], n }))));
  const spoolDir = path.join(dir, 'spool', 'send');
  const { status, stderr } = await runCli(['send', file, '--config', config]);
  expect(status).toBe(EXIT_SPOOLED);
  expect(stderr).toContain(`send: 2 documents wait in ${spoolDir}`);
  expect(spooledDocuments(spoolDir).map((document) => document.n)).toEqual([1, 2]);
});

it('send with credentials the gateway refuses exits 1 and says that its documents wait in the spool', async () => {
  const dir = testDir('send-refused');
  const config = path.join(dir, 'config.cfg');
  writeFileSync(config, `[paths]\nvar = ${dir}\n[monit]\nurl = ${servers.gateway.url}/\ntoken = not-${TEST_TOKEN}\nreplay_deadline = 5s\n`);
  const file = path.join(dir, 'documents.json');
  writeFileSync(file, JSON.stringify([{ producer: 'parallel-send', type: 'load', timestamp: Math.floor(Date.now() / 1000) * 1000, idb_tags: ['sender'], sender: 'refused', idb_fields: ['n'], n: 1 }]));
  const spoolDir = path.join(dir, 'spool', 'send');
  const { status, stderr } = await runCli(['send', file, '--config', config]);
  expect(status).toBe(1);
  expect(stderr).toContain('refused our credentials (HTTP 401)');
  expect(stderr).toContain(`1 documents wait in ${spoolDir}: fix [monit] in ${config}, then run ./run.sh replay`);
  expect(spooledDocuments(spoolDir).map((document) => document.n)).toEqual([1]);
});

it('validate refuses a file that is not UTF-8, naming the byte, instead of reading U+FFFD', () => {
  const file = path.join(testDir('validate-utf8'), 'documents.json');
  const text = Buffer.from('[{"producer":"p","type":"t","value":"caf');
  const badByteAt = text.length;
  writeFileSync(file, Buffer.concat([text, Buffer.from([0xe9]), Buffer.from('"}]')]));
  expect(() => validateFile(file)).toThrow(UsageError);
  expect(() => validateFile(file)).toThrow(`the file is not valid UTF-8 at byte ${badByteAt} (0xe9)`);
  // The same document in UTF-8 is valid: the refusal is about the bytes only.
  writeFileSync(file, '[{"producer":"p","type":"t","value":"café"}]');
  expect(validateFile(file).problems).toEqual([]);
});
