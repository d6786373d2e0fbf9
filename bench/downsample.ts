/**
 * Benchmark of the downsample-1h job (not a test). Build with `npm run build`, then
 * `node dist/bench/downsample.js [--series 20000] [--year-series 20]`.
 *
 * Workload: one day of 10-minute data for ~20,000 series in a private InfluxDB 1.6. Measured in the
 * same run:
 *   - the job (runDownsample, first run, from the oldest point);
 *   - InfluxDB's own limit: one `SELECT mean(*) INTO … GROUP BY time(1h), *` over the same data;
 *   - a QMonit-style client: pull each hour's points into Node, average per series, write back.
 * Then a year of data for a few series is downsampled (1h, then 1d) and a Grafana-style one-year
 * query is timed on 1d against raw.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../test/support/ports';
import { promisify } from 'node:util';
import { Point } from '@influxdata/influxdb-client';
import { runDownsample } from '../downsample/downsample';
import { InfluxClient, type Series } from '../lib/influx/influxdb';
import { Logger } from '../lib/run/log';
import { PROJECT_ROOT } from '../lib/config/paths';
import { SchemaRegistry } from '../lib/documents/schemas';
import type { TypeSchema } from '../lib/documents/types';

const run = promisify(execFile);
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const SLOT_MS = 600_000;

const SCHEMA: TypeSchema = {
  producer: 'bench',
  type: 'node',
  description: 'Benchmark node metrics.',
  tags: { host: { description: 'Host.' }, site: { description: 'Site.' } },
  fields: {
    load: { type: 'float', unit: '1', description: 'A gauge.', downsample: 'mean' },
    jobs: { type: 'int', unit: 'count', description: 'A count per interval.', downsample: 'sum' },
    bytes_total: { type: 'int', unit: 'bytes', description: 'A cumulative counter.', downsample: 'last' },
    queue_peak: { type: 'int', unit: 'count', description: 'A peak.', downsample: 'max' },
  },
};
const FIELDS = Object.keys(SCHEMA.fields);
const DATABASE = 'monit_production_bench';
const YEAR_DATABASE = 'monit_production_bench_year';
const BASELINE_DATABASE = 'bench_baseline';
const CLIENT_SIDE_DATABASE = 'bench_client_side';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}


let influxdPid = 0;

/** CPU seconds used so far by influxd (user + system), from /proc: robust against a busy machine. */
function influxdCpuSeconds(): number {
  const fields = readFileSync(`/proc/${influxdPid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

interface Timing<T> {
  /** Wall time. */
  seconds: number;
  /** CPU time of influxd plus this process: the work itself, whatever else the machine runs. */
  cpuSeconds: number;
  value: T;
}

async function timed<T>(what: () => Promise<T>): Promise<Timing<T>> {
  const started = process.hrtime.bigint();
  const serverCpu = influxdCpuSeconds();
  const ownCpu = process.cpuUsage();
  const value = await what();
  const own = process.cpuUsage(ownCpu);
  return {
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    cpuSeconds: influxdCpuSeconds() - serverCpu + (own.user + own.system) / 1e6,
    value,
  };
}

function describe(timing: Timing<unknown>): string {
  return `${timing.seconds.toFixed(2)} s wall, ${timing.cpuSeconds.toFixed(2)} s CPU`;
}

/** Writes `series` series of 10-minute points over [startMs, endMs), 5,000 lines a request, 3 requests at once. */
async function writeData(client: InfluxClient, database: string, series: number, startMs: number, endMs: number): Promise<number> {
  let batch: string[] = [];
  let written = 0;
  const inFlight = new Set<Promise<void>>();
  const flush = async (): Promise<void> => {
    const body = batch.join('\n');
    batch = [];
    const request = client.write(database, body).finally(() => inFlight.delete(request));
    inFlight.add(request);
    if (inFlight.size >= 3) await Promise.race(inFlight);
  };
  for (let timeMs = startMs; timeMs < endMs; timeMs += SLOT_MS) {
    for (let index = 0; index < series; index++) {
      const phase = (timeMs / SLOT_MS + index) % 97;
      const point = new Point(SCHEMA.type)
        .tag('host', `host-${String(index).padStart(5, '0')}`)
        .tag('site', `site-${index % 50}`)
        .floatField('load', phase / 9.7)
        .intField('jobs', phase % 13)
        .intField('bytes_total', Math.floor((timeMs - startMs) / SLOT_MS) * 1000 + index)
        .intField('queue_peak', (phase * 7) % 101)
        .timestamp(timeMs);
      batch.push(point.toLineProtocol()!);
      written++;
      if (batch.length === 5000) await flush();
    }
  }
  if (batch.length) await flush();
  await Promise.all(inFlight);
  return written;
}

/** QMonit's way: per hour, pull every point into Node, average each series' fields, write the means back. */
async function clientSideDownsample(client: InfluxClient, dayStartMs: number): Promise<number> {
  let written = 0;
  for (let hourMs = dayStartMs; hourMs < dayStartMs + DAY_MS; hourMs += HOUR_MS) {
    const [series = []]: Series[][] = await client.query(
      `SELECT ${FIELDS.map((field) => `"${field}"`).join(', ')} FROM "${DATABASE}"."raw"."${SCHEMA.type}"` +
        ` WHERE time >= ${hourMs}ms AND time < ${hourMs + HOUR_MS}ms GROUP BY *`,
    );
    const lines: string[] = [];
    for (const one of series) {
      const point = new Point(SCHEMA.type).timestamp(hourMs);
      for (const [key, value] of Object.entries(one.tags ?? {})) point.tag(key, value);
      one.columns.forEach((column, index) => {
        if (column === 'time') return;
        const values = one.values.map((row) => row[index]).filter((value): value is number => typeof value === 'number');
        if (values.length) point.floatField(column, values.reduce((a, b) => a + b, 0) / values.length);
      });
      lines.push(point.toLineProtocol()!);
    }
    for (let i = 0; i < lines.length; i += 5000) await client.write(CLIENT_SIDE_DATABASE, lines.slice(i, i + 5000).join('\n'));
    written += lines.length;
  }
  return written;
}

async function main(): Promise<void> {
  const seriesCount = option('series', 20_000);
  const yearSeries = option('year-series', 20);
  const base = path.join(PROJECT_ROOT, 'var', 'bench');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(path.join(base, 'downsample-'));
  const port = await freePort();
  const services = path.join(PROJECT_ROOT, 'scripts', 'servers', 'services.sh');
  await run(services, ['start', 'influxdb', '--port', String(port), '--dir', path.join(dir, 'influxdb')], { timeout: 600_000 });
  influxdPid = Number(readFileSync(path.join(dir, 'influxdb', 'server.pid'), 'utf8'));
  const client = new InfluxClient(`http://127.0.0.1:${port}`, { timeoutMs: 3_600_000 });
  const log = new Logger('bench-downsample', undefined, false, false);
  const schemas = new SchemaRegistry([SCHEMA]);
  try {
    const durations = { raw: 'INF', '1h': 'INF', '1d': 'INF' };
    for (const database of [DATABASE, YEAR_DATABASE]) await client.ensureDatabase(database, durations);
    for (const database of [BASELINE_DATABASE, CLIENT_SIDE_DATABASE]) await client.query(`CREATE DATABASE "${database}"`);

    const dayStart = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS;
    console.log(`writing one day of 10-minute data for ${seriesCount} series...`);
    const write = await timed(() => writeData(client, DATABASE, seriesCount, dayStart, dayStart + DAY_MS));
    console.log(`  ${write.value} points in ${write.seconds.toFixed(1)} s (${Math.round(write.value / write.seconds)} points/s)`);
    await client.query(`SELECT count("load") FROM "${DATABASE}"."raw"."${SCHEMA.type}"`); // warm the caches

    const baseline = await timed(() =>
      client.query(
        `SELECT mean(*) INTO "${BASELINE_DATABASE}"."autogen"."${SCHEMA.type}" FROM "${DATABASE}"."raw"."${SCHEMA.type}"` +
          ` WHERE time >= ${dayStart}ms AND time < ${dayStart + DAY_MS}ms GROUP BY time(1h), *`,
      ),
    );
    const baselinePoints = baseline.value[0]?.[0]?.values[0]?.[1];
    console.log(`InfluxDB alone, SELECT mean(*) INTO … GROUP BY time(1h), *: ${describe(baseline)}, ${String(baselinePoints)} points`);

    const job = await timed(() =>
      runDownsample({
        resolution: '1h',
        influxdb: client,
        stateDir: path.join(dir, 'state-1h'),
        log,
        nowMs: dayStart + DAY_MS + 30 * 60_000,
        schemas,
        databases: [DATABASE],
      }),
    );
    console.log(`downsample-1h job: ${describe(job)}, ${job.value.queries} queries, ${job.value.pointsWritten} points`);

    const clientSide = await timed(() => clientSideDownsample(client, dayStart));
    console.log(`client-side (QMonit-style): ${describe(clientSide)}, ${clientSide.value} points`);

    console.log('');
    const ratio = (a: Timing<unknown>, b: Timing<unknown>): string =>
      `${(a.seconds / b.seconds).toFixed(2)}x wall, ${(a.cpuSeconds / b.cpuSeconds).toFixed(2)}x CPU`;
    console.log(`job / InfluxDB's own query: ${ratio(job, baseline)} (target: at most 1.5x)`);
    console.log(`client-side / job: ${ratio(clientSide, job)} (how much slower pulling into Node is)`);

    console.log('');
    const yearStart = dayStart + DAY_MS - 365 * DAY_MS;
    const yearEnd = dayStart + DAY_MS;
    console.log(`writing one year of 10-minute data for ${yearSeries} series...`);
    const yearWrite = await timed(() => writeData(client, YEAR_DATABASE, yearSeries, yearStart, yearEnd));
    console.log(`  ${yearWrite.value} points in ${yearWrite.seconds.toFixed(1)} s`);
    const nowMs = yearEnd + 30 * 60_000;
    const hourly = await timed(() => runDownsample({ resolution: '1h', influxdb: client, stateDir: path.join(dir, 'year-1h'), log, nowMs, schemas, databases: [YEAR_DATABASE], chunkMs: 7 * DAY_MS }));
    const daily = await timed(() =>
      runDownsample({ resolution: '1d', influxdb: client, stateDir: path.join(dir, 'year-1d'), sourceStateDir: path.join(dir, 'year-1h'), log, nowMs, schemas, databases: [YEAR_DATABASE] }),
    );
    console.log(`  first runs over the year: 1h ${hourly.seconds.toFixed(1)} s (${hourly.value.queries} queries), 1d ${daily.seconds.toFixed(1)} s (${daily.value.queries} queries)`);

    const grafana = (retentionPolicy: string): string =>
      `SELECT mean("load") FROM "${YEAR_DATABASE}"."${retentionPolicy}"."${SCHEMA.type}" WHERE time >= ${yearStart}ms AND time < ${yearEnd}ms GROUP BY time(1d), "host" fill(null)`;
    const best = async (retentionPolicy: string): Promise<number> => {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) times.push((await timed(() => client.query(grafana(retentionPolicy)))).seconds);
      return Math.min(...times);
    };
    const onRaw = await best('raw');
    const onDaily = await best('1d');
    console.log(`one-year Grafana query, mean(load) GROUP BY time(1d), host (best of 3): raw ${(onRaw * 1000).toFixed(0)} ms, 1d ${(onDaily * 1000).toFixed(0)} ms`);
    console.log(`raw / 1d: ${(onRaw / onDaily).toFixed(1)}x`);
  } finally {
    await run(services, ['stop', path.join(dir, 'influxdb')], { timeout: 60_000 });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
