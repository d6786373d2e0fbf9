import { databaseFor } from '../lib/documents/interpret';
import { type InfluxClient, InfluxError, isMissingDatabase, rowsOf, type Series } from '../lib/influx/influxdb';
import { clientOfProducer, type InfluxSource } from '../lib/influx/instances';
import { joinUrl } from '../lib/http/urls';
import { qualifiedMeasurement, quoteIdentifier, quoteString, timeLiteral } from '../lib/influx/influxql';
import { parseRetentionDuration } from '../downsample/windows';
import { slotStart } from '../lib/run/slot';
import type { ModuleStatus } from './evaluate';
import { type ModuleState, shownOf, type ShownState, SLOT_FIELDS, STATE_CODES, STATE_WORDS, stateOfCode, documentShown } from './states';
import { addCounts, argoFigures, NO_SLOTS, type SlotCounts } from './argo';
import { DAY_MS, dayCells, HOUR_MS, type HistoryPoint, historySplit, INCIDENT_SPAN_MS, type IncidentDraft, incidentsOf, newestFirst, notEvaluatedSince, windowCounts, windowSources } from './history';
import type { StatusSettings } from './settings';
import { MONIT_COLLECTORS_STATUS } from '../schemas/kinds';

/** The availability windows shown on the page. */
export const AVAILABILITY_WINDOWS = { '24h': DAY_MS, '7d': 7 * DAY_MS, '30d': 30 * DAY_MS, '90d': 90 * DAY_MS } as const;
export type AvailabilityWindow = keyof typeof AVAILABILITY_WINDOWS;
const TIMELINE_SPAN_MS = DAY_MS;

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
  /** Time under scheduled downtime: downtime slots × [status] period. */
  downtimeMs: number;
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
  /** Changes of the last 30 days not listed: those beyond each module's newest INCIDENTS_PER_MODULE. */
  unlistedIncidents?: number;
}

/** The last 24 hours slot by slot, consecutive slots of one shown state merged; a slot without a document is N/A. */
export function timeline(points: HistoryPoint[], nowMs: number, periodMs: number, spanMs: number = TIMELINE_SPAN_MS): TimelineSegment[] {
  const lastSlot = slotStart(nowMs, periodMs);
  const firstSlot = lastSlot - Math.ceil(spanMs / periodMs) * periodMs + periodMs;
  const bySlot = new Map<number, HistoryPoint>();
  for (const point of points) {
    const slot = slotStart(point.timeMs, periodMs);
    const known = bySlot.get(slot);
    if (!known || point.timeMs >= known.timeMs) bySlot.set(slot, point);
  }
  const segments: TimelineSegment[] = [];
  for (let slot = firstSlot; slot <= lastSlot; slot += periodMs) {
    const point = bySlot.get(slot);
    const state: ShownState = point ? documentShown(point) : 'na';
    const previous = segments[segments.length - 1];
    if (previous && previous.state === state && previous.toMs === slot) previous.toMs = slot + periodMs;
    else segments.push({ fromMs: slot, toMs: slot + periodMs, state });
  }
  return segments;
}

/** Start of the run of the same shown state that ends with the newest point, if the history shows it. */
function currentRunStart(points: HistoryPoint[], periodMs: number): number | null {
  let since: number | null = null;
  let state: ShownState | null = null;
  for (let index = points.length - 1; index >= 0; index--) {
    const point = points[index];
    if (state !== null && (documentShown(point) !== state || (since as number) - point.timeMs > periodMs)) break;
    state = documentShown(point);
    since = point.timeMs;
  }
  return since;
}

interface LatestStatus {
  timeMs: number;
  code: number;
  reason: string;
  lastDataMs: number | null;
  downtime: { reason: string } | null;
}

/** What one reading of the stored status documents gives; `queries` and `rows` say what it cost. */
export interface StoredHistory {
  /** Each module's raw documents from `splitMs` (or, if earlier, 30 days and an hour back, or the oldest window raw holds whole) on, oldest first. */
  points: Map<string, HistoryPoint[]>;
  latest: Map<string, LatestStatus>;
  splitMs: number;
  /** How long raw keeps documents (Infinity: forever, or unknown). */
  rawDurationMs: number;
  /** Each module's 1h sums before the split, per UTC day. */
  hourlyByDay: Map<string, Map<number, SlotCounts>>;
  /** Each module's 1h sums before the split inside each window (the windows raw does not cover). */
  hourlyByWindow: Map<AvailabilityWindow, Map<string, SlotCounts>>;
  queries: number;
  rows: number;
}

function countsOfRow(row: Record<string, unknown>): SlotCounts {
  const counts = { ...NO_SLOTS };
  for (const kind of Object.keys(SLOT_FIELDS) as Array<keyof SlotCounts>) counts[kind] = Number(row[kind] ?? 0) || 0;
  return counts;
}

/** Reads InfluxDB, counting queries and rows; a database (or RP) that does not exist yet reads as empty. */
class CountingReader {
  queries = 0;
  rows = 0;
  constructor(private readonly influxdb: InfluxClient) {}
  async series(statement: string): Promise<Series[][]> {
    this.queries++;
    try {
      const answer = await this.influxdb.query(statement);
      for (const statementSeries of answer) for (const one of statementSeries) this.rows += one.values.length;
      return answer;
    } catch (error) {
      if (isMissingDatabase(error) || (error instanceof InfluxError && /retention policy not found/i.test(error.message))) return [];
      throw error;
    }
  }
}

/** How long the status documents' RP keeps them (Infinity: forever, or when it cannot be told yet). */
async function retentionOf(reader: CountingReader, database: string, retentionPolicy: string): Promise<number> {
  const [[policies] = []] = await reader.series(`SHOW RETENTION POLICIES ON ${quoteIdentifier(database)}`);
  const row = policies ? rowsOf(policies).find((one) => one.name === retentionPolicy) : undefined;
  return row ? parseRetentionDuration(String(row.duration)) : Infinity;
}

/**
 * The stored status documents (see history.ts for the split between raw and 1h):
 * 1. the status RP's duration;
 * 2. every module's `code` and `downtime` from the split on, and for the incidents from 30 days and an hour back (one row per document);
 * 3. every module's newest document;
 * 4. the 1h sums of the slot counters before the split, per UTC day, and per window raw does not cover.
 */
export async function readStatusHistory(influxdb: InfluxSource, nowMs: number, retentionPolicy: string): Promise<StoredHistory> {
  const { fields, tags } = MONIT_COLLECTORS_STATUS;
  const reader = new CountingReader(clientOfProducer(influxdb, MONIT_COLLECTORS_STATUS.producer));
  const database = databaseFor(MONIT_COLLECTORS_STATUS.producer);
  const from = qualifiedMeasurement(database, retentionPolicy, MONIT_COLLECTORS_STATUS.type);
  const hourlyFrom = qualifiedMeasurement(database, '1h', MONIT_COLLECTORS_STATUS.type);
  const byModule = ` GROUP BY ${quoteIdentifier(tags.module)}`;
  const rawDurationMs = await retentionOf(reader, database, retentionPolicy);
  const splitMs = historySplit(nowMs, rawDurationMs);
  const oldestMs = nowMs - AVAILABILITY_WINDOWS['90d'];
  const sums = (Object.entries(SLOT_FIELDS) as Array<[keyof SlotCounts, string]>).map(([kind, field]) => `sum(${quoteIdentifier(field)}) AS ${quoteIdentifier(kind)}`).join(', ');
  const sourcesByWindow = (Object.entries(AVAILABILITY_WINDOWS) as Array<[AvailabilityWindow, number]>).map(
    ([name, windowMs]) => [name, windowSources(nowMs, windowMs, rawDurationMs, splitMs)] as const,
  );
  // Windows reaching past raw with an hour before the split; the 90-day one is the sum of the days.
  const hourlyWindows = sourcesByWindow.flatMap(([name, { hourlyFromMs }]) => (name !== '90d' && hourlyFromMs !== null && hourlyFromMs < splitMs ? [[name, hourlyFromMs] as const] : []));
  const hourly = splitMs > oldestMs;
  // Incidents look 30 days back, and an hour more for the state before the first change; the windows raw holds whole from their start.
  const firstRawMs = Math.min(splitMs, nowMs - INCIDENT_SPAN_MS - HOUR_MS, ...sourcesByWindow.map(([, { rawFromMs }]) => rawFromMs));
  const [[history = []], [newest = []], [days = []], ...windows] = await Promise.all([
    reader.series(`SELECT ${[fields.code, fields.downtime].map(quoteIdentifier).join(', ')} FROM ${from} WHERE time >= ${timeLiteral(firstRawMs)} AND time <= ${timeLiteral(nowMs)}${byModule}`),
    reader.series(
      `SELECT ${[fields.code, fields.reason, fields.last_data_ms, fields.downtime, fields.downtime_reason].map(quoteIdentifier).join(', ')} FROM ${from} ` +
        `WHERE time > ${timeLiteral(nowMs - AVAILABILITY_WINDOWS['30d'])} AND time <= ${timeLiteral(nowMs)}${byModule} ORDER BY time DESC LIMIT 1`,
    ),
    hourly
      ? reader.series(`SELECT ${sums} FROM ${hourlyFrom} WHERE time >= ${timeLiteral(oldestMs)} AND time < ${timeLiteral(splitMs)}${byModule}, time(1d) fill(none)`)
      : Promise.resolve([]),
    ...hourlyWindows.map(([, hourlyFromMs]) =>
      reader.series(`SELECT ${sums} FROM ${hourlyFrom} WHERE time >= ${timeLiteral(hourlyFromMs)} AND time < ${timeLiteral(splitMs)}${byModule}`),
    ),
  ]);
  const points = new Map<string, HistoryPoint[]>();
  for (const one of history) {
    points.set(
      one.tags?.module ?? '',
      rowsOf(one).map((row) => ({ timeMs: Number(row.time), code: Number(row.code), downtime: row.downtime === true })),
    );
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
      downtime: row.downtime === true ? { reason: typeof row.downtime_reason === 'string' ? row.downtime_reason : '' } : null,
    });
  }
  const hourlyByDay = new Map<string, Map<number, SlotCounts>>();
  for (const one of days) {
    hourlyByDay.set(one.tags?.module ?? '', new Map(rowsOf(one).map((row) => [Number(row.time), countsOfRow(row)])));
  }
  const hourlyByWindow = new Map<AvailabilityWindow, Map<string, SlotCounts>>();
  hourlyWindows.forEach(([name], index) => {
    const [series = []] = windows[index];
    hourlyByWindow.set(name, new Map(series.map((one) => [one.tags?.module ?? '', countsOfRow(rowsOf(one)[0] ?? {})])));
  });
  return { points, latest, splitMs, rawDurationMs, hourlyByDay, hourlyByWindow, queries: reader.queries, rows: reader.rows };
}

/** The incidents listed per module (the newest); the figures and the bars still count every slot. */
export const INCIDENTS_PER_MODULE = 100;

/** How many reason statements go in one request. */
const REASONS_PER_REQUEST = 100;

/**
 * The reasons of the documents that started incidents: one statement per slot with a change (naming only
 * the modules that changed then), several statements per request, instead of 30 days of reasons.
 */
async function readReasons(
  influxdb: InfluxClient,
  retentionPolicy: string,
  wanted: Array<{ module: string; timeMs: number }>,
): Promise<{ reasons: Map<string, string>; queries: number; rows: number }> {
  const { fields, tags } = MONIT_COLLECTORS_STATUS;
  const from = qualifiedMeasurement(databaseFor(MONIT_COLLECTORS_STATUS.producer), retentionPolicy, MONIT_COLLECTORS_STATUS.type);
  const modulesAt = new Map<number, Set<string>>();
  for (const { module, timeMs } of wanted) modulesAt.set(timeMs, (modulesAt.get(timeMs) ?? new Set()).add(module));
  const statements = [...modulesAt].map(([timeMs, modules]) => {
    const names = [...modules].map((module) => `${quoteIdentifier(tags.module)} = ${quoteString(module)}`).join(' OR ');
    return `SELECT ${[fields.reason, fields.downtime, fields.downtime_reason].map(quoteIdentifier).join(', ')} FROM ${from} WHERE time = ${timeLiteral(timeMs)} AND (${names}) GROUP BY ${quoteIdentifier(tags.module)}`;
  });
  const reader = new CountingReader(influxdb);
  const reasons = new Map<string, string>();
  for (let index = 0; index < statements.length; index += REASONS_PER_REQUEST) {
    for (const answer of await reader.series(statements.slice(index, index + REASONS_PER_REQUEST).join('; '))) {
      for (const one of answer) {
        for (const row of rowsOf(one)) {
          const reason = row.downtime === true ? row.downtime_reason : row.reason;
          reasons.set(`${one.tags?.module ?? ''} ${Number(row.time)}`, typeof reason === 'string' ? reason : '');
        }
      }
    }
  }
  return { reasons, queries: reader.queries, rows: reader.rows };
}

/** A status decided by a run, with the downtime covering it if any. */
export type PendingStatus = ModuleStatus & { downtime?: { reason: string } | null };

export interface SnapshotOptions {
  nowMs?: number;
  /** Statuses decided by a run but not yet stored (the status job writes its page before the runner sends). */
  pending?: { slotMs: number; statuses: PendingStatus[] };
  /** Told the InfluxDB queries and rows one snapshot cost (for the benchmark and the tests). */
  cost?: (cost: { queries: number; rows: number }) => void;
  /** The stored history for `nowMs`, already being read (the status job reads it while it evaluates the rules). */
  stored?: Promise<StoredHistory>;
}

/** The details page of a module, below the gateway's root. */
export function detailsPath(module: string): string {
  return `/status/module/${encodeURIComponent(module)}`;
}

/** A module whose state is not known: N/A with the reason, without figures or history. */
export function naModule(rule: { module: string; title: string }, reason: string): ModuleSnapshot {
  const unknown = Object.fromEntries(Object.keys(AVAILABILITY_WINDOWS).map((name) => [name, null])) as Record<AvailabilityWindow, null>;
  return {
    module: rule.module,
    title: rule.title,
    state: 'na',
    shown: 'na',
    downtime: null,
    stateText: STATE_WORDS.na,
    code: STATE_CODES.na,
    reason,
    evaluatedMs: null,
    lastDataMs: null,
    sinceMs: null,
    availability: { ...unknown },
    reliability: { ...unknown },
    timeline: [],
    history: [],
    incidents: [],
    dashboardUrl: null,
    detailsUrl: detailsPath(rule.module),
  };
}

/** The snapshot of every configured module from the stored status documents: what /status and /status.json show. */
export async function loadStatusSnapshot(influxdb: InfluxSource, settings: StatusSettings, options: SnapshotOptions = {}): Promise<StatusSnapshot> {
  const nowMs = options.nowMs ?? Date.now();
  const stored = await (options.stored ?? readStatusHistory(influxdb, nowMs, settings.retentionPolicy));
  const windows = Object.entries(AVAILABILITY_WINDOWS) as Array<[AvailabilityWindow, number]>;
  const drafts: IncidentDraft[] = [];
  let unlisted = 0;
  const modules = settings.rules.map((rule) => {
    let points = stored.points.get(rule.module) ?? [];
    let latest = stored.latest.get(rule.module);
    const pending = options.pending?.statuses.find((status) => status.module === rule.module);
    if (pending && options.pending) {
      const slotMs = options.pending.slotMs;
      const downtime = pending.downtime ?? null;
      points = [...points.filter((point) => point.timeMs !== slotMs), { timeMs: slotMs, code: pending.code, downtime: downtime !== null }].sort((a, b) => a.timeMs - b.timeMs);
      if (!latest || latest.timeMs <= slotMs) latest = { timeMs: slotMs, code: pending.code, reason: pending.reason, lastDataMs: pending.lastDataMs ?? null, downtime };
    }
    let state: ModuleState = latest ? stateOfCode(latest.code) : 'na';
    let reason = latest?.reason ?? 'never evaluated by the status job';
    const stale = latest !== undefined && latest.timeMs <= nowMs - settings.staleAfterMs;
    if (latest && stale) {
      state = 'na';
      reason = notEvaluatedSince(latest.timeMs);
    }
    const downtime = latest && !stale ? latest.downtime : null;
    const shown = shownOf(state, downtime !== null);
    const sources = { points, splitMs: stored.splitMs, rawDurationMs: stored.rawDurationMs, hourlyByDay: stored.hourlyByDay.get(rule.module) ?? new Map<number, SlotCounts>() };
    const history = dayCells(sources, nowMs, settings.periodMs);
    const figures = windows.map(([name, windowMs]) => {
      // The 90-day window's part before the split is the sum of the 1h days (the same query's range).
      const hourly = name === '90d' ? [...sources.hourlyByDay.values()].reduce(addCounts, NO_SLOTS) : stored.hourlyByWindow.get(name)?.get(rule.module);
      return [name, argoFigures(windowCounts(sources, nowMs, windowMs, hourly))] as const;
    });
    // A flapping module would cost a reason read per change: only its newest are listed.
    const own = incidentsOf(rule, points, { nowMs, staleAfterMs: settings.staleAfterMs, sinceMs: nowMs - INCIDENT_SPAN_MS });
    unlisted += Math.max(0, own.length - INCIDENTS_PER_MODULE);
    drafts.push(...own.slice(-INCIDENTS_PER_MODULE));
    const snapshot: ModuleSnapshot = {
      module: rule.module,
      title: rule.title,
      state,
      shown,
      downtime,
      stateText: STATE_WORDS[state],
      code: STATE_CODES[state],
      reason,
      evaluatedMs: latest?.timeMs ?? null,
      lastDataMs: latest?.lastDataMs ?? null,
      sinceMs: latest && !stale ? currentRunStart(points, settings.periodMs) : null,
      availability: Object.fromEntries(figures.map(([name, figure]) => [name, figure.availability])) as Record<AvailabilityWindow, number | null>,
      reliability: Object.fromEntries(figures.map(([name, figure]) => [name, figure.reliability])) as Record<AvailabilityWindow, number | null>,
      timeline: timeline(points, nowMs, settings.periodMs),
      history,
      incidents: [],
      dashboardUrl: settings.grafanaUrl && rule.dashboard ? joinUrl(settings.grafanaUrl, rule.dashboard) : null,
      detailsUrl: detailsPath(rule.module),
    };
    return snapshot;
  });
  const wanted = drafts.filter((draft) => draft.reason === undefined && draft.reasonAtMs !== null).map((draft) => ({ module: draft.module, timeMs: draft.reasonAtMs as number }));
  const read = await readReasons(clientOfProducer(influxdb, MONIT_COLLECTORS_STATUS.producer), settings.retentionPolicy, wanted);
  const pendingReasons = new Map((options.pending?.statuses ?? []).map((status) => [`${status.module} ${options.pending?.slotMs}`, status.downtime ? status.downtime.reason : status.reason]));
  const incidents = newestFirst(
    drafts.map(({ reasonAtMs, reason, ...draft }): Incident => {
      const key = `${draft.module} ${reasonAtMs}`;
      return { ...draft, reason: reason ?? pendingReasons.get(key) ?? read.reasons.get(key) ?? '' };
    }),
  );
  for (const module of modules) module.incidents = incidents.filter((incident) => incident.module === module.module);
  options.cost?.({ queries: stored.queries + read.queries, rows: stored.rows + read.rows });
  return { title: settings.title, generatedMs: nowMs, refreshSeconds: settings.refreshSeconds, modules, incidents, unlistedIncidents: unlisted };
}
