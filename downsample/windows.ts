/** Window arithmetic for downsampling: UTC-aligned 1h and 1d windows, and the ranges a run covers. */

import type { Resolution } from '../lib/run/slot';

/** Where each resolution reads from: 1d is made from 1h so the two always agree. */
export const SOURCE_RETENTION_POLICY: Record<Resolution, string> = { '1h': 'raw', '1d': '1h' };

/** Start of the window containing `ms` (windows are aligned on the Unix epoch, hence on UTC midnight). */
export function windowFloor(ms: number, windowMs: number): number {
  return Math.floor(ms / windowMs) * windowMs;
}

export function windowCeil(ms: number, windowMs: number): number {
  return Math.ceil(ms / windowMs) * windowMs;
}

/** A half-open time range [startMs, endMs). */
export interface TimeRange {
  startMs: number;
  endMs: number;
}

/** Splits an aligned range into chunks of at most `chunkMs` (rounded to whole windows), oldest first. */
export function chunkRange(range: TimeRange, windowMs: number, chunkMs: number): TimeRange[] {
  const step = Math.max(windowMs, windowFloor(chunkMs, windowMs));
  const chunks: TimeRange[] = [];
  for (let start = range.startMs; start < range.endMs; start += step) {
    chunks.push({ startMs: start, endMs: Math.min(start + step, range.endMs) });
  }
  return chunks;
}

/**
 * Parses an InfluxDB retention-policy duration as shown by SHOW RETENTION POLICIES ("720h0m0s", "0s").
 * Returns milliseconds, or Infinity for "0s" (keep forever).
 */
export function parseRetentionDuration(text: string): number {
  const unitMs: Record<string, number> = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001, ns: 1e-6 };
  let total = 0;
  let rest = text.trim();
  if (!rest) throw new Error('empty retention-policy duration');
  while (rest) {
    const match = /^(\d+(?:\.\d+)?)(ms|us|µs|ns|w|d|h|m|s)/.exec(rest);
    if (!match) throw new Error(`cannot read retention-policy duration "${text}"`);
    total += parseFloat(match[1]) * unitMs[match[2]];
    rest = rest.slice(match[0].length);
  }
  return total === 0 ? Infinity : total;
}

/**
 * Parses a --from/--to argument: "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" (UTC), an ISO 8601 time with a
 * zone, or a number of epoch milliseconds.
 */
export function parseTimeArgument(text: string, option = 'time'): number {
  const trimmed = text.trim();
  if (/^\d{11,}$/.test(trimmed)) return Number(trimmed);
  const local = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(trimmed);
  let ms: number;
  if (local) {
    const [, y, mo, d, h = '0', mi = '0', s = '0'] = local;
    ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
    const check = new Date(ms);
    if (check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d || +h > 23 || +mi > 59 || +s > 59) ms = NaN;
  } else {
    ms = /[zZ]|[+-]\d{2}:?\d{2}$/.test(trimmed) ? Date.parse(trimmed) : NaN;
  }
  if (!Number.isFinite(ms)) {
    throw new Error(`--${option}: expected "YYYY-MM-DD", "YYYY-MM-DD HH:MM" (UTC) or an ISO time with a zone, got "${text}"`);
  }
  return ms;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
