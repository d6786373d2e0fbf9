/**
 * How many InfluxDB series one panda run writes, per type, for a production-size answer: the synthetic answers of
 * the benchmark (synthetic.ts's PRODUCTION_SHAPE, syntheticDescriptions.ts) through the documents panda builds,
 * counting distinct tag sets per measurement (InfluxDB's series key). `node dist/collectors/panda/test/cardinality.js`
 * prints the table the README quotes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DocumentFactory } from '../../../lib/documents/document';
import { PROJECT_ROOT } from '../../../lib/config/paths';
import { joinedDirectory, parseCric } from '../cric';
import { parseDdmEndpoints, parseFederations, parseSites, quarterOf } from '../cricResources';
import { jobDocuments } from '../documents';
import { parseJobStatistics } from '../jobStatistics';
import { parsePlacement } from '../placement';
import { PRODUCTION_SHAPE, syntheticCricAnswer, syntheticPandaAnswer, type SyntheticShape } from './synthetic';
import { syntheticDdmAnswer, syntheticFederationAnswer, syntheticPlacementRows, syntheticSiteAnswer } from './syntheticDescriptions';

const SLOT_MS = Date.UTC(2026, 10, 22, 10, 0);
const body = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** Type → number of series (distinct tag sets) of one slot's documents. */
export function seriesPerType(shape: SyntheticShape = PRODUCTION_SHAPE): Map<string, number> {
  const template = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'collectors', 'panda', 'testdata', 'cric-sample.json'), 'utf8')) as Record<string, Record<string, unknown>>).AGLT2_HOSPITAL;
  const counts = parseJobStatistics(syntheticPandaAnswer(shape)).counts;
  const queues = parseCric(body(syntheticCricAnswer(shape, template))).toJSON();
  const directory = joinedDirectory(queues, { sites: parseSites(body(syntheticSiteAnswer(shape))), ddm: parseDdmEndpoints(body(syntheticDdmAnswer(shape))) });
  const documents = jobDocuments(counts, directory, new DocumentFactory({ slotMs: SLOT_MS, host: 'cardinality' }), {
    terminalStates: new Set(['finished', 'failed', 'cancelled', 'closed']),
    analysisProdSources: new Set(['user', 'panda']),
    pledges: parseFederations(body(syntheticFederationAnswer(shape, 2026))),
    quarter: quarterOf(SLOT_MS),
    placementConfigured: true,
    placement: { value: parsePlacement(body(syntheticPlacementRows(shape))), fetchedAtMs: SLOT_MS },
    slotMs: SLOT_MS,
  });
  const keys = new Map<string, Set<string>>();
  for (const document of documents) {
    const tags = (document.idb_tags ?? []).map((tag) => `${tag}=${String(document[tag])}`).join(',');
    const seen = keys.get(document.type) ?? new Set<string>();
    seen.add(tags);
    keys.set(document.type, seen);
  }
  return new Map([...keys].map(([type, seen]) => [type, seen.size]));
}

if (require.main === module) {
  const shape = PRODUCTION_SHAPE;
  console.log(`${shape.queues} queues x ${shape.prodSources.length} prod sources x ${shape.resources.length} resource types x ${shape.states.length} states`);
  let total = 0;
  for (const [type, series] of seriesPerType(shape)) {
    total += series;
    console.log(`${`panda/${type}`.padEnd(20)} ${String(series).padStart(8)}`);
  }
  console.log(`${'total'.padEnd(20)} ${String(total).padStart(8)}`);
}
