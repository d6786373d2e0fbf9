import { NO_SLOTS, type SlotCounts } from './argo';
import { dayCells, type HistoryPoint, historySplit, incidentsOf, newestFirst, windowCounts, windowSources, worstOf } from './history';
import type { Incident } from './snapshot';
import { SHOWN_RANK, type ShownState } from './states';

const MINUTE = 60e3;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const PERIOD = 10 * MINUTE;
const TODAY = Date.UTC(2026, 11, 5);
const NOW = TODAY + 15 * HOUR + 3 * MINUTE;

const point = (timeMs: number, code: number, downtime = false): HistoryPoint => ({ timeMs, code, downtime });
const counts = (partial: Partial<SlotCounts>): SlotCounts => ({ ...NO_SLOTS, ...partial });

describe('worst state of a day', () => {
  test('available < degraded < downtime < N/A < unavailable', () => {
    const order: ShownState[] = ['available', 'degraded', 'downtime', 'na', 'unavailable'];
    expect([...order].sort((a, b) => SHOWN_RANK[a] - SHOWN_RANK[b])).toEqual(order);
    expect(worstOf(['downtime', 'degraded', 'available'])).toBe('downtime');
    expect(worstOf(['downtime', 'na'])).toBe('na');
    expect(worstOf(['unavailable', 'downtime', 'na'])).toBe('unavailable');
    expect(worstOf([])).toBeNull();
  });
});

describe('historySplit', () => {
  test('the first whole hour raw holds, never older than 90 days', () => {
    expect(historySplit(NOW, 30 * DAY)).toBe(TODAY - 30 * DAY + 16 * HOUR);
    expect(historySplit(NOW, Infinity)).toBe(NOW - 90 * DAY);
    expect(historySplit(NOW, 400 * DAY)).toBe(NOW - 90 * DAY);
  });
});

describe('dayCells', () => {
  test('90 UTC days, oldest first, today last; raw documents after the split, 1h sums before it; a day without any: null', () => {
    const splitMs = TODAY - 30 * DAY + 16 * HOUR;
    const points = [
      point(splitMs - PERIOD, 2), // raw still holds it, but 1h counts that hour: not counted twice
      point(splitMs, 0),
      point(splitMs + PERIOD, 1),
      point(TODAY + HOUR, 0, true),
      point(TODAY + 2 * HOUR, 3),
      point(TODAY + 3 * HOUR, 0),
      point(NOW + PERIOD, 2), // in the future: out
    ];
    const hourlyByDay = new Map([
      [TODAY - 30 * DAY, counts({ available: 90, unavailable: 6 })], // the split's day: its hours before 16:00
      [TODAY - 89 * DAY, counts({ degraded: 3 })],
      [TODAY - 90 * DAY, counts({ unavailable: 144 })], // 90 days ago is not on the bar
    ]);
    const cells = dayCells({ points, splitMs, rawDurationMs: 30 * DAY, hourlyByDay }, NOW, PERIOD);
    expect(cells).toHaveLength(90);
    expect(cells[0].dayStartMs).toBe(TODAY - 89 * DAY);
    expect(cells[89].dayStartMs).toBe(TODAY);
    expect(cells[0]).toEqual({ dayStartMs: TODAY - 89 * DAY, worst: 'degraded', counts: counts({ degraded: 3 }), downtimeMs: 0, availability: 1, reliability: 1 });
    expect(cells[59]).toEqual({
      dayStartMs: TODAY - 30 * DAY,
      worst: 'unavailable',
      counts: counts({ available: 91, degraded: 1, unavailable: 6 }),
      downtimeMs: 0,
      availability: 92 / 98,
      reliability: 92 / 98,
    });
    expect(cells[89]).toEqual({ dayStartMs: TODAY, worst: 'na', counts: counts({ available: 1, na: 1, downtime: 1 }), downtimeMs: PERIOD, availability: 1 / 2, reliability: 1 });
    expect(cells[30]).toEqual({ dayStartMs: TODAY - 59 * DAY, worst: null, counts: NO_SLOTS, downtimeMs: 0, availability: null, reliability: null });
  });

  test("ARGO's worked example: 5 h OK, 9 h CRITICAL, 6 h UNKNOWN, 4 h DOWNTIME in one day", () => {
    const codes = [...Array(30).fill([0, false]), ...Array(54).fill([2, false]), ...Array(36).fill([3, false]), ...Array(24).fill([2, true])] as Array<[number, boolean]>;
    const points = codes.map(([code, downtime], index) => point(TODAY - DAY + index * PERIOD, code, downtime));
    const [cell] = dayCells({ points, splitMs: 0, rawDurationMs: Infinity, hourlyByDay: new Map() }, NOW, PERIOD).slice(88, 89);
    expect(cell.counts).toEqual(counts({ available: 30, unavailable: 54, na: 36, downtime: 24 }));
    expect(cell.worst).toBe('unavailable');
    expect(cell.downtimeMs).toBe(4 * HOUR);
    // ARGO prints the percentages cut to three decimals.
    expect(cell.availability).toBe(5 / 18);
    expect(cell.reliability).toBe(5 / 14);
    expect(Math.floor((cell.availability as number) * 1e5) / 1e3).toBe(27.777);
    expect(Math.floor((cell.reliability as number) * 1e5) / 1e3).toBe(35.714);
  });
});

describe('windowSources and windowCounts', () => {
  // Raw keeps 2 hours: at 15:03 it holds from 13:03, the split is 14:00.
  const RAW = 2 * HOUR;
  const splitMs = historySplit(NOW, RAW);
  const at = (hour: number, minute: number): number => TODAY + hour * HOUR + minute * MINUTE;
  const points = [point(at(12, 0), 2), point(at(12, 10), 2), point(at(13, 0), 2), point(at(13, 10), 1), point(at(13, 50), 3), point(splitMs, 0, true), point(at(15, 0), 0), point(NOW + 7 * MINUTE, 2)];
  const sources = { points, splitMs, rawDurationMs: RAW, hourlyByDay: new Map() };

  test('a window raw holds whole reads raw from now − window; one reaching past raw reads 1h from its first whole hour, then raw from the split', () => {
    expect(splitMs).toBe(at(14, 0));
    expect(windowSources(NOW, RAW, RAW, splitMs)).toEqual({ rawFromMs: NOW - RAW, hourlyFromMs: null });
    expect(windowSources(NOW, HOUR, RAW, splitMs)).toEqual({ rawFromMs: NOW - HOUR, hourlyFromMs: null });
    expect(windowSources(NOW, 3 * HOUR, RAW, splitMs)).toEqual({ rawFromMs: splitMs, hourlyFromMs: at(13, 0) });
    expect(windowSources(NOW, 90 * DAY, Infinity, historySplit(NOW, Infinity))).toEqual({ rawFromMs: NOW - 90 * DAY, hourlyFromMs: null });
  });

  test('a window as long as raw counts every slot from now − window, before the split too, and no 1h sum', () => {
    // 13:10 and 13:50 are inside [13:03, 15:03) though before the split; 13:00 is not; the document after now neither.
    expect(windowCounts(sources, NOW, RAW, counts({ available: 6 }))).toEqual(counts({ degraded: 1, na: 1, downtime: 1, available: 1 }));
    // A 1-hour window: the document at 14:03 would be in; 14:00 is not.
    expect(windowCounts(sources, NOW, HOUR)).toEqual(counts({ available: 1 }));
  });

  test('a window reaching past raw: the 1h sums given for its hours before the split, raw from the split, nothing twice', () => {
    // From 12:03: the 1h part holds 13:00–14:00 (given), raw from 14:00; 12:10 (before the first whole hour) is not counted.
    expect(windowCounts(sources, NOW, 3 * HOUR, counts({ available: 6 }))).toEqual(counts({ available: 7, downtime: 1 }));
  });
});

describe('incidentsOf', () => {
  const module = { module: 'web', title: 'Web' };
  const STALE = 30 * MINUTE;
  const start = NOW - 2 * DAY;
  // Slot by slot: 3 available, 2 degraded, a missed run (not an incident), degraded, 2 downtime (code 2 under downtime),
  // then nothing for an hour (an N/A incident after 30 min), then unavailable up to now.
  const sequence: Array<[number, number, boolean] | null> = [
    [0, 0, false],
    [1, 0, false],
    [2, 0, false],
    [3, 1, false],
    [4, 1, false],
    null,
    [6, 1, false],
    [7, 2, true],
    [8, 2, true],
    null,
    null,
    null,
    null,
    null,
    [14, 2, false],
    [15, 2, false],
  ];
  const points = sequence.filter((entry): entry is [number, number, boolean] => entry !== null).map(([slot, code, downtime]) => point(start + slot * PERIOD, code, downtime));
  const nowMs = start + 15 * PERIOD + 5 * MINUTE;

  test('every change of what the light showed, with its start, end and duration; the reason read from the first document of the new state', () => {
    const drafts = incidentsOf(module, points, { nowMs, staleAfterMs: STALE, sinceMs: nowMs - 30 * DAY });
    expect(drafts).toEqual([
      { module: 'web', title: 'Web', from: 'available', to: 'degraded', reasonAtMs: start + 3 * PERIOD, startMs: start + 3 * PERIOD, endMs: start + 7 * PERIOD, durationMs: 4 * PERIOD },
      { module: 'web', title: 'Web', from: 'degraded', to: 'downtime', reasonAtMs: start + 7 * PERIOD, startMs: start + 7 * PERIOD, endMs: start + 8 * PERIOD + STALE, durationMs: PERIOD + STALE },
      {
        module: 'web',
        title: 'Web',
        from: 'downtime',
        to: 'na',
        reasonAtMs: null,
        reason: 'status not evaluated since 2026-12-03T16:23:00Z',
        startMs: start + 8 * PERIOD + STALE,
        endMs: start + 14 * PERIOD,
        durationMs: 14 * PERIOD - 8 * PERIOD - STALE,
      },
      { module: 'web', title: 'Web', from: 'na', to: 'unavailable', reasonAtMs: start + 14 * PERIOD, startMs: start + 14 * PERIOD, endMs: null, durationMs: nowMs - start - 14 * PERIOD },
    ]);
  });

  test('only changes after sinceMs; the documents before give the first one its from', () => {
    const drafts = incidentsOf(module, points, { nowMs, staleAfterMs: STALE, sinceMs: start + 7 * PERIOD });
    expect(drafts.map((draft) => [draft.from, draft.to])).toEqual([
      ['downtime', 'na'],
      ['na', 'unavailable'],
    ]);
  });

  test('a status job that stopped is an ongoing N/A incident from the time the page turned N/A', () => {
    const drafts = incidentsOf(module, points.slice(0, 3), { nowMs, staleAfterMs: STALE, sinceMs: 0 });
    expect(drafts).toEqual([
      { module: 'web', title: 'Web', from: 'available', to: 'na', reasonAtMs: null, reason: 'status not evaluated since 2026-12-03T15:23:00Z', startMs: start + 2 * PERIOD + STALE, endMs: null, durationMs: nowMs - start - 2 * PERIOD - STALE },
    ]);
  });

  test('one document, or none: no incident', () => {
    expect(incidentsOf(module, points.slice(0, 1), { nowMs: start + PERIOD, staleAfterMs: STALE, sinceMs: 0 })).toEqual([]);
    expect(incidentsOf(module, [], { nowMs, staleAfterMs: STALE, sinceMs: 0 })).toEqual([]);
  });

  test('newestFirst sorts every module together, newest first', () => {
    const incident = (moduleName: string, startMs: number): Incident => ({ module: moduleName, title: moduleName, from: 'available', to: 'na', reason: '', startMs, endMs: null, durationMs: 0 });
    expect(newestFirst([incident('b', 1), incident('a', 3), incident('c', 3), incident('a', 2)]).map((one) => `${one.module}${one.startMs}`)).toEqual(['a3', 'c3', 'a2', 'b1']);
  });
});
