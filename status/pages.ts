import { statSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { PROJECT_ROOT } from '../lib/config/paths';
import type { InfluxClient } from '../lib/influx/influxdb';
import type { GatewayPages, PageAnswer } from '../lib/http/pages';
import { influxClientFrom } from '../lib/influx/settings';
import type { Logger } from '../lib/run/log';
import { STATE_CODES, STATE_WORDS } from './evaluate';
import { statusAsset } from './assets';
import { badgeJson, badgeSvg } from './badges';
import { renderDetails } from './details';
import { renderStatusJson, renderStatusPage } from './page';
import { loadStatusSettings, type StatusSettings } from './settings';
import { detailsPath, loadStatusSnapshot, type ModuleSnapshot, type StatusSnapshot } from './snapshot';


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
      shown: 'na',
      downtime: null,
      stateText: STATE_WORDS.na,
      code: STATE_CODES.na,
      reason: `cannot read the stored statuses: ${error.message}`,
      evaluatedMs: null,
      lastDataMs: null,
      sinceMs: null,
      availability: { '24h': null, '7d': null, '30d': null, '90d': null },
      reliability: { '24h': null, '7d': null, '30d': null, '90d': null },
      timeline: [],
      history: [],
      incidents: [],
      dashboardUrl: null,
      detailsUrl: detailsPath(rule.module),
    })),
    incidents: [],
  };
}

/** Many viewers refreshing at once share one reading of InfluxDB; the data changes every 10 minutes. */
const CACHE_MS = 15_000;

const HTML = 'text/html; charset=utf-8';
const JSON_TYPE = 'application/json';

function notFound(text: string): PageAnswer {
  return { status: 404, contentType: 'text/plain; charset=utf-8', body: `${text}\n` };
}

/** A path segment decoded, or undefined when its percent-encoding is malformed. */
function segment(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * The status pages, read from the stored status documents (at most every 15 s) and InfluxDB:
 * - `/status` (HTML) and `/status.json`: every module;
 * - `/status/module/<module>` and `/status/module/<module>.json`: a module's details (`?range=6h|7d|30d|1y`);
 * - `/status/badge/<module>.svg` and `/status/badge/<module>.json`: a module's badge;
 * - `/status/assets/<file>`: the chart library, served locally.
 * `now` is for tests.
 */
export function statusPages(influxdb: InfluxClient, settings: StatusSettings, options: { now?: () => number } = {}): GatewayPages {
  const now = options.now ?? Date.now;
  let cached: { readAtMs: number; snapshot: Promise<StatusSnapshot> } | undefined;
  const read = async (): Promise<StatusSnapshot> => {
    const nowMs = now();
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
  const moduleOf = async (name: string): Promise<ModuleSnapshot | undefined> => (await snapshot()).modules.find((module) => module.module === name);
  const badge = (name: string, render: (module: ModuleSnapshot) => string, contentType: string) => async (): Promise<PageAnswer> => {
    const module = await moduleOf(name);
    // Badges are embedded in other sites' pages: they must not be cached for longer than a status run.
    return module ? { contentType, body: render(module), headers: { 'cache-control': 'max-age=60' } } : notFound(`no module ${name}`);
  };
  return (url) => {
    const path = url.pathname;
    if (path === '/status') return { route: path, answer: async () => ({ contentType: HTML, body: renderStatusPage(await snapshot()) }) };
    if (path === '/status.json') return { route: path, answer: async () => ({ contentType: JSON_TYPE, body: renderStatusJson(await snapshot()) }) };
    const [, top, kind, rest, ...more] = path.split('/');
    if (top !== 'status' || rest === undefined || more.length > 0) return undefined;
    const name = segment(rest);
    if (name === undefined) return undefined;
    if (kind === 'assets') {
      const asset = statusAsset(name);
      return asset && { route: '/status/assets/:file', answer: async () => asset };
    }
    if (kind === 'badge' && name.endsWith('.svg')) return { route: '/status/badge/:module.svg', answer: badge(name.slice(0, -4), badgeSvg, 'image/svg+xml') };
    if (kind === 'badge' && name.endsWith('.json')) return { route: '/status/badge/:module.json', answer: badge(name.slice(0, -5), badgeJson, JSON_TYPE) };
    if (kind === 'module') {
      const json = name.endsWith('.json');
      const module = json ? name.slice(0, -5) : name;
      const range = url.searchParams.get('range') ?? undefined;
      return {
        route: json ? '/status/module/:module.json' : '/status/module/:module',
        answer: async () => renderDetails({ influxdb, settings, snapshot, nowMs: now }, module, range, json ? 'json' : 'html'),
      };
    }
    return undefined;
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
export function statusPagesFromConfig(startConfig: Config, log: Logger, options: { now?: () => number } = {}): GatewayPages {
  const now = options.now ?? Date.now;
  let config = startConfig;
  let pages: GatewayPages | undefined;
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
  const current = (): GatewayPages | undefined => {
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
  const unavailable = (json: boolean): PageAnswer => ({
    status: 503,
    contentType: json ? JSON_TYPE : 'text/plain; charset=utf-8',
    body: json ? JSON.stringify({ error: `status rules cannot be read: ${shown(problem?.message)}` }) : `Status rules cannot be read: ${shown(problem?.message)}\n`,
  });
  return (url) => {
    const live = current();
    if (live) return live(url);
    const path = url.pathname;
    if (path !== '/status' && !path.startsWith('/status/') && path !== '/status.json') return undefined;
    // Every status page says why it cannot answer; the assets need no rules.
    const asset = path.startsWith('/status/assets/') ? statusAsset(path.slice('/status/assets/'.length)) : undefined;
    if (asset) return { route: '/status/assets/:file', answer: async () => asset };
    return { route: '/status (rules unreadable)', answer: async () => unavailable(path.endsWith('.json')) };
  };
}
