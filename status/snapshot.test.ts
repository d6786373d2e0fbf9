import { argoFigures } from './argo';
import { windowCounts } from './history';
import { timeline } from './snapshot';

const PERIOD = 10 * 60e3;
const SLOT = Date.UTC(2026, 10, 22, 12, 0);
const NOW = SLOT + 3 * 60e3;

/** Availability of raw documents only (no 1h part), as the snapshot computes a window. */
function availability(points: Array<{ timeMs: number; code: number; downtime?: boolean }>, nowMs: number, windowMs: number): number | null {
  const sources = { points: points.map((point) => ({ ...point, downtime: point.downtime ?? false })), splitMs: 0, rawDurationMs: Infinity, hourlyByDay: new Map() };
  return argoFigures(windowCounts(sources, nowMs, windowMs)).availability;
}

describe('availability (WLCG/ARGO)', () => {
  test('degraded counts as up, unavailable as down, N/A is left out of the denominator', () => {
    const points = [0, 1, 2, 3, 3, 0].map((code, index) => ({ timeMs: SLOT - index * PERIOD, code }));
    // up: 0, 1, 0 → 3; down: 2 → 1; the two N/A do not count.
    expect(availability(points, NOW, 86400e3)).toBe(3 / 4);
  });

  test('only documents with now − window ≤ time < now count (each stands for the slot starting at its time)', () => {
    const window = 60 * 60e3;
    const points = [
      { timeMs: NOW - window - 1, code: 2 }, // just before the edge: out
      { timeMs: NOW - window, code: 0 }, // exactly at the edge: in
      { timeMs: NOW - 1, code: 1 }, // just inside
      { timeMs: NOW, code: 2 }, // its slot starts at now: out
    ];
    expect(availability(points, NOW, window)).toBe(1);
  });

  test('a 24h window ending at midnight holds exactly that UTC day: 144 slots', () => {
    const midnight = Date.UTC(2026, 10, 23);
    const points = Array.from({ length: 146 }, (_, index) => ({ timeMs: midnight - 145 * PERIOD + index * PERIOD, code: index === 0 || index === 145 ? 2 : 0 }));
    // The first (the day before) and the last (stamped at midnight, the next day) are unavailable and out.
    expect(availability(points, midnight, 86400e3)).toBe(1);
    expect(points.filter((point) => point.timeMs >= midnight - 86400e3 && point.timeMs < midnight)).toHaveLength(144);
  });

  test('a window with no known state gives null, not 0 or 1', () => {
    expect(availability([], NOW, 86400e3)).toBeNull();
    expect(availability([{ timeMs: SLOT, code: 3 }], NOW, 86400e3)).toBeNull();
  });

  test('a slot under scheduled downtime counts against availability whatever its code', () => {
    // up 1, down 1, downtime 2 (one of them with code 0): 1 / 4.
    const points = [
      { timeMs: SLOT, code: 0 },
      { timeMs: SLOT - PERIOD, code: 2 },
      { timeMs: SLOT - 2 * PERIOD, code: 0, downtime: true },
      { timeMs: SLOT - 3 * PERIOD, code: 2, downtime: true },
    ];
    expect(availability(points, NOW, 86400e3)).toBe(1 / 4);
  });
});

describe('timeline', () => {
  test('covers the last 24 hours slot by slot, merging runs and showing missing slots as N/A', () => {
    const points = [
      { timeMs: SLOT, code: 2 },
      { timeMs: SLOT - PERIOD, code: 0 },
      { timeMs: SLOT - 2 * PERIOD, code: 0 },
      // SLOT - 3 periods: no document
      { timeMs: SLOT - 4 * PERIOD, code: 1 },
      { timeMs: SLOT - 200 * PERIOD, code: 2 }, // older than 24 h: not shown
    ];
    const segments = timeline(points, NOW, PERIOD);
    const first = SLOT - 143 * PERIOD;
    expect(segments).toEqual([
      { fromMs: first, toMs: SLOT - 4 * PERIOD, state: 'na' },
      { fromMs: SLOT - 4 * PERIOD, toMs: SLOT - 3 * PERIOD, state: 'degraded' },
      { fromMs: SLOT - 3 * PERIOD, toMs: SLOT - 2 * PERIOD, state: 'na' },
      { fromMs: SLOT - 2 * PERIOD, toMs: SLOT, state: 'available' },
      { fromMs: SLOT, toMs: SLOT + PERIOD, state: 'unavailable' },
    ]);
  });

  test('a document stamped inside a slot counts for that slot; the later one wins', () => {
    const segments = timeline(
      [
        { timeMs: SLOT + 60e3, code: 0 },
        { timeMs: SLOT + 120e3, code: 2 },
      ],
      NOW,
      PERIOD,
    );
    expect(segments[segments.length - 1]).toEqual({ fromMs: SLOT, toMs: SLOT + PERIOD, state: 'unavailable' });
  });

  test('a slot under scheduled downtime shows as downtime', () => {
    const segments = timeline(
      [
        { timeMs: SLOT - PERIOD, code: 2, downtime: true },
        { timeMs: SLOT, code: 0, downtime: false },
      ],
      NOW,
      PERIOD,
    );
    expect(segments.slice(-2)).toEqual([
      { fromMs: SLOT - PERIOD, toMs: SLOT, state: 'downtime' },
      { fromMs: SLOT, toMs: SLOT + PERIOD, state: 'available' },
    ]);
  });
});
