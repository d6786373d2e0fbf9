/** Production-size synthetic PanDA and CRIC answers for the benchmark, deterministic for a given seed. */
import { randomGenerator } from '../../../test/support/random';

export interface SyntheticShape {
  queues: number;
  prodSources: string[];
  resources: string[];
  /** Gauge states first, then terminal ones. */
  states: string[];
  /** Fraction of queues CRIC does not describe. */
  unknownFraction: number;
  seed: number;
}

export const PRODUCTION_SHAPE: SyntheticShape = {
  queues: 2500,
  prodSources: ['managed', 'user'],
  resources: ['SCORE', 'MCORE', 'SCORE_HIMEM'],
  states: ['defined', 'assigned', 'activated', 'starting', 'running', 'holding', 'finished', 'failed'],
  unknownFraction: 0.02,
  seed: 7,
};

export function queueName(index: number): string {
  return `SYNTH_Q${String(index).padStart(5, '0')}`;
}

/** PanDA's tree: queue → prod source → resource → state → count, every combination present. */
export function syntheticPandaAnswer(shape: SyntheticShape): Record<string, Record<string, Record<string, Record<string, number>>>> {
  const random = randomGenerator(shape.seed);
  const tree: Record<string, Record<string, Record<string, Record<string, number>>>> = {};
  for (let q = 0; q < shape.queues; q++) {
    const size = Math.floor(10 ** (1 + 3 * random())); // queues from 10 to 10,000 jobs
    const labels: Record<string, Record<string, Record<string, number>>> = {};
    for (const prodSource of shape.prodSources) {
      const resources: Record<string, Record<string, number>> = {};
      for (const resource of shape.resources) {
        const states: Record<string, number> = {};
        for (const state of shape.states) states[state] = Math.floor(size * random());
        resources[resource] = states;
      }
      labels[prodSource] = resources;
    }
    tree[queueName(q)] = labels;
  }
  return tree;
}

/*
 * A realistic day (and month) of PanDA job counts, for the queue-level signal's benchmark and the history of
 * bench/panda.ts. Every count is a function of the series and the time, so any slot of any day can be asked in
 * any order (no sequential random stream), and the current slot agrees with its history.
 *
 * The model, per queue q (of SyntheticShape.queues) and 10-minute slot t:
 * - size: the queue's running jobs, log-uniform from 10 to 10,000 (a few large T1/HPC queues, many small ones);
 * - a slow drift: 1 + a1 sin(2πt/P1 + φ1) + a2 sin(2πt/P2 + φ2), P1 of 2 to 7 days (a1 ≤ 15 %), P2 of 12 h to 2 days
 *   (a2 ≤ 8 %): brokerage shares, pledges and the task mix move a queue's level by some 10 % over a day;
 * - a daily rhythm: analysis (user) jobs peak in the European afternoon (±15 %, highest at 15:00 UTC), production
 *   (managed) jobs hardly follow the clock (±3 %);
 * - events that ramp a level over hours: per site and day, 3 % of sites go into downtime (their queues drain to
 *   0–10 % over 0.5–6 h, stay down 2–10 h, come back over 1–3 h) and 3 % get a brokerage surge (× 1.8–3, over
 *   2–4 h, for 2–8 h); per queue and day, 2 % are set offline on their own (HammerCloud exclusion: as a drain);
 * - noise per slot: a queue-wide ±3 % (σ; a large queue's count moves by a few % per 10 minutes) and, per series,
 *   a counting noise of σ = √level (a small queue's count moves relatively more: ±30 % at 10 jobs).
 * A series (prod source, resource, state) is a fixed share of its queue: running most, then activated, finished,
 * assigned, ... (STATE_SHARE), managed 75 % and user 25 %, MCORE 50 %, SCORE 40 %, SCORE_HIMEM 10 %, each
 * varied by ±50 % per queue. Terminal states (finished, failed) are counts per 10-minute window.
 * Noise is independent from slot to slot, which real running counts (jobs last hours) are not: the model is
 * noisier than the grid, so a band that keeps its flags few here keeps them fewer there.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const SLOT_MS = 600_000;

/** Queues per site, as syntheticCricAnswer names them (atlas_site SITE_<queue / 4>). */
export const SYNTHETIC_QUEUES_PER_SITE = 4;

export function siteIndexOf(queue: number): number {
  return Math.floor(queue / SYNTHETIC_QUEUES_PER_SITE);
}

/** Share of a queue's level per state (running = 1); terminal ones per 10-minute window. */
const STATE_SHARE: Record<string, number> = { running: 1, activated: 0.3, assigned: 0.1, defined: 0.05, starting: 0.03, holding: 0.05, finished: 0.15, failed: 0.02, cancelled: 0.005, closed: 0.005 };
const PROD_SOURCE_SHARE: Record<string, number> = { managed: 0.75, user: 0.25 };
const RESOURCE_SHARE: Record<string, number> = { MCORE: 0.5, SCORE: 0.4, SCORE_HIMEM: 0.1 };
const ANALYSIS = new Set(['user', 'panda']);

/** A uniform number in [0, 1) from integers: a stateless hash (murmur3's finaliser at each step). */
function hashed(seed: number, ...values: number[]): number {
  let h = seed ^ 0x9e3779b9;
  for (const value of values) {
    h = Math.imul(h ^ (value | 0), 0xcc9e2d51);
    h = (h << 15) | (h >>> 17);
    h = Math.imul(h, 0x1b873593);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return (h >>> 0) / 4294967296;
}

/** A standard normal number from integers (Box–Muller on two hashes). */
function normal(seed: number, ...values: number[]): number {
  const u = 1 - hashed(seed, ...values, 1);
  const v = hashed(seed, ...values, 2);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** An event ramping a level to `factor` × it: over `rampUpMs` from `startMs`, held `holdMs`, back over `rampDownMs`. */
export interface LevelEvent {
  kind: 'downtime' | 'surge' | 'offline';
  startMs: number;
  rampInMs: number;
  holdMs: number;
  rampOutMs: number;
  factor: number;
}

function envelope(event: LevelEvent, timeMs: number): number {
  const t = timeMs - event.startMs;
  if (t <= 0) return 0;
  if (t < event.rampInMs) return t / event.rampInMs;
  if (t < event.rampInMs + event.holdMs) return 1;
  const out = t - event.rampInMs - event.holdMs;
  return out < event.rampOutMs ? 1 - out / event.rampOutMs : 0;
}

/** One queue's or site's event starting in `day` (days since the epoch), or none. */
function eventOf(seed: number, kindSeed: number, index: number, day: number): LevelEvent | undefined {
  const draw = (n: number): number => hashed(seed, kindSeed, index, day, n);
  const startMs = day * DAY_MS + draw(1) * DAY_MS;
  if (kindSeed === 1) {
    const roll = draw(0);
    if (roll < 0.03) return { kind: 'downtime', startMs, rampInMs: (0.5 + 5.5 * draw(2)) * HOUR_MS, holdMs: (2 + 8 * draw(3)) * HOUR_MS, rampOutMs: (1 + 2 * draw(4)) * HOUR_MS, factor: 0.1 * draw(5) };
    if (roll < 0.06) return { kind: 'surge', startMs, rampInMs: (2 + 2 * draw(2)) * HOUR_MS, holdMs: (2 + 6 * draw(3)) * HOUR_MS, rampOutMs: (2 + 2 * draw(4)) * HOUR_MS, factor: 1.8 + 1.2 * draw(5) };
    return undefined;
  }
  if (draw(0) < 0.02) return { kind: 'offline', startMs, rampInMs: (0.5 + 2.5 * draw(2)) * HOUR_MS, holdMs: (2 + 8 * draw(3)) * HOUR_MS, rampOutMs: (1 + draw(4)) * HOUR_MS, factor: 0.1 * draw(5) };
  return undefined;
}

/** The events touching a queue around `timeMs`: its site's and its own, started that day or the day before. */
export function eventsOf(shape: SyntheticShape, queue: number, timeMs: number): LevelEvent[] {
  const day = Math.floor(timeMs / DAY_MS);
  const events: LevelEvent[] = [];
  for (const d of [day - 1, day]) {
    const site = eventOf(shape.seed, 1, siteIndexOf(queue), d);
    if (site) events.push(site);
    const own = eventOf(shape.seed, 2, queue, d);
    if (own) events.push(own);
  }
  return events;
}

/** The realistic history of every series of `shape` (see the model above). */
export class RealisticDay {
  private readonly size: Float64Array;
  private readonly drift: Float64Array;
  /** Per series (queue, prod source, resource, state): its share of the queue's level. */
  private readonly share: Float64Array;

  constructor(readonly shape: SyntheticShape) {
    const { queues } = shape;
    const seed = shape.seed;
    this.size = new Float64Array(queues);
    this.drift = new Float64Array(queues * 6);
    for (let q = 0; q < queues; q++) {
      this.size[q] = 10 ** (1 + 3 * hashed(seed, 10, q));
      const d = this.drift.subarray(q * 6, q * 6 + 6);
      d[0] = 0.15 * hashed(seed, 11, q);
      d[1] = (2 + 5 * hashed(seed, 12, q)) * DAY_MS;
      d[2] = 2 * Math.PI * hashed(seed, 13, q);
      d[3] = 0.08 * hashed(seed, 14, q);
      d[4] = (0.5 + 1.5 * hashed(seed, 15, q)) * DAY_MS;
      d[5] = 2 * Math.PI * hashed(seed, 16, q);
    }
    const perQueue = this.seriesPerQueue;
    this.share = new Float64Array(queues * perQueue);
    for (let q = 0; q < queues; q++) {
      let index = 0;
      for (const prodSource of shape.prodSources) {
        for (const resource of shape.resources) {
          for (const state of shape.states) {
            const jitter = 0.5 + hashed(seed, 17, q, index);
            this.share[q * perQueue + index] = (PROD_SOURCE_SHARE[prodSource] ?? 0.1) * (RESOURCE_SHARE[resource] ?? 0.2) * (STATE_SHARE[state] ?? 0.05) * jitter;
            index++;
          }
        }
      }
    }
  }

  get seriesPerQueue(): number {
    return this.shape.prodSources.length * this.shape.resources.length * this.shape.states.length;
  }

  /** Index of a series within its queue, in the order of the shape's prod sources, resources and states. */
  seriesIndex(prodSource: number, resource: number, state: number): number {
    return (prodSource * this.shape.resources.length + resource) * this.shape.states.length + state;
  }

  /** The queue's running level at `timeMs` without noise or rhythm: size × drift × events (none: without them). */
  queueLevel(queue: number, timeMs: number, withEvents = true): number {
    const d = this.drift.subarray(queue * 6, queue * 6 + 6);
    const level = this.size[queue] * (1 + d[0] * Math.sin((2 * Math.PI * timeMs) / d[1] + d[2]) + d[3] * Math.sin((2 * Math.PI * timeMs) / d[4] + d[5]));
    return withEvents ? level * this.eventFactor(queue, timeMs) : level;
  }

  /** The product of the events' factors at `timeMs` (1 when none is under way). */
  eventFactor(queue: number, timeMs: number): number {
    let factor = 1;
    for (const event of eventsOf(this.shape, queue, timeMs)) factor *= 1 + (event.factor - 1) * envelope(event, timeMs);
    return factor;
  }

  /** Whether an event moved the queue's level at some slot of [fromMs, toMs]. */
  eventWithin(queue: number, fromMs: number, toMs: number): boolean {
    for (let timeMs = fromMs; timeMs <= toMs; timeMs += SLOT_MS) if (Math.abs(this.eventFactor(queue, timeMs) - 1) > 1e-9) return true;
    return false;
  }

  /** How many events of each kind start in the day beginning at `dayStartMs`. */
  eventsOfDay(dayStartMs: number): Record<LevelEvent['kind'], number> {
    const day = Math.floor(dayStartMs / DAY_MS);
    const counts = { downtime: 0, surge: 0, offline: 0 };
    const sites = Math.ceil(this.shape.queues / SYNTHETIC_QUEUES_PER_SITE);
    for (let site = 0; site < sites; site++) {
      const event = eventOf(this.shape.seed, 1, site, day);
      if (event) counts[event.kind]++;
    }
    for (let queue = 0; queue < this.shape.queues; queue++) if (eventOf(this.shape.seed, 2, queue, day)) counts.offline++;
    return counts;
  }

  /** The daily rhythm of a prod source at `timeMs`. */
  rhythm(prodSource: number, timeMs: number): number {
    const hours = (timeMs % DAY_MS) / HOUR_MS;
    const amplitude = ANALYSIS.has(this.shape.prodSources[prodSource]) ? 0.15 : 0.03;
    return 1 + amplitude * Math.sin((2 * Math.PI * (hours - 9)) / 24);
  }

  /** A series' expected value at `timeMs` (no noise). */
  expected(queue: number, prodSource: number, resource: number, state: number, timeMs: number, queueLevel = this.queueLevel(queue, timeMs)): number {
    return queueLevel * this.rhythm(prodSource, timeMs) * this.share[queue * this.seriesPerQueue + this.seriesIndex(prodSource, resource, state)];
  }

  /** A series' count at the 10-minute slot `slotMs` (a whole number ≥ 0), as PanDA would report it. */
  count(queue: number, prodSource: number, resource: number, state: number, slotMs: number, queueLevel = this.queueLevel(queue, slotMs)): number {
    const slot = Math.floor(slotMs / SLOT_MS);
    const level = this.expected(queue, prodSource, resource, state, slotMs, queueLevel) * (1 + 0.03 * normal(this.shape.seed, 20, queue, slot));
    const series = this.seriesIndex(prodSource, resource, state);
    return Math.max(0, Math.round(level + Math.sqrt(Math.max(level, 0)) * normal(this.shape.seed, 21, queue * 1024 + series, slot)));
  }

  /**
   * A series' mean per slot over [fromMs, fromMs + durationMs): the expected values at 6 points per hour (hourly
   * points) or 24 per day (daily points); the slots' noise averages out over them.
   */
  mean(queue: number, prodSource: number, resource: number, state: number, fromMs: number, durationMs: number): number {
    const samples = durationMs >= DAY_MS ? 24 : 6;
    let sum = 0;
    for (let i = 0; i < samples; i++) sum += this.expected(queue, prodSource, resource, state, fromMs + ((i + 0.5) * durationMs) / samples);
    return sum / samples;
  }

  /** Every series' count of a queue at the slot, in seriesIndex() order, into `into` (the queue's level computed once). */
  queueCounts(queue: number, slotMs: number, into: Float64Array): Float64Array {
    const level = this.queueLevel(queue, slotMs);
    const { prodSources, resources, states } = this.shape;
    for (let p = 0; p < prodSources.length; p++) {
      for (let r = 0; r < resources.length; r++) for (let s = 0; s < states.length; s++) into[this.seriesIndex(p, r, s)] = this.count(queue, p, r, s, slotMs, level);
    }
    return into;
  }

  /** Every series' mean() of a queue over [fromMs, fromMs + durationMs), in seriesIndex() order, into `into`. */
  queueMeans(queue: number, fromMs: number, durationMs: number, into: Float64Array): Float64Array {
    const samples = durationMs >= DAY_MS ? 24 : 6;
    into.fill(0);
    const { prodSources, resources, states } = this.shape;
    for (let i = 0; i < samples; i++) {
      const timeMs = fromMs + ((i + 0.5) * durationMs) / samples;
      const level = this.queueLevel(queue, timeMs);
      for (let p = 0; p < prodSources.length; p++) {
        for (let r = 0; r < resources.length; r++) for (let s = 0; s < states.length; s++) into[this.seriesIndex(p, r, s)] += this.expected(queue, p, r, s, timeMs, level) / samples;
      }
    }
    return into;
  }

  /** PanDA's tree at the slot: every combination present (PanDA fills the states with zeros). */
  answerAt(slotMs: number): Record<string, Record<string, Record<string, Record<string, number>>>> {
    const { prodSources, resources, states } = this.shape;
    const tree: Record<string, Record<string, Record<string, Record<string, number>>>> = {};
    for (let q = 0; q < this.shape.queues; q++) {
      const level = this.queueLevel(q, slotMs);
      const labels: Record<string, Record<string, Record<string, number>>> = {};
      for (const [p, prodSource] of prodSources.entries()) {
        const byResource: Record<string, Record<string, number>> = {};
        for (const [r, resource] of resources.entries()) {
          const byState: Record<string, number> = {};
          for (const [s, state] of states.entries()) byState[state] = this.count(q, p, r, s, slotMs, level);
          byResource[resource] = byState;
        }
        labels[prodSource] = byResource;
      }
      tree[queueName(q)] = labels;
    }
    return tree;
  }
}

const CLOUDS = ['CA', 'CERN', 'DE', 'ES', 'FR', 'IT', 'ND', 'NL', 'RU', 'TW', 'UK', 'US'];

/** Sites per WLCG federation in the synthetic answers (a federation is one or a few sites, as in WLCG CRIC). */
export const SITES_PER_FEDERATION = 3;

export const syntheticSite = (queue: number): string => `SITE_${siteIndexOf(queue)}`;
export const syntheticFederation = (site: number): string => `FED-${Math.floor(site / SITES_PER_FEDERATION)}`;

/**
 * CRIC's PanDA-queue description of all but `unknownFraction` of the queues, each entry shaped like
 * `template` (a recorded CRIC entry, so the answer has CRIC's real size per queue), with the properties the
 * documents read set as on the real grid: corecount mostly 8 (some 1, 16 or none), corepower 8-16 HS06 per core
 * (a few queues without), the site's federation (rc), a few disabled queues, Harvester instances and pilot
 * versions, container types, workflows, and the site's DATADISK first in astorages read_lan (a few queues read
 * none).
 */
export function syntheticCricAnswer(shape: SyntheticShape, template: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const random = randomGenerator(shape.seed + 1);
  // Its own generator: the draws above (which queues are unknown, their status) stay those of earlier versions.
  const details = randomGenerator(shape.seed + 2);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(details() * values.length)];
  const answer: Record<string, Record<string, unknown>> = {};
  for (let q = 0; q < shape.queues; q++) {
    const unknown = random() < shape.unknownFraction;
    const draws = [details(), details(), details(), details()];
    if (unknown) continue;
    const name = queueName(q);
    const cloud = CLOUDS[q % CLOUDS.length];
    const siteIndex = siteIndexOf(q);
    const site = syntheticSite(q);
    answer[name] = {
      ...template,
      nickname: name,
      panda_resource: name,
      atlas_site: site,
      cloud,
      country: `${cloud}-country`,
      tier: ['T1', 'T2D', 'T2', 'T3'][q % 4],
      status: random() < 0.9 ? 'online' : 'offline',
      state: draws[0] < 0.97 ? 'ACTIVE' : 'DISABLED',
      rc: syntheticFederation(siteIndex),
      corecount: draws[1] < 0.85 ? 8 : draws[1] < 0.93 ? 1 : draws[1] < 0.97 ? 16 : null,
      corepower: draws[2] < 0.95 ? Math.round((8 + 8 * draws[3]) * 100) / 100 : null,
      harvester: pick(['CERN_central_A', 'CERN_central_B', 'CERN_central_k8s', 'cern_cloud', '']),
      pilot_manager: 'Harvester',
      pilot_version: pick(['3.7.2.4', '3.7.1.30', '3.6.9.11']),
      container_type: pick(['singularity:pilot', 'singularity:pilot', 'apptainer:pilot', '']),
      workflow: pick(['pull_ups', 'pull', 'push']),
      is_pledged: details() < 0.9,
      type: pick(['unified', 'unified', 'production', 'analysis']),
      resource_type: pick(['GRID', 'GRID', 'GRID', 'hpc', 'cloud']),
      astorages: { ...(template.astorages as object | undefined), read_lan: details() < 0.95 ? [`${site}_DATADISK`, `${site}_SCRATCHDISK`] : [] },
    };
  }
  return answer;
}
