/**
 * The long history of each module from its stored status documents: slot counts per UTC day and per
 * window (ARGO's availability and reliability), the 90-day bar, and the incidents (changes of what the
 * light showed). Pure functions; snapshot.ts reads InfluxDB and calls them.
 *
 * Where the counts come from: the raw RP keeps only [influxdb] raw_duration. The days are split at
 * `splitMs`, the first whole hour raw still holds (never older than 90 days ago): documents from it on
 * are read one by one from raw (a document counts as downtime when its `downtime` is true, else by its
 * `code`, so documents written before the slot counters count too); the hours before it are the 1h RP's
 * sums of the `*_slots` counters (summed by downsample-1h). A window that raw holds whole counts raw only;
 * one reaching past raw counts the 1h hours from its first whole hour up to the split, then raw (see
 * `windowSources`).
 */
import { addCounts, argoFigures, NO_SLOTS, type SlotCounts } from './argo';
import type { DayCell, Incident } from './snapshot';
import { countOf, documentShown, SHOWN_RANK, type ShownState } from './states';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** Days of the history bar, today included. */
export const HISTORY_DAYS = 90;
/** How far back the incident list goes. */
export const INCIDENT_SPAN_MS = 30 * DAY_MS;

/** One raw status document: its slot, code, and whether a scheduled downtime covered it (absent in documents written before downtimes existed). */
export interface HistoryPoint {
  timeMs: number;
  code: number;
  downtime?: boolean;
}

export function worstOf(states: ShownState[]): ShownState | null {
  let worst: ShownState | null = null;
  for (const state of states) if (worst === null || SHOWN_RANK[state] > SHOWN_RANK[worst]) worst = state;
  return worst;
}

/** The slot counts of the points with fromMs ≤ time < toMs (documents are stamped with their slot's start). */
export function countPoints(points: HistoryPoint[], fromMs: number, toMs: number): SlotCounts {
  const counts = { ...NO_SLOTS };
  for (const point of points) if (point.timeMs >= fromMs && point.timeMs < toMs) counts[documentShown(point)]++;
  return counts;
}

/** Where raw takes over from 1h: the first whole hour raw holds, at most 90 days back (see the top of this file). */
export function historySplit(nowMs: number, rawDurationMs: number): number {
  const oldest = nowMs - HISTORY_DAYS * DAY_MS;
  if (!Number.isFinite(rawDurationMs)) return oldest;
  return Math.max(oldest, Math.ceil((nowMs - rawDurationMs) / HOUR_MS) * HOUR_MS);
}

export function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/**
 * Where a window's slots are read. Within what raw holds (now − window ≥ now − raw duration): raw only, from
 * now − window. Reaching past raw: the 1h hours from the first whole hour of the window up to the split, and raw
 * from the split, so no slot counts twice (the slots before that first whole hour are not counted).
 */
export function windowSources(nowMs: number, windowMs: number, rawDurationMs: number, splitMs: number): { rawFromMs: number; hourlyFromMs: number | null } {
  if (windowMs <= rawDurationMs) return { rawFromMs: nowMs - windowMs, hourlyFromMs: null };
  return { rawFromMs: splitMs, hourlyFromMs: Math.ceil((nowMs - windowMs) / HOUR_MS) * HOUR_MS };
}

/** A day (or window) made of 1h sums before the split and raw documents from it on. */
export interface HistorySources {
  /** Raw documents, sorted by time; the days count those at or after `splitMs`, the windows as `windowSources` says. */
  points: HistoryPoint[];
  splitMs: number;
  /** How long raw keeps documents (Infinity: forever). */
  rawDurationMs: number;
  /** The 1h sums before the split, per UTC day start. */
  hourlyByDay: Map<number, SlotCounts>;
}

/** The 90 UTC days ending today, oldest first; a day with no document has `worst` null. */
export function dayCells(sources: HistorySources, nowMs: number, periodMs: number): DayCell[] {
  const today = dayStart(nowMs);
  const raw = new Map<number, SlotCounts>();
  for (const point of sources.points) {
    if (point.timeMs < sources.splitMs || point.timeMs > nowMs) continue;
    const day = dayStart(point.timeMs);
    raw.set(day, addCounts(raw.get(day) ?? NO_SLOTS, countOf(documentShown(point))));
  }
  const cells: DayCell[] = [];
  for (let index = HISTORY_DAYS - 1; index >= 0; index--) {
    const day = today - index * DAY_MS;
    const counts = addCounts(sources.hourlyByDay.get(day) ?? NO_SLOTS, raw.get(day) ?? NO_SLOTS);
    const worst = worstOf((Object.keys(counts) as ShownState[]).filter((state) => counts[state] > 0));
    cells.push({ dayStartMs: day, worst, counts, downtimeMs: counts.downtime * periodMs, ...argoFigures(counts) });
  }
  return cells;
}

/**
 * A window's counts: raw documents with now − window ≤ time < now (from the split on, and then the 1h sums given
 * for its hours before the split, when it reaches past raw: `windowSources`). A document stands for the slot
 * starting at its time, so a 24h window ending at midnight is exactly that UTC day's 144 slots.
 */
export function windowCounts(sources: HistorySources, nowMs: number, windowMs: number, hourly: SlotCounts = NO_SLOTS): SlotCounts {
  const { rawFromMs, hourlyFromMs } = windowSources(nowMs, windowMs, sources.rawDurationMs, sources.splitMs);
  return addCounts(countPoints(sources.points, rawFromMs, nowMs), hourlyFromMs === null ? NO_SLOTS : hourly);
}

/** An incident before its reason is read: the reason is stored with the document at `reasonAtMs` (null: none, the status job did not run). */
export interface IncidentDraft extends Omit<Incident, 'reason'> {
  reasonAtMs: number | null;
  /** For a gap, the reason is known without reading. */
  reason?: string;
}

/** The page's wording for a status that stopped being evaluated (as snapshot.ts says it on the light). */
export function notEvaluatedSince(timeMs: number): string {
  return `status not evaluated since ${new Date(timeMs).toISOString().replace(/\.000Z$/, 'Z')}`;
}

/**
 * The changes of what the light showed, oldest first, from documents sorted by time. The light shows the
 * newest document's state (or downtime) until it is `staleAfterMs` old, then N/A: so a gap of missing
 * documents is an incident (to N/A, from the stale time) only when it lasts longer than that, exactly as
 * the page showed it. Only changes after `sinceMs` are returned; the documents before it give their `from`.
 */
export function incidentsOf(
  module: { module: string; title: string },
  points: HistoryPoint[],
  options: { nowMs: number; staleAfterMs: number; sinceMs: number },
): IncidentDraft[] {
  const changes: Array<{ atMs: number; to: ShownState; reasonAtMs: number | null; reason?: string }> = [];
  let shown: ShownState | null = null;
  const change = (atMs: number, to: ShownState, reasonAtMs: number | null, reason?: string): void => {
    if (to === shown) return;
    // The first entry is where the history starts, not a change: it only gives the next one its `from`.
    changes.push({ atMs, to, reasonAtMs, reason });
    shown = to;
  };
  for (let index = 0; index < points.length; index++) {
    const point = points[index];
    if (point.timeMs > options.nowMs) break;
    change(point.timeMs, documentShown(point), point.timeMs);
    const nextMs = index + 1 < points.length && points[index + 1].timeMs <= options.nowMs ? points[index + 1].timeMs : options.nowMs + 1;
    const staleMs = point.timeMs + options.staleAfterMs;
    // The page turns N/A at staleMs (newest document ≤ now − stale_after).
    if (staleMs < nextMs && staleMs <= options.nowMs) change(staleMs, 'na', null, notEvaluatedSince(point.timeMs));
  }
  const drafts: IncidentDraft[] = [];
  for (let index = 1; index < changes.length; index++) {
    const { atMs, to, reasonAtMs, reason } = changes[index];
    const endMs = index + 1 < changes.length ? changes[index + 1].atMs : null;
    if (atMs <= options.sinceMs) continue;
    drafts.push({
      module: module.module,
      title: module.title,
      from: changes[index - 1].to,
      to,
      reasonAtMs,
      ...(reason === undefined ? {} : { reason }),
      startMs: atMs,
      endMs,
      durationMs: (endMs ?? options.nowMs) - atMs,
    });
  }
  return drafts;
}

/** Newest first, then by module name for changes at the same time. */
export function newestFirst(incidents: Incident[]): Incident[] {
  return [...incidents].sort((a, b) => b.startMs - a.startMs || a.module.localeCompare(b.module));
}
