import { defineCollector } from '../../lib/run/collector';
import { type CachedSource, loadCached, type LoadContext } from '../../lib/http/cachedSource';
import { CRIC_CACHE_FILE, CRIC_CACHE_STATE, joinedDirectory, loadQueueDescriptions } from './cric';
import {
  CRIC_DDM_CACHE_FILE,
  CRIC_DDM_CACHE_STATE,
  CRIC_DDM_FORMAT,
  CRIC_SITE_CACHE_FILE,
  CRIC_SITE_CACHE_STATE,
  CRIC_SITE_FORMAT,
  FEDERATIONS_CACHE_FILE,
  FEDERATIONS_CACHE_STATE,
  FEDERATIONS_FORMAT,
  parseDdmEndpoints,
  parseFederations,
  parseSites,
  quarterOf,
} from './cricResources';
import { jobDocuments, unknownQueues } from './documents';
import { fetchJobStatistics } from './jobStatistics';
import { parsePlacement, PLACEMENT_CACHE_FILE, PLACEMENT_CACHE_STATE, PLACEMENT_FORMAT } from './placement';
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

    // The descriptions: each cached, asked at most once per refresh, its stale copy served while it is down.
    const load: LoadContext = { nowMs: Date.now(), log: context.log, problem: context.problem, signal: context.signal, tls: () => context.tls('cric') };
    const cric = { refreshMs: settings.cricRefreshMs, timeoutMs: settings.cricTimeoutMs };
    const { queues, source } = await loadQueueDescriptions({ ...load, ...cric, url: settings.cricUrl, cache: context.state(CRIC_CACHE_FILE, CRIC_CACHE_STATE) });
    const cricSource = <T>(spec: Omit<CachedSource<T>, 'refreshMs' | 'timeoutMs'> & Partial<CachedSource<T>>): CachedSource<T> => ({ ...cric, ...spec });
    const [sites, ddm, federations, placement] = await Promise.all([
      loadCached(
        cricSource({
          source: 'CRIC sites',
          url: settings.cricSiteUrl,
          file: context.state(CRIC_SITE_CACHE_FILE, CRIC_SITE_CACHE_STATE),
          format: CRIC_SITE_FORMAT,
          parse: parseSites,
          describe: (value) => `${value.sites} sites, ${value.nuclei.length} nuclei`,
          withoutCopy: "the nucleus tag is 'unknown'",
        }),
        load,
      ),
      loadCached(
        cricSource({
          source: 'CRIC DDM endpoints',
          url: settings.cricDdmUrl,
          file: context.state(CRIC_DDM_CACHE_FILE, CRIC_DDM_CACHE_STATE),
          format: CRIC_DDM_FORMAT,
          parse: parseDdmEndpoints,
          describe: (value) => `FTS servers of ${Object.keys(value.ftsBySite).length} sites, ${Object.keys(value.datadisks).length} DATADISKs`,
          withoutCopy: "the fts_server tag and the DATADISKs' site and cloud are 'unknown'",
        }),
        load,
      ),
      loadCached(
        cricSource({
          source: 'WLCG CRIC federations',
          url: settings.federationsUrl,
          file: context.state(FEDERATIONS_CACHE_FILE, FEDERATIONS_CACHE_STATE),
          format: FEDERATIONS_FORMAT,
          parse: parseFederations,
          describe: (value) => `pledges of ${Object.keys(value).length} federations`,
          withoutCopy: 'panda/federations has no cpu_pledge_hs06',
        }),
        // WLCG CRIC is another service than ATLAS CRIC, but the same CERN trust; [tls.cric] covers both.
        load,
      ),
      settings.placementUrl === undefined
        ? Promise.resolve(undefined)
        : loadCached(
            {
              source: 'placement',
              url: settings.placementUrl,
              refreshMs: settings.placementRefreshMs,
              timeoutMs: settings.cricTimeoutMs,
              file: context.state(PLACEMENT_CACHE_FILE, PLACEMENT_CACHE_STATE),
              format: PLACEMENT_FORMAT,
              parse: parsePlacement,
              describe: (value) => `bytes and files of ${Object.keys(value).length} DATADISKs`,
              withoutCopy: 'panda/datadisks has no bytes, files nor placement_age',
            },
            // [tls.placement]: Rucio's accounting is another service than CRIC.
            { ...load, tls: () => context.tls('placement') },
          ),
    ]);
    const directory = joinedDirectory(queues, { sites: sites.value, ddm: ddm.value });

    const unknown = unknownQueues(counts, directory);
    if (unknown.length > 0) {
      const named = unknown.slice(0, UNKNOWN_QUEUES_NAMED).join(', ');
      const more = unknown.length > UNKNOWN_QUEUES_NAMED ? ', ...' : '';
      context.log.warn(`${unknown.length} queues unknown to CRIC (${source}), sent with 'unknown' metadata: ${named}${more}`);
    }
    context.log.info(`PanDA: ${counts.length} series of ${new Set(counts.map((count) => count.queue)).size} queues; CRIC metadata from ${source}`);

    // Built one at a time as the runner spools them: a production-size run's documents are never all in memory.
    return {
      documents: jobDocuments(counts, directory, context.documents, {
        terminalStates: settings.terminalStates,
        analysisProdSources: settings.analysisProdSources,
        pledges: federations.value,
        quarter: quarterOf(context.slotMs),
        placementConfigured: settings.placementUrl !== undefined,
        placement: placement?.value && placement.fetchedAtMs !== undefined ? { value: placement.value, fetchedAtMs: placement.fetchedAtMs } : undefined,
        slotMs: context.slotMs,
      }),
    };
  },
});
