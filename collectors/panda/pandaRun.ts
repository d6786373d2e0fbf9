import { setTimeout as sleep } from 'node:timers/promises';
import { databaseFor } from '../../lib/documents/interpret';
import { waitingBatches } from '../../lib/delivery/spool';
import { type InfluxClient, isMissingDatabase, rowsOf } from '../../lib/influx/influxdb';
import { qualifiedMeasurement, quoteIdentifier, quoteString, timeLiteral } from '../../lib/influx/influxql';
import type { Logger } from '../../lib/run/log';
import { MONIT_COLLECTORS_RUN } from '../../schemas/kinds';
import { PANDA_JOB } from './names';

/** What panda's heartbeat (monit-collectors/run, job=panda) says of its run for one slot. */
export interface PandaRun {
  ok: boolean;
  /** Documents left in panda's spool when the run ended (not in InfluxDB then). */
  spooled: number;
  /** Documents the gateway refused: they never reach InfluxDB. */
  rejected: number;
  message: string;
}

const RUN = MONIT_COLLECTORS_RUN;

/** panda's heartbeat for the slot, if InfluxDB has it (none yet: its run has not ended, or it did not run). */
export async function pandaRunOf(client: InfluxClient, slotMs: number): Promise<PandaRun | undefined> {
  const fields = [RUN.fields.ok, RUN.fields.documents_spooled, RUN.fields.documents_rejected, RUN.fields.message];
  const statement =
    `SELECT ${fields.map(quoteIdentifier).join(', ')} FROM ${qualifiedMeasurement(databaseFor(RUN.producer), 'raw', RUN.type)} ` +
    `WHERE ${quoteIdentifier(RUN.tags.job)} = ${quoteString(PANDA_JOB)} AND time = ${timeLiteral(slotMs)}`;
  let row: Record<string, unknown> | undefined;
  try {
    const [series = []] = await client.query(statement);
    const first = series[0];
    row = first ? rowsOf(first)[0] : undefined;
  } catch (error) {
    if (isMissingDatabase(error)) return undefined; // no heartbeat was ever stored
    throw error;
  }
  if (!row) return undefined;
  return {
    ok: row[RUN.fields.ok] === true,
    spooled: Number(row[RUN.fields.documents_spooled] ?? 0),
    rejected: Number(row[RUN.fields.documents_rejected] ?? 0),
    message: String(row[RUN.fields.message] ?? ''),
  };
}

export interface AwaitPandaOptions {
  /** Reads panda's heartbeat (a short query: the [influxdb] timeout). */
  client: InfluxClient;
  slotMs: number;
  /** How long to wait for panda's run to be in InfluxDB ([panda-derived] wait_for_panda). */
  waitMs: number;
  /** panda's spool folder: what its run left there may have been delivered since (by replay or its next run). */
  spoolDir: string;
  log: Logger;
  signal: AbortSignal;
}

/** Polls often enough to start soon after panda's run ends, rarely enough to cost InfluxDB nothing. */
function pollIntervalMs(waitMs: number): number {
  return Math.min(10_000, Math.max(200, waitMs / 12));
}

type Verdict = { kind: 'ready'; run: PandaRun } | { kind: 'failed'; reason: string } | { kind: 'not yet'; reason: string };

async function verdictOf(options: AwaitPandaOptions): Promise<Verdict> {
  let run: PandaRun | undefined;
  try {
    run = await pandaRunOf(options.client, options.slotMs);
  } catch (error) {
    return { kind: 'not yet', reason: `panda's heartbeat cannot be read: ${(error as Error).message}` };
  }
  if (!run) return { kind: 'not yet', reason: "no heartbeat of panda for this slot (its run has not ended, or it did not run)" };
  if (!run.ok) return { kind: 'failed', reason: `panda's run for this slot failed${run.message ? `: ${run.message}` : ''}` };
  // The heartbeat counts what waited in the spool when the run ended; an empty spool now means it was delivered since.
  if (run.spooled === 0 || waitingBatches(options.spoolDir) === 0) return { kind: 'ready', run };
  return { kind: 'not yet', reason: `panda's run left ${run.spooled} documents in its spool (${options.spoolDir}), not delivered yet` };
}

/**
 * Waits until panda's documents of the slot are in InfluxDB: its heartbeat for the slot says ok, with nothing
 * left in its spool (or its spool has been emptied since). Throws, naming why, when panda's run failed, or
 * when its documents are still not there after `waitMs`: panda-derived never computes from half a slot.
 */
export async function awaitPandaRun(options: AwaitPandaOptions): Promise<PandaRun> {
  const until = Date.now() + options.waitMs;
  const pollMs = pollIntervalMs(options.waitMs);
  const slot = new Date(options.slotMs).toISOString();
  for (let attempt = 0; ; attempt++) {
    const verdict = await verdictOf(options);
    if (verdict.kind === 'ready') return verdict.run;
    if (verdict.kind === 'failed') throw new Error(`${verdict.reason} (slot ${slot})`);
    if (Date.now() + pollMs > until) {
      throw new Error(`panda's documents of slot ${slot} are not in InfluxDB after waiting ${Math.round(options.waitMs / 1000)} s: ${verdict.reason}`);
    }
    if (attempt === 0) options.log.info(`waiting up to ${Math.round(options.waitMs / 1000)} s for panda's documents of slot ${slot}: ${verdict.reason}`);
    await sleep(pollMs, undefined, { signal: options.signal });
  }
}
