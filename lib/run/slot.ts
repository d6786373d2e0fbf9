/** Time-slot alignment: every periodic job stamps its documents with the start of its slot, so reruns overwrite. */

export const TEN_MINUTES_MS = 10 * 60 * 1000;

/** The downsampled resolutions, each the retention policy of the same name: raw → 1h → 1d. */
export const RESOLUTIONS = ['1h', '1d'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export const RESOLUTION_MS: Record<Resolution, number> = { '1h': 3_600_000, '1d': 86_400_000 };

/** The start (UTC ms) of the slot of `periodMs` containing `timeMs`. */
export function slotStart(timeMs: number, periodMs: number = TEN_MINUTES_MS): number {
  if (!Number.isFinite(timeMs)) throw new Error(`slotStart: not a time: ${timeMs}`);
  if (!(periodMs > 0)) throw new Error(`slotStart: period must be positive, got ${periodMs}`);
  return Math.floor(timeMs / periodMs) * periodMs;
}

/** Parses "YYYY-MM-DD HH:MM" (UTC) as given to `--timestamp`; throws a message naming the expected form. */
export function parseSlotTimestamp(text: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?Z?$/.exec(text.trim());
  if (!match) throw new Error(`--timestamp: expected "YYYY-MM-DD HH:MM" (UTC), got "${text}"`);
  const [, y, mo, d, h, mi, s] = match;
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, s ? +s : 0);
  const check = new Date(ms);
  if (check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d || +h > 23 || +mi > 59) {
    throw new Error(`--timestamp: "${text}" is not a valid date and time`);
  }
  return ms;
}

/** Parses durations such as "90s", "10m", "1h", "30d", "2w" into milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!match) throw new Error(`expected a duration such as 30s, 10m, 1h or 7d, got "${text}"`);
  const unitMs: Record<string, number> = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };
  return Math.round(parseFloat(match[1]) * unitMs[match[2]]);
}

/**
 * Refuses a `--timestamp` whose slot (of `periodMs`) starts after the current one: no job reports a
 * slot that has not begun, and a run for it would move the state's positions (e.g. xrootd-transfers'
 * reportedBefore) ahead, so that live data would later count as already reported.
 */
export function futureSlotProblem(timeMs: number, periodMs: number, nowMs: number): string | undefined {
  const current = slotStart(nowMs, periodMs);
  if (slotStart(timeMs, periodMs) <= current) return undefined;
  const text = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
  return `--timestamp ${text(timeMs)} is in a slot that has not begun (the current one starts ${text(current)} UTC): give the current slot or an earlier one`;
}
