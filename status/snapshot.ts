import { databaseFor } from '../lib/documents/interpret';
import { type InfluxClient, InfluxError, type Series } from '../lib/influx/influxdb';
import { qualifiedMeasurement, quoteIdentifier, timeLiteral } from '../lib/influx/influxql';
import { slotStart } from '../lib/run/slot';
import { type ModuleState, type ModuleStatus, STATE_CODES, STATE_WORDS, stateOfCode } from './evaluate';
import type { SlotCounts } from './argo';
import type { StatusSettings } from './settings';
import { MONIT_COLLECTORS_STATUS } from '../schemas/kinds';

const DAY_MS = 86400e3;
/** The availability windows shown on the page. */
export const AVAILABILITY_WINDOWS = { '24h': DAY_MS, '7d': 7 * DAY_MS, '30d': 30 * DAY_MS, '90d': 90 * DAY_MS } as const;
export type AvailabilityWindow = keyof typeof AVAILABILITY_WINDOWS;
const TIMELINE_SPAN_MS = DAY_MS;

/** One stored status document, reduced to what the history needs. */
export interface StatusPoint {
  timeMs: number;
  code: number;
}

/** What a light shows: the module's state, or a scheduled downtime, which has a colour of its own. */
export type ShownState = ModuleState | 'downtime';

export interface TimelineSegment {
  fromMs: number;
  toMs: number;
  state: ShownState;
}

/** One day of the 90-day history bar (UTC days). */
export interface DayCell {
  /** 00:00 UTC of the day. */
  dayStartMs: number;
  /** The worst state of the day (downtime ranks below unavailable); null: no status document that day. */
  worst: ShownState | null;
  counts: SlotCounts;
  /** ARGO's figures of that day (argo.ts). */
  availability: number | null;
  reliability: number | null;
}

/** A change of what a module's light shows, from the stored status documents. */
export interface Incident {
  module: string;
  title: string;
  from: ShownState;
  to: ShownState;
  /** The reason stored with the first document of the new state (the downtime reason for a downtime). */
  reason: string;
  startMs: number;
  /** When the module left that state; null while it lasts. */
  endMs: number | null;
  durationMs: number;
}

export interface ModuleSnapshot {
  module: string;
  title: string;
  state: ModuleState;
  /** What the light shows: `state`, or `downtime` while a scheduled downtime covers the module. */
  shown: ShownState;
  /** The scheduled downtime covering the module now (its newest status document's), if any. */
  downtime: { reason: string } | null;
  /** The state in words: Available, Degraded, Unavailable, N/A. */
  stateText: string;
  code: number;
  reason: string;
  /** When the shown state was decided (the status document's slot); null if never. */
  evaluatedMs: number | null;
  /** Newest data the decision saw; null if none. */
  lastDataMs: number | null;
  /** Start of the current run of the same state in the history; null if unknown. */
  sinceMs: number | null;
  /** Fraction of time up (available or degraded) among the time with a known state; null if all N/A. */
  availability: Record<AvailabilityWindow, number | null>;
  /** ARGO reliability: as availability, with scheduled downtime left out; null if nothing is left. */
  reliability: Record<AvailabilityWindow, number | null>;
  timeline: TimelineSegment[];
  /** The last 90 UTC days, oldest first, today last. */
  history: DayCell[];
  /** This module's incidents of the last 30 days, newest first. */
  incidents: Incident[];
  dashboardUrl: string | null;
  /** Its details page, below the gateway's root: /status/module/<module>. */
  detailsUrl: string;
}

/** What /status.json serves and the page shows. */
export interface StatusSnapshot {
  title: string;
  generatedMs: number;
  refreshSeconds: number;
  modules: ModuleSnapshot[];
  /** Every module's incidents of the last 30 days, newest first. */
  incidents: Incident[];
}

/**
 * Availability after WLCG/ARGO: up (available or degraded) over up plus unavailable; N/A and slots
 * without a status document are left out of the denominator. Each document stands for one period, so
 * counting documents weighs time. Documents with now − window < time ≤ now count. Null: no known state.
 */
export function availability(points: StatusPoint[], nowMs: number, windowMs: number): number | null {
  let up = 0;
  let down = 0;
  for (const point of points) {
    if (point.timeMs <= nowMs - windowMs || point.timeMs > nowMs) continue;
    if (point.code === STATE_CODES.available || point.code === STATE_CODES.degraded) up++;
    else if (point.code === STATE_CODES.unavailable) down++;
  }
  return up + down === 0 ? null : up / (up + down);
}

/** The last 24 hours slot by slot, consecutive slots of one state merged; a slot without a document is N/A. */
export function timeline(points: StatusPoint[], nowMs: number, periodMs: number, spanMs: number = TIMELINE_SPAN_MS): TimelineSegment[] {
  const lastSlot = slotStart(nowMs, periodMs);
  const firstSlot = lastSlot - Math.ceil(spanMs / periodMs) * periodMs + periodMs;
  const bySlot = new Map<number, StatusPoint>();
  for (const point of points) {
    const slot = slotStart(point.timeMs, periodMs);
    const known = bySlot.get(slot);
    if (!known || point.timeMs >= known.timeMs) bySlot.set(slot, point);
  }
  const segments: TimelineSegment[] = [];
  for (let slot = firstSlot; slot <= lastSlot; slot += periodMs) {
    const point = bySlot.get(slot);
    const state = point ? stateOfCode(point.code) : 'na';
    const previous = segments[segments.length - 1];
    if (previous && previous.state === state && previous.toMs === slot) previous.toMs = slot + periodMs;
    else segments.push({ fromMs: slot, toMs: slot + periodMs, state });
  }
  return segments;
}

/** Start of the run of identical codes that ends with the newest point, if the history shows it. */
function currentRunStart(points: StatusPoint[], code: number, periodMs: number): number | null {
  const sorted = [...points].sort((a, b) => b.timeMs - a.timeMs);
  if (sorted.length === 0 || sorted[0].code !== code) return null;
  let since = sorted[0].timeMs;
  for (const point of sorted.slice(1)) {
    if (point.code !== code || since - point.timeMs > periodMs) break;
    since = point.timeMs;
  }
  return since;
}

interface LatestStatus {
  timeMs: number;
  code: number;
  reason: string;
  lastDataMs: number | null;
}

function rowsOf(series: Series): Array<Record<string, unknown>> {
  return series.values.map((values) => Object.fromEntries(series.columns.map((column, index) => [column, values[index]])));
}

/** Stored status documents: every module's codes over the longest window, and each module's newest document. */
export async function readStatusHistory(
  influxdb: InfluxClient,
  nowMs: number,
  retentionPolicy: string,
): Promise<{ points: Map<string, StatusPoint[]>; latest: Map<string, LatestStatus> }> {
  const { fields, tags } = MONIT_COLLECTORS_STATUS;
  const from = qualifiedMeasurement(databaseFor(MONIT_COLLECTORS_STATUS.producer), retentionPolicy, MONIT_COLLECTORS_STATUS.type);
  const range = `time > ${timeLiteral(nowMs - AVAILABILITY_WINDOWS['30d'])} AND time <= ${timeLiteral(nowMs)}`;
  let history: Series[] = [];
  let newest: Series[] = [];
  try {
    // Separate requests: with several statements, InfluxDB 1.6 answers a missing database with "not executed".
    [[history = []], [newest = []]] = await Promise.all([
      influxdb.query(`SELECT ${quoteIdentifier(fields.code)} FROM ${from} WHERE ${range} GROUP BY ${quoteIdentifier(tags.module)}`),
      influxdb.query(`SELECT ${[fields.code, fields.reason, fields.last_data_ms].map(quoteIdentifier).join(', ')} FROM ${from} WHERE ${range} GROUP BY ${quoteIdentifier(tags.module)} ORDER BY time DESC LIMIT 1`),
    ]);
  } catch (error) {
    if (!(error instanceof InfluxError && /database not found/i.test(error.message))) throw error;
  }
  const points = new Map<string, StatusPoint[]>();
  for (const one of history) {
    points.set(one.tags?.module ?? '', rowsOf(one).map((row) => ({ timeMs: Number(row.time), code: Number(row.code) })));
  }
  const latest = new Map<string, LatestStatus>();
  for (const one of newest) {
    const [row] = rowsOf(one);
    if (!row) continue;
    latest.set(one.tags?.module ?? '', {
      timeMs: Number(row.time),
      code: Number(row.code),
      reason: typeof row.reason === 'string' ? row.reason : '',
      lastDataMs: typeof row.last_data_ms === 'number' ? row.last_data_ms : null,
    });
  }
  return { points, latest };
}

export interface SnapshotOptions {
  nowMs?: number;
  /** Statuses decided by a run but not yet stored (the status job writes its page before the runner sends). */
  pending?: { slotMs: number; statuses: ModuleStatus[] };
}

/** The details page of a module, below the gateway's root. */
export function detailsPath(module: string): string {
  return `/status/module/${encodeURIComponent(module)}`;
}

/** Joins a base URL and a path with exactly one slash. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** The snapshot of every configured module from the stored status documents: what /status and /status.json show. */
export async function loadStatusSnapshot(influxdb: InfluxClient, settings: StatusSettings, options: SnapshotOptions = {}): Promise<StatusSnapshot> {
  const nowMs = options.nowMs ?? Date.now();
  const stored = await readStatusHistory(influxdb, nowMs, settings.retentionPolicy);
  const modules = settings.rules.map((rule): ModuleSnapshot => {
    let points = stored.points.get(rule.module) ?? [];
    let latest = stored.latest.get(rule.module);
    const pending = options.pending?.statuses.find((status) => status.module === rule.module);
    if (pending && options.pending) {
      const slotMs = options.pending.slotMs;
      points = [...points.filter((point) => point.timeMs !== slotMs), { timeMs: slotMs, code: pending.code }];
      if (!latest || latest.timeMs <= slotMs) latest = { timeMs: slotMs, code: pending.code, reason: pending.reason, lastDataMs: pending.lastDataMs ?? null };
    }
    let state: ModuleState = latest ? stateOfCode(latest.code) : 'na';
    let reason = latest?.reason ?? 'never evaluated by the status job';
    if (latest && latest.timeMs <= nowMs - settings.staleAfterMs) {
      state = 'na';
      reason = `status not evaluated since ${new Date(latest.timeMs).toISOString().replace(/\.000Z$/, 'Z')}`;
    }
    const windows = Object.entries(AVAILABILITY_WINDOWS) as Array<[AvailabilityWindow, number]>;
    const noFigures = Object.fromEntries(windows.map(([name]) => [name, null])) as Record<AvailabilityWindow, number | null>;
    return {
      module: rule.module,
      title: rule.title,
      state,
      shown: state,
      downtime: null,
      stateText: STATE_WORDS[state],
      code: STATE_CODES[state],
      reason,
      evaluatedMs: latest?.timeMs ?? null,
      lastDataMs: latest?.lastDataMs ?? null,
      sinceMs: latest && state === stateOfCode(latest.code) ? currentRunStart(points, latest.code, settings.periodMs) : null,
      availability: Object.fromEntries(windows.map(([name, windowMs]) => [name, availability(points, nowMs, windowMs)])) as Record<AvailabilityWindow, number | null>,
      reliability: noFigures,
      timeline: timeline(points, nowMs, settings.periodMs),
      history: [],
      incidents: [],
      dashboardUrl: settings.grafanaUrl && rule.dashboard ? joinUrl(settings.grafanaUrl, rule.dashboard) : null,
      detailsUrl: detailsPath(rule.module),
    };
  });
  return { title: settings.title, generatedMs: nowMs, refreshSeconds: settings.refreshSeconds, modules, incidents: [] };
}
