import type { InfluxClient } from '../lib/influx/influxdb';
import { STATE_CODES, STATE_WORDS } from './evaluate';
import { renderStatusJson, renderStatusPage } from './page';
import type { StatusSettings } from './settings';
import { loadStatusSnapshot, type StatusSnapshot } from './snapshot';

export type StatusPage = () => Promise<{ contentType: string; body: string }>;

/** When the stored statuses cannot be read, the page still answers: every module N/A with the reason. */
function unreadableSnapshot(settings: StatusSettings, nowMs: number, error: Error): StatusSnapshot {
  return {
    title: settings.title,
    generatedMs: nowMs,
    refreshSeconds: settings.refreshSeconds,
    modules: settings.rules.map((rule) => ({
      module: rule.module,
      title: rule.title,
      state: 'na',
      stateText: STATE_WORDS.na,
      code: STATE_CODES.na,
      reason: `cannot read the stored statuses: ${error.message}`,
      evaluatedMs: null,
      lastDataMs: null,
      sinceMs: null,
      availability: { '24h': null, '7d': null, '30d': null },
      timeline: [],
      dashboardUrl: null,
    })),
  };
}

/** Many viewers refreshing at once share one reading of InfluxDB; the data changes every 10 minutes. */
const CACHE_MS = 15_000;

/**
 * The gateway's GET pages: `/status` (HTML) and `/status.json`, read from the stored status documents
 * (at most every 15 s). `now` is for tests.
 */
export function statusPages(influxdb: InfluxClient, settings: StatusSettings, options: { now?: () => number } = {}): Record<'/status' | '/status.json', StatusPage> {
  let cached: { readAtMs: number; snapshot: Promise<StatusSnapshot> } | undefined;
  const read = async (): Promise<StatusSnapshot> => {
    const nowMs = options.now?.() ?? Date.now();
    try {
      return await loadStatusSnapshot(influxdb, settings, { nowMs });
    } catch (error) {
      cached = undefined; // an unreadable store is retried on the next request
      return unreadableSnapshot(settings, nowMs, error as Error);
    }
  };
  const snapshot = (): Promise<StatusSnapshot> => {
    if (!cached || Date.now() - cached.readAtMs >= CACHE_MS) cached = { readAtMs: Date.now(), snapshot: read() };
    return cached.snapshot;
  };
  return {
    '/status': async () => ({ contentType: 'text/html; charset=utf-8', body: renderStatusPage(await snapshot()) }),
    '/status.json': async () => ({ contentType: 'application/json', body: renderStatusJson(await snapshot()) }),
  };
}
