import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config/paths';
import { startInfluxDB, type TestInfluxDB } from '../test/support/services';
import { startTestGateway, TEST_TOKEN } from '../test/support/gateway';
import type { RunningGateway } from '../gateway/server';

let influx: TestInfluxDB;
let gateway: RunningGateway;
const servers: http.Server[] = [];

beforeAll(async () => {
  influx = await startInfluxDB();
  gateway = await startTestGateway(influx.url);
});
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  await gateway?.close();
  await influx?.stop();
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const exited = (child: ChildProcess): Promise<number | null> => new Promise((resolve) => child.once('exit', (code) => resolve(code)));

it('a source that hangs does not delay the other collectors', async () => {
  const hanging = await serve(() => undefined); // accepts, never answers
  const dump = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'collectors', 'hadoop', 'testdata', 'healthy.jmx.json'), 'utf8')) as { beans: Array<{ name: string }> };
  const nameNode = await serve((request, response) => {
    const query = new URL(request.url ?? '/', 'http://x').searchParams.get('qry');
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ beans: dump.beans.filter((bean) => !query || bean.name === query) }));
  });
  const dir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'independence-'));
  const file = path.join(dir, 'config.cfg');
  writeFileSync(
    file,
    `[paths]\nvar = ${dir}\n[monit]\nurl = ${gateway.url}/\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = ${influx.url}\n` +
      `[web]\nurls = ${hanging}/\ntimeout = 60s\ndeadline = 90s\n[hadoop]\nnamenodes = ${nameNode}\n`,
  );
  const cli = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
  const stuck = spawn(process.execPath, [cli, 'web', '--config', file], { stdio: 'ignore' });
  try {
    const healthy = spawn(process.execPath, [cli, 'hadoop', '--config', file], { stdio: 'ignore' });
    expect(await exited(healthy)).toBe(0);
    // hadoop finished and delivered while web is still waiting on its source.
    expect(stuck.exitCode).toBeNull();
    const namenodes = await influx.client.rows('SELECT "up" FROM "namenode"', { database: 'monit_production_hadoop' });
    expect(namenodes).toEqual([expect.objectContaining({ up: 1 })]);
  } finally {
    stuck.kill('SIGKILL');
  }
});
