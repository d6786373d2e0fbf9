/**
 * Benchmark of PanDA's cycles at production scale (2,500 queues × 2 prod sources × 3 resources × 8 states =
 * 120,000 series), with a realistic history in a real InfluxDB (24h raw, 7d of 1h, 30d of 1d).
 *
 *   npm run build && node dist/bench/panda.js [--queues N] [--raw-slots N] [--hours N] [--days N] [--per-series-sample N]
 *
 * BENCH_VERBOSE=1 prints every InfluxDB query with its time; BENCH_KEEP=1 keeps the InfluxDB data and the
 * runner's var folder (about a gigabyte) instead of removing them.
 *
 * A cycle is what the schedule runs in one slot: `./run.sh panda`, then `./run.sh panda-derived`. Each job runs
 * in a child process of its own (so its peak RSS is its own), with its node flags, through the job runner:
 * - panda: fetch PanDA and CRIC from a local HTTP server, enrich, build and validate every document, spool,
 *   send through the gateway (running in the parent process, like a separate service) into InfluxDB, heartbeat;
 * - panda-derived: find panda's heartbeat and the slot's points in InfluxDB, read the moving averages (grouped
 *   queries and its slot store), build, validate, spool and send the jobs_derived documents, heartbeat.
 * Five cycles: the first run (nothing cached, 23:40), the second run (23:50), a steady run (00:00), a steady
 * run without heap caps and with CRIC due (00:10), and the daily run at 00:40 with CRIC due. Each job starts once
 * influxd is idle (in production the period's idle minutes absorb its compactions; panda-derived starts minutes
 * after panda), and reports the CPU time influxd, the job and the gateway spent on it, its share of the 10-minute period and
 * its peak RSS against the targets.
 * Between the second run and the steady ones, a child fills panda-derived's slot store with the day's raw
 * points, as the runs of the day would have (not measured).
 * A last child reads the averages of a run at 00:50 as panda-derived does (with the state the cycles left),
 * then the straightforward way, one request per series, on a sample; checks they agree, and extrapolates the
 * per-series time to all series.
 */
import { execFile, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Point } from '@influxdata/influxdb-client';
import pLimit from 'p-limit';
import { Config } from '../lib/config/config';
import { InfluxClient } from '../lib/influx/influxdb';
import { quoteIdentifier, quoteString } from '../lib/influx/influxql';
import { databaseFor } from '../lib/documents/interpret';
import { Logger, MemoryLogger } from '../lib/run/log';
import type { MonitDocument } from '../lib/documents/types';
import { runPeriodicJob, type PeriodicJob } from '../lib/run/jobRunner';
import { startGateway } from '../gateway/server';
import { PROJECT_ROOT } from '../lib/config/paths';
import { schemaRegistry } from '../lib/documents/schemas';
import { slotStart, TEN_MINUTES_MS } from '../lib/run/slot';
import { findEntry } from '../cli/registry';
import collector from '../collectors/panda/collector';
import derivedJob from '../collectors/panda/derivedJob';
import { averageStatement, derivedStateIn, fingerprintOf, HISTORY_QUERIES_AT_ONCE, planWindows, readHistory, readSlots, RENEWAL_GROUPS, type SeriesHistory } from '../collectors/panda/derived';
import { renewalGroupOf } from '../collectors/panda/averageCache';
import { SlotStore } from '../collectors/panda/slotStore';
import { seriesKey, seriesTags } from '../collectors/panda/documents';
import { parseCric, type QueueDirectory } from '../collectors/panda/cric';
import { descriptionKeys } from '../collectors/panda/test/sources';
import { PANDA_CACHE_FILES, syntheticDescriptionRoutes } from '../collectors/panda/test/syntheticDescriptions';
import { FixtureServer } from '../collectors/panda/test/fixtureServer';
import { parseJobStatistics } from '../collectors/panda/jobStatistics';
import { DERIVED_JOB, PANDA_JOB } from '../collectors/panda/names';
import { readDerivedSettings } from '../collectors/panda/settings';
import { PANDA_JOBS, PANDA_JOBS_DERIVED, PANDA_JOBS_TERMINAL } from '../schemas/kinds';
import { randomGenerator } from '../test/support/random';
import { RecordingInfluxClient } from '../test/support/recordingInfluxClient';
import { PRODUCTION_SHAPE, queueName, RealisticDay, syntheticCricAnswer, type SyntheticShape } from '../collectors/panda/test/synthetic';

const run = promisify(execFile);
const DATABASE = databaseFor(PANDA_JOBS.producer);
const TYPES = { jobs: PANDA_JOBS.type, jobsTerminal: PANDA_JOBS_TERMINAL.type, derived: PANDA_JOBS_DERIVED.type };
const JOBS_FIELD = PANDA_JOBS.fields.jobs;
const PERIOD_MS = 10 * 60_000;
const TERMINAL = new Set(['finished', 'failed', 'cancelled', 'closed']);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** panda-derived's settings at their defaults (the benchmark's config sets none of them): windows, averaged statuses. */
const DERIVED_DEFAULTS = ((config: Config) => readDerivedSettings(config.section(PANDA_JOB), config.section(DERIVED_JOB)))(Config.parse('[panda]\n'));

interface Options {
  queues: number;
  rawSlots: number;
  hours: number;
  days: number;
  perSeriesSample: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { queues: PRODUCTION_SHAPE.queues, rawSlots: 144, hours: 168, days: 30, perSeriesSample: 1000 };
  const names: Record<string, keyof Options> = { '--queues': 'queues', '--raw-slots': 'rawSlots', '--hours': 'hours', '--days': 'days', '--per-series-sample': 'perSeriesSample' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    const value = Number(argv[i + 1]);
    if (!key || !Number.isInteger(value) || value < 0) throw new Error(`usage: node dist/bench/panda.js [--queues N] [--raw-slots N] [--hours N] [--days N] [--per-series-sample N] (bad: ${argv[i]} ${argv[i + 1]})`);
    options[key] = value;
  }
  return options;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Writes line protocol in batches of 5,000, a few batches at a time. */
async function writeLines(client: InfluxClient, retentionPolicy: string, lines: Iterable<string>): Promise<number> {
  const limit = pLimit(3);
  const pending: Array<Promise<void>> = [];
  let batch: string[] = [];
  let count = 0;
  const flush = (): void => {
    const body = batch.join('\n');
    batch = [];
    pending.push(limit(() => client.write(DATABASE, body, { retentionPolicy, precision: 'ms' })));
  };
  for (const line of lines) {
    batch.push(line);
    count++;
    if (batch.length === 5000) flush();
    if (pending.length >= 6) await Promise.all(pending.splice(0, pending.length - 3));
  }
  if (batch.length) flush();
  await Promise.all(pending);
  return count;
}

const toMs = (time: string | number | Date | undefined): string => String(time);

/**
 * The history of every series from the realistic day's model (collectors/panda/test/synthetic.ts RealisticDay):
 * raw points every 10 minutes, hourly and daily downsampled points (means of the model over the hour or day), so
 * that the slot's counts (the same model at the slot) continue their history.
 */
function* historyLines(day: RealisticDay, directory: QueueDirectory, retentionPolicy: 'raw' | '1h' | '1d', slotMs: number, options: Options): Generator<string> {
  const [steps, stepMs] = retentionPolicy === 'raw' ? [options.rawSlots, PERIOD_MS] : retentionPolicy === '1h' ? [options.hours, HOUR] : [options.days, DAY];
  const slotsPerPoint = stepMs / PERIOD_MS;
  const { prodSources, resources, states } = day.shape;
  const values = new Float64Array(day.seriesPerQueue);
  for (let q = 0; q < day.shape.queues; q++) {
    const queue = queueName(q);
    // The very tags the collector writes, so that history and new points are one series, as in production.
    const points: Array<{ point: Point; terminal: boolean }> = [];
    for (const prodSource of prodSources) {
      for (const resource of resources) {
        for (const jobStatus of states) {
          const terminal = TERMINAL.has(jobStatus);
          const point = new Point(terminal ? TYPES.jobsTerminal : TYPES.jobs);
          for (const [tag, value] of Object.entries(seriesTags({ queue, prodSource, resource, jobStatus }, directory.lookUp(queue)))) point.tag(tag, value);
          points.push({ point, terminal });
        }
      }
    }
    for (let step = 1; step <= steps; step++) {
      const timeMs = slotMs - step * stepMs;
      if (retentionPolicy === 'raw') day.queueCounts(q, timeMs, values);
      else day.queueMeans(q, timeMs, stepMs, values);
      for (const [index, { point, terminal }] of points.entries()) {
        if (retentionPolicy === 'raw') point.intField(JOBS_FIELD, values[index]);
        else point.floatField(JOBS_FIELD, terminal ? values[index] * slotsPerPoint : values[index]);
        point.timestamp(timeMs);
        yield point.toLineProtocol({ convertTime: toMs }) ?? '';
      }
    }
  }
}

const peakRssMB = (): number => process.resourceUsage().maxRSS / 1024;

/** A client that adds up the time spent in queries and, with BENCH_VERBOSE set, prints each. */
function timedClient(url: string): RecordingInfluxClient {
  const client = new RecordingInfluxClient(url, { timeoutMs: 600_000 });
  if (process.env.BENCH_VERBOSE) {
    client.onStatement = (text, elapsedMs) => console.error(`  query ${seconds(elapsedMs)}, peak RSS so far ${peakRssMB().toFixed(0)} MB: ${text.slice(0, 120)}`);
  }
  return client;
}

interface ChildArguments {
  mode: 'panda' | 'derived' | 'per-series' | 'fill';
  gatewayUrl: string;
  /** The runner's var folder: spool, state (CRIC cache, slot store, average cache), logs. */
  varDir: string;
  pandaUrl: string;
  cricUrl: string;
  influxUrl: string;
  slotMs: number;
  perSeriesSample: number;
}

const PERIOD_TARGET_PERCENT = 5;
const RSS_TARGET_MB = 350;

/** Child: one full run of panda, or of panda-derived, through the runner, the sender and the gateway. */
async function cycle(args: ChildArguments): Promise<Record<string, number>> {
  const config = Config.parse(
    `[paths]\nvar = ${args.varDir}\n[monit]\nurl = ${args.gatewayUrl}/\ntoken = ${BENCH_TOKEN}\n` +
      `[influxdb]\nurl = ${args.influxUrl}\ntimeout = 10m\n[panda]\nurl = ${args.pandaUrl}\ncric_url = ${args.cricUrl}\n${descriptionKeys(new URL(args.cricUrl).origin)}`,
    'bench.cfg',
  );
  const history = timedClient(args.influxUrl);
  const derived = args.mode === 'derived';
  let collectMs = 0;
  let derivedDocuments = 0;
  let suspicious = 0;
  const job: PeriodicJob = {
    name: derived ? DERIVED_JOB : PANDA_JOB,
    periodMs: TEN_MINUTES_MS,
    run: async (context) => {
      const started = performance.now();
      // panda-derived's history queries (those with [panda] history_timeout) are timed; its look at panda's slot is not.
      const timed = { ...context, influxdb: (overrides?: { timeoutMs?: number }) => (overrides?.timeoutMs === undefined ? context.influxdb(overrides) : history) };
      const result = await (derived ? derivedJob : collector).collect(timed);
      collectMs = performance.now() - started;
      if (process.env.BENCH_VERBOSE) console.error(`  collected: peak RSS so far ${peakRssMB().toFixed(0)} MB`);
      // Counted as the runner takes them: both jobs build documents lazily.
      function* counted(documents: Iterable<MonitDocument>): Generator<MonitDocument> {
        for (const document of documents) {
          if (document.type === TYPES.derived) {
            derivedDocuments++;
            if (document.suspicious === true) suspicious++;
          }
          yield document;
        }
      }
      return Array.isArray(result) ? { documents: counted(result) } : { ...result, documents: counted(result.documents) };
    },
  };
  const started = performance.now();
  const outcome = await runPeriodicJob(job, { config, deadlineMs: 600_000, timeMs: args.slotMs, echoLog: false });
  const totalMs = performance.now() - started;
  if (!outcome.ok) throw new Error(`the ${job.name} run failed: ${outcome.message}`);
  return {
    collectMs,
    derivedQueryMs: history.busyMs,
    derivedRequests: history.statements.length,
    sendMs: totalMs - collectMs,
    totalMs,
    documents: outcome.documents,
    sent: outcome.report?.documentsSent ?? 0,
    derivedDocuments,
    suspicious,
    maxRssMB: peakRssMB(),
    jobCpuS: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
  };
}

/**
 * Child: what the runs of the day before `slotMs` leave in the slot store (each reads its newest hour, and the
 * first ones an hour more of the past): the raw points of the day not yet held, read 2 hours at a time.
 */
async function fillSlotStore(args: ChildArguments): Promise<Record<string, number>> {
  const started = performance.now();
  const stateDir = path.join(args.varDir, 'state', DERIVED_JOB);
  const store = await SlotStore.open(stateDir, DAY / TEN_MINUTES_MS, fingerprintOf(TERMINAL, DERIVED_DEFAULTS.averageStates));
  const heldFrom = store.heldFrom(args.slotMs);
  const client = new InfluxClient(args.influxUrl, { timeoutMs: 600_000 });
  const options = { client, database: DATABASE, terminalStates: TERMINAL, averageStates: DERIVED_DEFAULTS.averageStates, signal: undefined };
  for (let from = args.slotMs - DAY; from < heldFrom; from += 2 * HOUR) {
    const range: [number, number] = [from, Math.min(heldFrom, from + 2 * HOUR)];
    store.beginRead(...range);
    for (const measurement of [TYPES.jobs, TYPES.jobsTerminal]) await readSlots(store, measurement, range, options);
  }
  store.save(args.slotMs);
  // The day up to the slot before: the run at `slotMs` reads its own slot.
  return { fillMs: performance.now() - started, held: store.holds(args.slotMs - TEN_MINUTES_MS, DAY) ? 1 : 0 };
}

/**
 * Child: the averages as panda-derived reads them (its default settings), then per-series requests for a sample
 * of the averaged statuses' series, over the same windows (windowRange: the raw ones end with the slot, 7d and
 * 30d are whole days); both must agree.
 */
async function perSeries(args: ChildArguments): Promise<Record<string, number>> {
  const pandaText = await (await fetch(args.pandaUrl)).text();
  const { averageStates } = DERIVED_DEFAULTS;
  const counts = parseJobStatistics(JSON.parse(pandaText)).counts.filter((count) => averageStates === undefined || averageStates.has(count.jobStatus));
  const plans = planWindows(DERIVED_DEFAULTS);
  const grouped = timedClient(args.influxUrl);
  const groupedStarted = performance.now();
  const histories = await readHistory(counts, {
    client: grouped,
    database: DATABASE,
    slotMs: args.slotMs,
    terminalStates: TERMINAL,
    averageStates,
    selected: () => true,
    forgetAfterMs: DERIVED_DEFAULTS.forgetAfterMs,
    useRawUpToMs: DERIVED_DEFAULTS.useRawUpToMs,
    use1hUpToMs: DERIVED_DEFAULTS.use1hUpToMs,
    log: new MemoryLogger(DERIVED_JOB),
    // What the cycles left: the slot store and the 7d/30d cache, as the next run finds them.
    state: derivedStateIn(path.join(args.varDir, 'state', DERIVED_JOB)),
  });
  const groupedMs = performance.now() - groupedStarted;

  const random = randomGenerator(3);
  const sample = args.perSeriesSample > 0 && args.perSeriesSample < counts.length ? counts.filter(() => random() < args.perSeriesSample / counts.length) : counts;
  const client = new InfluxClient(args.influxUrl, { timeoutMs: 600_000 });
  const limit = pLimit(4);
  /**
   * Raw windows must agree exactly, and so must the cached daily ones of the groups renewed since the day was
   * downsampled (group g at 00:40 + g × 10 minutes); the others' may still leave out the newest day.
   */
  const renewedToday = (queue: string): boolean => args.slotMs % DAY >= (40 + 10 * renewalGroupOf(queue, RENEWAL_GROUPS)) * 60_000;
  let disagreements = 0;
  let cachedDiffering = 0;
  let cachedLargestDifference = 0;
  const started = performance.now();
  await Promise.all(
    sample.map((count) =>
      limit(async () => {
        const measurement = TERMINAL.has(count.jobStatus) ? TYPES.jobsTerminal : TYPES.jobs;
        const condition = [
          ['queue', count.queue],
          ['prod_source', count.prodSource],
          ['resource', count.resource],
          ['job_status', count.jobStatus],
        ]
          .map(([tag, value]) => `${quoteIdentifier(tag)} = ${quoteString(value)}`)
          .join(' AND ');
        const results = await client.query(plans.map((plan) => averageStatement(DATABASE, measurement, plan, args.slotMs, condition)).join('; '));
        const history = histories.get(seriesKey(count)) as SeriesHistory;
        results.forEach((series, index) => {
          const mean = series[0]?.values[0]?.[1];
          const expected = typeof mean === 'number' ? (measurement === TYPES.jobsTerminal ? mean / plans[index].terminalDivisor : mean) : NaN;
          const actual = history.averages[index];
          if ((Number.isNaN(expected) && Number.isNaN(actual)) || Math.abs(expected - actual) <= 1e-9 * Math.max(1, Math.abs(expected))) return;
          if (plans[index].retentionPolicy === 'raw' || (plans[index].retentionPolicy === '1d' && renewedToday(count.queue))) disagreements++;
          else {
            cachedDiffering++;
            cachedLargestDifference = Math.max(cachedLargestDifference, Math.abs(expected - actual) / Math.max(1e-9, Math.abs(expected)));
          }
        });
      }),
    ),
  );
  const sampleMs = performance.now() - started;
  return {
    groupedMs,
    groupedRequests: grouped.statements.length,
    series: counts.length,
    sampled: sample.length,
    sampleMs,
    extrapolatedMs: (sampleMs * counts.length) / sample.length,
    disagreements,
    cachedDiffering,
    cachedLargestDifference,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
}

function runChild(args: ChildArguments, execArgv: string[] = []): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--child', JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    child.once('message', (message) => resolve(message as Record<string, number>));
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${args.mode} child exited with ${code}`))));
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 1/100 s). */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Waits (at most 3 minutes) until influxd has finished its work on earlier writes (compactions, cache
 * snapshots): in production the 9 idle minutes of each period do that before the next run.
 */
async function waitUntilIdle(influxPid: number): Promise<number> {
  const started = performance.now();
  let before = cpuSecondsOf(influxPid);
  while (performance.now() - started < 180_000) {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const after = cpuSecondsOf(influxPid);
    if (after - before < 0.5) break; // under 10 % of a core over 5 s
    before = after;
  }
  return performance.now() - started;
}

/** The node flags ./run.sh gives each job (the job registry), so each runs as it does in production. */
function flagsOf(job: string): string[] {
  const entry = findEntry(job);
  return [...(entry && (entry.kind === 'collector' || entry.kind === 'job') ? (entry.nodeFlags ?? []) : [])];
}
const BENCH_TOKEN = 'bench-token-0123456789';
/** Like a production setup's, so the shards (1 day raw, 7 days 1h and 1d) are too. */
const DURATIONS = { raw: '30d', '1h': '365d', '1d': 'INF' } as const;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const shape: SyntheticShape = { ...PRODUCTION_SHAPE, queues: options.queues };
  const base = path.join(PROJECT_ROOT, 'var', 'bench');
  mkdirSync(base, { recursive: true });
  const influxDir = mkdtempSync(path.join(base, 'panda-influxdb-'));
  const port = await freePort();
  const services = path.join(PROJECT_ROOT, 'scripts', 'servers', 'services.sh');
  await run(services, ['start', 'influxdb', '--port', String(port), '--dir', influxDir], { timeout: 600_000 });
  const fixture = await FixtureServer.start();
  let closeGateway: (() => Promise<void>) | undefined;
  let varDir: string | undefined;
  try {
    const influxUrl = `http://127.0.0.1:${port}`;
    // The cycles' slots are chosen, not taken from the clock: the first at 23:40, so that the fourth is the
    // daily run at 00:40, where the 30d averages are renewed too. Each cycle is served the model at its own slot.
    const slotMs = slotStart(Date.now() - DAY, DAY) + 23 * HOUR + 40 * 60_000;
    const day = new RealisticDay(shape);
    const pandaText = JSON.stringify(day.answerAt(slotMs));
    const template = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'collectors', 'panda', 'testdata', 'cric-sample.json'), 'utf8')) as Record<string, Record<string, unknown>>).AGLT2_HOSPITAL;
    const cricText = JSON.stringify(syntheticCricAnswer(shape, template));
    fixture.routes.set('/panda', { body: pandaText });
    fixture.routes.set('/cric', { body: cricText });
    // CRIC's site and DDM descriptions, WLCG CRIC's federations and the placement, at production size.
    for (const [route, answer] of Object.entries(syntheticDescriptionRoutes(shape, new Date(slotMs).getUTCFullYear()))) fixture.routes.set(route, { body: answer });
    const counts = parseJobStatistics(JSON.parse(pandaText)).counts;
    console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at start (other jobs share it)`);
    console.log(`panda benchmark: ${shape.queues} queues, ${counts.length} series; PanDA answer ${(pandaText.length / 1e6).toFixed(1)} MB, CRIC answer ${(cricText.length / 1e6).toFixed(1)} MB`);

    const client = new InfluxClient(influxUrl, { timeoutMs: 600_000 });
    await client.ensureDatabase(DATABASE, DURATIONS);
    const setupStarted = performance.now();
    let points = 0;
    const directory = parseCric(Buffer.from(cricText));
    points += await writeLines(client, 'raw', historyLines(day, directory, 'raw', slotMs, options));
    points += await writeLines(client, '1h', historyLines(day, directory, '1h', slotMs, options));
    points += await writeLines(client, '1d', historyLines(day, directory, '1d', slotMs, options));
    console.log(`history: ${points} points (${options.rawSlots} raw slots, ${options.hours} hours, ${options.days} days per series) written in ${seconds(performance.now() - setupStarted)} (setup, not measured)`);

    const gateway = await startGateway(
      {
        influxdb: new InfluxClient(influxUrl, { timeoutMs: 600_000 }),
        durations: DURATIONS,
        auth: { token: BENCH_TOKEN, producerPasswords: new Map() },
        maxDocuments: 10_000,
        maxBodyBytes: 31_457_280,
        registry: schemaRegistry(),
        log: new Logger('gateway', undefined, false, false),
      },
      '127.0.0.1',
      0,
    );
    closeGateway = gateway.close;
    const common = { gatewayUrl: gateway.url, pandaUrl: `${fixture.url}/panda`, cricUrl: `${fixture.url}/cric`, influxUrl, slotMs, perSeriesSample: options.perSeriesSample };
    const influxPid = Number(readFileSync(path.join(influxDir, 'server.pid'), 'utf8').trim());
    const runVar = mkdtempSync(path.join(base, 'panda-var-'));
    varDir = runVar;
    /** One job's run once influxd is idle, with the CPU time influxd and the gateway (this process) spent on it. */
    const measuredRun = async (args: ChildArguments, execArgv: string[]): Promise<Record<string, number>> => {
      const settledMs = await waitUntilIdle(influxPid);
      const influxBefore = cpuSecondsOf(influxPid);
      const gatewayBefore = process.cpuUsage();
      const measured = await runChild(args, execArgv);
      const gateway = process.cpuUsage(gatewayBefore);
      return { ...measured, settledMs, influxCpuS: cpuSecondsOf(influxPid) - influxBefore, gatewayCpuS: (gateway.user + gateway.system) / 1e6 };
    };
    /** What the schedule runs in one slot: panda, then panda-derived, each with its node flags (none when not `capped`). */
    type Cycle = { panda: Record<string, number>; derived: Record<string, number> };
    const measuredCycle = async (cycleSlotMs: number, capped = true): Promise<Cycle> => {
      // The counts of this slot, continuing the history (the answer's series are the same at every slot).
      fixture.routes.set('/panda', { body: cycleSlotMs === slotMs ? pandaText : JSON.stringify(day.answerAt(cycleSlotMs)) });
      return {
        panda: await measuredRun({ ...common, slotMs: cycleSlotMs, mode: 'panda', varDir: runVar }, capped ? flagsOf(PANDA_JOB) : []),
        derived: await measuredRun({ ...common, slotMs: cycleSlotMs, mode: 'derived', varDir: runVar }, capped ? flagsOf(DERIVED_JOB) : []),
      };
    };
    // First run: empty state folders, so panda fetches CRIC and panda-derived reads all six averages.
    const cold = await measuredCycle(slotMs);
    // The second run (23:50): the slot store holds the first run's hour; it reads an hour more of the past, and
    // 6h to 24h with mean(). The 19 runs after it read fewer and fewer windows with mean().
    const second = await measuredCycle(slotMs + TEN_MINUTES_MS);
    // Those runs leave the slot store holding 24 hours of raw points; it is filled here (not measured).
    const steadySlotMs = slotMs + 2 * TEN_MINUTES_MS;
    const filled = await runChild({ ...common, slotMs: steadySlotMs, mode: 'fill', varDir });
    if (filled.held !== 1) throw new Error('the slot store does not hold the day after filling');
    console.log(`slot store filled with the raw points of the day before 00:00 in ${seconds(filled.fillMs)} (what a day of runs leaves; not measured)`);
    // Most runs (00:00): CRIC cached, the 7d averages of one group of queues in six renewed.
    const steady = await measuredCycle(steadySlotMs);
    // A steady cycle without the jobs' heap caps, CRIC due (panda's costliest run): how much of each peak is V8's
    // lazy collection, not live data; and whether panda, which has no cap, needs one.
    for (const file of PANDA_CACHE_FILES) rmSync(path.join(runVar, 'state', PANDA_JOB, file), { force: true });
    const uncapped = await measuredCycle(steadySlotMs + TEN_MINUTES_MS, false).catch((error: unknown) => (error as Error).message);
    // The costliest scheduled run: at 00:40 the 30d averages of a group are renewed as well as the 7d ones,
    // and here CRIC is due too (panda's cache is removed, as if its hour had passed).
    for (const file of PANDA_CACHE_FILES) rmSync(path.join(varDir, 'state', PANDA_JOB, file), { force: true });
    const daily = await measuredCycle(slotMs + HOUR);
    const baseline = await runChild({ ...common, slotMs: slotMs + HOUR + TEN_MINUTES_MS, mode: 'per-series', varDir });

    const periodMs = 10 * 60_000;
    const share = (measured: Record<string, number>): number => (100 * measured.totalMs) / periodMs;
    const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
    const cycles: Array<[string, Cycle | string]> = [
      ['first run (empty state: CRIC fetched; avg_1h from the last hour of points, 6h to 24h by mean(), 7d and 30d whole)', cold],
      ['second run (the slot store holds an hour: 2 hours of points, 6h to 24h by mean(), 7d averages of a sixth of the queues renewed)', second],
      ['steady (CRIC cached, the last hour of points into the slot store, 7d averages of a sixth of the queues renewed: most runs)', steady],
      ["steady, without the jobs' heap caps, CRIC fetched (how far V8 lets each heap grow)", uncapped],
      ['daily at 00:40 (7d and 30d averages of a sixth renewed, CRIC fetched, the last hour of points across midnight: the costliest scheduled run)', daily],
    ];
    for (const [name, measured] of cycles) {
      if (typeof measured === 'string') {
        console.log(`\none cycle, ${name}: failed (${measured})`);
        continue;
      }
      console.log(`\none cycle, ${name}:`);
      const { panda, derived } = measured;
      console.log(`  panda, started once influxd was idle (after ${seconds(panda.settledMs)}):`);
      console.log(`    documents: ${panda.documents}, accepted by the gateway: ${panda.sent}`);
      console.log(`    collect (fetch PanDA and CRIC, enrich): ${seconds(panda.collectMs)}; runner (build and validate, spool, send, heartbeat): ${seconds(panda.sendMs)}`);
      console.log(`  panda-derived, started once influxd was idle (after ${seconds(derived.settledMs)}):`);
      console.log(`    documents: ${derived.documents} (${derived.suspicious} suspicious), accepted by the gateway: ${derived.sent}`);
      console.log(`    collect (panda's heartbeat and slot, the history): ${seconds(derived.collectMs)}, of which waiting for history queries ${seconds(derived.derivedQueryMs)} (${HISTORY_QUERIES_AT_ONCE} at a time) in ${derived.derivedRequests} requests`);
      console.log(`    runner (build and validate, spool, send, heartbeat): ${seconds(derived.sendMs)}`);
      for (const [job, one] of [['panda', panda], ['panda-derived', derived]] as const) {
        console.log(`  ${job}: wall time ${seconds(one.totalMs)} = ${share(one).toFixed(2)} % of the 10-minute period (target ≤ ${PERIOD_TARGET_PERCENT} %: ${verdict(share(one) <= PERIOD_TARGET_PERCENT)}); peak RSS ${one.maxRssMB.toFixed(0)} MB (target ≤ ${RSS_TARGET_MB} MB: ${verdict(one.maxRssMB <= RSS_TARGET_MB)}); CPU time: influxd ${one.influxCpuS.toFixed(1)} s, the job ${one.jobCpuS.toFixed(1)} s, the gateway ${one.gatewayCpuS.toFixed(1)} s`);
      }
      console.log(`  both jobs together: ${(share(panda) + share(derived)).toFixed(2)} % of the period`);
    }
    console.log(`\nload average ${os.loadavg()[0].toFixed(1)} at the end`);
    console.log('\nderived quantities at 00:50, as panda-derived reads them vs per series (same InfluxDB, same history):');
    console.log(`  panda-derived's read (slot store and 7d/30d cache as the cycles left them): ${seconds(baseline.groupedMs)} in ${baseline.groupedRequests} requests for ${baseline.series} series`);
    const sampledNote = baseline.sampled < baseline.series ? `, measured on ${baseline.sampled} series and extrapolated` : '';
    console.log(`  per series (one request of 6 statements per series, 4 at a time): ${seconds(baseline.extrapolatedMs)}${sampledNote}`);
    console.log(`  ratio: per series / panda-derived's read = ${(baseline.extrapolatedMs / baseline.groupedMs).toFixed(1)}x; averages disagreeing on the sample (raw windows, and the 7d/30d of groups renewed since 00:40): ${baseline.disagreements}`);
    console.log(`  cached 7d/30d averages of the groups not renewed yet today (the day before's window) differing from a mean at this very slot: ${baseline.cachedDiffering}, by at most ${(100 * baseline.cachedLargestDifference).toFixed(2)} %`);
  } finally {
    await closeGateway?.();
    await fixture.stop();
    await run(services, ['stop', influxDir], { timeout: 60_000 });
    // About a gigabyte per run; BENCH_KEEP=1 keeps it to look at the shards.
    if (process.env.BENCH_KEEP) console.log(`kept: ${influxDir} ${varDir ?? ''}`);
    else for (const dir of [influxDir, varDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  const args = JSON.parse(process.argv[3]) as ChildArguments;
  (args.mode === 'panda' || args.mode === 'derived' ? cycle(args) : args.mode === 'fill' ? fillSlotStore(args) : perSeries(args))
    .then((result) => {
      process.send?.(result, () => process.exit(0));
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
