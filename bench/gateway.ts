import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Point } from '@influxdata/influxdb-client';
import { PROJECT_ROOT } from '../lib/config/paths';
import { startInfluxDB } from '../test/support/services';
import { freePort } from '../test/support/ports';
import { inParallel, processCpuSeconds, processCpuTimes, processMemoryMb, ratio } from './support';

/**
 * Gateway throughput and CPU: typical documents (5 tags, 5 fields) in batches of 5,000 from 4 concurrent
 * senders, through the gateway into a private InfluxDB, against the same points written directly
 * to InfluxDB /write as line protocol in the same run. Targets: at least 0.7x the direct rate, and at
 * most 10 µs of gateway CPU (user + system) per document (issue 22: one core takes 100k documents/s).
 * BENCH_ROUNDS sends that many sets of documents through the one gateway, each reported on its own (the
 * first round also warms the gateway's JIT). BENCH_CPU_PROF=DIR starts the gateway with
 * `node --cpu-prof` writing its profile into DIR when it stops (read it with bench/gatewayProfile.ts).
 * BENCH_GATEWAY_NODE_FLAGS gives the gateway's node more flags, e.g. `--max-semi-space-size=64`.
 */
const DOCUMENTS = Number(process.env.BENCH_DOCUMENTS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const GATEWAY_NODE_FLAGS = (process.env.BENCH_GATEWAY_NODE_FLAGS ?? '').split(' ').filter(Boolean);
/** Issue 22's target for the gateway's CPU per document on the direct route. */
const TARGET_CPU_MICROSECONDS = 10;
const BATCH = 5000;
const CONCURRENCY = 4;
const TOKEN = 'bench-token-0123456789';

/** The benchmark's document mix: document `index` of a run whose times start at `base` (ms). */
export function benchDocument(index: number, base: number): Record<string, unknown> {
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
      const doc = benchDocument(index, base);
      const point = new Point('typical');
      for (const tag of doc.idb_tags as string[]) point.tag(tag, String(doc[tag]));
      for (const field of doc.idb_fields as string[]) point.floatField(field, doc[field] as number);
      return point.timestamp(String(doc.timestamp)).toLineProtocol({ convertTime: (value) => String(value) }) as string;
    });
    const lineBatches = batches(lines, BATCH).map((batch) => batch.join('\n'));
    const influxPid = Number(readFileSync(path.join(influx.dir, 'server.pid'), 'utf8'));
    let influxCpuBefore = processCpuSeconds(influxPid);
    let started = process.hrtime.bigint();
    await inParallel(lineBatches, CONCURRENCY, async (body) => {
      const response = await fetch(`${influx.url}/write?db=direct&precision=ms`, { method: 'POST', body });
      if (response.status !== 204) throw new Error(`direct write: HTTP ${response.status}`);
    });
    const directSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const directInfluxCpu = processCpuSeconds(influxPid) - influxCpuBefore;
    const directRate = DOCUMENTS / directSeconds;
    const perDocument = (seconds: number): string => `${((seconds / DOCUMENTS) * 1e6).toFixed(1)} µs`;
    console.log(`documents: ${DOCUMENTS} (5 tags, 5 fields), batches of ${BATCH}, ${CONCURRENCY} concurrent senders`);
    console.log(`direct InfluxDB /write:  ${Math.round(directRate)} documents/s (baseline); influxd CPU ${perDocument(directInfluxCpu)} per document`);

    // Through the gateway, a child process of its own so its CPU can be read.
    const varDir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'bench-gateway-'));
    const port = await freePort();
    const configFile = path.join(varDir, 'config.cfg');
    writeFileSync(configFile, `[paths]\nvar = ${varDir}\n[gateway]\nlisten = 127.0.0.1:${port}\ntoken = ${TOKEN}\n[influxdb]\nurl = ${influx.url}\n[monit]\nurl = http://127.0.0.1:${port}/\n`);
    const profiling = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(PROFILE_DIR)}`] : [];
    const gateway = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, ...profiling, path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), 'gateway', '--config', configFile], { stdio: 'ignore' });
    const exited = new Promise((resolve) => gateway.once('exit', resolve));
    try {
      for (let tries = 0; ; tries += 1) {
        try {
          if ((await fetch(`http://127.0.0.1:${port}/ping`)).ok) break;
        } catch {
          if (tries > 100) throw new Error('gateway did not start');
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      for (let round = 1; round <= ROUNDS; round += 1) {
        // Each round's points are new ones (earlier times), as the direct write's were: rewriting the same points costs InfluxDB less.
        const roundBase = base - (round - 1) * 1_000_000;
        const bodies = batches(Array.from({ length: DOCUMENTS }, (_, index) => benchDocument(index, roundBase)), BATCH).map((batch) => JSON.stringify(batch));
        const cpuBefore = processCpuTimes(gateway.pid as number);
        influxCpuBefore = processCpuSeconds(influxPid);
        started = process.hrtime.bigint();
        await inParallel(bodies, CONCURRENCY, async (body) => {
          const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
          if (response.status !== 200) throw new Error(`gateway: HTTP ${response.status}: ${await response.text()}`);
        });
        const gatewaySeconds = Number(process.hrtime.bigint() - started) / 1e9;
        const cpuAfter = processCpuTimes(gateway.pid as number);
        const user = cpuAfter.user - cpuBefore.user;
        const system = cpuAfter.system - cpuBefore.system;
        const gatewayInfluxCpu = processCpuSeconds(influxPid) - influxCpuBefore;
        const [stored] = await influx.client.rows(`SELECT count("cpu") AS n FROM "typical" WHERE time >= ${roundBase}ms AND time < ${roundBase + 1_000_000}ms`, {
          database: 'monit_production_bench',
        });
        const gatewayRate = DOCUMENTS / gatewaySeconds;
        const microseconds = ((user + system) / DOCUMENTS) * 1e6;
        console.log(`round ${round} of ${ROUNDS}:`);
        console.log(`  through the gateway:   ${Math.round(gatewayRate)} documents/s, stored ${String(stored?.n)}; influxd CPU ${perDocument(gatewayInfluxCpu)} per document`);
        console.log(`  ratio gateway/direct:  ${ratio(gatewayRate, directRate)} (target >= 0.70x)`);
        console.log(
          `  gateway CPU:           ${microseconds.toFixed(1)} µs per document (user ${perDocument(user)}, system ${perDocument(system)}) = ${ratio(microseconds, TARGET_CPU_MICROSECONDS)} the target of <= ${TARGET_CPU_MICROSECONDS} µs`,
        );
      }
      const memory = processMemoryMb(gateway.pid as number);
      console.log(`gateway node flags: ${GATEWAY_NODE_FLAGS.join(' ') || 'none'}; its peak RSS ${memory.peak.toFixed(0)} MB`);
    } finally {
      gateway.kill('SIGTERM');
      // The profile is written as the process exits.
      await exited;
    }
  } finally {
    await influx.stop();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
