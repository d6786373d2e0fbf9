import { defineCollector } from '../../lib/run/collector';
import { CRIC_CACHE_FILE, CRIC_CACHE_STATE, loadQueueDirectory } from './cric';
import { jobDocuments, unknownQueues } from './documents';
import { fetchJobStatistics } from './jobStatistics';
import { isSelected, readPandaSettings } from './settings';

/** How many unknown queues the log names before it only counts them. */
const UNKNOWN_QUEUES_NAMED = 20;

/** panda: PanDA's job counts, described by CRIC. The derived quantities are panda-derived's (derivedJob.ts). */
export default defineCollector({
  async collect(context) {
    const settings = readPandaSettings(context.section);

    // PanDA first: without its answer the run means nothing, so any failure there throws and nothing is sent.
    const statistics = await fetchJobStatistics({
      url: settings.url,
      terminalWindowMinutes: settings.terminalWindowMinutes,
      timeoutMs: settings.timeoutMs,
      signal: context.signal,
      // [tls.panda]: a missing or expired credential fails the run, like PanDA not answering.
      tls: context.tls('panda'),
    });
    if (statistics.skipped.length > 0) {
      context.problem(`PanDA: ${statistics.skipped.length} malformed entries left out, first: ${statistics.skipped[0]}`);
    }
    const counts = statistics.counts.filter((count) => isSelected(settings, count));

    const { directory, source } = await loadQueueDirectory({
      url: settings.cricUrl,
      refreshMs: settings.cricRefreshMs,
      timeoutMs: settings.cricTimeoutMs,
      cache: context.state(CRIC_CACHE_FILE, CRIC_CACHE_STATE),
      nowMs: Date.now(),
      log: context.log,
      problem: context.problem,
      signal: context.signal,
      tls: () => context.tls('cric'),
    });

    const unknown = unknownQueues(counts, directory);
    if (unknown.length > 0) {
      const named = unknown.slice(0, UNKNOWN_QUEUES_NAMED).join(', ');
      const more = unknown.length > UNKNOWN_QUEUES_NAMED ? ', ...' : '';
      context.log.warn(`${unknown.length} queues unknown to CRIC (${source}), sent with 'unknown' metadata: ${named}${more}`);
    }
    context.log.info(`PanDA: ${counts.length} series of ${new Set(counts.map((count) => count.queue)).size} queues; CRIC metadata from ${source}`);

    // Built one at a time as the runner spools them: a production-size run's documents are never all in memory.
    return { documents: jobDocuments(counts, directory, context.documents, { terminalStates: settings.terminalStates }) };
  },
});
