/**
 * Access mode, VO and per-file records from a real xrootd: a whole-file copy in and out with xrdcp,
 * a partial read (xrdfs tail) of a large and of a small file, and page reads, through the receiver
 * and the collector.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RunningReceiver } from '../../lib/queue/receiver';
import { startTestReceiver } from './test/monitoredServer';
import { readQueue } from '../../lib/queue/segments';
import { collectedDocuments } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext } from '../../test/support/collectorContext';
import { startServer, testDir, type RunningServer } from '../../test/support/services';
import collector from './collector';
import { parsePacket } from './protocol';
import { startTestDns, type TestDns } from './test/dnsServer';

const run = promisify(execFile);
const SLOT_0 = Date.UTC(2026, 10, 23, 10, 0);
const SLOT_1 = SLOT_0 + 600_000;
const SIZE = 4_000_000;
const TAIL = 1000;
/**
 * What the server counts for `xrdfs tail`: one read request of its 1 MiB chunk (XrdClFS.cc DoTail) at
 * size - TAIL. XRootD counts the requested length, even past the end (XrdXrootdXeq.cc do_ReadAll).
 */
const TAIL_REQUEST = 1 << 20;
/** A file smaller than xrdfs tail's request: its tail counts as a whole read, a copy. */
const SMALL_SIZE = 1_000_000;
const CLIENT_ENV = { ...process.env, XRD_CONNECTIONRETRY: '1', XRD_REQUESTTIMEOUT: '5', XRD_CPUSEPGWRTRD: '0' };

let receiver: RunningReceiver;
let xrootd: RunningServer;
let dns: TestDns;
let work: string;
let queueDir: string;

/** The per-file records of a run over the whole queue so far (a fresh state each time). */
async function fileRecords(stateName: string): Promise<MonitDocument[]> {
  const config = `[xrootd-transfers]\nqueue_dir = ${queueDir}\ndns_servers = ${dns.server}\ndns_timeout = 500ms\ndns_budget = 5s\nfile_records = on`;
  const context = collectorContext('xrootd-transfers', config, { slotMs: SLOT_1, stateDir: path.join(work, stateName) });
  const documents = collectedDocuments(await collector.collect(context));
  expect(context.problems).toEqual([]);
  return documents.filter((document) => document.producer === 'xrootd-files');
}

async function waitForCloses(count: number): Promise<void> {
  for (let attempt = 0; attempt < 300 && closesQueued() < count; attempt += 1) {
    await receiver.flushed();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(closesQueued()).toBe(count);
}

function closesQueued(): number {
  let closes = 0;
  for (const queued of readQueue(queueDir, undefined).packets) {
    if (queued.packet[0] !== 'f'.charCodeAt(0)) continue;
    const packet = parsePacket(queued.packet);
    if (packet.kind === 'files') closes += packet.records.filter((record) => record.type === 'close').length;
  }
  return closes;
}

beforeAll(async () => {
  work = testDir('xrootd-access-mode');
  queueDir = path.join(work, 'queue');
  receiver = await startTestReceiver(queueDir, () => SLOT_0 + 60_000);
  const extra = path.join(work, 'monitor.cfg');
  writeFileSync(extra, `all.sitename T2_TEST\nxrootd.monitor all auth flush 1s window 1s fstat 1s lfn ops xfr 1 ident 1h dest fstat files info user io redir 127.0.0.1:${receiver.port}\n`);
  xrootd = await startServer('xrootd', { configExtra: extra });
  dns = await startTestDns({});
}, 120_000);

afterAll(async () => {
  await xrootd?.stop();
  await receiver?.stop();
  await dns?.close();
});

test('a whole-file copy is copy, a partial read remote_io; VO by appinfo before path; per-file bytes equal the sizes', async () => {
  const url = `root://127.0.0.1:${xrootd.port}//cms-one.bin`;
  writeFileSync(path.join(work, 'one.bin'), randomBytes(SIZE));
  await run('timeout', ['30', 'xrdcp', '-f', '-s', path.join(work, 'one.bin'), url], { env: CLIENT_ENV });
  await run('timeout', ['30', 'xrdcp', '-f', '-s', url, path.join(work, 'one.back')], { env: { ...CLIENT_ENV, XRD_MONINFO: 'atlas-analysis' } });
  const { stdout } = await run('timeout', ['30', 'xrdfs', `127.0.0.1:${xrootd.port}`, 'tail', '-c', String(TAIL), '/cms-one.bin'], { env: CLIENT_ENV, encoding: 'buffer' });
  expect(stdout.length).toBe(TAIL);
  await waitForCloses(3);

  const config = [
    `[xrootd-transfers]\nqueue_dir = ${queueDir}\ndns_servers = ${dns.server}\ndns_timeout = 500ms\ndns_budget = 5s\nfile_records = on`,
    '[xrootd-transfers.vo]\natlas = appinfo:atlas*\ncms = path:/cms-',
  ].join('\n');
  const context = collectorContext('xrootd-transfers', config, { slotMs: SLOT_1, stateDir: path.join(work, 'state') });
  const documents = collectedDocuments(await collector.collect(context));
  expect(context.problems).toEqual([]);

  const transfers = documents.filter((document) => document.type === 'transfers');
  const byTags = (mode: string, vo: string): MonitDocument[] => transfers.filter((document) => document.access_mode === mode && document.vo === vo);
  // Upload: a new file written whole, VO from the path.
  expect(byTags('copy', 'cms')).toEqual([expect.objectContaining({ bytes_written: SIZE, bytes_read: 0, files_closed: 1, files_opened: 1 })]);
  // Download with XRD_MONINFO=atlas-analysis: read whole, VO from the appinfo although the path says cms.
  expect(byTags('copy', 'atlas')).toEqual([expect.objectContaining({ bytes_read: SIZE, bytes_written: 0, files_closed: 1, files_opened: 1, fraction_read_mean: 1 })]);
  // xrdfs tail: the last bytes only.
  expect(byTags('remote_io', 'cms')).toEqual([expect.objectContaining({ bytes_read: TAIL_REQUEST, files_closed: 1, files_opened: 1, read_calls: 1, fraction_read_mean: TAIL_REQUEST / SIZE })]);
  expect(transfers).toHaveLength(3);
  expect(transfers.reduce((sum, document) => sum + (document.write_calls as number), 0)).toBeGreaterThanOrEqual(1);

  const records = documents.filter((document) => document.producer === 'xrootd-files');
  const pick = (document: MonitDocument): unknown[] => [document.operation, document.access_mode, document.vo, document.read_bytes, document.write_bytes, document.file_size, document.file_name];
  expect(records.map(pick).sort()).toEqual(
    [
      ['write', 'copy', 'cms', 0, SIZE, 0, '/cms-one.bin'],
      ['read', 'copy', 'atlas', SIZE, 0, SIZE, '/cms-one.bin'],
      ['read', 'remote_io', 'cms', TAIL_REQUEST, 0, SIZE, '/cms-one.bin'],
    ].sort(),
  );
  expect(records.find((document) => document.vo === 'atlas')).toMatchObject({ appinfo: 'atlas-analysis', app_name: 'xrdcp', server_site: 'T2_TEST', read_write: false });
  expect(records.find((document) => document.access_mode === 'remote_io')).toMatchObject({ app_name: 'xrdfs' });
  for (const record of records) {
    expect(record.idb_tags).not.toContain('file_name');
    expect(record.close_time).toBe(record.timestamp);
    expect(record.duration as number).toBeGreaterThanOrEqual(0);
  }
}, 120_000);

test("xrdfs tail of a file smaller than its 1 MiB request is a copy; page reads leave the request sizes out", async () => {
  const closesBefore = closesQueued();
  const small = `root://127.0.0.1:${xrootd.port}//small.bin`;
  writeFileSync(path.join(work, 'small.bin'), randomBytes(SMALL_SIZE));
  await run('timeout', ['30', 'xrdcp', '-f', '-s', path.join(work, 'small.bin'), small], { env: CLIENT_ENV });
  const { stdout } = await run('timeout', ['30', 'xrdfs', `127.0.0.1:${xrootd.port}`, 'tail', '-c', String(TAIL), '/small.bin'], { env: CLIENT_ENV, encoding: 'buffer' });
  expect(stdout.length).toBe(TAIL);
  // xrdcp's default: page reads (XRD_CPUSEPGWRTRD=1).
  const defaultEnv = { ...CLIENT_ENV, XRD_CPUSEPGWRTRD: '1', XRD_MONINFO: 'page-reads' };
  await run('timeout', ['30', 'xrdcp', '-f', '-s', `root://127.0.0.1:${xrootd.port}//cms-one.bin`, path.join(work, 'one.pages')], { env: defaultEnv });
  await waitForCloses(closesBefore + 3);

  const records = await fileRecords('state-small');
  const tail = records.filter((document) => document.file_name === '/small.bin' && document.app_name === 'xrdfs');
  // The server counts the requested 1 MiB, more than the file: read whole, so a copy.
  expect(tail).toEqual([expect.objectContaining({ access_mode: 'copy', read_bytes: TAIL_REQUEST, file_size: SMALL_SIZE, fraction_read: TAIL_REQUEST / SMALL_SIZE, read_single_operations: 1, read_single_min: TAIL_REQUEST, read_single_max: TAIL_REQUEST })]);

  const pages = records.filter((document) => document.appinfo === 'page-reads');
  expect(pages).toEqual([expect.objectContaining({ access_mode: 'copy', read_bytes: SIZE, file_size: SIZE })]);
  expect(pages[0].read_single_operations as number).toBeGreaterThanOrEqual(1);
  expect(pages[0]).not.toHaveProperty('read_single_min');
  expect(pages[0]).not.toHaveProperty('read_single_max');
  // Plain reads (XRD_CPUSEPGWRTRD=0, the first test's download) do fill them.
  const plain = records.filter((document) => document.appinfo === 'atlas-analysis');
  expect(plain).toHaveLength(1);
  expect(plain[0].read_single_min as number).toBeGreaterThan(0);
  expect(plain[0].read_single_min as number).toBeLessThanOrEqual(plain[0].read_single_max as number);
  expect(plain[0].read_single_max as number).toBeLessThanOrEqual(SIZE);
}, 120_000);
