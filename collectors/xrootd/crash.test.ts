import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { startTestGateway, TEST_TOKEN } from '../../test/support/gateway';
import { queuedPackets, queuePackets } from '../../test/support/packetQueue';
import { startInfluxDB, testDir, type TestInfluxDB } from '../../test/support/services';
import { eventually } from '../../test/support/xrootdServer';

/**
 * The whole chain with the real runner (dist/, built by `npm test` before jest) and the real gateway:
 * a run killed mid-way loses no queued packet, and the next run sends them exactly once.
 */
const MAIN = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
const SAMPLE = readFileSync(path.join(__dirname, 'testdata', 'summary-report-sample.xml'), 'utf8');

let influx: TestInfluxDB;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  influx = await startInfluxDB();
  gateway = await startTestGateway(influx.url);
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await influx?.stop();
});

/** Runs `./run.sh xrootd` (asynchronously: the gateway lives in this process); --debug echoes its log lines on stderr. */
function runJob(configFile: string): Promise<{ status: number | null; log: string }> {
  const child = spawn(process.execPath, [MAIN, 'xrootd', '--config', configFile, '--debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, log })));
}

it('a run killed mid-way keeps every queued packet; the next run sends them exactly once', async () => {
  const dir = testDir('xrootd-crash-e2e');
  const queueDir = path.join(dir, 'queue', 'xrootd');
  const packets = [0, 1, 2, 3, 4].map((index) => ({
    data: Buffer.from(SAMPLE.replace(/tod="\d+"/, `tod="${1795363309 + 60 * index}"`).replace(/<in>\d+<\/in>/, `<in>${1_000_000 * (index + 1)}</in>`)),
    receivedMs: index,
  }));
  await queuePackets(queueDir, packets);
  const queued = (): string[] => queuedPackets(queueDir).map((queuedPacket) => queuedPacket.packet.toString());
  // A pull server that accepts and never answers holds the first run in the middle of collect().
  const connected: net.Socket[] = [];
  const silent = net.createServer((socket) => connected.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const base = `[paths]\nvar = ${dir}\n[monit]\nurl = ${gateway.url}/\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = ${influx.url}\n`;
  const stuckConfig = path.join(dir, 'stuck.cfg');
  writeFileSync(stuckConfig, `${base}[xrootd]\npull_servers = 127.0.0.1:${(silent.address() as net.AddressInfo).port}\npull_timeout = 5m\n`);
  const config = path.join(dir, 'config.cfg');
  writeFileSync(config, `${base}[xrootd]\n`);
  try {
    const stuck = spawn(process.execPath, [MAIN, 'xrootd', '--config', stuckConfig], { stdio: 'ignore' });
    await eventually(async () => (connected.length > 0 ? true : undefined));
    stuck.kill('SIGKILL');
    await new Promise((resolve) => stuck.once('exit', resolve));
  } finally {
    for (const socket of connected) socket.destroy();
    silent.close();
  }
  expect(queued()).toEqual(packets.map((packet) => packet.data.toString()));

  const next = await runJob(config);
  expect(next.status).toBe(0);
  expect(next.log).toMatch(/2 documents collected; delivered this run \(replayed ones included\): 2 sent/);
  expect(queued()).toEqual([]);
  const points = await influx.client.rows('SELECT "reports", "link_in_bytes", "link_in_rate", "rate_interval_s" FROM "summary"', { database: 'monit_production_xrootd' });
  expect(points).toEqual([expect.objectContaining({ reports: 5, link_in_bytes: 5_000_000, link_in_rate: 4_000_000 / 240, rate_interval_s: 240 })]);

  const after = await runJob(config);
  expect(after.status).toBe(0);
  expect(after.log).toMatch(/0 documents collected/);
});
