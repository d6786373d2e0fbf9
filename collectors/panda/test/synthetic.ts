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

const CLOUDS = ['CA', 'CERN', 'DE', 'ES', 'FR', 'IT', 'ND', 'NL', 'RU', 'TW', 'UK', 'US'];

/**
 * CRIC's PanDA-queue description of all but `unknownFraction` of the queues, each entry shaped like
 * `template` (a recorded CRIC entry, so the answer has CRIC's real size per queue).
 */
export function syntheticCricAnswer(shape: SyntheticShape, template: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const random = randomGenerator(shape.seed + 1);
  const answer: Record<string, Record<string, unknown>> = {};
  for (let q = 0; q < shape.queues; q++) {
    if (random() < shape.unknownFraction) continue;
    const name = queueName(q);
    const cloud = CLOUDS[q % CLOUDS.length];
    answer[name] = {
      ...template,
      nickname: name,
      panda_resource: name,
      atlas_site: `SITE_${Math.floor(q / 4)}`,
      cloud,
      country: `${cloud}-country`,
      tier: ['T1', 'T2D', 'T2', 'T3'][q % 4],
      status: random() < 0.9 ? 'online' : 'offline',
    };
  }
  return answer;
}
