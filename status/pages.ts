import { statSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { PROJECT_ROOT } from '../lib/config/paths';
import type { InfluxClient } from '../lib/influx/influxdb';
import { influxClientFrom } from '../lib/influx/settings';
import type { Logger } from '../lib/run/log';
import { STATE_CODES, STATE_WORDS } from './evaluate';
import { renderStatusJson, renderStatusPage } from './page';
import { loadStatusSettings, type StatusSettings } from './settings';
import { loadStatusSnapshot, type StatusSnapshot } from './snapshot';

/** One GET page: its body, and an HTTP status other than 200 when it reports a problem. */
export type StatusPage = () => Promise<{ contentType: string; body: string; status?: number }>;

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

/** How often pages whose rules could not be read try them again. */
const RETRY_RULES_MS = 15_000;

/** What tells an edited file apart: its modification time and size. */
function fileStamp(file: string): string {
  try {
    const stat = statSync(file);
    return `${stat.mtimeMs}:${stat.size}`;
  } catch {
    return 'unreadable';
  }
}

/**
 * The status pages of this config, for the gateway. Rules that cannot be read (a bad rule, a missing
 * file) never stop the gateway: its log says why, the pages answer 503 with the reason, and the rules
 * are read again (at most every 15 s) until they load. An edit of the config file (a module added or
 * dropped, a rule fixed) is read the same way, without a restart.
 */
export function statusPagesFromConfig(startConfig: Config, log: Logger, options: { now?: () => number } = {}): Record<'/status' | '/status.json', StatusPage> {
  const now = options.now ?? Date.now;
  let config = startConfig;
  let pages: Record<'/status' | '/status.json', StatusPage> | undefined;
  let problem: { message: string; atMs: number } | undefined;
  // The rules live in config.cfg: an edit there (a module added, a rule fixed) is read at most RETRY_RULES_MS later.
  let configStamp = fileStamp(config.file);
  let checkedAtMs = now();
  const failed = (error: unknown): void => {
    const message = (error as Error).message;
    if (problem?.message !== message) log.error(`status pages unavailable, ingestion goes on: ${message}`);
    problem = { message, atMs: now() };
  };
  const reloadIfEdited = (): void => {
    if (now() - checkedAtMs < RETRY_RULES_MS) return;
    checkedAtMs = now();
    const stamp = fileStamp(config.file);
    if (stamp === configStamp) return;
    configStamp = stamp;
    pages = undefined;
    try {
      config = Config.load(config.file);
      // Read the rules of the edited file now, not at the end of a retry interval.
      if (problem) problem = { ...problem, atMs: -Infinity };
    } catch (error) {
      failed(error);
    }
  };
  const current = (): Record<'/status' | '/status.json', StatusPage> | undefined => {
    reloadIfEdited();
    if (pages || (problem && now() - problem.atMs < RETRY_RULES_MS)) return pages;
    try {
      pages = statusPages(influxClientFrom(config), loadStatusSettings(config, { warn: (message) => log.warn(message) }));
      if (problem) log.info('status rules read: the status pages are back');
      problem = undefined;
    } catch (error) {
      failed(error);
    }
    return pages;
  };
  current();
  // The page names files without their folders (the log has the whole path).
  const shown = (message = ''): string => message.split(`${path.dirname(startConfig.file)}${path.sep}`).join('').split(`${PROJECT_ROOT}${path.sep}`).join('');
  const unavailable = (json: boolean): { contentType: string; body: string; status: number } => ({
    status: 503,
    contentType: json ? 'application/json' : 'text/plain; charset=utf-8',
    body: json ? JSON.stringify({ error: `status rules cannot be read: ${shown(problem?.message)}` }) : `Status rules cannot be read: ${shown(problem?.message)}\n`,
  });
  return {
    '/status': async () => (current()?.['/status'] ?? (async () => unavailable(false)))(),
    '/status.json': async () => (current()?.['/status.json'] ?? (async () => unavailable(true)))(),
  };
}
