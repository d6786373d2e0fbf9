/**
 * One measured process of bench/status.ts, so that each peak RSS is that of one task alone:
 *   write URL QUEUES NOW_MS                        writes the benchmark's data, one batch at a time
 *   job URL INFLUXD_PID NOW_MS REPEATS VAR_DIR       the whole status job (runStatus): a first run with no state, then REPEATS
 *   rule URL INFLUXD_PID NOW_MS REPEATS prefilter|quiet|stale|none  the per-series rule alone (readPartData + evaluatePart):
 *     a first read with nothing remembered, then REPEATS given the newest series it found (stale: a series
 *     never fresh, so each run reads it and then every series)
 * Prints one JSON line: the times (ms) and InfluxDB's CPU seconds of each run, the first one's apart, the
 * process's peak RSS and the largest V8 heap seen (MB).
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
import { readPartData, type SeriesTags } from '../status/query';
import { benchSettings, benchTimes, perSeriesPart, QUIET_PREFILTER, STATUS_PERIOD_MS, writeBenchData } from './statusData';
import { processCpuSeconds } from './support';

export interface ChildReport {
  /** The repeated runs: wall times (ms) and InfluxDB's CPU seconds during each. */
  timesMs: number[];
  influxdCpu: number[];
  /** The first run, with nothing remembered from an earlier one (absent for the writer). */
  first?: { timeMs: number; influxdCpu: number };
  maxRssMb: number;
  maxHeapMb: number;
  detail: string;
}

const MB = 1024 * 1024;

/** Runs `task` once unrepeated ("first") then `repeats` times, timing each and InfluxDB's CPU during it. */
async function timedRuns(repeats: number, influxdPid: number | undefined, task: () => Promise<string>, withFirst = true): Promise<Omit<ChildReport, 'maxRssMb' | 'maxHeapMb'>> {
  const timesMs: number[] = [];
  const influxdCpu: number[] = [];
  let first: ChildReport['first'];
  let detail = '';
  for (let index = withFirst ? -1 : 0; index < repeats; index++) {
    const cpuBefore = influxdPid ? processCpuSeconds(influxdPid) : 0;
    const started = performance.now();
    detail = await task();
    const timeMs = performance.now() - started;
    const cpu = influxdPid ? processCpuSeconds(influxdPid) - cpuBefore : 0;
    if (index < 0) first = { timeMs, influxdCpu: cpu };
    else {
      timesMs.push(timeMs);
      influxdCpu.push(cpu);
    }
  }
  return { timesMs, influxdCpu, first, detail };
}

async function main(): Promise<void> {
  const [role, ...args] = process.argv.slice(2);
  // Samples the V8 heap, to tell what the JavaScript side holds from what the process maps.
  let maxHeap = 0;
  const sampler = setInterval(() => {
    maxHeap = Math.max(maxHeap, getHeapStatistics().used_heap_size);
  }, 20);
  let result: Omit<ChildReport, 'maxRssMb' | 'maxHeapMb'>;
  switch (role) {
    case 'write': {
      const [url, queues, nowMs] = args;
      result = await timedRuns(1, undefined, async () => `${await writeBenchData(new InfluxClient(url, { timeoutMs: 600_000 }), Number(queues), Number(nowMs))} jobs_derived points`, false);
      break;
    }
    case 'job': {
      const [url, influxdPid, nowMs, repeats, varDir] = args;
      const influxdb = new InfluxClient(url, { timeoutMs: 600_000 });
      const settings = benchSettings(varDir, url);
      const { slotMs, evaluateAtMs } = benchTimes(Number(nowMs));
      mkdirSync(path.join(varDir, 'state'), { recursive: true });
      result = await timedRuns(Number(repeats), Number(influxdPid), async () => {
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
      const [url, influxdPid, nowMs, repeats, filter] = args;
      const influxdb = new InfluxClient(url, { timeoutMs: 600_000 });
      const { evaluateAtMs } = benchTimes(Number(nowMs));
      const part = perSeriesPart();
      const rule = { ...part, prefilter: filter === 'none' ? undefined : filter === 'quiet' ? QUIET_PREFILTER : part.prefilter };
      const heartbeat = { timeMs: evaluateAtMs, ok: true, timedOut: false, message: '' };
      // 'stale': the remembered series is never fresh (it stopped being written), so every run takes the fallback.
      const gone: SeriesTags = { queue: 'gone' };
      let newestSeries: SeriesTags | undefined = filter === 'stale' ? gone : undefined;
      result = await timedRuns(Number(repeats), Number(influxdPid), async () => {
        const data = await readPartData(influxdb, rule, evaluateAtMs, 'raw', { newestSeries, rememberedWithinMs: STATUS_PERIOD_MS });
        newestSeries = filter === 'stale' ? gone : data.newestSeries;
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
