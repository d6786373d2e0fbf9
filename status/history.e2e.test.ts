/**
 * The long history against a real InfluxDB 1.6: 30 modules with 92 days of status documents, the 1h RP
 * filled by the real downsample-1h job, then raw cut to 30 days (as [influxdb] raw_duration does). The
 * snapshot's 24h/7d/30d/90d availability and reliability, its 90 day cells and the incidents of a
 * crafted module must equal what this test computes from the documents it wrote; the cost of one
 * snapshot (queries, rows) is measured.
 */
import path from 'node:path';
import { runDownsample } from '../downsample/downsample';
import { MemoryLogger } from '../lib/run/log';
import { slotStart } from '../lib/run/slot';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import { argoFigures, NO_SLOTS, type SlotCounts } from './argo';
import type { StatusSettings } from './settings';
import { loadStatusSnapshot, type StatusSnapshot } from './snapshot';
import type { ShownState } from './states';

const MINUTE = 60e3;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const PERIOD = 10 * MINUTE;
// 3 minutes past an hour: 30 days back then lies 57 minutes before the first whole hour raw is counted from.
const NOW = Math.floor(Date.now() / (60 * MINUTE)) * 60 * MINUTE - 57 * MINUTE;
const SLOT = slotStart(NOW, PERIOD);
const DATABASE = 'monit_production_monit_collectors';
const MODULES = Array.from({ length: 30 }, (_, index) => `m${String(index).padStart(2, '0')}`);
const SLOTS_BACK = 92 * 144;

/** One written document: `old` ones have neither `downtime` nor the counters (written before they existed). */
interface Written {
  timeMs: number;
  code: number;
  downtime: boolean;
  reason: string;
  downtimeReason?: string;
  old?: boolean;
}

function random(seedText: string): () => number {
  let seed = [...seedText].reduce((sum, character) => (sum * 31 + character.charCodeAt(0)) % 2147483647, 11);
  return () => {
    seed = (seed * 48271) % 2147483647;
    return seed / 2147483647;
  };
}

/**
 * m00: available throughout but unavailable 4318–4316 (just inside 30 days, before the first whole hour), then (slots back from now) degraded 200–191, a downtime 190–179 (code 2 under
 * it), no document 178–173 (the page turned N/A 30 min after the last one), available 172–21, unavailable
 * from 20 on. m01: documents of the last 3 days written without the new fields. m02: in downtime now.
 * The others: states that hold for a while, some missed runs, a downtime on some mornings.
 */
function documentsOf(module: string): Written[] {
  const written: Written[] = [];
  const draw = random(module);
  let code = 0;
  for (let back = SLOTS_BACK; back >= 0; back--) {
    const timeMs = SLOT - back * PERIOD;
    if (module === 'm00') {
      if (back <= 178 && back >= 173) continue;
      const crafted = back <= 200 && back >= 191 ? 1 : (back <= 4318 && back >= 4316) || back <= 20 ? 2 : back <= 190 && back >= 179 ? 2 : 0;
      const downtime = back <= 190 && back >= 179;
      written.push({ timeMs, code: crafted, downtime, reason: `m00 ${back} <b>`, downtimeReason: downtime ? 'kernel upgrade (GOCDB 42)' : undefined });
      continue;
    }
    // A missed run now and then, never two in a row.
    if (draw() < 0.02 && written[written.length - 1]?.timeMs === timeMs - PERIOD) continue;
    if (draw() < 0.01) code = [0, 0, 1, 2, 3][Math.floor(draw() * 5)];
    const hour = new Date(timeMs).getUTCHours();
    const day = Math.floor(timeMs / DAY);
    const downtime = (module === 'm02' && back < 3) || ((day + Number(module.slice(1))) % 11 === 0 && hour >= 8 && hour < 12);
    written.push({ timeMs, code, downtime, reason: `${module} ${back}`, downtimeReason: downtime ? `${module} maintenance` : undefined, old: module === 'm01' && back < 3 * 144 });
  }
  return written;
}

const WRITTEN = new Map(MODULES.map((module) => [module, documentsOf(module)]));

function lineOf(module: string, document: Written): string {
  const text = (value: string): string => `"${value.replace(/["\\]/g, '\\$&')}"`;
  const shown = expectedShown(document);
  const fields = [`code=${document.code}i`, `status=${text(['available', 'degraded', 'unavailable', 'na'][document.code])}`, `reason=${text(document.reason)}`];
  if (!document.old) {
    fields.push(`downtime=${document.downtime}`);
    if (document.downtimeReason) fields.push(`downtime_reason=${text(document.downtimeReason)}`);
    for (const kind of ['available', 'degraded', 'unavailable', 'na', 'downtime']) fields.push(`${kind}_slots=${kind === shown ? 1 : 0}i`);
  }
  return `status,module=${module} ${fields.join(',')} ${document.timeMs}`;
}

/** What the light showed for a document, as this test reads the schema: downtime wins, else the code (on purpose not states.ts's shownOf, an independent computation). */
function expectedShown(document: Written): ShownState {
  return document.downtime ? 'downtime' : (['available', 'degraded', 'unavailable', 'na'] as const)[document.code];
}

/** The raw RP holds 30 days: the days read documents one by one from the first whole hour inside them, older hours as 1h sums. */
const SPLIT = Math.ceil((NOW - 30 * DAY) / HOUR) * HOUR;

/** The documents this test wrote for a module with fromMs ≤ time < toMs, counted by what the light showed. */
function documentsBetween(module: string, fromMs: number, toMs: number): SlotCounts {
  const counts = { ...NO_SLOTS };
  for (const document of WRITTEN.get(module)!) if (document.timeMs >= fromMs && document.timeMs < toMs) counts[expectedShown(document)]++;
  return counts;
}

/**
 * A window's counts as the README states them: every slot with now − W ≤ time < now, less (for a window
 * reaching past what raw keeps) the slots before the window's first whole hour.
 */
function expectedWindow(module: string, windowMs: number, rawDurationMs: number): SlotCounts {
  const counts = documentsBetween(module, NOW - windowMs, NOW);
  if (windowMs <= rawDurationMs) return counts;
  const notCounted = documentsBetween(module, NOW - windowMs, Math.ceil((NOW - windowMs) / HOUR) * HOUR);
  for (const state of Object.keys(counts) as ShownState[]) counts[state] -= notCounted[state];
  return counts;
}

let influx: TestInfluxDB;
let snapshot: StatusSnapshot;
let cost: { queries: number; rows: number };
const settings = {
  rules: MODULES.map((module) => ({ module, title: `Module ${module}`, parts: [], composite: false })),
  title: 'History',
  retentionPolicy: 'raw',
  periodMs: PERIOD,
  staleAfterMs: 30 * MINUTE,
  refreshSeconds: 60,
} as unknown as StatusSettings;

beforeAll(async () => {
  influx = await startInfluxDB();
  await influx.client.ensureDatabase(DATABASE, { raw: 'INF', '1h': 'INF', '1d': 'INF' });
  const lines = MODULES.flatMap((module) => WRITTEN.get(module)!.map((document) => lineOf(module, document)));
  for (let index = 0; index < lines.length; index += 10_000) await influx.client.write(DATABASE, lines.slice(index, index + 10_000).join('\n'), { precision: 'ms' });
  // The real downsample-1h job fills 1h from raw, as it does every hour.
  const downsampled = await runDownsample({ resolution: '1h', influxdb: influx.client, stateDir: path.join(testDir('history-e2e'), 'downsample-1h'), log: new MemoryLogger('downsample'), nowMs: NOW, databases: [DATABASE], chunkMs: 31 * DAY });
  expect(downsampled.problems).toEqual([]);
  // Then raw keeps 30 days, as [influxdb] raw_duration = 30d (InfluxDB drops the older shards later; the snapshot must not read them).
  await influx.client.query(`ALTER RETENTION POLICY "raw" ON "${DATABASE}" DURATION 30d`);
  snapshot = await loadStatusSnapshot(influx.client, settings, { nowMs: NOW, cost: (measured) => (cost = measured) });
}, 600_000);

afterAll(async () => {
  await influx?.stop();
});

describe('a 90-day history across raw (30 days) and 1h', () => {
  test('the 1h RP holds the sums of the slot counters the downsample job wrote (what the snapshot reads before the split)', async () => {
    const [row] = await influx.client.rows(
      `SELECT sum("available_slots") AS available, sum("downtime_slots") AS downtime FROM "${DATABASE}"."1h"."status" WHERE "module" = 'm05' AND time >= ${NOW - 90 * DAY}ms AND time < ${SPLIT}ms`,
    );
    // The 1h RP's hours start on the hour: the first one inside 90 days is that after now − 90 days.
    const expected = documentsBetween('m05', Math.ceil((NOW - 90 * DAY) / HOUR) * HOUR, SPLIT);
    expect([row.available, row.downtime]).toEqual([expected.available, expected.downtime]);
    expect(expected.available).toBeGreaterThan(0);
    expect(expected.downtime).toBeGreaterThan(0);
  });

  test('availability and reliability over 24h, 7d, 30d and 90d equal the figures computed here', () => {
    for (const module of snapshot.modules) {
      for (const [window, windowMs] of [['24h', DAY], ['7d', 7 * DAY], ['30d', 30 * DAY], ['90d', 90 * DAY]] as const) {
        const figures = argoFigures(expectedWindow(module.module, windowMs, 30 * DAY));
        expect([module.module, window, module.availability[window], module.reliability[window]]).toEqual([module.module, window, figures.availability, figures.reliability]);
      }
    }
    // The 90-day figure reads 90 days: it differs from the 30-day one where the older days differ.
    const m05 = snapshot.modules.find((module) => module.module === 'm05')!;
    expect(argoFigures(expectedWindow('m05', 90 * DAY, 30 * DAY)).availability).not.toBe(argoFigures(expectedWindow('m05', 30 * DAY, 30 * DAY)).availability);
    expect(m05.availability['90d']).not.toBe(m05.availability['30d']);
  });

  test('the 30-day window, as long as raw, counts the slots between now − 30 days and the first whole hour too', () => {
    // NOW is 3 minutes past an hour: 30 days back lies 57 minutes before the split; m00 was unavailable in 3 of those slots.
    const beforeSplit = documentsBetween('m00', NOW - 30 * DAY, SPLIT);
    expect(beforeSplit).toEqual({ ...NO_SLOTS, available: 2, unavailable: 3 });
    const m00 = snapshot.modules.find((module) => module.module === 'm00')!;
    const all = argoFigures(documentsBetween('m00', NOW - 30 * DAY, NOW));
    expect([m00.availability['30d'], m00.reliability['30d']]).toEqual([all.availability, all.reliability]);
    expect(m00.availability['30d']).not.toBe(argoFigures(documentsBetween('m00', SPLIT, NOW)).availability);
  });

  test('90 day cells per module, oldest first, with the counts, worst state and figures of each UTC day', () => {
    const today = Math.floor(NOW / DAY) * DAY;
    const rank: ShownState[] = ['available', 'degraded', 'downtime', 'na', 'unavailable'];
    for (const module of snapshot.modules) {
      expect(module.history.map((cell) => cell.dayStartMs)).toEqual(Array.from({ length: 90 }, (_, index) => today - (89 - index) * DAY));
      for (const cell of module.history) {
        const counts = documentsBetween(module.module, cell.dayStartMs, Math.min(cell.dayStartMs + DAY, NOW));
        const worst = [...rank].reverse().find((state) => counts[state] > 0) ?? null;
        expect({ module: module.module, day: cell.dayStartMs, ...cell }).toEqual({ module: module.module, day: cell.dayStartMs, dayStartMs: cell.dayStartMs, counts, worst, downtimeMs: counts.downtime * PERIOD, ...argoFigures(counts) });
      }
    }
  });

  test('documents written before the counters existed count by their code in raw', () => {
    const m01 = snapshot.modules.find((module) => module.module === 'm01')!;
    const old = WRITTEN.get('m01')!.filter((document) => document.old && document.timeMs > NOW - DAY);
    expect(old.length).toBeGreaterThan(100);
    expect(m01.availability['24h']).toBe(argoFigures(documentsBetween('m01', NOW - DAY, NOW)).availability);
    expect(m01.history[89].counts.available + m01.history[89].counts.degraded + m01.history[89].counts.unavailable + m01.history[89].counts.na).toBeGreaterThan(0);
  });

  test('a module in downtime now shows the downtime and its reason; the others their state', () => {
    const m02 = snapshot.modules.find((module) => module.module === 'm02')!;
    expect(m02).toMatchObject({ shown: 'downtime', downtime: { reason: 'm02 maintenance' } });
    expect(m02.timeline[m02.timeline.length - 1].state).toBe('downtime');
    const m00 = snapshot.modules.find((module) => module.module === 'm00')!;
    expect(m00).toMatchObject({ state: 'unavailable', shown: 'unavailable', downtime: null, sinceMs: SLOT - 20 * PERIOD });
  });

  test("the crafted module's incidents: each change with its stored reason, start, end and duration, newest first", () => {
    const m00 = snapshot.modules.find((module) => module.module === 'm00')!;
    const at = (back: number): number => SLOT - back * PERIOD;
    const stale = at(179) + 30 * MINUTE;
    expect(m00.incidents).toEqual([
      { module: 'm00', title: 'Module m00', from: 'available', to: 'unavailable', reason: 'm00 20 <b>', startMs: at(20), endMs: null, durationMs: NOW - at(20) },
      { module: 'm00', title: 'Module m00', from: 'na', to: 'available', reason: 'm00 172 <b>', startMs: at(172), endMs: at(20), durationMs: at(20) - at(172) },
      { module: 'm00', title: 'Module m00', from: 'downtime', to: 'na', reason: `status not evaluated since ${new Date(at(179)).toISOString().replace(/\.000Z$/, 'Z')}`, startMs: stale, endMs: at(172), durationMs: at(172) - stale },
      { module: 'm00', title: 'Module m00', from: 'degraded', to: 'downtime', reason: 'kernel upgrade (GOCDB 42)', startMs: at(190), endMs: stale, durationMs: stale - at(190) },
      { module: 'm00', title: 'Module m00', from: 'available', to: 'degraded', reason: 'm00 200 <b>', startMs: at(200), endMs: at(190), durationMs: 10 * PERIOD },
      // Within the 30 days, but before the first whole hour the counts read from raw: still listed.
      { module: 'm00', title: 'Module m00', from: 'unavailable', to: 'available', reason: 'm00 4315 <b>', startMs: at(4315), endMs: at(200), durationMs: at(200) - at(4315) },
      { module: 'm00', title: 'Module m00', from: 'available', to: 'unavailable', reason: 'm00 4318 <b>', startMs: at(4318), endMs: at(4315), durationMs: 3 * PERIOD },
    ]);
    expect(at(4318)).toBeGreaterThan(NOW - 30 * DAY);
    expect(at(4318)).toBeLessThan(SPLIT);
  });

  test('every module\'s incidents: the changes of its documents in the last 30 days, each reason that of the first document of the new state', () => {
    for (const module of snapshot.modules.filter((one) => one.module !== 'm00')) {
      const documents = WRITTEN.get(module.module)!;
      const expected: Array<[number, ShownState, string]> = [];
      let longestGapMs = 0;
      for (let index = 1; index < documents.length; index++) {
        const [before, document] = [documents[index - 1], documents[index]];
        longestGapMs = Math.max(longestGapMs, document.timeMs - before.timeMs);
        if (expectedShown(document) === expectedShown(before) || document.timeMs <= NOW - 30 * DAY) continue;
        expected.unshift([document.timeMs, expectedShown(document), document.downtime ? (document.downtimeReason as string) : document.reason]);
      }
      expect(module.incidents.map((incident) => [incident.startMs, incident.to, incident.reason])).toEqual(expected);
      // Gaps here are one missed run at most (20 min < 30 min stale_after): no N/A of their own.
      expect(longestGapMs).toBe(2 * PERIOD);
    }
    expect(snapshot.incidents).toHaveLength(snapshot.modules.reduce((sum, module) => sum + module.incidents.length, 0));
    expect(snapshot.incidents.map((incident) => incident.startMs)).toEqual([...snapshot.incidents.map((incident) => incident.startMs)].sort((a, b) => b - a));
  });

  test("a run's pending status under downtime (not stored yet) shows as downtime, with a new incident carrying its reason", async () => {
    const nextSlot = SLOT + PERIOD;
    const pending = { module: 'm00', title: 'Module m00', state: 'unavailable' as const, code: 2, reason: 'still down', evaluatedMs: nextSlot, downtime: { reason: 'emergency fix' } };
    const withPending = await loadStatusSnapshot(influx.client, settings, { nowMs: nextSlot + MINUTE, pending: { slotMs: nextSlot, statuses: [pending] } });
    const m00 = withPending.modules.find((module) => module.module === 'm00')!;
    expect(m00).toMatchObject({ state: 'unavailable', shown: 'downtime', downtime: { reason: 'emergency fix' }, reason: 'still down', sinceMs: nextSlot });
    expect(m00.incidents[0]).toEqual({ module: 'm00', title: 'Module m00', from: 'unavailable', to: 'downtime', reason: 'emergency fix', startMs: nextSlot, endMs: null, durationMs: MINUTE });
    expect(m00.history[89].counts.downtime).toBe(snapshot.modules.find((module) => module.module === 'm00')!.history[89].counts.downtime + 1);
  });

  test('the cost of one snapshot of 30 modules × 90 days', () => {
    const changeSlots = new Set(snapshot.incidents.filter((incident) => !incident.reason.startsWith('status not evaluated')).map((incident) => incident.startMs)).size;
    // SHOW RETENTION POLICIES, the raw codes, the newest documents, the 1h days; then the reasons, 100 slots a request.
    expect(cost.queries).toBe(4 + Math.ceil(changeSlots / 100));
    const rawDocuments = MODULES.reduce((sum, module) => sum + WRITTEN.get(module)!.filter((document) => document.timeMs >= SPLIT).length, 0);
    // The 3 RPs, one row per raw document from the split on, one per module for the newest, one per module and day before the split, one per incident reason.
    expect(cost.rows).toBeGreaterThanOrEqual(rawDocuments + MODULES.length);
    // Plus up to 12 documents a module before the split (the hour before the 30 days, for the incidents).
    expect(cost.rows).toBeLessThanOrEqual(3 + rawDocuments + MODULES.length * 12 + MODULES.length + MODULES.length * 61 + snapshot.incidents.length);
    console.log(`snapshot of ${MODULES.length} modules × 90 days: ${cost.queries} queries, ${cost.rows} rows (${rawDocuments} raw documents), ${snapshot.incidents.length} incidents at ${changeSlots} slots`);
  });

  // Last: it shortens raw further.
  test('with raw kept 7 days, the 30-day window and the older days come from 1h too', async () => {
    await influx.client.query(`ALTER RETENTION POLICY "raw" ON "${DATABASE}" DURATION 7d`);
    let shorter = { queries: 0, rows: 0 };
    const snapshotOf7Days = await loadStatusSnapshot(influx.client, settings, { nowMs: NOW, cost: (measured) => (shorter = measured) });
    for (const module of snapshotOf7Days.modules) {
      for (const [window, windowMs] of [['24h', DAY], ['7d', 7 * DAY], ['30d', 30 * DAY], ['90d', 90 * DAY]] as const) {
        const figures = argoFigures(expectedWindow(module.module, windowMs, 7 * DAY));
        expect([module.module, window, module.availability[window], module.reliability[window]]).toEqual([module.module, window, figures.availability, figures.reliability]);
      }
      const day = module.history[70];
      expect(day.counts).toEqual(documentsBetween(module.module, day.dayStartMs, day.dayStartMs + DAY));
    }
    // One more query: the 30-day window's hours before the split.
    expect(shorter.queries).toBe(cost.queries + 1);
  });
});
