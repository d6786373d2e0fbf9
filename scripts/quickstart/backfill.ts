/**
 * The quickstart's backfill: the sources' jobs, then `status`, for the past 10-minute slots from the
 * start of the previous UTC hour up to the slot before the current one, then `downsample-1h` over the
 * finished hour. Without it a new user's details pages show one point at 6 h (no rate at all) and
 * nothing at 7 d or 30 d, and the status strips one slot.
 *
 * - Each source's jobs run oldest slot first (`--timestamp`), so state files (rates, queue positions,
 *   log offsets) see the slots in order; a source's own jobs run after its collector for each slot
 *   (`panda-derived` reads what `panda` sent for it). Different sources run side by side.
 * - A slot that already has a job's heartbeat (a second quickstart, or cron ran it) is left alone.
 * - `downsample-1d` is not run: a day is made from a finished day's hours, and there is none yet.
 * - The runs are made in this process, as `./run.sh <job>` makes them (a node per run costs more than
 *   most runs); a job's log lines go to var/log/<job>.log.
 *
 *   node dist/scripts/quickstart/backfill.js --config FILE --slot "YYYY-MM-DD HH:MM"
 *
 * Prints one line; one more per failed run (job, slot, its log). Exit 1 when a run failed.
 */
import path from 'node:path';
import pLimit from 'p-limit';
import { sources } from '../../collectors/source';
import { configuredSchedule } from '../../cli/schedule';
import { Config } from '../../lib/config/config';
import { pathsFrom } from '../../lib/config/paths';
import { databaseFor } from '../../lib/documents/schemas';
import type { InfluxClient } from '../../lib/influx/influxdb';
import { influxInstances } from '../../lib/influx/instances';
import { HEARTBEAT, runPeriodicJob } from '../../lib/run/jobRunner';
import { findEntry } from '../../cli/registry';
import { parseSlotTimestamp, RESOLUTION_MS, slotStart, TEN_MINUTES_MS } from '../../lib/run/slot';

const HOUR_MS = RESOLUTION_MS['1h'];

/** The slots to backfill before the slot of `nowMs`: from the start of the previous UTC hour, oldest first. */
export function pastSlots(nowMs: number): number[] {
  const currentSlotMs = slotStart(nowMs);
  const slots: number[] = [];
  for (let slotMs = Math.floor(currentSlotMs / HOUR_MS) * HOUR_MS - HOUR_MS; slotMs < currentSlotMs; slotMs += TEN_MINUTES_MS) slots.push(slotMs);
  return slots;
}

/** `--timestamp`'s form, "YYYY-MM-DD HH:MM" (UTC). */
export function slotText(slotMs: number): string {
  return new Date(slotMs).toISOString().slice(0, 16).replace('T', ' ');
}

/** The scheduled jobs of each source, its collector first: one chain per source, run in this order for each slot. */
export function sourceChains(scheduled: ReadonlySet<string>): string[][] {
  return sources()
    .map((source) => [source.name, ...(source.definition.jobs ?? []).map((job) => job.name)].filter((name) => scheduled.has(name)))
    .filter((chain) => chain.length > 0);
}

/** One run to make: a job for a past slot, or over [from, to] (downsample-1h's hour). */
interface Run {
  job: string;
  slotMs?: number;
  options?: [string, string];
}
interface Failure extends Run {
  message: string;
}

/** `${job} ${slotMs}` of every heartbeat in [fromMs, toMs): those runs happened already. */
async function heartbeatsIn(influxdb: InfluxClient, fromMs: number, toMs: number): Promise<Set<string>> {
  const database = databaseFor(HEARTBEAT.producer);
  // The gateway creates a database with its first document: on a fresh setup there is none yet.
  const [databases = []] = await influxdb.query('SHOW DATABASES');
  if (!(databases[0]?.values ?? []).some((row) => row[0] === database)) return new Set();
  const rows = await influxdb.rows(`SELECT "ok", "${HEARTBEAT.tags.job}" FROM "${HEARTBEAT.type}" WHERE time >= ${fromMs}ms AND time < ${toMs}ms`, { database });
  return new Set(rows.map((row) => `${String(row[HEARTBEAT.tags.job])} ${Number(row.time)}`));
}

/** Sources run side by side, at most this many at once (each run listens to SIGTERM: Node warns past 10 listeners). */
const CONCURRENT_SOURCES = 4;

/**
 * Runs one job as `./run.sh <job> --timestamp <slot>` (or with its own options) does, in this process:
 * a node started per run would cost more than most runs. Resolves to why it failed, or undefined.
 */
async function runJob(config: Config, configFile: string, run: Run): Promise<string | undefined> {
  const entry = findEntry(run.job);
  if (entry?.kind !== 'collector' && entry?.kind !== 'job') return `${run.job} is not a periodic job`;
  const timestamp = run.slotMs === undefined ? undefined : slotText(run.slotMs);
  const [from, to] = run.options ?? [];
  const section = config.section(entry.name);
  // As cli/main.ts: a backfill over --from/--to may take longer than a periodic run.
  const deadlineMs = from === undefined ? section.duration('deadline', entry.defaultDeadline) : section.duration('backfill_deadline', '24h');
  try {
    const job = await entry.load({ config: configFile, dryRun: false, debug: false, help: false, rest: [], timestamp, from, to });
    const outcome = await runPeriodicJob(job, { config, timeMs: run.slotMs, deadlineMs, echoLog: false });
    return outcome.ok ? undefined : (outcome.message ?? 'failed');
  } catch (error) {
    return (error as Error).message;
  }
}

export interface BackfillResult {
  slots: number[];
  runs: number;
  failures: Failure[];
  /** The hour downsample-1h was run over, when it was. */
  downsampled?: [number, number];
}

/** Backfills the past slots before the one `nowMs` (the quickstart's `--timestamp` for the current slot) is in. */
export async function backfill(configFile: string, nowMs: number): Promise<BackfillResult> {
  const currentSlotMs = slotStart(nowMs);
  const config = Config.load(configFile);
  const scheduled = new Set(configuredSchedule(config).map((entry) => entry.job));
  const slots = pastSlots(currentSlotMs);
  // The heartbeats live on the instance holding monit-collectors ([influxdb] or an [influxdb.NAME]).
  const done = await heartbeatsIn(influxInstances(config).forProducer(HEARTBEAT.producer).client, slots[0], currentSlotMs);
  const missing = (job: string, slotMs: number): boolean => !done.has(`${job} ${slotMs}`);
  const failures: Failure[] = [];
  let runs = 0;
  const attempt = async (run: Run): Promise<boolean> => {
    runs += 1;
    const message = await runJob(config, configFile, run);
    if (message !== undefined) failures.push({ ...run, message });
    return message === undefined;
  };

  const limit = pLimit(CONCURRENT_SOURCES);
  await Promise.all(
    sourceChains(scheduled).map((chain) => limit(async () => {
      for (const slotMs of slots) {
        for (const job of chain) {
          if (!missing(job, slotMs)) continue;
          // A source's later jobs read what its collector sent for the slot: none when it failed.
          if (!(await attempt({ job, slotMs }))) break;
        }
      }
    })),
  );
  // The status of each slot, once every source's documents of it are in.
  if (scheduled.has('status')) for (const slotMs of slots.filter((slot) => missing('status', slot))) await attempt({ job: 'status', slotMs });

  let downsampled: [number, number] | undefined;
  const hourMs = Math.floor(currentSlotMs / HOUR_MS) * HOUR_MS;
  if (runs > 0 && scheduled.has('downsample-1h')) {
    downsampled = [hourMs - HOUR_MS, hourMs];
    await attempt({ job: 'downsample-1h', options: [slotText(downsampled[0]), slotText(downsampled[1])] });
  }
  return { slots, runs, failures, downsampled };
}

const hourMinute = (ms: number): string => new Date(ms).toISOString().slice(11, 16);

/** The quickstart's lines: one, and one per failure. */
export function describeBackfill(result: BackfillResult, logDirectory: string): string[] {
  const { slots, runs, failures, downsampled } = result;
  const span = `${hourMinute(slots[0])}–${hourMinute(slots[slots.length - 1] + TEN_MINUTES_MS)} UTC`;
  const hour = downsampled ? `, downsample-1h over ${hourMinute(downsampled[0])}–${hourMinute(downsampled[1])}` : '';
  const head = runs === 0 ? `nothing to do (every past slot of ${span} has run already)` : `${runs - failures.length} of ${runs} runs ok over the ${slots.length} past slots of ${span}${hour}`;
  const lines = [`  ${'backfill'.padEnd(28)} ${failures.length ? 'FAILED: ' : ''}${head}`];
  for (const failure of failures) {
    const slot = failure.slotMs === undefined ? ` --from "${failure.options?.[0]}" --to "${failure.options?.[1]}"` : ` --timestamp "${slotText(failure.slotMs)}"`;
    lines.push(`    ${failure.job}${slot} failed: ${failure.message} (log: ${path.join(logDirectory, `${failure.job}.log`)})`);
  }
  return lines;
}

async function main(argv: string[]): Promise<void> {
  const option = (name: string): string | undefined => {
    const index = argv.indexOf(name);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const configFile = option('--config');
  const slot = option('--slot');
  if (!configFile || !slot) throw new Error('usage: backfill.js --config FILE --slot "YYYY-MM-DD HH:MM"');
  const result = await backfill(path.resolve(configFile), parseSlotTimestamp(slot));
  process.stdout.write(describeBackfill(result, pathsFrom(Config.load(configFile)).log).join('\n') + '\n');
  // A job's stray timer or socket must not keep the quickstart waiting (cli/main.ts does the same).
  process.exit(result.failures.length > 0 ? 1 : 0);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`backfill: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
