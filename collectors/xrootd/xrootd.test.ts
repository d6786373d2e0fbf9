import { readFileSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { startReceiver, type RunningReceiver } from '../../lib/queue/receiver';
import type { QueuePosition } from '../../lib/queue/segments';
import { type CollectResult, collectedDocuments } from '../../lib/run/collector';
import { MemoryLogger } from '../../lib/run/log';
import { schemaRegistry } from '../../lib/documents/schemas';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext } from '../../test/support/collectorContext';
import { queuedPackets, queuePackets } from '../../test/support/packetQueue';
import { readmeDisagreements } from '../../test/support/readme';
import { startServer, testDir, type RunningServer } from '../../test/support/services';
import collector from './collector';
import { SUMMARY_STREAM } from './receiver';
import { STATE_FILE } from './state';
import { eventually, nextSecond, queuedReports, randomFile, reportMadeAfter, xrdcp, xrootdConfigExtra } from '../../test/support/xrootdServer';

const SITE = 'TEST_SITE';
const MB = 1_000_000;

let receiver: RunningReceiver;
let server: RunningServer;
let queueDir: string;
let workDir: string;
let stateDir: string;
let url: string;

function config(options: { queueDir?: string; pull?: string[] } = {}): string {
  return `[xrootd]\nqueue_dir = ${options.queueDir ?? queueDir}\npull_servers = ${(options.pull ?? []).join(',')}\npull_timeout = 20s\n`;
}

async function collect(configText: string, state = stateDir): Promise<{ documents: MonitDocument[]; commit: () => Promise<void> }> {
  const result: CollectResult = await collector.collect(collectorContext('xrootd', configText, { stateDir: state }));
  if (Array.isArray(result) || !result.commit) throw new Error('the xrootd collector must return { documents, commit }');
  return { documents: collectedDocuments(result), commit: result.commit };
}

function summary(documents: MonitDocument[]): MonitDocument {
  const found = documents.filter((document) => document.type === 'summary');
  expect(found).toHaveLength(1);
  return found[0];
}

const int = (document: MonitDocument, field: string): number => document[field] as number;

/** Fields of the summary type that hold cumulative counters (int, downsampled with last). */
const COUNTER_FIELDS = Object.entries(schemaRegistry().require('xrootd', 'summary').fields)
  .filter(([name, field]) => field.type === 'int' && field.downsample === 'last' && name !== 'uptime_s')
  .map(([name]) => name);
const RATE_FIELDS = Object.keys(schemaRegistry().require('xrootd', 'summary').fields).filter((name) => name.endsWith('_rate'));

beforeAll(async () => {
  queueDir = path.join(testDir('xrootd-queue'), 'queue');
  receiver = await startReceiver({ ...SUMMARY_STREAM, host: '127.0.0.1', port: 0, queueDir, maxQueueBytes: 1 << 30, log: new MemoryLogger('xrootd-receiver') });
  server = await startServer('xrootd', { configExtra: xrootdConfigExtra(testDir('xrootd-config'), { reportPort: receiver.port, site: SITE }) });
  url = `root://127.0.0.1:${server.port}`;
  workDir = testDir('xrootd-files');
  stateDir = testDir('xrootd-state');
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await receiver?.stop();
});

describe('xrootd collector with a real server', () => {
  it('push: byte counts and rates agree with the bytes xrdcp moved', async () => {
    // Drain what the server reported so far; the last report becomes the start of the next rates.
    await reportMadeAfter(queueDir, nextSecond());
    const before = summary((await collectAndCommit()).documents);
    expect(before).toMatchObject({ server: expect.stringMatching(/:\d+$/), site: SITE, program: 'xrootd' });

    const sizes = [3 * MB, 2 * MB, 1 * MB];
    for (const [index, size] of sizes.entries()) await xrdcp(randomFile(workDir, `up${index}`, size), `${url}//moved/f${index}`);
    for (const index of [0, 1]) await xrdcp(`${url}//moved/f${index}`, path.join(workDir, `down${index}`));
    const uploaded = sizes.reduce((sum, size) => sum + size, 0);
    const downloaded = sizes[0] + sizes[1];
    const transfers = sizes.length + 2;
    const last = await reportMadeAfter(queueDir, nextSecond());

    const queuedBefore = unreadPackets();
    const { documents, commit } = await collectAndKeep();
    const after = summary(documents);
    const bytesIn = int(after, 'link_in_bytes') - int(before, 'link_in_bytes');
    const bytesOut = int(after, 'link_out_bytes') - int(before, 'link_out_bytes');
    // What moved, plus at most 64 KiB of protocol per transfer (handshake, login, open, close).
    expect(bytesIn).toBeGreaterThanOrEqual(uploaded);
    expect(bytesIn).toBeLessThan(uploaded + transfers * 65_536);
    expect(bytesOut).toBeGreaterThanOrEqual(downloaded);
    expect(bytesOut).toBeLessThan(downloaded + transfers * 65_536);
    expect(int(after, 'connections_total') - int(before, 'connections_total')).toBeGreaterThanOrEqual(transfers);
    expect(int(after, 'ops_write') - int(before, 'ops_write')).toBeGreaterThanOrEqual(sizes.length);
    expect(int(after, 'ops_read') - int(before, 'ops_read')).toBeGreaterThanOrEqual(2);
    expect(int(after, 'ops_open') - int(before, 'ops_open')).toBe(transfers);

    // The rates cover exactly the time between the previous run's last report and this run's last one.
    expect(after.rate_interval_s).toBeGreaterThan(0);
    expect(after.rate_interval_s).toBe(int(after, 'uptime_s') - int(before, 'uptime_s'));
    expect(int(after, 'uptime_s')).toBeGreaterThanOrEqual(last.report.time - last.report.startTime); // a newer report may have come in
    expect(after.link_in_rate as number).toBeCloseTo(bytesIn / int(after, 'rate_interval_s'), 6);
    expect(after.link_out_rate as number).toBeCloseTo(bytesOut / int(after, 'rate_interval_s'), 6);
    expect(after.restarts).toBe(0);
    expect(after.reports).toBeGreaterThanOrEqual(queuedBefore.length);

    // oss space is in KiB in the report: the total must be the file system's size in bytes.
    const oss = documents.filter((document) => document.type === 'oss_space');
    expect(oss).toHaveLength(1);
    const fsInfo = statfsSync(path.join(server.dir, 'data'));
    expect(oss[0]).toMatchObject({ path: '/', site: SITE, server: after.server, total_bytes: fsInfo.blocks * fsInfo.bsize });
    expect(int(oss[0], 'free_bytes')).toBeGreaterThan(0);
    expect(int(oss[0], 'free_bytes')).toBeLessThanOrEqual(int(oss[0], 'total_bytes'));

    expect(queuedBefore).toContain(last.data.toString());
    await commit();
    const remaining = unreadPackets();
    expect(queuedBefore.filter((data) => remaining.includes(data))).toEqual([]);
  });

  it('pull gives the same numbers as push for the same server', async () => {
    const before = await reportMadeAfter(queueDir, nextSecond());
    const pulled = summary((await collect(config({ queueDir: path.join(testDir('xrootd-empty'), 'q'), pull: [`127.0.0.1:${server.port}`] }), testDir('xrootd-pull-state'))).documents);
    const after = await reportMadeAfter(queueDir, nextSecond(), before.report.pid);
    expect(before.report.pid).toBe(after.report.pid);

    // Turn the two pushed packets into documents the way a run would, each on its own.
    const pushed = async (data: Buffer): Promise<MonitDocument> => {
      const single = path.join(testDir('xrootd-single'), 'q');
      await queuePackets(single, [{ data, receivedMs: Date.now() }]);
      return summary((await collect(config({ queueDir: single }), testDir('xrootd-single-state'))).documents);
    };
    const pushedBefore = await pushed(before.data);
    const pushedAfter = await pushed(after.data);

    for (const tag of ['server', 'site', 'program']) expect(pulled[tag]).toBe(pushedBefore[tag]);
    // Only the pull's own connection happened between the two pushed reports...
    expect(int(pushedAfter, 'connections_total') - int(pushedBefore, 'connections_total')).toBe(1);
    expect(int(pushedAfter, 'logins') - int(pushedBefore, 'logins')).toBe(1);
    // ...so every counter of the pulled report lies between them, and those a stats query leaves alone are equal.
    for (const field of COUNTER_FIELDS) {
      expect([field, int(pulled, field)]).toEqual([field, expect.any(Number)]);
      expect(int(pulled, field)).toBeGreaterThanOrEqual(int(pushedBefore, field));
      expect(int(pulled, field)).toBeLessThanOrEqual(int(pushedAfter, field));
    }
    for (const field of ['ops_open', 'ops_read', 'ops_readv', 'ops_write', 'ops_sync', 'redirections', 'delays', 'auth_failures', 'logins_authenticated']) {
      expect([field, pulled[field]]).toEqual([field, pushedBefore[field]]);
    }
  });

  it('after a server restart, no rate is negative or larger than what the new process moved', async () => {
    const oldPid = (await reportMadeAfter(queueDir, nextSecond())).report.pid;
    await collectAndCommit();
    const pullState = testDir('xrootd-restart-pull-state');
    const pullConfig = config({ queueDir: path.join(testDir('xrootd-empty'), 'q'), pull: [`127.0.0.1:${server.port}`] });
    await (await collect(pullConfig, pullState)).commit();

    await server.stop();
    await server.start();
    const fresh = await eventually(async () => (await queuedReports(queueDir)).find((queued) => queued.report.pid !== oldPid && queued.report.time >= queued.report.startTime));
    await xrdcp(randomFile(workDir, 'after-restart', MB), `${url}//moved/after-restart`);
    await reportMadeAfter(queueDir, nextSecond(), fresh.report.pid);

    const after = summary((await collectAndCommit()).documents);
    expect(after.restarts).toBe(1);
    // The rates cover the new process only.
    expect(int(after, 'rate_interval_s')).toBeGreaterThan(0);
    expect(int(after, 'rate_interval_s')).toBeLessThanOrEqual(int(after, 'uptime_s'));
    for (const field of RATE_FIELDS) {
      expect([field, typeof after[field]]).toEqual([field, 'number']);
      expect([field, after[field] as number]).toEqual([field, expect.any(Number)]);
      expect(after[field] as number).toBeGreaterThanOrEqual(0);
    }
    // Bytes since the restart bound what the rates may claim.
    expect((after.link_in_rate as number) * int(after, 'rate_interval_s')).toBeLessThanOrEqual(int(after, 'link_in_bytes'));
    expect((after.link_in_rate as number) * int(after, 'rate_interval_s')).toBeGreaterThanOrEqual(MB);

    // Pull mode across the restart: the restart is seen, and no rate is given rather than a wrong one.
    const pulledAfter = summary((await collect(pullConfig, pullState)).documents);
    expect(pulledAfter.restarts).toBe(1);
    expect(pulledAfter.rate_interval_s).toBe(0);
    for (const field of RATE_FIELDS) expect([field, pulledAfter[field]]).toEqual([field, undefined]);
  });
});

/** The packets the push collector has not consumed yet (from the position its state holds), as text. */
function unreadPackets(): string[] {
  const state = JSON.parse(readFileSync(path.join(stateDir, STATE_FILE), 'utf8')) as { queue?: QueuePosition };
  return queuedPackets(queueDir, state.queue).map((queued) => queued.packet.toString());
}

async function collectAndKeep(): Promise<{ documents: MonitDocument[]; commit: () => Promise<void> }> {
  return collect(config());
}

async function collectAndCommit(): Promise<{ documents: MonitDocument[] }> {
  const result = await collectAndKeep();
  await result.commit();
  return result;
}

describe('xrootd README', () => {
  it('lists every tag and field of its schemas', () => {
    const types = ['summary', 'oss_space'].map((type) => ({ producer: 'xrootd', type }));
    expect(readmeDisagreements(path.join(__dirname, 'README.md'), types)).toEqual([]);
  });
});
