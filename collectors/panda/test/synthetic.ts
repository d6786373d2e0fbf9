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

/** Queues per ATLAS site in the synthetic answers (SITE_<q / 4>). */
export const QUEUES_PER_SITE = 4;
/** Sites per WLCG federation in the synthetic answers (a federation is one or a few sites, as in WLCG CRIC). */
export const SITES_PER_FEDERATION = 3;

export const syntheticSite = (queue: number): string => `SITE_${Math.floor(queue / QUEUES_PER_SITE)}`;
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
    const siteIndex = Math.floor(q / QUEUES_PER_SITE);
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
