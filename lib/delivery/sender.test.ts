import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { Spool } from './spool';
import { spooledText } from './sender';
import { identityOf, ownIdentity } from '../run/processIdentity';
import type { MonitDocument } from '../documents/types';
import { startInfluxDB, testDir, type TestInfluxDB } from '../../test/support/services';
import { spawnGatewayProcess, startTestGateway, TEST_TOKEN, testSender } from '../../test/support/gateway';
import { freePort } from '../../test/support/ports';
import type { RunningGateway } from '../../gateway/server';

const DATABASE = 'monit_production_test_producer';
const slot = Math.floor(Date.now() / 600_000) * 600_000 - 3_600_000;

let influx: TestInfluxDB;

beforeAll(async () => {
  influx = await startInfluxDB();
});
afterAll(async () => {
  await influx?.stop();
});

function documents(site: string, count: number, timestamp = slot): MonitDocument[] {
  return Array.from({ length: count }, (_, index) => ({
    producer: 'test-producer',
    type: 'sample',
    timestamp,
    idb_tags: ['site', 'node'],
    idb_fields: ['count'],
    site,
    node: `n${index}`,
    count: index,
  }));
}

async function storedCount(site: string): Promise<{ points: number; distinct: number }> {
  const rows = await influx.client.rows(`SELECT "count", "node" FROM "sample" WHERE "site" = '${site}'`, { database: DATABASE });
  return { points: rows.length, distinct: new Set(rows.map((row) => row.node)).size };
}

const newSpool = (): Spool => new Spool(testDir('spool'));

describe('spooling', () => {
  const batchSizes = (spool: Spool): number[] => spool.list().map((entry) => (JSON.parse(spool.read(entry.name)) as unknown[]).length);

  it('splits by document count and by bytes, keeping the order', () => {
    const many = documents('x', 25);
    const byCount = newSpool();
    expect(testSender('http://127.0.0.1:9', byCount, { maxBatchDocuments: 10 }).enqueue(many)).toBe(25);
    expect(batchSizes(byCount)).toEqual([10, 10, 5]);
    expect(byCount.list().flatMap((entry) => JSON.parse(byCount.read(entry.name)) as MonitDocument[])).toEqual(many);
    const size = Buffer.byteLength(JSON.stringify(many[0])) + 1;
    const byBytes = newSpool();
    testSender('http://127.0.0.1:9', byBytes, { maxBatchBytes: 2 + size * 4 }).enqueue(many);
    for (const entry of byBytes.list()) expect(entry.bytes).toBeLessThanOrEqual(2 + size * 4);
    expect(batchSizes(byBytes).every((length) => length <= 4)).toBe(true);
  });

  it('takes documents one at a time from a generator, writing full batches as it goes', () => {
    const spool = newSpool();
    const staged = (): string[] => readdirSync(spool.dir).filter((name) => name.startsWith('.staged-')).sort();
    let completeWhileGenerating: number[] = [];
    function* generated(): Generator<MonitDocument> {
      for (const [index, document] of documents('lazy', 250).entries()) {
        // Asked for the 202nd document: two batches are written and closed, the third is open, none is in the spool.
        if (index === 201) {
          expect(spool.list()).toEqual([]);
          completeWhileGenerating = staged()
            .slice(0, 2)
            .map((name) => (JSON.parse(readFileSync(path.join(spool.dir, name), 'utf8')) as unknown[]).length);
          expect(staged()).toHaveLength(3);
        }
        yield document;
      }
    }
    expect(testSender('http://127.0.0.1:9', spool).enqueue(generated())).toBe(250);
    expect(completeWhileGenerating).toEqual([100, 100]);
    expect(batchSizes(spool)).toEqual([100, 100, 50]);
    expect(spool.list().map((entry) => entry.name)).toEqual([expect.stringMatching(/-n100\.json$/), expect.stringMatching(/-n100\.json$/), expect.stringMatching(/-n50\.json$/)]);
    expect(readdirSync(spool.dir).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('spools nothing when a document is refused or the generator fails part way', () => {
    const spool = newSpool();
    const refuseThe150th = (document: MonitDocument): void => {
      if (document.node === 'n150') throw new Error('invalid n150');
    };
    expect(() => testSender('http://127.0.0.1:9', spool).enqueue(documents('refused', 250), refuseThe150th)).toThrow('invalid n150');
    function* failing(): Generator<MonitDocument> {
      yield* documents('failing', 120);
      throw new Error('source went away');
    }
    expect(() => testSender('http://127.0.0.1:9', spool).enqueue(failing())).toThrow('source went away');
    expect(readdirSync(spool.dir).filter((name) => name !== 'rejected')).toEqual([]);
  });

  it('removes batches staged by a process that died before publishing them (or by an earlier process with our pid), not those of a live one', () => {
    const spool = newSpool();
    const dead = `.staged-000001795341600000-${String(2 ** 22 + 1).padStart(7, '0')}-000001.json`; // above Linux's largest pid
    const alive = `.staged-${String(Date.now()).padStart(15, '0')}-${String(process.pid).padStart(7, '0')}-000001.json`;
    // Our pid, but staged before this process started: a crashed earlier run that had the same pid.
    const samePidEarlier = `.staged-000001000000000000-${String(process.pid).padStart(7, '0')}-000002.json`;
    for (const name of [dead, alive, samePidEarlier]) writeFileSync(path.join(spool.dir, name), '[]');
    const reopened = new Spool(spool.dir);
    expect(readdirSync(reopened.dir).filter((name) => name.startsWith('.staged-'))).toEqual([alive]);
    expect(reopened.list()).toEqual([]);
  });

  it('names the writer of a staged batch by pid and start time: a live process that reused the pid is not taken for it', () => {
    const spool = newSpool();
    const { pid, startTicks } = ownIdentity();
    const now = String(Date.now()).padStart(15, '0');
    const ours = `.staged-${now}-${String(pid).padStart(7, '0')}-000001-s${startTicks}.json`;
    // pid 1 runs, but it started at boot: not the process (of the same pid) that staged this batch.
    const reusedPid = `.staged-${now}-0000001-000001-s${Number(identityOf(1)?.startTicks ?? 0) + 1}.json`;
    const livePidOlderName = `.staged-${now}-0000001-000002.json`; // no start time: judged on the pid
    for (const name of [ours, reusedPid, livePidOlderName]) writeFileSync(path.join(spool.dir, name), '[]');
    const reopened = new Spool(spool.dir);
    expect(readdirSync(reopened.dir).filter((name) => name.startsWith('.staged-')).sort()).toEqual([ours, livePidOlderName].sort());
    const staged = reopened.stage();
    expect(path.basename(staged.file)).toMatch(new RegExp(`^\\.staged-\\d{15}-0*${pid}-\\d{6}-s${startTicks}\\.json$`));
    reopened.discard([staged]);
  });
});

describe('delivery', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startTestGateway(influx.url);
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('spools before sending and removes a batch only once accepted', async () => {
    const spool = newSpool();
    const target = testSender(gateway.url, spool);
    target.enqueue(documents('delivered', 250));
    expect(spool.list()).toHaveLength(3); // on disk before any request
    const report = await target.deliver({ deadlineMs: Date.now() + 30_000 });
    expect(report).toMatchObject({ documentsSent: 250, documentsRejected: 0, documentsSpooled: 0 });
    expect(spool.list()).toHaveLength(0);
    expect(await storedCount('delivered')).toEqual({ points: 250, distinct: 250 });
  });

  it('keeps only the refused documents, with the reason, in rejected/', async () => {
    const spool = newSpool();
    const batch: MonitDocument[] = [...documents('partly', 3), { producer: 'test-producer', type: 'sample', timestamp: slot, idb_tags: ['site'], site: 'partly', idb_fields: ['count'], count: 'many' }];
    testSender(gateway.url, spool).enqueue(batch);
    const report = await testSender(gateway.url, spool).deliver({ deadlineMs: Date.now() + 30_000 });
    expect(report).toMatchObject({ documentsSent: 3, documentsRejected: 1, documentsSpooled: 0 });
    const [rejectedFile] = readdirSync(spool.rejectedDir);
    const kept = JSON.parse(readFileSync(path.join(spool.rejectedDir, rejectedFile), 'utf8')) as Array<{ reason: string; document: MonitDocument }>;
    expect(kept).toEqual([{ reason: expect.stringMatching(/'count' must be an integer/), document: batch[3] }]);
    expect(await storedCount('partly')).toEqual({ points: 3, distinct: 3 });
  });

  it('takes a 200 with a refusal report ([gateway.partial_success]) as a partial delivery, not an unexpected answer', async () => {
    // A gateway process reads the real schemas/, which know no test producer: its numbers are floats, so
    // it gets a database of its own.
    const process200 = await spawnGatewayProcess(influx.url, '[gateway.partial_success]\npartial-producer = 200\n');
    try {
      const spool = newSpool();
      const accepted = documents('answered-200', 2).map((document) => ({ ...document, producer: 'partial-producer' }));
      const refused = { ...accepted[0], node: 'n9', count: [1] } as unknown as MonitDocument;
      const sender = testSender(process200.url, spool);
      sender.enqueue([...accepted, refused]);
      const report = await sender.deliver({ deadlineMs: Date.now() + 30_000 });
      expect(report).toMatchObject({ documentsSent: 2, documentsRejected: 1, documentsSpooled: 0 });
      expect(report.stoppedBecause).toBeUndefined();
      const [rejectedFile] = readdirSync(spool.rejectedDir);
      const kept = JSON.parse(readFileSync(path.join(spool.rejectedDir, rejectedFile), 'utf8')) as Array<{ reason: string; document: MonitDocument }>;
      expect(kept).toEqual([{ reason: expect.stringMatching(/'count'/), document: refused }]);
      const rows = await influx.client.rows(`SELECT "count", "node" FROM "sample" WHERE "site" = 'answered-200'`, { database: 'monit_production_partial_producer' });
      expect(rows.map((row) => row.node).sort()).toEqual(['n0', 'n1']);
    } finally {
      await process200.stop();
    }
  });

  it('a redirect is never followed with the batch and its credentials; the batch waits and the message says where to point url', async () => {
    let redirectedTo = 0;
    const target = http.createServer((request, response) => {
      redirectedTo += 1;
      response.end();
    });
    const redirecting = http.createServer((request, response) => {
      response.writeHead(307, { location: `http://127.0.0.1:${(target.address() as AddressInfo).port}/elsewhere` });
      response.end();
    });
    await Promise.all([target, redirecting].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
    try {
      const spool = newSpool();
      const sender = testSender(`http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/`, spool);
      sender.enqueue(documents('redirected', 2));
      const report = await sender.deliver({ deadlineMs: Date.now() + 10_000 });
      expect(report).toMatchObject({ documentsSent: 0, documentsSpooled: 2 });
      // A refusal, not a passing outage: the run fails until url is changed.
      expect(report.credentialsRefused).toMatch(/answered HTTP 307, a redirect to http:\/\/127\.0\.0\.1:\d+\/elsewhere: set \[monit\] url/);
      expect(redirectedTo).toBe(0);
    } finally {
      for (const server of [target, redirecting]) server.close();
    }
  });

  it('delivers and counts batches spooled before batch names recorded their size', async () => {
    const spool = newSpool();
    writeFileSync(path.join(spool.dir, '000001795341600000-0000001-000001.json'), JSON.stringify(documents('older-name', 7)));
    const report = await testSender(gateway.url, spool).deliver({ deadlineMs: Date.now() + 30_000 });
    expect(report).toMatchObject({ documentsSent: 7, documentsRejected: 0, documentsSpooled: 0 });
    expect(await storedCount('older-name')).toEqual({ points: 7, distinct: 7 });
  });

  it('on 401 keeps the batch and reports the credentials problem', async () => {
    const spool = newSpool();
    const target = testSender(gateway.url, spool, { token: 'not-the-token' });
    target.enqueue(documents('refused', 5));
    const report = await target.deliver({ deadlineMs: Date.now() + 30_000 });
    expect(report.credentialsRefused).toMatch(/credentials/);
    expect(report.documentsSpooled).toBe(5);
    expect(spool.list()).toHaveLength(1);
  });

  it('drops the oldest batches beyond the spool bound, and counts them', async () => {
    const spool = newSpool();
    const target = testSender('http://127.0.0.1:9/', spool, { spoolMaxBytes: 1 });
    target.enqueue(documents('bounded', 10));
    const oneBatch = spool.totalBytes();
    const bounded = testSender('http://127.0.0.1:9/', spool, { spoolMaxBytes: oneBatch * 2 + 1 });
    bounded.enqueue(documents('bounded', 10));
    bounded.enqueue(documents('bounded', 10));
    const names = spool.list().map((entry) => entry.name);
    const report = await bounded.deliver({ deadlineMs: Date.now(), retry: false });
    expect(report.documentsDropped).toBe(10);
    expect(spool.list().map((entry) => entry.name)).toEqual(names.slice(1));
  });

  it('splits a batch the endpoint finds too large (413) and delivers the parts', async () => {
    const small = await startTestGateway(influx.url, { maxBodyBytes: 20_000 });
    try {
      const spool = newSpool();
      const target = testSender(small.url, spool, { maxBatchDocuments: 400 });
      target.enqueue(documents('split', 400));
      const report = await target.deliver({ deadlineMs: Date.now() + 30_000 });
      expect(report).toMatchObject({ documentsSent: 400, documentsSpooled: 0, documentsRejected: 0 });
      expect(await storedCount('split')).toEqual({ points: 400, distinct: 400 });
    } finally {
      await small.close();
    }
  });
});

describe('outages', () => {
  it('gateway stopped: batches stay in the spool; after restart the next run delivers all, none lost or duplicated', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const spool = newSpool();
    const first = testSender(url, spool);
    first.enqueue(documents('gateway-down', 300));
    const report = await first.deliver({ deadlineMs: Date.now() + 1500 });
    expect(report.documentsSpooled).toBe(300);
    expect(report.stoppedBecause).toMatch(/ECONNREFUSED/);
    const gateway = await startTestGateway(influx.url, { port });
    try {
      const second = await testSender(url, spool).deliver({ deadlineMs: Date.now() + 30_000 });
      expect(second).toMatchObject({ documentsSent: 300, documentsSpooled: 0 });
      expect(await storedCount('gateway-down')).toEqual({ points: 300, distinct: 300 });
    } finally {
      await gateway.close();
    }
  });

  it('InfluxDB stopped while the gateway runs: 503 keeps the batches; after restart everything arrives', async () => {
    const gateway = await startTestGateway(influx.url);
    const spool = newSpool();
    try {
      await influx.stop();
      const first = testSender(gateway.url, spool);
      first.enqueue(documents('influx-down', 150));
      const report = await first.deliver({ deadlineMs: Date.now() + 1000 });
      expect(report.documentsSpooled).toBe(150);
      expect(report.stoppedBecause).toMatch(/HTTP 503/);
      await influx.start();
      const second = await testSender(gateway.url, spool).deliver({ deadlineMs: Date.now() + 30_000 });
      expect(second).toMatchObject({ documentsSent: 150, documentsSpooled: 0 });
      expect(await storedCount('influx-down')).toEqual({ points: 150, distinct: 150 });
    } finally {
      if (!(await influx.client.ping())) await influx.start();
      await gateway.close();
    }
  });

  it('kill -9 of a sender in the middle of sending, then the next run: no loss, no duplicates', async () => {
    const gateway = await startTestGateway(influx.url);
    const varDir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'killed-'));
    const configFile = path.join(varDir, 'config.cfg');
    writeFileSync(
      configFile,
      `[paths]\nvar = ${varDir}\n[monit]\nurl = ${gateway.url}/\ntoken = ${TEST_TOKEN}\nconcurrency = 1\nmax_batch_documents = 500\n[influxdb]\nurl = ${influx.url}\n`,
    );
    const file = path.join(varDir, 'documents.json');
    const total = 20_000;
    writeFileSync(file, JSON.stringify(documents('killed', total)));
    const runCli = (args: string[]) => spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), ...args, '--config', configFile], { stdio: 'ignore' });
    try {
      expect(existsSync(path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js'))).toBe(true);
      const child = runCli(['send', file]);
      // Kill as soon as part of it has arrived.
      for (let tries = 0; tries < 600 && (await storedCount('killed')).points === 0; tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const partial = await storedCount('killed');
      expect(partial.points).toBeGreaterThan(0);
      expect(partial.points).toBeLessThan(total);
      const replay = runCli(['replay']);
      const code = await new Promise((resolve) => replay.once('exit', resolve));
      expect(code).toBe(0);
      expect(await storedCount('killed')).toEqual({ points: total, distinct: total });
      expect(readdirSync(path.join(varDir, 'spool', 'send')).filter((name) => name.endsWith('.json'))).toEqual([]);
    } finally {
      await gateway.close();
    }
  });
});

describe('spooledText', () => {
  const base = { producer: 'test', type: 'probe', idb_fields: ['value'], value: 1 };

  it('stamps a document without any timestamp with the spool time', () => {
    expect(JSON.parse(spooledText(base as MonitDocument, 1_700_000_000_000)).timestamp).toBe(1_700_000_000_000);
  });

  it('keeps the time of a record whose timestamp is only in metadata (a MONIT record sent again)', () => {
    const record = { ...base, metadata: { timestamp: 1_600_000_000_000 } } as unknown as MonitDocument;
    const spooled = JSON.parse(spooledText(record, 1_700_000_000_000)) as Record<string, unknown>;
    expect(spooled.timestamp).toBeUndefined();
    expect(spooled.metadata).toEqual({ timestamp: 1_600_000_000_000 });
  });
});
