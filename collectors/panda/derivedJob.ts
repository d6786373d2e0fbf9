import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../lib/config/config';
import { pathsFrom } from '../../lib/config/paths';
import { databaseFor } from '../../lib/documents/interpret';
import { defineCollector } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import type { Logger } from '../../lib/run/log';
import { syncDirectory } from '../../lib/state/durableFile';
import { StateFile } from '../../lib/state/stateFile';
import { MONIT_COLLECTORS_RUN, PANDA_JOBS } from '../../schemas/kinds';
import { aggregateDocuments } from './aggregates';
import { AVERAGE_CACHE_FILE, AVERAGE_CACHE_STATE } from './averageCache';
import { CRIC_CACHE_FILE, CRIC_CACHE_STATE, cachedQueueDirectory } from './cric';
import { derivedDocuments, planWindows, readHistory, readSlotCounts } from './derived';
import type { SeriesId } from './documents';
import { PANDA_JOB } from './names';
import { awaitPandaRun } from './pandaRun';
import { isSelected, readDerivedSettings } from './settings';
import { SLOT_STORE_FILE } from './slotStore';

/** The files panda kept for the derived quantities before panda-derived existed, in var/state/panda. */
const INHERITED_FILES = [SLOT_STORE_FILE, AVERAGE_CACHE_FILE];

/**
 * Moves the derived state panda used to keep (var/state/panda) into panda-derived's folder, once, so that an
 * existing installation keeps its slot store and cached averages instead of reading them all again. A copy
 * already here wins: the one left beside panda is older, and goes.
 */
export function adoptPandaState(pandaStateDir: string, stateDir: string, log: Logger): void {
  const moved: string[] = [];
  let removed = false;
  for (const file of INHERITED_FILES) {
    const inherited = path.join(pandaStateDir, file);
    if (!existsSync(inherited)) continue;
    const target = path.join(stateDir, file);
    if (existsSync(target)) {
      rmSync(inherited, { force: true });
      removed = true;
      continue;
    }
    mkdirSync(stateDir, { recursive: true });
    renameSync(inherited, target);
    moved.push(file);
  }
  if (moved.length > 0 || removed) syncDirectory(pandaStateDir);
  if (moved.length > 0) {
    syncDirectory(stateDir);
    log.info(`moved ${moved.join(' and ')} from ${pandaStateDir} (kept by panda before panda-derived existed)`);
  }
}

/**
 * panda-derived: the moving averages and suspicious flags (panda/jobs_derived) of the slot, from what panda sent
 * for it and from the history in InfluxDB; then the queue-level signal, its count per cloud and the DATADISKs'
 * sums (aggregates.ts). Scheduled after panda; it waits for panda's documents of the slot and
 * never computes from a slot they are missing from.
 */
export default defineCollector({
  async collect(context) {
    const settings = readDerivedSettings(context.config.section(PANDA_JOB), context.section);
    if (!settings.derived) {
      context.log.info(`[${PANDA_JOB}] derived = false: no jobs_derived documents`);
      return [];
    }
    // panda's folders are this job's neighbours: var/state/panda, var/spool/panda.
    const pandaStateDir = path.join(path.dirname(context.stateDir), PANDA_JOB);
    const selected = (series: SeriesId): boolean => isSelected(settings, series);
    const database = databaseFor(PANDA_JOBS.producer);
    try {
      if (!context.dryRun && existsSync(pandaStateDir)) adoptPandaState(pandaStateDir, context.stateDir, context.log);
      // panda's points on the instance holding panda, its run's heartbeat on the one holding monit-collectors.
      const client = context.influxdb({ producer: PANDA_JOBS.producer });
      const run = await awaitPandaRun({
        client: context.influxdb({ producer: MONIT_COLLECTORS_RUN.producer }),
        slotMs: context.slotMs,
        waitMs: settings.waitForPandaMs,
        spoolDir: path.join(pathsFrom(context.config).spool, PANDA_JOB),
        log: context.log,
        signal: context.signal,
      });
      if (run.rejected > 0) {
        context.problem(`${run.rejected} of panda's documents of this slot were refused by the gateway (see var/spool/${PANDA_JOB}/rejected): their series have no jobs_derived document`);
      }
      const current = await readSlotCounts({ client, database, slotMs: context.slotMs, terminalStates: settings.terminalStates, averageStates: settings.averageStates, selected, signal: context.signal });
      // An ok run always sends job counts: none here means InfluxDB lost them, and every series would look gone.
      if (current.length === 0) throw new Error(`InfluxDB has no jobs or jobs_terminal point of panda at ${new Date(context.slotMs).toISOString()}, although its run reported ok`);
      // Described as panda described them: the CRIC copy panda keeps (read only; panda-derived never asks CRIC).
      const directory = cachedQueueDirectory(new StateFile(path.join(pandaStateDir, CRIC_CACHE_FILE), CRIC_CACHE_STATE, false), context.log);
      const histories = await readHistory(current, {
        client: context.influxdb({ timeoutMs: settings.historyTimeoutMs, producer: PANDA_JOBS.producer }),
        database,
        slotMs: context.slotMs,
        terminalStates: settings.terminalStates,
        averageStates: settings.averageStates,
        selected,
        forgetAfterMs: settings.forgetAfterMs,
        useRawUpToMs: settings.useRawUpToMs,
        use1hUpToMs: settings.use1hUpToMs,
        log: context.log,
        state: { dir: context.stateDir, averages: context.state(AVERAGE_CACHE_FILE, AVERAGE_CACHE_STATE), writable: !context.dryRun },
        signal: context.signal,
      });
      const rule = {
        windows: settings.suspiciousWindows,
        aboveFactor: settings.suspiciousAboveFactor,
        belowFactor: settings.suspiciousBelowFactor,
        minDifference: settings.suspiciousMinDifference,
      };
      const plans = planWindows(settings);
      const aggregates = {
        rule: { states: settings.queueSignalStates, average: settings.queueSignalAverage, factor: settings.queueBandFactor, minJobs: settings.queueMinJobs },
        analysisProdSources: settings.analysisProdSources,
      };
      // Built one at a time as the runner spools them; the sums over queues, clouds and DATADISKs after the series.
      function* documents(): Generator<MonitDocument> {
        yield* derivedDocuments(histories.values(), directory, context.documents, rule, plans, (summary) =>
          context.log.info(`derived quantities: ${summary.documents} series, ${summary.suspicious} suspicious`),
        );
        yield* aggregateDocuments(() => histories.values(), directory, context.documents, aggregates, plans, (summary) =>
          context.log.info(`queue signal: ${summary.suspiciousQueues} of ${summary.queues} queues suspicious, ${summary.clouds} clouds; ${summary.datadisks} DATADISKs`),
        );
      }
      return { documents: documents() };
    } catch (error) {
      if (context.signal.aborted || error instanceof ConfigError) throw error;
      throw new Error(`derived quantities not computed: ${(error as Error).message}`, { cause: error });
    }
  },
});
