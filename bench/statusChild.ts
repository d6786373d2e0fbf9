/**
 * One measured process of bench/status.ts, so that each peak RSS is that of one task alone:
 *   write URL QUEUES NOW_MS               writes the benchmark's data, one batch at a time
 *   job URL NOW_MS REPEATS VAR_DIR        the whole status job (runStatus), REPEATS times
 *   rule URL NOW_MS REPEATS prefilter|none  the per-series rule alone (readPartData + evaluatePart), REPEATS times
 * Prints one JSON line: the times (ms), the process's peak RSS and the largest V8 heap seen (MB).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { Config } from '../lib/config/config';
import { DocumentFactory } from '../lib/documents/document';
import { InfluxClient } from '../lib/influx/influxdb';
import { MemoryLogger } from '../lib/run/log';
import { evaluatePart } from '../status/evaluate';
import { runStatus } from '../status/job';
import { readPartData } from '../status/query';
import { benchSettings, benchTimes, perSeriesPart, writeBenchData } from './statusData';

export interface ChildReport {
  timesMs: number[];
  maxRssMb: number;
  maxHeapMb: number;
  detail: string;
}

const MB = 1024 * 1024;

async function timedRuns(repeats: number, task: () => Promise<string>): Promise<{ timesMs: number[]; detail: string }> {
  const timesMs: number[] = [];
  let detail = '';
  for (let index = 0; index < repeats; index++) {
    const started = performance.now();
    detail = await task();
    timesMs.push(performance.now() - started);
  }
  return { timesMs, detail };
}

async function main(): Promise<void> {
  const [role, ...args] = process.argv.slice(2);
  // Samples the V8 heap, to tell what the JavaScript side holds from what the process maps.
  let maxHeap = 0;
  const sampler = setInterval(() => {
    maxHeap = Math.max(maxHeap, getHeapStatistics().used_heap_size);
  }, 20);
  let result: { timesMs: number[]; detail: string };
  switch (role) {
    case 'write': {
      const [url, queues, nowMs] = args;
      result = await timedRuns(1, async () => `${await writeBenchData(new InfluxClient(url, { timeoutMs: 600_000 }), Number(queues), Number(nowMs))} jobs_derived points`);
      break;
    }
    case 'job': {
      const [url, nowMs, repeats, varDir] = args;
      const influxdb = new InfluxClient(url, { timeoutMs: 600_000 });
      const settings = benchSettings(varDir, url);
      const { slotMs, evaluateAtMs } = benchTimes(Number(nowMs));
      mkdirSync(path.join(varDir, 'state'), { recursive: true });
      result = await timedRuns(Number(repeats), async () => {
        const run = await runStatus({
          config: Config.parse('[status]\n', 'bench.cfg'),
          settings,
          influxdb,
          documents: new DocumentFactory({ slotMs, host: 'bench' }),
          log: new MemoryLogger('status'),
          stateDir: path.join(varDir, 'state'),
          nowMs: evaluateAtMs,
        });
        return run.statuses.map((status) => `${status.module}: ${status.state} (${status.reason})`).join('\n');
      });
      break;
    }
    case 'rule': {
      const [url, nowMs, repeats, filter] = args;
      const influxdb = new InfluxClient(url, { timeoutMs: 600_000 });
      const { evaluateAtMs } = benchTimes(Number(nowMs));
      const part = perSeriesPart();
      const rule = filter === 'prefilter' ? part : { ...part, prefilter: undefined };
      const heartbeat = { timeMs: evaluateAtMs, ok: true, timedOut: false, message: '' };
      result = await timedRuns(Number(repeats), async () => {
        const data = await readPartData(influxdb, rule, evaluateAtMs, 'raw');
        return `${data.series.length} series read; ${evaluatePart(rule, { nowMs: evaluateAtMs, heartbeat, ...data }).reason}`;
      });
      break;
    }
    default:
      throw new Error(`unknown role '${role}' (write, job, rule)`);
  }
  clearInterval(sampler);
  maxHeap = Math.max(maxHeap, getHeapStatistics().used_heap_size);
  const report: ChildReport = { ...result, maxRssMb: process.resourceUsage().maxRSS / 1024, maxHeapMb: maxHeap / MB };
  console.log(JSON.stringify(report));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
