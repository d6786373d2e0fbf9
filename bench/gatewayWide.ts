import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config/paths';
import { startInfluxDB } from '../test/support/services';
import { freePort } from '../test/support/ports';
import { processMemoryMb, ratio } from './support';

/**
 * The gateway's memory with four parallel wide bodies within the limits (the review of issue 24: 9,000
 * documents of 250 fields each, about 23 MB), against the same gateway's memory after one ordinary
 * request (the baseline). Run three times: with the default [gateway] max_inflight_bytes (2 x
 * max_body_bytes), with the smallest allowed (one body), and with a budget large enough for all four at
 * once, which is how the gateway behaved before the budget. A 503 is sent again after its Retry-After, as the sender does; /ping is timed meanwhile.
 */
const TOKEN = 'bench-token-0123456789';
const PARALLEL = 4;
const DOCUMENTS = 9000;
const FIELDS = 250;

function wideBody(request: number, timestampMs: number): string {
  const documents = Array.from({ length: DOCUMENTS }, (_, index) => {
    const document: Record<string, unknown> = { producer: 'bench-wide', type: 'wide', timestamp: timestampMs + index, idb_tags: ['request'], request: String(request) };
    for (let field = 0; field < FIELDS; field += 1) document[`f${field}`] = (index + field) % 10_000;
    return document;
  });
  return JSON.stringify(documents);
}

async function post(url: string, body: string): Promise<{ status: number; retryAfterMs: number }> {
  const response = await fetch(url, { method: 'POST', body, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
  await response.text();
  return { status: response.status, retryAfterMs: Number(response.headers.get('retry-after') ?? 1) * 1000 };
}

async function startGateway(influxUrl: string, budgetLine: string): Promise<{ process: ChildProcess; port: number }> {
  const base = path.join(PROJECT_ROOT, 'var', 'test');
  mkdirSync(base, { recursive: true });
  const varDir = mkdtempSync(path.join(base, 'bench-wide-'));
  const port = await freePort();
  const configFile = path.join(varDir, 'config.cfg');
  writeFileSync(configFile, `[paths]\nvar = ${varDir}\n[gateway]\nlisten = 127.0.0.1:${port}\ntoken = ${TOKEN}\n${budgetLine}[influxdb]\nurl = ${influxUrl}\n`);
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), 'gateway', '--config', configFile], { stdio: 'ignore' });
  for (let tries = 0; ; tries += 1) {
    try {
      await fetch(`http://127.0.0.1:${port}/ping`);
      return { process: child, port };
    } catch {
      if (tries > 100) throw new Error('gateway did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function run(label: string, influxUrl: string, budgetLine: string, bodies: string[]): Promise<void> {
  const gateway = await startGateway(influxUrl, budgetLine);
  const url = `http://127.0.0.1:${gateway.port}/`;
  try {
    const ordinary = await post(url, JSON.stringify(Array.from({ length: 1000 }, (_, index) => ({ producer: 'bench-wide', type: 'ordinary', idb_tags: ['n'], n: String(index), value: index }))));
    const baseline = processMemoryMb(gateway.process.pid as number);
    let busy = 0;
    let slowestPingMs = 0;
    let done = false;
    const pings = (async () => {
      while (!done) {
        const started = Date.now();
        await fetch(`${url}ping`).then((response) => response.text());
        slowestPingMs = Math.max(slowestPingMs, Date.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const started = Date.now();
    const statuses = await Promise.all(
      bodies.map(async (body) => {
        for (;;) {
          const answer = await post(url, body);
          if (answer.status !== 503) return answer.status;
          busy += 1;
          await new Promise((resolve) => setTimeout(resolve, answer.retryAfterMs));
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    done = true;
    await pings;
    const after = processMemoryMb(gateway.process.pid as number);
    console.log(`${label}: ordinary request HTTP ${ordinary.status}, baseline RSS ${baseline.rss.toFixed(0)} MB (peak ${baseline.peak.toFixed(0)} MB)`);
    console.log(`  ${PARALLEL} parallel bodies: HTTP ${statuses.join(', ')} after ${busy} answers 503 + Retry-After, all stored in ${seconds.toFixed(1)} s`);
    console.log(`  peak RSS ${after.peak.toFixed(0)} MB = ${ratio(after.peak, baseline.rss)} the baseline; RSS after ${after.rss.toFixed(0)} MB; slowest /ping ${slowestPingMs} ms`);
  } finally {
    gateway.process.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const influx = await startInfluxDB();
  try {
    const timestampMs = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 86_400_000;
    const bodies = Array.from({ length: PARALLEL }, (_, request) => wideBody(request, timestampMs));
    console.log(`${PARALLEL} bodies of ${DOCUMENTS} documents x ${FIELDS} fields, ${(bodies[0].length / 1e6).toFixed(1)} MB each`);
    await run('default budget (max_inflight_bytes = 2 x max_body_bytes = 62914560)', influx.url, '', bodies);
    await run('budget of one body (max_inflight_bytes = max_body_bytes = 31457280)', influx.url, 'max_inflight_bytes = 31457280\n', bodies);
    await run('budget for all four at once (max_inflight_bytes = 1073741824, as before the budget)', influx.url, 'max_inflight_bytes = 1073741824\n', bodies);
  } finally {
    await influx.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
