import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config/paths';
import { freePort } from '../test/support/ports';
import { processMemoryMb, ratio } from './support';

/**
 * The gateway's memory when senders post bodies of far more documents than a request may hold: four
 * 30 MB bodies of 10 million `{}` each, against the same gateway's memory after one ordinary request
 * (the baseline). Target: the oversized bodies are refused without being parsed, so memory stays near
 * the baseline (a parse of each costs about 1 GB).
 */
const TOKEN = 'bench-token-0123456789';
const OVERSIZED_REQUESTS = 4;

async function post(url: string, body: string): Promise<{ status: number; text: string; ms: number }> {
  const started = Date.now();
  const response = await fetch(url, { method: 'POST', body, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
  return { status: response.status, text: (await response.text()).slice(0, 100), ms: Date.now() - started };
}

async function main(): Promise<void> {
  const varDir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'bench-oversized-'));
  const port = await freePort();
  const configFile = path.join(varDir, 'config.cfg');
  // No InfluxDB: an ordinary request is answered 503 after its parse, an oversized one 413 before it.
  writeFileSync(configFile, `[paths]\nvar = ${varDir}\n[gateway]\nlisten = 127.0.0.1:${port}\ntoken = ${TOKEN}\n[influxdb]\nurl = http://127.0.0.1:1\n[monit]\nurl = http://127.0.0.1:${port}/\n`);
  const gateway = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), 'gateway', '--config', configFile], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/`;
  try {
    for (let tries = 0; ; tries += 1) {
      try {
        await fetch(`http://127.0.0.1:${port}/ping`);
        break;
      } catch {
        if (tries > 100) throw new Error('gateway did not start');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const ordinary = await post(url, JSON.stringify(Array.from({ length: 5000 }, (_, index) => ({ producer: 'bench', type: 'oversized', value: index }))));
    const baseline = processMemoryMb(gateway.pid as number);
    console.log(`one ordinary request of 5,000 documents: HTTP ${ordinary.status}; gateway RSS ${baseline.rss.toFixed(0)} MB, peak ${baseline.peak.toFixed(0)} MB (baseline)`);
    const oversized = `[${Array(10_000_000).fill('{}').join(',')}]`;
    for (let request = 0; request < OVERSIZED_REQUESTS; request += 1) {
      const answer = await post(url, oversized);
      console.log(`oversized request ${request + 1} (${(oversized.length / 1e6).toFixed(0)} MB, 10,000,000 documents): HTTP ${answer.status} in ${answer.ms} ms: ${answer.text}`);
    }
    const after = processMemoryMb(gateway.pid as number);
    console.log(`after ${OVERSIZED_REQUESTS} oversized requests: RSS ${after.rss.toFixed(0)} MB, peak ${after.peak.toFixed(0)} MB`);
    console.log(`ratio RSS after / baseline: ${ratio(after.rss, baseline.rss)}; peak: ${ratio(after.peak, baseline.peak)} (target: near 1x)`);
  } finally {
    gateway.kill('SIGTERM');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
