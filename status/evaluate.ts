import { type AggregateOperand, aggregateKey, type Comparator, type Condition, conditionAggregates, evaluateCondition, type Value } from './condition';
import type { LeveledCondition, ModuleRule, PartRule } from './rules';
import { approximateDuration } from '../lib/run/runCredentials';
import { type ModuleState, STATE_CODES } from './states';

/**
 * The states from best to worst as ARGO's AND combines them (OK < WARNING < UNKNOWN < MISSING < CRITICAL,
 * ARGOeu/argo-streaming automation/default.ops.json): the worst part decides a module with parts, and
 * N/A (UNKNOWN or MISSING) outranks degraded but not unavailable.
 */
export const WORST_LAST: readonly ModuleState[] = ['available', 'degraded', 'na', 'unavailable'];

/** The latest heartbeat of a collector (monit-collectors/run). */
export interface Heartbeat {
  timeMs: number;
  ok: boolean;
  timedOut: boolean;
  message: string;
  /** The credential the run reported (credential, credential_expires_in_s, credential_expiring), when it used one with a known expiry. */
  credential?: { name: string; expiresInSeconds: number; expiring: boolean };
}

/** A credential a heartbeat reported, with the heartbeat's time (its slot). */
export interface ReportedCredential {
  name: string;
  expiresInSeconds: number;
  expiring: boolean;
  reportedMs: number;
}

/**
 * The credential a part's status looks at: from the fresh heartbeats of its collector and, for a
 * single-measurement module, of the job named like the module when that differs (panda's proxy, while
 * panda-derived gates the panda module), the one expiring within its warning, first to expire.
 */
export function partCredential(part: Pick<PartRule, 'credentialJobs' | 'heartbeatFreshnessMs'>, heartbeats: ReadonlyMap<string, Heartbeat>, nowMs: number): ReportedCredential | undefined {
  const reported = part.credentialJobs.flatMap((job): ReportedCredential[] => {
    const heartbeat = heartbeats.get(job);
    if (!heartbeat?.credential?.expiring || heartbeat.timeMs <= nowMs - part.heartbeatFreshnessMs) return [];
    return [{ ...heartbeat.credential, reportedMs: heartbeat.timeMs }];
  });
  const expiryOf = (one: ReportedCredential): number => one.reportedMs + one.expiresInSeconds * 1000;
  return reported.sort((a, b) => expiryOf(a) - expiryOf(b))[0];
}

/** One series of a part's measurement with points in the rule's window: its tags and the aggregates the rule reads. */
export interface SeriesData {
  tags: Record<string, string>;
  /** Keyed by aggregateKey(), e.g. "max(used_percent)". */
  values: Map<string, Value>;
}

export interface ModuleStatus {
  module: string;
  title: string;
  state: ModuleState;
  code: number;
  reason: string;
  /** Time of the newest data point the decision saw. */
  lastDataMs?: number;
  evaluatedMs: number;
}

/** The state of one part, before the module combines its parts. */
export interface PartStatus {
  part: PartRule;
  state: ModuleState;
  reason: string;
  /** Time of the newest data point the decision saw. */
  lastDataMs?: number;
}

/** What one part's state is decided from. */
export interface EvaluationInput {
  nowMs: number;
  heartbeat?: Heartbeat;
  /** A credential expiring within its warning, from moduleCredential(). */
  credential?: ReportedCredential;
  /** Time of the newest point of the measurement (with the part's `where`); undefined when none. */
  lastDataMs?: number;
  series: SeriesData[];
}

export function moduleStatus(rule: Pick<ModuleRule, 'module' | 'title'>, state: ModuleState, reason: string, nowMs: number, lastDataMs?: number): ModuleStatus {
  return { module: rule.module, title: rule.title, state, code: STATE_CODES[state], reason, lastDataMs, evaluatedMs: nowMs };
}

/** "30m", "2h", "7d": durations in reasons. */
export function formatDuration(ms: number): string {
  const units: Array<[string, number]> = [['d', 86400e3], ['h', 3600e3], ['m', 60e3], ['s', 1e3]];
  for (const [unit, size] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return ms >= 60e3 ? `${Math.round(ms / 60e3)}m` : `${Math.round(ms / 1e3)}s`;
}

function formatValue(value: Value): string {
  if (typeof value === 'number') return String(Number.isInteger(value) ? value : Number(value.toPrecision(4)));
  return value === null ? 'no value' : String(value);
}

export function describeSeries(tags: Record<string, string>): string {
  const entries = Object.entries(tags).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return 'the measurement';
  if (entries.length === 1) return entries[0][1];
  return entries.map(([key, value]) => `${key}=${value}`).join(', ');
}

/** How one condition fares for each series, in the given order; throws RuleEvaluationError like evaluateCondition. */
function seriesResults(leveled: LeveledCondition, series: SeriesData[]): Array<{ series: SeriesData; holds: boolean; value: Value }> {
  return series.map((one) => {
    const read = (operand: AggregateOperand): Value => one.values.get(aggregateKey(operand)) ?? null;
    const result = evaluateCondition(leveled.condition, read);
    return { series: one, holds: result.holds, value: result.witness?.value ?? null };
  });
}

/** The first condition of a level that holds for at least one series, with its filled-in reason. */
function firstHolding(conditions: LeveledCondition[], series: SeriesData[]): { reason: string; condition: LeveledCondition } | undefined {
  for (const leveled of conditions) {
    const results = seriesResults(leveled, series);
    const matches = results.filter((result) => result.holds).length;
    const found = results.find((result) => result.holds);
    if (found) {
      // {FIELD}: the latest value of a field of the matched series (read by leveledAggregates()).
      const reason = leveled.reason.replace(/\{([^}]*)\}/g, (whole, name: string) => {
        if (name === 'value') return formatValue(found.value);
        if (name === 'series') return describeSeries(found.series.tags);
        if (name === 'matches') return String(matches);
        if (!leveled.reasonFields.includes(name)) return whole;
        return formatValue(found.series.values.get(aggregateKey({ kind: 'aggregate', function: 'latest', field: name })) ?? null);
      });
      return { reason, condition: leveled };
    }
  }
  return undefined;
}

/** "X.509 proxy of panda expires in 5h": the time left now, counted from the heartbeat's slot (so a few minutes early). */
function credentialReason(credential: ReportedCredential, nowMs: number): string {
  const leftMs = credential.expiresInSeconds * 1000 - (nowMs - credential.reportedMs);
  return leftMs > 0 ? `${credential.name} expires in ${approximateDuration(leftMs)}` : `${credential.name} has expired since the last run (the next run fails unless it is renewed)`;
}

function partStatus(part: PartRule, state: ModuleState, reason: string, lastDataMs?: number): PartStatus {
  return { part, state, reason, lastDataMs };
}

/**
 * Decides one part's state, in this order: no fresh heartbeat from its collector → N/A; the latest
 * heartbeat failed → unavailable; no data within the freshness window → N/A; an unavailable condition
 * holds for any series → unavailable; a heartbeat says a credential expires within its warning →
 * degraded; a degraded condition holds → degraded; else available.
 * A rule that cannot be applied to the data makes only this part N/A, with the reason.
 */
export function evaluatePart(part: PartRule, input: EvaluationInput): PartStatus {
  return decidePart(part, input).status;
}

/** evaluatePart, and the condition that decided (none when the heartbeat, the freshness or a credential did). */
function decidePart(part: PartRule, input: EvaluationInput): { status: PartStatus; decidedBy?: LeveledCondition } {
  const noCondition = (status: PartStatus): { status: PartStatus } => ({ status });
  const { nowMs, heartbeat } = input;
  if (part.collector) {
    if (!heartbeat || heartbeat.timeMs <= nowMs - part.heartbeatFreshnessMs) {
      return noCondition(partStatus(part, 'na', `no heartbeat from collector ${part.collector} in the last ${formatDuration(part.heartbeatFreshnessMs)}`));
    }
  }
  const fresh = input.lastDataMs !== undefined && input.lastDataMs > nowMs - part.freshnessMs && input.lastDataMs <= nowMs;
  const lastDataMs = fresh ? input.lastDataMs : undefined;
  if (part.collector && heartbeat && !heartbeat.ok) {
    const why = heartbeat.timedOut ? 'timed out' : 'failed';
    return noCondition(partStatus(part, 'unavailable', `collector ${part.collector} ${why}${heartbeat.message ? `: ${heartbeat.message}` : ''}`, lastDataMs));
  }
  if (!fresh) return noCondition(partStatus(part, 'na', `no data in ${part.producer}/${part.type} in the last ${formatDuration(part.freshnessMs)}`));
  const live = [...input.series].sort((a, b) => describeSeries(a.tags).localeCompare(describeSeries(b.tags)));
  try {
    const unavailable = firstHolding(part.unavailable, live);
    if (unavailable !== undefined) return { status: partStatus(part, 'unavailable', unavailable.reason, lastDataMs), decidedBy: unavailable.condition };
    if (part.collector && input.credential?.expiring) return noCondition(partStatus(part, 'degraded', credentialReason(input.credential, nowMs), lastDataMs));
    const degraded = firstHolding(part.degraded, live);
    if (degraded !== undefined) return { status: partStatus(part, 'degraded', degraded.reason, lastDataMs), decidedBy: degraded.condition };
  } catch (error) {
    return noCondition(partStatus(part, 'na', `rule failed: ${(error as Error).message}`, lastDataMs));
  }
  return noCondition(partStatus(part, 'available', 'all checks pass', lastDataMs));
}

/**
 * A module's state from its parts' (in the order of rule.parts): the worst, as ARGO's AND (WORST_LAST).
 * A module with parts names in its reason every part in that state, with the part's reason, and its
 * last data is the newest those parts saw; a single-measurement module is its one part.
 */
export function combineParts(rule: ModuleRule, parts: PartStatus[], nowMs: number): ModuleStatus {
  if (parts.length === 0) throw new Error(`module ${rule.module} has no part`);
  const state = parts.map((part) => part.state).reduce((worst, one) => (WORST_LAST.indexOf(one) > WORST_LAST.indexOf(worst) ? one : worst));
  const deciding = parts.filter((part) => part.state === state);
  const seen = deciding.flatMap((part) => (part.lastDataMs === undefined ? [] : [part.lastDataMs]));
  const lastDataMs = seen.length ? Math.max(...seen) : undefined;
  if (!rule.composite) return moduleStatus(rule, state, deciding[0].reason, nowMs, lastDataMs);
  const reason = state === 'available' ? 'all checks pass' : deciding.map((part) => `${part.part.title}: ${part.reason}`).join('; ');
  return moduleStatus(rule, state, reason, nowMs, lastDataMs);
}

/** Decides one module's state from the inputs of its parts, one per part in the order of rule.parts. */
export function evaluateModule(rule: ModuleRule, inputs: EvaluationInput[]): ModuleStatus {
  if (inputs.length !== rule.parts.length) throw new Error(`module ${rule.module} has ${rule.parts.length} parts, got ${inputs.length} inputs`);
  return combineParts(rule, rule.parts.map((part, index) => evaluatePart(part, inputs[index])), inputs[0].nowMs);
}

/** Series listed per condition on a details page: the ones it holds for first. */
const DETAILED_SERIES = 10;

/** One rule condition against the current data, for a module's details page. */
export interface ConditionDetail {
  part: string;
  level: 'unavailable' | 'degraded';
  /** Its config key, e.g. degraded_2, and its text as written. */
  key: string;
  text: string;
  holds: boolean;
  /** The condition that decided the part's state (the first that holds at the deciding level). */
  decided: boolean;
  /** Series it holds for, among `seriesCount` with points in the window. */
  matches: number;
  seriesCount: number;
  /** Where it holds: the series furthest past the threshold (see worstRanking) and its value. */
  worst: { series: string; value: Value; ranking: WorstRanking } | null;
  /** The values the condition reads, per series: those it holds for first (worst first), at most DETAILED_SERIES. */
  values: Array<{ series: string; holds: boolean; values: Record<string, Value> }>;
  /** The data did not fit the condition (the part is then N/A). */
  error?: string;
}

/**
 * How the worst series is chosen: the largest or smallest value of the comparison the condition
 * reports (`operand`), or, when the condition cannot be ranked, the first series in the reason's order.
 */
export type WorstRanking = { order: 'largest' | 'smallest'; operand: string } | { order: 'first'; why: string };

/** The comparison whose value a condition reports for every series it holds for (see evaluateCondition's witness), if always the same. */
function reportedComparison(condition: Condition): Extract<Condition, { kind: 'compare' }> | undefined {
  if (condition.kind === 'compare') return condition;
  if (condition.kind !== 'and') return undefined;
  // An and reports its first item that reports a value; a not reports none.
  for (const item of condition.items) {
    if (item.kind === 'not') continue;
    return reportedComparison(item);
  }
  return undefined;
}

const FLIPPED: Partial<Record<Comparator, Comparator>> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

/**
 * How the worst of the series a condition holds for is ranked: a comparison of an aggregate with a
 * number, `>`/`>=` by the largest value, `<`/`<=` by the smallest (also through an and, whose first
 * comparison is the value reported); ==, !=, or, not and two aggregates compared keep the reason's first.
 */
export function worstRanking(condition: Condition): WorstRanking {
  const compare = reportedComparison(condition);
  if (!compare) return { order: 'first', why: `the series are not compared on one value (${condition.kind})` };
  const aggregateLeft = compare.left.kind === 'aggregate';
  const [aggregate, literal] = aggregateLeft ? [compare.left, compare.right] : [compare.right, compare.left];
  if (aggregate.kind !== 'aggregate' || literal.kind !== 'literal') return { order: 'first', why: 'two aggregates compared, no fixed threshold' };
  const comparator = aggregateLeft ? compare.comparator : FLIPPED[compare.comparator];
  if (comparator === '>' || comparator === '>=') return { order: 'largest', operand: aggregateKey(aggregate) };
  if (comparator === '<' || comparator === '<=') return { order: 'smallest', operand: aggregateKey(aggregate) };
  return { order: 'first', why: `${compare.comparator} has no direction` };
}

/** The results a condition holds for, worst first (stable: ties keep the reason's order); non-numbers rank last. */
function worstFirst<T extends { value: Value }>(holding: T[], ranking: WorstRanking): T[] {
  if (ranking.order === 'first') return holding;
  const sign = ranking.order === 'largest' ? -1 : 1;
  const key = (value: Value): number => (typeof value === 'number' && !Number.isNaN(value) ? sign * value : Infinity);
  return [...holding].sort((a, b) => key(a.value) - key(b.value));
}

/** A part's state as evaluatePart decides it, with every condition's details. */
export interface PartExplanation {
  status: PartStatus;
  conditions: ConditionDetail[];
}

/** evaluatePart, and how each of the part's conditions fares for the series in its window. */
export function explainPart(part: PartRule, input: EvaluationInput): PartExplanation {
  const { status, decidedBy } = decidePart(part, input);
  const live = [...input.series].sort((a, b) => describeSeries(a.tags).localeCompare(describeSeries(b.tags)));
  const levels: Array<['unavailable' | 'degraded', LeveledCondition[]]> = [
    ['unavailable', part.unavailable],
    ['degraded', part.degraded],
  ];
  const conditions = levels.flatMap(([level, leveled]) =>
    leveled.map((condition): ConditionDetail => {
      const base = { part: part.name, level, key: condition.key, text: condition.text, seriesCount: live.length };
      let results: ReturnType<typeof seriesResults>;
      try {
        results = seriesResults(condition, live);
      } catch (error) {
        return { ...base, holds: false, decided: false, matches: 0, worst: null, values: [], error: (error as Error).message };
      }
      const ranking = worstRanking(condition.condition);
      const holding = worstFirst(results.filter((result) => result.holds), ranking);
      const operands = conditionAggregates(condition.condition);
      const listed = [...holding, ...results.filter((result) => !result.holds)].slice(0, DETAILED_SERIES);
      return {
        ...base,
        holds: holding.length > 0,
        decided: condition === decidedBy,
        matches: holding.length,
        worst: holding[0] ? { series: describeSeries(holding[0].series.tags), value: holding[0].value, ranking } : null,
        values: listed.map((result) => ({
          series: describeSeries(result.series.tags),
          holds: result.holds,
          values: Object.fromEntries(operands.map((operand) => [aggregateKey(operand), result.series.values.get(aggregateKey(operand)) ?? null])),
        })),
      };
    }),
  );
  return { status, conditions };
}
