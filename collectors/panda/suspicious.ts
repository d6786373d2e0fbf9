/**
 * The per-series suspicious flag shown in the spirit of QMonit's "Suspicious sites" dashboard: a current value far
 * above or below its moving averages. The factors and the minimum are ours (QMonit's code has no such rule).
 */
export interface SuspiciousRule {
  /** Names of the averages compared (1h, 24h, ...). */
  windows: string[];
  /** Suspicious when current > aboveFactor × average ... */
  aboveFactor: number;
  /** ... or current < average / belowFactor ... */
  belowFactor: number;
  /** ... and |current − average| is at least this many jobs (small numbers jump about). */
  minDifference: number;
}

export interface Verdict {
  suspicious: boolean;
  /** Every average the current value departs from; empty when not suspicious. */
  reason: string;
}

function shown(value: number): string {
  return String(Math.round(value * 100) / 100);
}

/** Compares the current value with each configured average that has data. */
export function judge(current: number, averages: ReadonlyMap<string, number>, rule: SuspiciousRule): Verdict {
  const reasons: string[] = [];
  for (const window of rule.windows) {
    const average = averages.get(window);
    if (average === undefined) continue;
    if (current > rule.aboveFactor * average && current - average >= rule.minDifference) {
      reasons.push(`${current} is above ${rule.aboveFactor} x avg_${window} ${shown(average)}`);
    } else if (current < average / rule.belowFactor && average - current >= rule.minDifference) {
      reasons.push(`${current} is below avg_${window} ${shown(average)} / ${rule.belowFactor}`);
    }
  }
  return { suspicious: reasons.length > 0, reason: reasons.join('; ') };
}
