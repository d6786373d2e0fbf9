import { defineCollector } from '../../lib/run/collector';
import { databaseFor } from '../../lib/documents/interpret';
import type { MonitDocument } from '../../lib/documents/types';
import { loadQueueDirectory } from './cric';
import { derivedDocuments, planWindows, readHistory, type SeriesHistory } from './derived';
import { jobDocuments, type SeriesId, unknownQueues } from './documents';
import { fetchJobStatistics } from './jobStatistics';
import { PRODUCER } from './names';
import { readSettings } from './settings';

/** How many unknown queues the log names before it only counts them. */
const UNKNOWN_QUEUES_NAMED = 20;

export default defineCollector({
  async collect(context) {
    const settings = readSettings(context.section);

    // PanDA first: without its answer the run means nothing, so any failure there throws and nothing is sent.
    const statistics = await fetchJobStatistics({
      url: settings.url,
      terminalWindowMinutes: settings.terminalWindowMinutes,
      timeoutMs: settings.timeoutMs,
      signal: context.signal,
    });
    if (statistics.skipped.length > 0) {
      context.problem(`PanDA: ${statistics.skipped.length} malformed entries left out, first: ${statistics.skipped[0]}`);
    }
    const selected = (series: SeriesId): boolean => settings.prodSources.size === 0 || settings.prodSources.has(series.prodSource);
    const counts = statistics.counts.filter(selected);

    // CRIC and the history are independent, so they are read side by side: a slow CRIC costs no extra time.
    // If loading CRIC fails outright (the run stopped, its cache not writable), the history read is stopped too.
    const stopHistory = new AbortController();
    const directoryLoad = loadQueueDirectory({
      url: settings.cricUrl,
      refreshMs: settings.cricRefreshMs,
      timeoutMs: settings.cricTimeoutMs,
      stateDir: context.stateDir,
      nowMs: Date.now(),
      log: context.log,
      problem: context.problem,
      signal: context.signal,
    }).catch((error: unknown) => {
      stopHistory.abort();
      throw error;
    });
    const historyRead = settings.derived ? readHistoryOrReport(AbortSignal.any([context.signal, stopHistory.signal])) : Promise.resolve(undefined);
    const [{ directory, source }, histories] = await Promise.all([directoryLoad, historyRead]);

    /** The moving averages; if InfluxDB fails, the job counts still go out and the run reports the problem. */
    async function readHistoryOrReport(signal: AbortSignal): Promise<Map<string, SeriesHistory> | undefined> {
      try {
        return await readHistory(counts, {
          client: context.influxdb({ timeoutMs: settings.historyTimeoutMs }),
          database: databaseFor(PRODUCER),
          slotMs: context.slotMs,
          terminalStates: settings.terminalStates,
          selected,
          forgetAfterMs: settings.forgetAfterMs,
          useRawUpToMs: settings.useRawUpToMs,
          use1hUpToMs: settings.use1hUpToMs,
          log: context.log,
          stateDir: context.stateDir,
          signal,
        });
      } catch (error) {
        if (signal.aborted) throw error;
        context.problem(`derived quantities not computed: ${(error as Error).message}`);
        return undefined;
      }
    }

    const unknown = unknownQueues(counts, directory);
    if (unknown.length > 0) {
      const named = unknown.slice(0, UNKNOWN_QUEUES_NAMED).join(', ');
      const more = unknown.length > UNKNOWN_QUEUES_NAMED ? ', ...' : '';
      context.log.warn(`${unknown.length} queues unknown to CRIC (${source}), sent with 'unknown' metadata: ${named}${more}`);
    }
    context.log.info(`PanDA: ${counts.length} series of ${new Set(counts.map((count) => count.queue)).size} queues; CRIC metadata from ${source}`);

    // Built one at a time as the runner spools them: 240,000 documents are never all in memory.
    const rule = {
      windows: settings.suspiciousWindows,
      aboveFactor: settings.suspiciousAboveFactor,
      belowFactor: settings.suspiciousBelowFactor,
      minDifference: settings.suspiciousMinDifference,
    };
    function* documents(): Generator<MonitDocument> {
      yield* jobDocuments(counts, directory, context.documents, { terminalStates: settings.terminalStates });
      if (!histories) return;
      // A failure here costs the derived documents, not the job counts already given.
      try {
        yield* derivedDocuments(histories.values(), directory, context.documents, rule, planWindows(settings), (summary) =>
          context.log.info(`derived quantities: ${summary.documents} series, ${summary.suspicious} suspicious`),
        );
      } catch (error) {
        context.problem(`derived quantities not all sent: ${(error as Error).message}`);
      }
    }
    return { documents: documents() };
  },
});
