import type { InfluxClient } from '../lib/influxdb';
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

/**
 * The gateway's GET pages: `/status` (HTML) and `/status.json`, read from the stored status documents
 * on each request. `now` is for tests.
 */
export function statusPages(influxdb: InfluxClient, settings: StatusSettings, options: { now?: () => number } = {}): Record<'/status' | '/status.json', StatusPage> {
  const snapshot = async (): Promise<StatusSnapshot> => {
    const nowMs = options.now?.() ?? Date.now();
    try {
      return await loadStatusSnapshot(influxdb, settings, { nowMs });
    } catch (error) {
      return unreadableSnapshot(settings, nowMs, error as Error);
    }
  };
  return {
    '/status': async () => ({ contentType: 'text/html; charset=utf-8', body: renderStatusPage(await snapshot()) }),
    '/status.json': async () => ({ contentType: 'application/json', body: renderStatusJson(await snapshot()) }),
  };
}
