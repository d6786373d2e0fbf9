import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { databaseFor } from '../lib/documents/interpret';
import { qualifiedMeasurement, quoteIdentifier, quoteString, timeLiteral } from '../lib/influx/influxql';
import { startInfluxDB, testDir } from '../test/support/services';
import type { PartRule } from '../status/rules';
import { benchSettings, benchTimes, PER_SERIES_MODULE } from './statusData';
import type { ChildReport } from './statusChild';
import { median, processCpuSeconds, ratio } from './support';

/**
 * The status job at PanDA scale: every shipped module plus a per-series rule a user may write over
 * panda/jobs_derived (2,500 queues × 2 prod sources × 3 resources × 8 states = 120k series, three slots,
 * prefilter `suspicious == true`), heartbeats and the page's snapshot (30 days of status documents).
 * Each task runs in a process of its own (bench/statusChild.ts), which reports its peak RSS: the writer,
 * the whole job, the per-series rule alone (with its prefilter; quiet, no point passing; with its
 * remembered newest series stale, the fallback; without its prefilter). Each reports its first run
 * (nothing remembered) apart from the repeats, and InfluxDB's CPU time per run.
 * Baseline, in the same run: InfluxDB's own bare count (no GROUP BY) over the points each part's freshness
 * check reads (its `where`, its freshness window; the aggregates read a subset of them), one statement per
 * part, one after the other.
 */
const QUEUES = Number(process.env.BENCH_QUEUES ?? 2500);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const run = promisify(execFile);

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Runs one role of bench/statusChild.ts in a fresh process; its report is the last line it prints. */
async function child(...args: string[]): Promise<ChildReport> {
  const { stdout } = await run(process.execPath, [path.join(__dirname, 'statusChild.js'), ...args], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as ChildReport;
}

/** The bare count over the points a part's freshness check reads. */
function baselineStatement(part: PartRule, nowMs: number): string {
  const where = part.where.map(({ tag, value }) => ` AND ${quoteIdentifier(tag)} = ${quoteString(value)}`).join('');
  return `SELECT count(${quoteIdentifier(part.fields[0])}) FROM ${qualifiedMeasurement(databaseFor(part.producer), 'raw', part.type)} WHERE time > ${timeLiteral(nowMs - part.freshnessMs)} AND time <= ${timeLiteral(nowMs)}${where}`;
}

async function main(): Promise<void> {
  const influx = await startInfluxDB();
  try {
    // InfluxDB's CPU time as well as wall times: on a shared machine it varies far less with the load.
    const influxdPid = Number(readFileSync(path.join(influx.dir, 'server.pid'), 'utf8'));
    const influxdCpu = (): number => processCpuSeconds(influxdPid);
    const nowMs = Date.now();
    const { evaluateAtMs } = benchTimes(nowMs);
    const write = await child('write', influx.url, String(QUEUES), String(nowMs));
    console.log(`writer: ${write.detail} in ${seconds(write.timesMs[0])}; peak RSS ${write.maxRssMb.toFixed(0)} MB (largest heap ${write.maxHeapMb.toFixed(0)} MB)`);

    const parts = [...new Set(benchSettings(testDir('bench-status'), influx.url).rules.flatMap((rule) => rule.parts))];
    const statements = parts.map((part) => baselineStatement(part, evaluateAtMs));
    const counts = new Map<PartRule, number>();
    const baselineTimes: number[] = [];
    const baselineCpu: number[] = [];
    const perSeriesTimes: number[] = [];
    const perSeriesCpu: number[] = [];
    const measureBaseline = async (): Promise<void> => {
      let total = 0;
      const cpuBefore = influxdCpu();
      for (const [index, statement] of statements.entries()) {
        const statementCpu = influxdCpu();
        const started = performance.now();
        const [[series] = []] = await influx.client.query(statement);
        const took = performance.now() - started;
        total += took;
        if (parts[index].name === PER_SERIES_MODULE) {
          perSeriesTimes.push(took);
          perSeriesCpu.push(influxdCpu() - statementCpu);
        }
        counts.set(parts[index], Number(series?.values[0]?.[1] ?? 0));
      }
      baselineTimes.push(total);
      baselineCpu.push(influxdCpu() - cpuBefore);
    };
    // Once unmeasured: the first read after the writes pays for InfluxDB's cache and index.
    await measureBaseline();
    baselineTimes.length = 0;
    baselineCpu.length = 0;
    perSeriesTimes.length = 0;
    perSeriesCpu.length = 0;
    for (let index = 0; index < REPEATS; index++) await measureBaseline();

    const job = await child('job', influx.url, String(influxdPid), String(nowMs), String(REPEATS), testDir('bench-status-job'));
    const withPrefilter = await child('rule', influx.url, String(influxdPid), String(nowMs), String(REPEATS), 'prefilter');
    const quiet = await child('rule', influx.url, String(influxdPid), String(nowMs), String(REPEATS), 'quiet');
    const stale = await child('rule', influx.url, String(influxdPid), String(nowMs), String(REPEATS), 'stale');
    const withoutPrefilter = await child('rule', influx.url, String(influxdPid), String(nowMs), String(REPEATS), 'none');
    // Again after the job: the machine is shared, so the baseline is the median of both rounds.
    for (let index = 0; index < REPEATS; index++) await measureBaseline();

    const points = [...counts.values()].reduce((sum, count) => sum + count, 0);
    const baseline = median(baselineTimes);
    const cpuBaseline = median(baselineCpu);
    const perSeriesBaseline = median(perSeriesTimes);
    const perSeriesCpuBaseline = median(perSeriesCpu);
    const jobTime = median(job.timesMs);
    console.log(`job's statuses:\n  ${job.detail.split('\n').join('\n  ')}`);
    console.log(`per-series rule (prefilter): ${withPrefilter.detail}`);
    console.log(`same, quiet (no point passes): ${quiet.detail}`);
    console.log(`same, remembered series stale: ${stale.detail}`);
    console.log(`without prefilter: ${withoutPrefilter.detail}`);
    console.log(`baseline: bare counts over the ${points} points the ${parts.length} parts' freshness checks read: ${seconds(baseline)} (${baselineTimes.map(seconds).join(', ')}); InfluxDB CPU ${cpuBaseline.toFixed(2)} s`);
    console.log(`  of which the jobs_derived bare count (${counts.get(parts.find((part) => part.name === PER_SERIES_MODULE) as PartRule)} points): ${seconds(perSeriesBaseline)}; InfluxDB CPU ${perSeriesCpuBaseline.toFixed(2)} s`);
    const firstRun = (report: ChildReport, wallBaseline: number, cpuOfBaseline: number): string =>
      report.first ? `; first run (nothing remembered): ${seconds(report.first.timeMs)} = ${ratio(report.first.timeMs, wallBaseline)}, InfluxDB CPU ${report.first.influxdCpu.toFixed(2)} s = ${ratio(report.first.influxdCpu, cpuOfBaseline)}` : '';
    console.log(`whole status job (runStatus):     ${seconds(jobTime)} = ${ratio(jobTime, baseline)} the baseline (${job.timesMs.map(seconds).join(', ')}); peak RSS ${job.maxRssMb.toFixed(0)} MB (largest heap ${job.maxHeapMb.toFixed(0)} MB)`);
    console.log(`  InfluxDB CPU per job run ${median(job.influxdCpu).toFixed(2)} s = ${ratio(median(job.influxdCpu), cpuBaseline)} the baseline's${firstRun(job, baseline, cpuBaseline)}`);
    const rules = [
      ['per-series rule alone (prefilter)', withPrefilter],
      ['same rule, quiet (no point passes)', quiet],
      ['same rule, its remembered series stale (the fallback, every run)', stale],
      ['same rule without its prefilter', withoutPrefilter],
    ] as const;
    for (const [name, report] of rules) {
      const time = median(report.timesMs);
      console.log(
        `${name}: ${seconds(time)} = ${ratio(time, perSeriesBaseline)} the jobs_derived bare count; InfluxDB CPU ${median(report.influxdCpu).toFixed(2)} s = ${ratio(median(report.influxdCpu), perSeriesCpuBaseline)}; ` +
          `peak RSS ${report.maxRssMb.toFixed(0)} MB (largest heap ${report.maxHeapMb.toFixed(0)} MB)${firstRun(report, perSeriesBaseline, perSeriesCpuBaseline)}`,
      );
    }
  } finally {
    await influx.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
