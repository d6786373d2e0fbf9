import type { Config } from '../lib/config/config';
import type { DocumentFactory } from '../lib/documents/document';
import type { InfluxSource } from '../lib/influx/instances';
import type { Logger } from '../lib/run/log';
import { writeFileDurably } from '../lib/state/durableFile';
import type { MonitDocument } from '../lib/documents/types';
import type { ClientTls } from '../lib/tls/clientTls';
import { availabilityDocuments } from './availability';
import { downtimesAt, downtimesForRun, slotCounters } from './downtime';
import { combineParts, evaluatePart, type ModuleStatus, type PartStatus } from './evaluate';
import { judgeParts, newestSeriesFile, seriesSetKey } from './judgeParts';
import type { SeriesTags } from './query';
import { renderStatusJson, renderStatusPage } from './page';
import { loadStatusSettings, type StatusSettings } from './settings';
import { MONIT_COLLECTORS_STATUS } from '../schemas/kinds';
import { loadStatusSnapshot, readStatusHistory, type StatusSnapshot } from './snapshot';
import { describeFirstState, describeTransition, postTransition, recordTransitions, type Transition } from './transitions';

export interface StatusRunOptions {
  config: Config;
  /** One InfluxDB, or the instances of config (each producer's data read where it lives). */
  influxdb: InfluxSource;
  /** Stamps the status documents with the run's slot. */
  documents: DocumentFactory;
  log: Logger;
  /** Where the previous states are kept, for transitions (var/state/status). */
  stateDir: string;
  signal?: AbortSignal;
  /** The time the rules look back from; default: now, or the end of the slot for a past slot. */
  nowMs?: number;
  /** Already loaded settings (the runner may load them at start-up). */
  settings?: StatusSettings;
  /** Records a problem that does not stop the run (webhook failure, unwritable page). */
  problem?: (message: string) => void;
  /** Only compute the documents: no transitions recorded, no webhook, no page written. */
  dryRun?: boolean;
  /** The runner's TLS of a source: the downtime feed asks for 'status' ([tls.status]) only when it is fetched. */
  tls?: (source: string) => ClientTls;
}

export interface StatusRunResult {
  /** What the runner sends: one monit-collectors/status document per module, then the availability ones. */
  documents: MonitDocument[];
  statuses: ModuleStatus[];
  transitions: Transition[];
  snapshot: StatusSnapshot;
}

/**
 * Decides every module's state at `nowMs` from the data in InfluxDB: each part (a single-measurement
 * module is one part) is read and judged once (judgeParts), and each module is the worst of its parts.
 */
export async function evaluateModules(influxdb: InfluxSource, settings: StatusSettings, nowMs: number, newestSeries?: Map<string, SeriesTags>): Promise<ModuleStatus[]> {
  const parts = [...new Set(settings.rules.flatMap((rule) => rule.parts))];
  const remembered = newestSeries && { newestSeries, withinMs: settings.periodMs };
  const statusOf = await judgeParts(influxdb, settings.retentionPolicy, parts, nowMs, evaluatePart, (status) => status, remembered);
  return settings.rules.map((rule) => combineParts(rule, rule.parts.map((part) => statusOf.get(part) as PartStatus), nowMs));
}


/**
 * The `status` job: evaluates every module, logs transitions (and POSTs them to the webhook), writes
 * the static page and status.json, and returns the status documents for the runner to send. For a
 * past slot (backfill) it only returns the documents.
 */
export async function runStatus(options: StatusRunOptions): Promise<StatusRunResult> {
  const settings = options.settings ?? loadStatusSettings(options.config, { warn: (message) => options.log.warn(message) });
  const slotMs = options.documents.slotMs;
  const nowMs = options.nowMs ?? Math.min(Date.now(), slotMs + settings.periodMs);
  const problem = options.problem ?? ((message: string) => options.log.error(message));

  // A past slot (./run.sh status --timestamp): only its documents; transitions and the page are about now.
  const backfill = options.nowMs === undefined && slotMs + settings.periodMs <= Date.now();
  const sideEffects = !backfill && !options.dryRun;
  // The page's history does not depend on this run's statuses: read it while the rules are evaluated.
  const storedHistory = readStatusHistory(options.influxdb, nowMs, settings.retentionPolicy);
  storedHistory.catch(() => undefined); // awaited below; a failure of the rules first must not leave it unhandled
  // Where each prefiltered part's newest point was last time (see newestOfManySeries): a hint, so a damaged file only costs a full read.
  const newestSeriesState = newestSeriesFile(options.stateDir, sideEffects);
  let newestSeries = new Map<string, SeriesTags>();
  let damaged = false;
  try {
    newestSeries = newestSeriesState.read();
  } catch (error) {
    damaged = true;
    const why = (error as Error).message.replace(/; delete it to start afresh$/, '');
    options.log.warn(`${why}; ignored${sideEffects ? ', and replaced after this run' : ' (a dry run or a past slot leaves it as it is)'}`);
  }
  const rememberedBefore = JSON.stringify([...newestSeries]);
  const statuses = await evaluateModules(options.influxdb, settings, nowMs, newestSeries);
  // The file would otherwise keep every rule ever configured.
  const prefilteredSetKeys = new Set(settings.rules.flatMap((rule) => rule.parts.filter((part) => part.prefilter).map(seriesSetKey)));
  for (const key of newestSeries.keys()) if (!prefilteredSetKeys.has(key)) newestSeries.delete(key);
  try {
    if (damaged || JSON.stringify([...newestSeries]) !== rememberedBefore) newestSeriesState.write(newestSeries);
  } catch (error) {
    problem(`cannot store ${newestSeriesState.file}: ${(error as Error).message}`);
  }
  // A backfill uses the downtimes that covered its slot; it keeps the feed's last good answer as it was.
  const sourceTls = options.tls;
  const known = await downtimesForRun(settings, { slotMs, stateDir: options.stateDir, tls: sourceTls && (() => sourceTls('status')), signal: options.signal, problem, remember: sideEffects });
  const downtimes = downtimesAt(known, statuses.map((status) => status.module), slotMs, settings.periodMs);
  const availability = availabilityDocuments(options.documents, settings, statuses, downtimes);
  const documents = [
    ...statuses.map((status) => {
      const downtime = downtimes.get(status.module);
      return options.documents.build(
        MONIT_COLLECTORS_STATUS,
        { module: status.module },
        {
          status: status.state,
          code: status.code,
          reason: status.reason,
          last_data_ms: status.lastDataMs,
          downtime: downtime !== undefined,
          downtime_reason: downtime?.reason,
          ...slotCounters(status.state, downtime !== undefined),
        },
      );
    }),
    ...availability,
  ];
  for (const status of statuses) options.log.debug(`${status.module}: ${status.state} (${status.reason})${downtimes.has(status.module) ? `, scheduled downtime: ${downtimes.get(status.module)?.reason}` : ''}`);

  const { transitions, firstSeen } = sideEffects ? recordTransitions(options.stateDir, statuses, slotMs, downtimes) : { transitions: [], firstSeen: [] };
  for (const first of firstSeen) options.log.info(`first state ${describeFirstState(first)}`);
  for (const transition of transitions) {
    options.log.info(`transition ${describeTransition(transition)}`);
    if (!settings.webhookUrl) continue;
    try {
      await postTransition(settings.webhookUrl, transition, settings.webhookTimeoutMs, options.signal);
    } catch (error) {
      problem(`webhook [status] webhook_url: ${(error as Error).message}`);
    }
  }

  // The page shows this run's downtimes before the runner stores its documents.
  const pending = statuses.map((status) => ({ ...status, downtime: downtimes.get(status.module) ?? null }));
  const snapshot = await loadStatusSnapshot(options.influxdb, settings, { nowMs, pending: { slotMs, statuses: pending }, stored: storedHistory });
  if (sideEffects) {
    try {
      if (settings.htmlFile) writeFileDurably(settings.htmlFile, renderStatusPage(snapshot));
      if (settings.jsonFile) writeFileDurably(settings.jsonFile, renderStatusJson(snapshot));
    } catch (error) {
      problem(`cannot write the status page: ${(error as Error).message}`);
    }
  }
  return { documents, statuses, transitions, snapshot };
}
