import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config/paths';
import { freePort } from '../test/support/ports';
import { startInfluxDB, type TestInfluxDB } from '../test/support/services';

let influx: TestInfluxDB;
beforeAll(async () => {
  influx = await startInfluxDB();
});
afterAll(async () => {
  await influx?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('./run.sh gateway with a broken status rule still ingests; /status answers 503 naming the rule', async () => {
  const dir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'gateway-rules-'));
  const port = await freePort();
  const file = path.join(dir, 'config.cfg');
  writeFileSync(
    file,
    `[paths]\nvar = ${dir}\n[monit]\nurl = http://127.0.0.1:${port}/\n[gateway]\nlisten = 127.0.0.1:${port}\ntoken = secret-token\n[influxdb]\nurl = ${influx.url}\n` +
      `[status.module.web]\nunavailable = latest(nonexistent_field) == 0\n`,
  );
  // --debug: the gateway echoes its log lines on stderr (off the terminal they go to its log file only).
  const gateway = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), 'gateway', '--config', file, '--debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  gateway.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let tries = 0; tries < 100 && !(await fetch(`${base}/ping`).then((response) => response.ok, () => false)); tries += 1) await sleep(100);
    const stored = await fetch(`${base}/`, {
      method: 'POST',
      headers: { authorization: 'Bearer secret-token', 'content-type': 'application/json' },
      body: JSON.stringify([{ producer: 'free-producer', type: 'probe', timestamp: Date.UTC(2026, 10, 22, 10), idb_tags: ['name'], name: 'a', value: 7 }]),
    });
    expect(stored.status).toBe(200);
    expect(await influx.client.rows('SELECT "value" FROM "probe"', { database: 'monit_production_free_producer' })).toEqual([expect.objectContaining({ value: 7 })]);
    const page = await fetch(`${base}/status`);
    expect(page.status).toBe(503);
    const text = await page.text();
    expect(text).toMatch(/^Status rules cannot be read: config\.cfg:\d+: \[status\.module\.web\] unavailable: reads 'nonexistent_field'/);
    expect(text).not.toContain(dir);
    const json = await fetch(`${base}/status.json`);
    expect(json.status).toBe(503);
    expect(((await json.json()) as { error: string }).error).toMatch(/status rules cannot be read/);
    expect(stderr).toMatch(/status pages unavailable, ingestion goes on/);
  } finally {
    gateway.kill('SIGTERM');
    await new Promise((resolve) => gateway.once('exit', resolve));
  }
});
