/**
 * Production-size synthetic answers of panda's other sources, matching syntheticCricAnswer()'s sites and
 * federations: CRIC's site and DDM descriptions, WLCG CRIC's federations and Rucio's RSE usage rows (the shapes
 * of the recorded answers in ../testdata). Deterministic for a given shape.
 */
import { randomGenerator } from '../../../test/support/random';
import { CRIC_CACHE_FILE } from '../cric';
import { CRIC_DDM_CACHE_FILE, CRIC_SITE_CACHE_FILE, FEDERATIONS_CACHE_FILE } from '../cricResources';
import { PLACEMENT_CACHE_FILE } from '../placement';
import { SYNTHETIC_QUEUES_PER_SITE, syntheticFederation, type SyntheticShape } from './synthetic';

const CLOUDS = ['CA', 'CERN', 'DE', 'ES', 'FR', 'IT', 'ND', 'NL', 'RU', 'TW', 'UK', 'US'];
const FTS = ['https://fts3-atlas.cern.ch:8446', 'https://fts.usatlas.bnl.gov:8446', 'https://lcgfts3.gridpp.rl.ac.uk:8446'];

const sitesOf = (shape: SyntheticShape): number => Math.ceil(shape.queues / SYNTHETIC_QUEUES_PER_SITE);

/** Every tenth site is a nucleus. */
export function syntheticSiteAnswer(shape: SyntheticShape): Record<string, Record<string, unknown>> {
  const answer: Record<string, Record<string, unknown>> = {};
  for (let site = 0; site < sitesOf(shape); site++) {
    const name = `SITE_${site}`;
    answer[name] = { name, cloud: CLOUDS[site % CLOUDS.length], datapolicies: site % 10 === 0 ? ['Nucleus', 'AnalysisData'] : ['AnalysisData'], state: 'ACTIVE', tier_level: 2 };
  }
  return answer;
}

/** A DATADISK and a SCRATCHDISK per site, each with its MASTER FTS servers. */
export function syntheticDdmAnswer(shape: SyntheticShape): Record<string, Record<string, unknown>> {
  const answer: Record<string, Record<string, unknown>> = {};
  for (let site = 0; site < sitesOf(shape); site++) {
    for (const token of ['DATADISK', 'SCRATCHDISK']) {
      const name = `SITE_${site}_${token}`;
      answer[name] = { name, site: `SITE_${site}`, cloud: CLOUDS[site % CLOUDS.length], token: `ATLAS${token}`, servedrestfts: { MASTER: [FTS[site % FTS.length], FTS[(site + 1) % FTS.length]] }, state: 'ACTIVE' };
    }
  }
  return answer;
}

/** Each federation's pledges for the four quarters of `year`. */
export function syntheticFederationAnswer(shape: SyntheticShape, year: number): Record<string, Record<string, unknown>> {
  const random = randomGenerator(shape.seed + 3);
  const answer: Record<string, Record<string, unknown>> = {};
  for (let site = 0; site < sitesOf(shape); site++) {
    const name = syntheticFederation(site);
    if (name in answer) continue;
    const cpu = Math.round(20_000 + 200_000 * random());
    const quarters = Object.fromEntries(['Q1', 'Q2', 'Q3', 'Q4'].map((quarter) => [quarter, { atlas: { CPU: cpu, Disk: Math.round(cpu / 10) } }]));
    answer[name] = { name, pledges: { [String(year)]: quarters }, rcsites: [`SITE_${site}`], vos: ['atlas'] };
  }
  return answer;
}

/** Rucio's RSE usage rows (sources rucio and storage) of every DATADISK. */
export function syntheticPlacementRows(shape: SyntheticShape): Array<Record<string, unknown>> {
  const random = randomGenerator(shape.seed + 4);
  const rows: Array<Record<string, unknown>> = [];
  for (let site = 0; site < sitesOf(shape); site++) {
    const rse = `SITE_${site}_DATADISK`;
    const used = Math.round(1e14 + 5e15 * random());
    rows.push({ rse, source: 'rucio', used, files: Math.round(used / 2e9), free: null, total: used, updated_at: '2026-11-22 09:41:12' });
    rows.push({ rse, source: 'storage', used: used + 1e13, files: null, free: 1e14, total: used + 1.1e14, updated_at: '2026-11-22 06:00:00' });
  }
  return rows;
}

/** Every cache panda keeps of its sources in its state folder (a benchmark removes them to make them due). */
export const PANDA_CACHE_FILES = [CRIC_CACHE_FILE, CRIC_SITE_CACHE_FILE, CRIC_DDM_CACHE_FILE, FEDERATIONS_CACHE_FILE, PLACEMENT_CACHE_FILE];

/** The answers above by the fixture paths test/sources.ts's descriptionKeys() points panda at. */
export function syntheticDescriptionRoutes(shape: SyntheticShape, year: number): Record<string, string> {
  return {
    '/cric-sites': JSON.stringify(syntheticSiteAnswer(shape)),
    '/cric-ddm': JSON.stringify(syntheticDdmAnswer(shape)),
    '/federations': JSON.stringify(syntheticFederationAnswer(shape, year)),
    '/placement': JSON.stringify(syntheticPlacementRows(shape)),
  };
}
