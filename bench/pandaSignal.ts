/**
 * The queue-level suspicious signal over the realistic day (collectors/panda/test/synthetic.ts RealisticDay) at
 * production shape: how many queues a normal day flags, which clouds the panda status rule would turn degraded,
 * and whether an injected drop of one site's running jobs is caught. In process, no InfluxDB.
 *
 *   npm run build && node dist/bench/pandaSignal.js [--queues N]
 *
 * At each of the day's 144 slots, each queue's running jobs (all prod sources and resource types) are compared
 * with their moving average, computed directly from the generated 10-minute points with panda-derived's
 * definition (the points in [slot − window + 10 min, slot + 10 min), the current one included). Every point
 * exists in the synthetic day, so the sum of the series' means is the mean of the queue's sums.
 * The verdicts are those of aggregates.ts (judgeQueue, cloudSummaries); the status thresholds are those of the
 * shipped rule (collectors/panda/status.cfg), evaluated with the status job's own condition code.
 * Baseline, in the same run: the same day without events (no downtime, surge or offline queue), so the flags it
 * still raises are the noise and drift alone.
 */
import { Config } from '../lib/config/config';
import { SchemaRegistry } from '../lib/documents/schemas';
import { evaluateCondition, aggregateKey, type AggregateOperand, type Value, parseCondition, type Condition } from '../status/condition';
import { loadRules } from '../status/rules';
import { cloudSummaries, judgeQueue, type QueueBand, type QueueSignal } from '../collectors/panda/aggregates';
import { PRODUCTION_SHAPE, queueName, RealisticDay, SYNTHETIC_QUEUES_PER_SITE, syntheticCricAnswer, type SyntheticShape } from '../collectors/panda/test/synthetic';
import { PROJECT_ROOT } from '../lib/config/paths';
import { TEN_MINUTES_MS } from '../lib/run/slot';
import path from 'node:path';
import os from 'node:os';

const HOUR_MS = 3_600_000;
const SLOTS_PER_DAY = 144;
/** A Wednesday; any day works, the model is a function of time. */
const DAY_START_MS = Date.UTC(2026, 0, 14);

function parseQueues(argv: string[]): number {
  if (argv.length === 0) return PRODUCTION_SHAPE.queues;
  const value = Number(argv[1]);
  if (argv[0] !== '--queues' || !Number.isInteger(value) || value <= 0) throw new Error(`usage: node dist/bench/pandaSignal.js [--queues N] (bad: ${argv.join(' ')})`);
  return value;
}

/** Per queue, the running jobs at each slot from a day before the day to its end (the averages' windows). */
interface RunningTotals {
  /** slots × queues, slot-major: index (slot + SLOTS_PER_DAY − 1) × queues + queue, slot 0 = the day's first. */
  values: Float64Array;
  queues: number;
}

function runningTotals(day: RealisticDay, withEvents: boolean): RunningTotals {
  const { shape } = day;
  const running = shape.states.indexOf('running');
  const slots = 2 * SLOTS_PER_DAY - 1;
  const values = new Float64Array(slots * shape.queues);
  for (let index = 0; index < slots; index++) {
    const slotMs = DAY_START_MS + (index - (SLOTS_PER_DAY - 1)) * TEN_MINUTES_MS;
    for (let q = 0; q < shape.queues; q++) {
      const level = day.queueLevel(q, slotMs, withEvents);
      let sum = 0;
      for (let p = 0; p < shape.prodSources.length; p++) for (let r = 0; r < shape.resources.length; r++) sum += day.count(q, p, r, running, slotMs, level);
      values[index * shape.queues + q] = sum;
    }
  }
  return { values, queues: shape.queues };
}

/** The average of each queue at the day's slot `slot`: the mean over the window's points, the current one included. */
function averagesAt(totals: RunningTotals, slot: number, windowSlots: number): Float64Array {
  const averages = new Float64Array(totals.queues);
  const last = slot + SLOTS_PER_DAY - 1;
  for (let index = last - windowSlots + 1; index <= last; index++) {
    for (let q = 0; q < totals.queues; q++) averages[q] += totals.values[index * totals.queues + q];
  }
  for (let q = 0; q < totals.queues; q++) averages[q] /= windowSlots;
  return averages;
}

function currentAt(totals: RunningTotals, slot: number, queue: number): number {
  return totals.values[(slot + SLOTS_PER_DAY - 1) * totals.queues + queue];
}

/** The status rule's degraded conditions, as the status job evaluates them on one clouds_derived series. */
type CloudRule = (values: Map<string, Value>) => boolean;

function ruleOf(conditions: Condition[]): CloudRule {
  return (values) => conditions.some((condition) => evaluateCondition(condition, (operand: AggregateOperand) => values.get(aggregateKey(operand)) ?? null).holds);
}

function cloudValues(cloud: { queues: number; suspiciousQueues: number; share: number }): Map<string, Value> {
  return new Map<string, Value>([
    ['latest(queues)', cloud.queues],
    ['latest(suspicious_queues)', cloud.suspiciousQueues],
    ['latest(suspicious_share)', cloud.share],
  ]);
}

interface DayFigures {
  meanFlagged: number;
  maxFlagged: number;
  distinctFlagged: number;
  /** Flags of queues without any event in the window before the slot (noise and drift alone). */
  unexplainedFlags: number;
  totalFlags: number;
  slotsDegraded: number;
  maxCloudsDegraded: number;
  distinctCloudsDegraded: number;
  /** The most suspicious queues, and the highest share, of one cloud at one slot. */
  maxCloudSuspicious: number;
  maxCloudShare: number;
}

function dayFigures(totals: RunningTotals, day: RealisticDay, cloudOf: (queue: number) => string, band: QueueBand, windowSlots: number, cloudRule: CloudRule): DayFigures {
  const flaggedEver = new Set<number>();
  const cloudsEver = new Set<string>();
  let total = 0;
  let max = 0;
  let unexplained = 0;
  let slotsDegraded = 0;
  let maxClouds = 0;
  let maxCloudSuspicious = 0;
  let maxCloudShare = 0;
  for (let slot = 0; slot < SLOTS_PER_DAY; slot++) {
    const averages = averagesAt(totals, slot, windowSlots);
    const slotMs = DAY_START_MS + slot * TEN_MINUTES_MS;
    const signals: QueueSignal[] = [];
    let flagged = 0;
    for (let q = 0; q < totals.queues; q++) {
      const verdict = judgeQueue(currentAt(totals, slot, q), averages[q], band);
      signals.push({ queue: String(q), ...verdict });
      if (!verdict.suspicious) continue;
      flagged++;
      flaggedEver.add(q);
      if (!day.eventWithin(q, slotMs - windowSlots * TEN_MINUTES_MS, slotMs)) unexplained++;
    }
    total += flagged;
    max = Math.max(max, flagged);
    const clouds = cloudSummaries(signals, (queue) => cloudOf(Number(queue)));
    for (const cloud of clouds) {
      maxCloudSuspicious = Math.max(maxCloudSuspicious, cloud.suspiciousQueues);
      maxCloudShare = Math.max(maxCloudShare, cloud.share);
    }
    const degraded = clouds.filter((cloud) => cloudRule(cloudValues(cloud)));
    if (degraded.length > 0) slotsDegraded++;
    maxClouds = Math.max(maxClouds, degraded.length);
    for (const cloud of degraded) cloudsEver.add(cloud.cloud);
  }
  return {
    meanFlagged: total / SLOTS_PER_DAY,
    maxFlagged: max,
    distinctFlagged: flaggedEver.size,
    unexplainedFlags: unexplained,
    totalFlags: total,
    slotsDegraded,
    maxCloudsDegraded: maxClouds,
    distinctCloudsDegraded: cloudsEver.size,
    maxCloudSuspicious,
    maxCloudShare,
  };
}

function line(label: string, figures: DayFigures, baseline?: DayFigures): string {
  const versus = baseline ? ` (baseline without events: mean ${baseline.meanFlagged.toFixed(1)}, max ${baseline.maxFlagged}, ${baseline.distinctFlagged} distinct; clouds degraded in ${baseline.slotsDegraded} slots)` : '';
  return (
    `${label}: flagged per slot mean ${figures.meanFlagged.toFixed(1)}, max ${figures.maxFlagged}; ${figures.distinctFlagged} distinct queues over the day; ` +
    `${figures.totalFlags - figures.unexplainedFlags} of ${figures.totalFlags} flags during or after an event; ` +
    `one cloud at most ${figures.maxCloudSuspicious} suspicious queues (${figures.maxCloudShare.toFixed(1)} %); ` +
    `clouds degraded in ${figures.slotsDegraded} of 144 slots (at most ${figures.maxCloudsDegraded} at once, ${figures.distinctCloudsDegraded} distinct)${versus}`
  );
}

function main(): void {
  const queues = parseQueues(process.argv.slice(2));
  const shape: SyntheticShape = { ...PRODUCTION_SHAPE, queues };
  const day = new RealisticDay(shape);
  const cric = syntheticCricAnswer(shape, {});
  const cloudOf = (queue: number): string => String(cric[queueName(queue)]?.cloud ?? 'unknown');
  console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  const started = performance.now();
  const totals = runningTotals(day, true);
  const calm = runningTotals(day, false);
  console.log(`realistic day: ${queues} queues, ${SLOTS_PER_DAY} slots of ${new Date(DAY_START_MS).toISOString().slice(0, 10)} (and the day before, for the averages); generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const events = day.eventsOfDay(DAY_START_MS);
  console.log(`events starting that day: ${events.downtime} site downtimes, ${events.surge} site surges, ${events.offline} queues set offline`);

  // The shipped rule and the [panda] defaults.
  const rules = loadRules(Config.parse(`[status]\ndefault_rules = ${path.join(PROJECT_ROOT, 'collectors', 'panda', 'status.cfg')}\n`, 'bench.cfg'), { registry: new SchemaRegistry([]) });
  const panda = rules.find((rule) => rule.module === 'panda');
  if (!panda) throw new Error('no panda module in collectors/panda/status.cfg');
  const shipped = ruleOf(panda.parts[0].degraded.map((leveled) => leveled.condition));
  console.log(`status rule (collectors/panda/status.cfg): ${panda.parts[0].degraded.map((leveled) => leveled.text).join('  OR  ')}`);
  const defaults: QueueBand = { factor: 2, minJobs: 20 };
  const windowSlots = 24 * 6;

  console.log('\nA normal day, the defaults (queue_signal_average = 24h, queue_band_factor = 2, queue_min_jobs = 20):');
  const calmDefaults = dayFigures(calm, day, cloudOf, defaults, windowSlots, shipped);
  console.log(`  ${line('factor 2, min 20', dayFigures(totals, day, cloudOf, defaults, windowSlots, shipped), calmDefaults)}`);

  console.log('\nBand factor x minimum size (24h average, the shipped status rule):');
  for (const factor of [1.5, 2, 3]) {
    for (const minJobs of [10, 20, 50]) {
      const band = { factor, minJobs };
      console.log(`  ${line(`factor ${factor}, min ${minJobs}`, dayFigures(totals, day, cloudOf, band, windowSlots, shipped), dayFigures(calm, day, cloudOf, band, windowSlots, shipped))}`);
    }
  }
  console.log('\nOther averages (factor 2, min 20):');
  for (const hours of [6, 12]) console.log(`  ${line(`${hours}h average`, dayFigures(totals, day, cloudOf, defaults, hours * 6, shipped))}`);

  console.log('\nStatus thresholds (factor 2, min 20, 24h): clouds degraded over the day per rule');
  for (const text of ['latest(suspicious_queues) >= 1', 'latest(suspicious_share) >= 5 and latest(suspicious_queues) >= 3', 'latest(suspicious_share) >= 10 and latest(suspicious_queues) >= 3', 'latest(suspicious_share) >= 20 and latest(suspicious_queues) >= 3', 'latest(suspicious_queues) >= 10', 'latest(suspicious_queues) >= 15']) {
    const figures = dayFigures(totals, day, cloudOf, defaults, windowSlots, ruleOf([parseCondition(text)]));
    console.log(`  ${text}: degraded in ${figures.slotsDegraded} of 144 slots, at most ${figures.maxCloudsDegraded} clouds at once, ${figures.distinctCloudsDegraded} distinct`);
  }

  // One site's running jobs drop to 10 % at one slot (its queues' current point; the average includes it).
  const dropSlot = 100;
  const dropMs = DAY_START_MS + dropSlot * TEN_MINUTES_MS;
  const quiet = [...Array(Math.floor(queues / SYNTHETIC_QUEUES_PER_SITE)).keys()].filter((site) =>
    [0, 1, 2, 3].every((k) => !day.eventWithin(site * SYNTHETIC_QUEUES_PER_SITE + k, dropMs - 24 * HOUR_MS, dropMs)),
  );
  const dropped = (band: QueueBand, siteQueues: number[]): Array<{ queue: number; current: number; average: number; suspicious: boolean }> => {
    const changed = new Float64Array(totals.values);
    const index = (dropSlot + SLOTS_PER_DAY - 1) * queues;
    for (const q of siteQueues) changed[index + q] = Math.round(changed[index + q] * 0.1);
    const averages = averagesAt({ values: changed, queues }, dropSlot, windowSlots);
    return siteQueues.map((q) => {
      const current = changed[index + q];
      return { queue: q, current, average: averages[q], suspicious: judgeQueue(current, averages[q], band).suspicious };
    });
  };
  const example = quiet[Math.floor(quiet.length / 2)];
  const exampleQueues = [0, 1, 2, 3].map((k) => example * SYNTHETIC_QUEUES_PER_SITE + k);
  console.log(`\nA drop of site SITE_${example}'s running jobs to 10 % at ${new Date(dropMs).toISOString().slice(11, 16)} (defaults):`);
  for (const one of dropped(defaults, exampleQueues)) {
    console.log(`  ${queueName(one.queue)} (cloud ${cloudOf(one.queue)}): ${one.current} vs 24h average ${one.average.toFixed(1)}: ${one.suspicious ? 'flagged' : 'NOT flagged'}`);
  }
  console.log(`The same drop at each of the ${quiet.length} sites without an event that day, one site at a time: queues flagged by their 24h average at the slot`);
  const buckets = [
    [0, 20],
    [20, 50],
    [50, 200],
    [200, Infinity],
  ];
  for (const band of [defaults, { factor: 2, minJobs: 10 }, { factor: 3, minJobs: 20 }, { factor: 2, minJobs: 50 }]) {
    const counts = buckets.map(() => ({ flagged: 0, queues: 0 }));
    for (const site of quiet) {
      for (const one of dropped(band, [0, 1, 2, 3].map((k) => site * SYNTHETIC_QUEUES_PER_SITE + k).filter((q) => q < queues))) {
        const bucket = buckets.findIndex(([low, high]) => one.average >= low && one.average < high);
        counts[bucket].queues++;
        if (one.suspicious) counts[bucket].flagged++;
      }
    }
    const all = counts.reduce((sum, count) => ({ flagged: sum.flagged + count.flagged, queues: sum.queues + count.queues }), { flagged: 0, queues: 0 });
    console.log(
      `  factor ${band.factor}, min ${band.minJobs}: ${all.flagged} of ${all.queues} queues (${((100 * all.flagged) / all.queues).toFixed(1)} %); by 24h average: ` +
        buckets.map(([low, high], index) => `${low}-${high === Infinity ? '' : high}: ${counts[index].flagged}/${counts[index].queues}`).join(', '),
    );
  }
  // A cloud-wide problem: a share of one cloud's queues (every n-th of them) drop to 10 % at the same slot.
  const cloud = cloudOf(5);
  for (const every of [10, 5, 3]) {
    const cloudQueues = [...Array(queues).keys()].filter((q) => cloudOf(q) === cloud).filter((_, n) => n % every === 0);
    const changed = new Float64Array(totals.values);
    const index = (dropSlot + SLOTS_PER_DAY - 1) * queues;
    for (const q of cloudQueues) changed[index + q] = Math.round(changed[index + q] * 0.1);
    const averages = averagesAt({ values: changed, queues }, dropSlot, windowSlots);
    const signals = [...Array(queues).keys()].map((q) => ({ queue: String(q), ...judgeQueue(changed[index + q], averages[q], defaults) }));
    const summary = cloudSummaries(signals, (queue) => cloudOf(Number(queue))).find((one) => one.cloud === cloud);
    console.log(
      `${every === 10 ? '\n' : ''}1 in ${every} of cloud ${cloud}'s queues (${cloudQueues.length}) drop to 10 % at one slot: ${summary?.suspiciousQueues} of ${summary?.queues} queues suspicious (${summary?.share.toFixed(1)} %); ` +
        `the shipped rule: ${summary && shipped(cloudValues(summary)) ? 'degraded' : 'NOT degraded'}`,
    );
  }
}

main();
