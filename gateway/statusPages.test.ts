import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { PROJECT_ROOT } from '../lib/config/paths';
import { MemoryLogger } from '../lib/run/log';
import { statusPagesFromConfig } from '../status/pages';
import { getPage } from '../test/support/pages';
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

test('an edit of config.cfg reaches the pages without a restart: a fixed rule ends the 503, an added module appears', async () => {
  const dir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'gateway-edit-'));
  const file = path.join(dir, 'config.cfg');
  const base = `[paths]\nvar = ${dir}\n[influxdb]\nurl = ${influx.url}\n[status]\ndefault_rules =\n`;
  const module = (name: string, field: string): string => `[status.module.${name}]\nmeasurement = web/probe\nfields = ${field}\nunavailable = latest(${field}) == 0\nunavailable_reason = down\n`;
  writeFileSync(file, base + module('portal', 'nonexistent_field'));
  let clock = Date.UTC(2026, 11, 6, 8);
  const pages = statusPagesFromConfig(Config.load(file), new MemoryLogger('gateway'), { now: () => clock });
  const modules = async (): Promise<{ status: number; names?: string[] }> => {
    const answer = await getPage(pages, '/status.json');
    return answer.status === 503 ? { status: 503 } : { status: answer.status ?? 200, names: (JSON.parse(answer.body) as { modules: Array<{ module: string }> }).modules.map((entry) => entry.module) };
  };
  expect(await modules()).toEqual({ status: 503 });
  // Fixed, with a second module; read once the retry interval has passed, not before.
  writeFileSync(file, base + module('portal', 'up') + module('search', 'up'));
  clock += 1_000;
  expect(await modules()).toEqual({ status: 503 });
  clock += 15_000;
  expect(await modules()).toEqual({ status: 200, names: ['portal', 'search'] });
  // Broken again: 503 with the new reason.
  writeFileSync(file, base + module('portal', 'up') + '[status.module.search]\nmeasurement = web/probe\nfields = up\ndegraded = median(up) > 1\ndegraded_reason = x\n');
  clock += 15_000;
  const broken = await getPage(pages, '/status.json');
  expect(broken.status).toBe(503);
  expect(broken.body).toMatch(/unknown function 'median'/);
});
