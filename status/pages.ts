import { statSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { PROJECT_ROOT } from '../lib/config/paths';
import type { GatewayPages, PageAnswer } from '../lib/http/pages';
import { influxInstances, type InfluxSource } from '../lib/influx/instances';
import type { Logger } from '../lib/run/log';
import { statusAsset } from './assets';
import { badgeJson, badgeSvg, brokenRulesBadge, unknownModuleBadge } from './badges';
import { expiringCache } from './cache';
import { type DetailsData, renderDetails } from './details';
import { renderStatusJson, renderStatusPage, rulesBrokenPage } from './page';
import { loadStatusSettings, type StatusSettings } from './settings';
import { loadStatusSnapshot, naModule, type StatusSnapshot } from './snapshot';


/** When the stored statuses cannot be read, the page still answers: every module N/A with the reason. */
function unreadableSnapshot(settings: StatusSettings, nowMs: number, error: Error): StatusSnapshot {
  return {
    title: settings.title,
    generatedMs: nowMs,
    refreshSeconds: settings.refreshSeconds,
    modules: settings.rules.map((rule) => naModule(rule, `cannot read the stored statuses: ${error.message}`)),
    incidents: [],
  };
}

/** Many viewers refreshing at once share one reading of InfluxDB; the data changes every 10 minutes. */
const CACHE_MS = 15_000;

const HTML = 'text/html; charset=utf-8';
const JSON_TYPE = 'application/json';

const TEXT = 'text/plain; charset=utf-8';
const SVG = 'image/svg+xml';

/**
 * Badges are embedded in other sites' pages: GitHub's image proxy (camo) and wikis must fetch them
 * again on each view rather than keep a stale light (GitHub's docs ask changing images to say
 * no-cache). A view costs no InfluxDB read: the snapshot is shared for 15 s.
 */
const BADGE_HEADERS = { 'cache-control': 'no-cache' };

function notFound(text: string): PageAnswer {
  return { status: 404, contentType: TEXT, body: `${text}\n` };
}

/** A path segment decoded, or undefined when its percent-encoding is malformed. */
function segment(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** The route of a status page: its kind, and the module or file it names (decoded). */
type StatusRoute =
  | { kind: 'page' | 'json' }
  | { kind: 'badge'; module: string; format: 'svg' | 'json' }
  | { kind: 'module'; module: string; format: 'html' | 'json' }
  | { kind: 'asset'; file: string }
  | { kind: 'unknown'; why: string };

/** The metrics label of a route: never a module or file name, so the label keeps few values. */
function routeLabel(route: StatusRoute): string {
  switch (route.kind) {
    case 'page':
      return '/status';
    case 'json':
      return '/status.json';
    case 'badge':
      return `/status/badge/:module.${route.format}`;
    case 'module':
      return route.format === 'json' ? '/status/module/:module.json' : '/status/module/:module';
    case 'asset':
      return '/status/assets/:file';
    case 'unknown':
      return '/status/*';
  }
}

/** Which status page a path asks for; undefined outside /status. Each part is decoded after the split, so `%2F` never splits. */
export function statusRoute(path: string): StatusRoute | undefined {
  if (path === '/status') return { kind: 'page' };
  if (path === '/status.json') return { kind: 'json' };
  if (!path.startsWith('/status/')) return undefined;
  const [kind, rest, ...more] = path.slice('/status/'.length).split('/');
  if (rest === undefined || rest === '' || more.length > 0 || !['badge', 'module', 'assets'].includes(kind)) {
    return { kind: 'unknown', why: 'the status pages are /status, /status.json, /status/module/<module>[.json], /status/badge/<module>.svg|.json' };
  }
  const name = segment(rest);
  if (name === undefined) return { kind: 'unknown', why: `'${rest}' is not valid percent-encoding` };
  if (kind === 'assets') return { kind: 'asset', file: name };
  if (kind === 'module') return name.endsWith('.json') ? { kind: 'module', module: name.slice(0, -5), format: 'json' } : { kind: 'module', module: name, format: 'html' };
  if (name.endsWith('.svg')) return { kind: 'badge', module: name.slice(0, -4), format: 'svg' };
  if (name.endsWith('.json')) return { kind: 'badge', module: name.slice(0, -5), format: 'json' };
  return { kind: 'unknown', why: 'a badge is /status/badge/<module>.svg or /status/badge/<module>.json' };
}

/**
 * The status pages, read from the stored status documents (at most every 15 s) and InfluxDB:
 * - `/status` (HTML) and `/status.json`: every module;
 * - `/status/module/<module>` and `/status/module/<module>.json`: a module's details (`?range=6h|7d|30d|1y`);
 * - `/status/badge/<module>.svg` and `/status/badge/<module>.json`: a module's badge;
 * - `/status/assets/<file>`: the chart library, served locally.
 * Any other path below /status/, an unknown module or file: 404 with a message. `now` is for tests.
 */
export function statusPages(influxdb: InfluxSource, settings: StatusSettings, options: { now?: () => number } = {}): GatewayPages {
  const now = options.now ?? Date.now;
  // The pages' one clock times both caches (a test's injected clock too).
  const snapshots = expiringCache<StatusSnapshot>(CACHE_MS, now);
  const details = expiringCache<DetailsData>(CACHE_MS, now);
  const snapshot = (): Promise<StatusSnapshot> => {
    const nowMs = now();
    // An unreadable store is forgotten by the cache, so the next request retries it.
    return snapshots('', () => loadStatusSnapshot(influxdb, settings, { nowMs })).catch((error: unknown) => unreadableSnapshot(settings, nowMs, error as Error));
  };
  const modules = new Set(settings.rules.map((rule) => rule.module));
  const unknownModule = (name: string): PageAnswer => notFound(`no module '${name}': /status lists the modules`);
  // A badge of an unknown module is still a badge, so an embedded one shows the mistake instead of a broken image.
  const unknownBadge = (name: string, format: 'svg' | 'json'): PageAnswer => ({ status: 404, contentType: format === 'svg' ? SVG : JSON_TYPE, body: unknownModuleBadge(name, format), headers: BADGE_HEADERS });
  const badge = async (name: string, format: 'svg' | 'json'): Promise<PageAnswer> => {
    const module = (await snapshot()).modules.find((entry) => entry.module === name);
    if (!module) return unknownBadge(name, format);
    return format === 'svg' ? { contentType: SVG, body: badgeSvg(module), headers: BADGE_HEADERS } : { contentType: JSON_TYPE, body: badgeJson(module), headers: BADGE_HEADERS };
  };
  const answer = (route: StatusRoute, url: URL): (() => Promise<PageAnswer>) => {
    switch (route.kind) {
      case 'page':
        return async () => ({ contentType: HTML, body: renderStatusPage(await snapshot()) });
      case 'json':
        return async () => ({ contentType: JSON_TYPE, body: renderStatusJson(await snapshot()) });
      case 'asset': {
        const asset = statusAsset(route.file);
        return async () => asset ?? notFound(`no asset '${route.file}'`);
      }
      case 'unknown':
        return async () => notFound(`no status page ${url.pathname}: ${route.why}`);
      case 'badge':
        if (!modules.has(route.module)) return async () => unknownBadge(route.module, route.format);
        return () => badge(route.module, route.format);
      case 'module': {
        if (!modules.has(route.module)) return async () => unknownModule(route.module);
        const range = url.searchParams.get('range') ?? undefined;
        return () => renderDetails({ influxdb, settings, snapshot, nowMs: now, cache: details }, route.module, range, route.format);
      }
    }
  };
  return (url) => {
    const route = statusRoute(url.pathname);
    return route && { route: routeLabel(route), answer: answer(route, url) };
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
      pages = statusPages(influxInstances(config), loadStatusSettings(config, { warn: (message) => log.warn(message) }));
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
  const retryAfter = { 'retry-after': String(RETRY_RULES_MS / 1000) };
  // Every status page says why it cannot answer (a badge as an image, so an embedded one shows it).
  const unavailable = (route: StatusRoute): PageAnswer => {
    const why = shown(problem?.message);
    if (route.kind === 'badge') {
      return { status: 503, contentType: route.format === 'svg' ? SVG : JSON_TYPE, body: brokenRulesBadge(why, route.format), headers: { ...BADGE_HEADERS, ...retryAfter } };
    }
    const json = route.kind === 'json' || (route.kind === 'module' && route.format === 'json');
    if (json) return { status: 503, contentType: JSON_TYPE, body: JSON.stringify({ error: `status rules cannot be read: ${why}` }), headers: retryAfter };
    // A person reading: a page that says what to do and reloads itself.
    if (route.kind === 'page' || route.kind === 'module') return { status: 503, contentType: HTML, body: rulesBrokenPage(why, path.basename(startConfig.file), RETRY_RULES_MS / 1000), headers: retryAfter };
    return { status: 503, contentType: TEXT, body: `Status rules cannot be read: ${why}\n`, headers: retryAfter };
  };
  return (url) => {
    const live = current();
    if (live) return live(url);
    const route = statusRoute(url.pathname);
    if (!route) return undefined;
    // The assets need no rules.
    const asset = route.kind === 'asset' ? statusAsset(route.file) : undefined;
    if (asset) return { route: routeLabel(route), answer: async () => asset };
    return { route: routeLabel(route), answer: async () => unavailable(route) };
  };
}
