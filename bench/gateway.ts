import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Point } from '@influxdata/influxdb-client';
import { PROJECT_ROOT } from '../lib/config/paths';
import { startInfluxDB } from '../test/support/services';
import { freePort } from '../test/support/ports';
import { inParallel, processCpuSeconds, ratio } from './support';

/**
 * Gateway throughput: typical documents (5 tags, 5 fields) in batches of 5,000 from 4 concurrent
 * senders, through the gateway into a private InfluxDB, against the same points written directly
 * to InfluxDB /write as line protocol in the same run. Target: at least 0.7x the direct rate.
 */
const DOCUMENTS = Number(process.env.BENCH_DOCUMENTS ?? 200_000);
const BATCH = 5000;
const CONCURRENCY = 4;
const TOKEN = 'bench-token-0123456789';

function document(index: number, base: number): Record<string, unknown> {
  return {
    producer: 'bench',
    type: 'typical',
    timestamp: base + (index % 1000) * 1000,
    idb_tags: ['site', 'cluster', 'node', 'service', 'queue'],
    idb_fields: ['cpu', 'memory', 'jobs', 'latency', 'errors'],
    site: `site-${index % 50}`,
    cluster: `cluster-${index % 7}`,
    node: `node-${Math.floor(index / 1000)}`,
    service: `service-${index % 3}`,
    queue: `queue-${index % 11}`,
    cpu: (index % 100) / 3,
    memory: index * 1.5,
    jobs: index % 400,
    latency: (index % 97) * 0.7,
    errors: index % 5,
  };
}

function batches<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, index) => items.slice(index * size, (index + 1) * size));
}

async function main(): Promise<void> {
  const influx = await startInfluxDB();
  const base = Date.now() - 3_600_000;
  try {
    await influx.client.query('CREATE DATABASE "direct"');
    await influx.client.query('CREATE DATABASE "monit_production_bench"');
    await influx.client.query('CREATE RETENTION POLICY "raw" ON "monit_production_bench" DURATION 30d REPLICATION 1 DEFAULT');

    // Baseline: the same points as line protocol straight to InfluxDB.
    const lines = Array.from({ length: DOCUMENTS }, (_, index) => {
      const doc = document(index, base);
      const point = new Point('typical');
      for (const tag of doc.idb_tags as string[]) point.tag(tag, String(doc[tag]));
      for (const field of doc.idb_fields as string[]) point.floatField(field, doc[field] as number);
      return point.timestamp(String(doc.timestamp)).toLineProtocol({ convertTime: (value) => String(value) }) as string;
    });
    const lineBatches = batches(lines, BATCH).map((batch) => batch.join('\n'));
    let started = process.hrtime.bigint();
    await inParallel(lineBatches, CONCURRENCY, async (body) => {
      const response = await fetch(`${influx.url}/write?db=direct&precision=ms`, { method: 'POST', body });
      if (response.status !== 204) throw new Error(`direct write: HTTP ${response.status}`);
    });
    const directSeconds = Number(process.hrtime.bigint() - started) / 1e9;

    // Through the gateway, a child process of its own so its CPU can be read.
    const varDir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'bench-gateway-'));
    const port = await freePort();
    const configFile = path.join(varDir, 'config.cfg');
    writeFileSync(configFile, `[paths]\nvar = ${varDir}\n[gateway]\nlisten = 127.0.0.1:${port}\ntoken = ${TOKEN}\n[influxdb]\nurl = ${influx.url}\n[monit]\nurl = http://127.0.0.1:${port}/\n`);
    const gateway = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), 'gateway', '--config', configFile], { stdio: 'ignore' });
    try {
      for (let tries = 0; ; tries += 1) {
        try {
          if ((await fetch(`http://127.0.0.1:${port}/ping`)).ok) break;
        } catch {
          if (tries > 100) throw new Error('gateway did not start');
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const bodies = batches(Array.from({ length: DOCUMENTS }, (_, index) => document(index, base)), BATCH).map((batch) => JSON.stringify(batch));
      const cpuBefore = processCpuSeconds(gateway.pid as number);
      started = process.hrtime.bigint();
      await inParallel(bodies, CONCURRENCY, async (body) => {
        const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
        if (response.status !== 200) throw new Error(`gateway: HTTP ${response.status}: ${await response.text()}`);
      });
      const gatewaySeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const gatewayCpu = processCpuSeconds(gateway.pid as number) - cpuBefore;
      const [stored] = await influx.client.rows('SELECT count("cpu") AS n FROM "typical"', { database: 'monit_production_bench' });
      const directRate = DOCUMENTS / directSeconds;
      const gatewayRate = DOCUMENTS / gatewaySeconds;
      console.log(`documents: ${DOCUMENTS} (5 tags, 5 fields), batches of ${BATCH}, ${CONCURRENCY} concurrent senders`);
      console.log(`direct InfluxDB /write:  ${Math.round(directRate)} documents/s (baseline)`);
      console.log(`through the gateway:     ${Math.round(gatewayRate)} documents/s, stored ${String(stored?.n)}`);
      console.log(`ratio gateway/direct:    ${ratio(gatewayRate, directRate)} (target >= 0.70x)`);
      console.log(`gateway CPU:             ${((gatewayCpu / DOCUMENTS) * 1000 * 1000).toFixed(1)} ms per 1,000 documents`);
    } finally {
      gateway.kill('SIGTERM');
    }
  } finally {
    await influx.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
