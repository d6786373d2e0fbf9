import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DocumentFactory } from '../../lib/documents/document';
import { joinedDirectory, parseCric, type QueueMetadata } from './cric';
import { jobDocuments } from './documents';
import { parseJobStatistics } from './jobStatistics';
import { seriesPerType } from './test/cardinality';
import { PRODUCTION_SHAPE, syntheticCricAnswer, syntheticPandaAnswer, type SyntheticShape } from './test/synthetic';

const template = (JSON.parse(readFileSync(path.join(__dirname, 'testdata', 'cric-sample.json'), 'utf8')) as Record<string, Record<string, unknown>>).AGLT2_HOSPITAL;
const TERMINAL = ['finished', 'failed', 'cancelled', 'closed'];

describe('series per run at production size', () => {
  const counted = seriesPerType(PRODUCTION_SHAPE);
  const shape = PRODUCTION_SHAPE;
  const cric = syntheticCricAnswer(shape, template);

  test('jobs and jobs_terminal: one series per queue, prod source, resource type and state, whatever the sixteen queue tags', () => {
    const terminal = shape.states.filter((state) => TERMINAL.includes(state)).length;
    const perQueue = shape.prodSources.length * shape.resources.length;
    expect(counted.get('jobs')).toBe(shape.queues * perQueue * (shape.states.length - terminal));
    expect(counted.get('jobs_terminal')).toBe(shape.queues * perQueue * terminal);
    expect(counted.get('queues')).toBe(shape.queues);
  });

  test('federations and datadisks: one per federation of the known queues, one per DATADISK read or placed', () => {
    const known = Object.values(cric);
    expect(counted.get('federations')).toBe(new Set(known.map((entry) => entry.rc)).size);
    const read = known.map((entry) => ((entry.astorages as { read_lan: string[] }).read_lan ?? []).find((name) => name.includes('DATADISK'))).filter((name) => name !== undefined);
    const sites = Math.ceil(shape.queues / 4);
    const placed = Array.from({ length: sites }, (_, site) => `SITE_${site}_DATADISK`);
    expect(counted.get('datadisks')).toBe(new Set([...read, ...placed]).size);
  });

  test('the synthetic CRIC answer has the properties the tags and fields read, with realistic spreads', () => {
    const entries = Object.values(cric);
    const share = (test: (entry: Record<string, unknown>) => boolean): number => entries.filter(test).length / entries.length;
    expect(share((entry) => entry.corecount === 8)).toBeGreaterThan(0.7);
    expect(share((entry) => entry.corecount === null)).toBeGreaterThan(0);
    expect(share((entry) => entry.corepower === null)).toBeGreaterThan(0);
    expect(share((entry) => entry.state === 'DISABLED')).toBeGreaterThan(0);
    expect(new Set(entries.map((entry) => entry.harvester)).size).toBeGreaterThan(2);
    expect(new Set(entries.map((entry) => entry.pilot_version)).size).toBeGreaterThan(1);
  });

  test('the README quotes these figures', () => {
    const readme = readFileSync(path.join(__dirname, 'README.md'), 'utf8');
    let total = 0;
    for (const [type, series] of counted) {
      total += series;
      expect(readme).toContain(`| \`panda/${type}\` | ${series.toLocaleString('en-US')} |`);
    }
    expect(readme).toContain(`| total | ${total.toLocaleString('en-US')} |`);
  });
});

describe('a changed CRIC value', () => {
  const shape: SyntheticShape = { ...PRODUCTION_SHAPE, queues: 8, unknownFraction: 0 };
  const counts = parseJobStatistics(syntheticPandaAnswer(shape)).counts;
  const queues = parseCric(Buffer.from(JSON.stringify(syntheticCricAnswer(shape, template)))).toJSON();
  const seriesOf = (described: Record<string, QueueMetadata>): Set<string> => {
    const keys = new Set<string>();
    const documents = jobDocuments(counts, joinedDirectory(described, {}), new DocumentFactory({ slotMs: 0, host: 'test' }), {
      terminalStates: new Set(TERMINAL),
      analysisProdSources: new Set(['user']),
      quarter: '2026.Q4',
      placementConfigured: false,
      slotMs: 0,
    });
    for (const document of documents) if (document.type === 'jobs' || document.type === 'jobs_terminal') keys.add(`${document.type}:${(document.idb_tags ?? []).map((tag) => `${tag}=${String(document[tag])}`).join(',')}`);
    return keys;
  };

  test("starts new series for that queue only: before and after, InfluxDB holds the queue's series twice", () => {
    const before = seriesOf(queues);
    const queue = Object.keys(queues)[0];
    const after = seriesOf({ ...queues, [queue]: { ...queues[queue], siteState: queues[queue].siteState === 'ACTIVE' ? 'DISABLED' : 'ACTIVE' } });
    const perQueue = shape.prodSources.length * shape.resources.length * shape.states.length;
    expect(before.size).toBe(shape.queues * perQueue);
    expect(after.size).toBe(before.size);
    expect(new Set([...before, ...after]).size).toBe(before.size + perQueue);
  });
});
