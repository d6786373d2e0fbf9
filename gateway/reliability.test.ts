import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PROJECT_ROOT } from '../lib/config/paths';
import { spawnGatewayProcess, TEST_TOKEN, type GatewayProcess } from '../test/support/gateway';
import { testDir } from '../test/support/services';
import { useInfluxDB } from '../test/support/fixtures';

// Gateways in their own process (dist/cli/main.js): build first (npx tsc -p tsconfig.build.json).

const DATABASE = 'monit_production_reliability';
const slot = Math.floor(Date.now() / 600_000) * 600_000 - 3_600_000;

const servers = useInfluxDB();

/** `count` documents of producer `reliability`, one series each (tag n), all tagged `batch`. */
function batch(name: string, count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, n) => ({ producer: 'reliability', type: 'load', timestamp: slot, idb_tags: ['batch', 'n'], batch: name, n: String(n), value: n }));
}

async function post(url: string, documents: unknown): Promise<{ status: number; retryAfter: string | null; json: Record<string, unknown> }> {
  const response = await fetch(`${url}/`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(documents) });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), json: (await response.json()) as Record<string, unknown> };
}

/** Points stored of one batch (0 while its database does not exist yet). */
async function pointsOf(name: string): Promise<number> {
  try {
    const rows = await servers.influx.client.rows(`SELECT count("value") AS points FROM "load" WHERE "batch" = '${name}'`, { database: DATABASE });
    return Number(rows[0]?.points ?? 0);
  } catch {
    return 0;
  }
}

async function pingStatus(url: string): Promise<number> {
  return (await fetch(`${url}/ping`)).status;
}

describe('the gateway process survives InfluxDB failures', () => {
  let gateway: GatewayProcess;
  beforeAll(async () => {
    gateway = await spawnGatewayProcess(servers.influx.url);
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('InfluxDB stopped: 1,001 and 10,000 documents get 503 with Retry-After; the process lives on; re-sent, stored exactly once', async () => {
    await servers.influx.stop();
    try {
      for (const [name, count] of [['stopped-1001', 1001], ['stopped-10000', 10_000]] as const) {
        const answer = await post(gateway.url, batch(name, count));
        expect(answer.status).toBe(503);
        expect(answer.retryAfter).toBe('10');
        expect(answer.json.error).toMatch(/InfluxDB is unavailable, nothing acknowledged/);
        expect(gateway.process.exitCode).toBeNull();
        expect(await pingStatus(gateway.url)).toBe(503);
      }
    } finally {
      await servers.influx.start();
    }
    for (const [name, count] of [['stopped-1001', 1001], ['stopped-10000', 10_000]] as const) {
      expect(await post(gateway.url, batch(name, count))).toMatchObject({ status: 200, json: { accepted: count, rejected: [] } });
      expect(await pointsOf(name)).toBe(count);
    }
    expect(gateway.process.exitCode).toBeNull();
  });

  it('InfluxDB killed (kill -9) in the middle of large writes: 503 with Retry-After for what was not stored; the process lives on; re-sent, stored exactly once', async () => {
    const names = Array.from({ length: 6 }, (_, n) => `killed-${n}`);
    let settled = 0;
    const answers = names.map((name) => post(gateway.url, batch(name, 10_000)).finally(() => (settled += 1)));
    // Mid-write: once InfluxDB has stored the first points of these requests.
    let stored = 0;
    while (stored === 0 && settled < names.length) {
      stored = (await Promise.all(names.map(pointsOf))).reduce((sum, points) => sum + points, 0);
    }
    const pid = Number(readFileSync(path.join(servers.influx.dir, 'server.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    expect(settled).toBeLessThan(names.length);
    const results = await Promise.all(answers);
    const unavailable = results.filter((answer) => answer.status === 503);
    expect(unavailable.length).toBeGreaterThan(0);
    for (const answer of results) {
      if (answer.status === 503) {
        expect(answer.retryAfter).toBe('10');
        expect(answer.json.error).toMatch(/InfluxDB is unavailable, nothing acknowledged/);
      } else expect(answer).toMatchObject({ status: 200, json: { accepted: 10_000 } });
    }
    expect(gateway.process.exitCode).toBeNull();
    expect(await pingStatus(gateway.url)).toBe(503);
    // services.sh takes an unreaped (zombie) InfluxDB for running: start it once init has reaped it.
    while (existsSync(`/proc/${pid}`)) await new Promise((resolve) => setTimeout(resolve, 100));
    await servers.influx.start();
    for (const [n, answer] of results.entries()) {
      if (answer.status === 503) expect(await post(gateway.url, batch(names[n], 10_000))).toMatchObject({ status: 200, json: { accepted: 10_000, rejected: [] } });
    }
    for (const name of names) expect(await pointsOf(name)).toBe(10_000);
    expect(gateway.process.exitCode).toBeNull();
  });
});

/** A gateway taking up to 20,000 documents per request (over the configurable maximum), alone in a process. */
async function spawnLargeGateway(): Promise<{ url: string; child: ChildProcessByStdio<null, Readable, null> }> {
  const dist = (...parts: string[]): string => JSON.stringify(path.join(PROJECT_ROOT, 'dist', ...parts));
  const script = `
    const { startGateway } = require(${dist('gateway', 'server.js')});
    const { InfluxClient } = require(${dist('lib', 'influx', 'influxdb.js')});
    const { schemaRegistry } = require(${dist('lib', 'documents', 'schemas.js')});
    const { MemoryLogger } = require(${dist('lib', 'run', 'log.js')});
    startGateway({
      influxdb: new InfluxClient(${JSON.stringify(servers.influx.url)}, { timeoutMs: 10000 }),
      durations: { raw: '30d', '1h': '400d', '1d': 'INF' },
      auth: { token: ${JSON.stringify(TEST_TOKEN)}, producerPasswords: new Map() },
      maxDocuments: 20000,
      maxBodyBytes: 10000000,
      registry: schemaRegistry(),
      log: new MemoryLogger('gateway'),
    }, '127.0.0.1', 0).then((running) => process.stdout.write(running.url + '\\n'));
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`the gateway exited at start (${code})`)));
  });
  return { url, child };
}

test('20,000 documents in one request while InfluxDB is stopped: 503 with Retry-After, the process lives on; re-sent twice, stored exactly once', async () => {
  const gateway = await spawnLargeGateway();
  try {
    await servers.influx.stop();
    try {
      const answer = await post(gateway.url, batch('stopped-20000', 20_000));
      expect(answer.status).toBe(503);
      expect(answer.retryAfter).toBe('10');
      expect(gateway.child.exitCode).toBeNull();
      expect(await pingStatus(gateway.url)).toBe(503);
    } finally {
      await servers.influx.start();
    }
    expect((await post(gateway.url, batch('stopped-20000', 20_000))).status).toBe(200);
    expect((await post(gateway.url, batch('stopped-20000', 20_000))).status).toBe(200);
    expect(await pointsOf('stopped-20000')).toBe(20_000);
    expect(gateway.child.exitCode).toBeNull();
  } finally {
    gateway.child.kill('SIGTERM');
  }
});

test('an error nothing handles is logged with its stack and exits non-zero, for the supervisor to restart', () => {
  const dir = testDir('gateway-last-resort');
  const script = `
    const { Logger } = require(${JSON.stringify(path.join(PROJECT_ROOT, 'dist', 'lib', 'run', 'log.js'))});
    const { exitOnUnexpectedError } = require(${JSON.stringify(path.join(PROJECT_ROOT, 'dist', 'gateway', 'service.js'))});
    exitOnUnexpectedError(Logger.forJob('gateway', ${JSON.stringify(dir)}, { echo: false }));
    function failingDeepInside() { return Promise.reject(new Error('boom from the test')); }
    failingDeepInside();
    setTimeout(() => process.exit(0), 5000);
  `;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(child.status).toBe(1);
  const log = readFileSync(path.join(dir, 'gateway.log'), 'utf8');
  expect(log).toMatch(/ERROR \[gateway\] unhandled promise rejection, exiting so that the supervisor restarts the gateway: Error: boom from the test\\n\s+at failingDeepInside/);
});
