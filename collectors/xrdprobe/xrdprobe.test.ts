import { readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext } from '../../test/support/collectorContext';
import { readmeDisagreements } from '../../test/support/readme';
import { startServer, testDir, type RunningServer } from '../../test/support/services';
import { randomFile, xrdcp } from '../../test/support/xrootdServer';
import collector from './collector';

const SIZE = 3_000_000;
let server: RunningServer;
let endpoint: string;

async function probe(configLines: string[]): Promise<{ documents: MonitDocument[]; problems: string[] }> {
  const context = collectorContext('xrdprobe', `[xrdprobe]\n${configLines.join('\n')}\n`, { stateDir: testDir('xrdprobe-state') });
  const result = await collector.collect(context);
  if (!Array.isArray(result)) throw new Error('xrdprobe returns a plain list of documents');
  return { documents: result, problems: context.problems };
}

beforeAll(async () => {
  server = await startServer('xrootd');
  endpoint = `127.0.0.1:${server.port}`;
  await xrdcp(randomFile(testDir('xrdprobe-files'), 'test.bin', SIZE), `root://${endpoint}//probe/test.bin`);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('xrdprobe with a real server', () => {
  it('downloads the test file and uploads a generated one', async () => {
    const { documents, problems } = await probe([
      `endpoints = root://${endpoint}//probe/test.bin`,
      'upload = true',
      'upload_dir = /probe/uploads',
      'upload_size_mb = 1',
      'timeout = 20s',
      `sites = ${endpoint}=TEST_SITE`,
    ]);
    expect(problems).toEqual([]);
    expect(documents).toHaveLength(2);
    const [download, upload] = documents;
    expect(download).toMatchObject({ producer: 'xrootd', type: 'probe', endpoint, site: 'TEST_SITE', direction: 'download', success: true, size_bytes: SIZE, error_class: '' });
    expect(upload).toMatchObject({ endpoint, direction: 'upload', success: true, size_bytes: 1_000_000, error_class: '' });
    for (const document of documents) {
      expect(document.duration_ms as number).toBeGreaterThan(0);
      expect(document.throughput_mbps as number).toBeCloseTo((document.size_bytes as number) / 1e6 / ((document.duration_ms as number) / 1000), 6);
    }
    // The upload really landed on the server.
    const uploads = path.join(server.dir, 'data', 'probe', 'uploads');
    const written = readdirSync(uploads);
    expect(written).toHaveLength(1);
    expect(statSync(path.join(uploads, written[0])).size).toBe(1_000_000);
  });

  it('classes a missing test file as not_found', async () => {
    const { documents, problems } = await probe([`endpoints = root://${endpoint}//probe/missing.bin`, 'timeout = 20s']);
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({ direction: 'download', success: false, error_class: 'not_found' });
    expect(documents[0].error_message).toMatch(/no such file/i);
    expect(documents[0].size_bytes).toBeUndefined();
    expect(documents[0].throughput_mbps).toBeUndefined();
    expect(problems).toHaveLength(1);
  });

  it('a silent endpoint (accepts, never answers) fails with timeout at its timeout, never hangs', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const { documents } = await probe([`endpoints = root://127.0.0.1:${port}//probe/test.bin`, 'upload = true', 'timeout = 2s']);
      const elapsed = Date.now() - started;
      expect(documents.map((document) => [document.direction, document.success, document.error_class])).toEqual([
        ['download', false, 'timeout'],
        ['upload', false, 'timeout'],
      ]);
      for (const document of documents) expect(document.duration_ms as number).toBeGreaterThanOrEqual(1900);
      // Two transfers of 2 s each: far below what a hanging client would take (xrdcp's defaults wait minutes).
      expect(elapsed).toBeLessThan(20_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('fails cleanly, in time, against the stopped server; then succeeds again once it is back', async () => {
    await server.stop();
    const started = Date.now();
    const { documents } = await probe([`endpoints = root://${endpoint}//probe/test.bin`, 'timeout = 5s']);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({ endpoint, direction: 'download', success: false, error_class: 'connection' });

    await server.start();
    const again = await probe([`endpoints = root://${endpoint}//probe/test.bin`, 'timeout = 20s']);
    expect(again.documents[0]).toMatchObject({ success: true, size_bytes: SIZE });
  });
});

describe('xrdprobe README', () => {
  it('lists every tag and field of its schema', () => {
    expect(readmeDisagreements(path.join(__dirname, 'README.md'), [{ producer: 'xrootd', type: 'probe' }])).toEqual([]);
  });
});
