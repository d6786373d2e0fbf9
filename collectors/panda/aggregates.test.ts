import { DocumentFactory } from '../../lib/documents/document';
import type { MonitDocument } from '../../lib/documents/types';
import { randomGenerator } from '../../test/support/random';
import { aggregateDocuments, type AggregateSettings, type AggregateSummary, queueSignals } from './aggregates';
import { QueueDirectory, queueMetadataOf } from './cric';
import { planWindows, type SeriesHistory } from './derived';

// The default plan: 1h to 24h from raw points, 7d and 30d from daily ones.
const PLANS = planWindows({ useRawUpToMs: 24 * 3_600_000, use1hUpToMs: 24 * 3_600_000 });
const WINDOWS = PLANS.map((plan) => plan.window.name);
const AT_24H = WINDOWS.indexOf('24h');
const SETTINGS: AggregateSettings = { rule: { states: new Set(['running']), average: '24h', factor: 2, minJobs: 20 }, analysisProdSources: new Set(['user', 'panda']) };

/** CRIC's DDM description of the DATADISKs (SITE_<digit>_DATADISK): it knows those of even digits, elsewhere than their queues. */
const DATADISK_LOCATIONS = Object.fromEntries([0, 2, 4, 6, 8].map((digit) => [`SITE_${digit}_DATADISK`, { site: `RSE_SITE_${digit}`, cloud: `RSE_CLOUD_${digit}` }]));

/** 60 queues in 3 clouds, 2 DATADISKs shared by the queues of a site, some queues without one or unknown to CRIC. */
function directory(): QueueDirectory {
  const queues = new Map();
  for (let q = 0; q < 60; q++) {
    if (q % 17 === 16) continue; // unknown to CRIC: cloud 'unknown', no DATADISK
    const site = `SITE_${Math.floor(q / 3)}`;
    const entry = { atlas_site: site, cloud: ['DE', 'FR', 'US'][q % 3], country: 'X', tier: 'T2', corecount: q % 4 === 0 ? 4 : null, astorages: q % 5 === 4 ? {} : { read_lan: [`${site.slice(0, 6)}_DATADISK`, 'OTHER_SCRATCHDISK'] } };
    queues.set(`Q${q}`, queueMetadataOf(entry));
  }
  return new QueueDirectory(queues, DATADISK_LOCATIONS);
}

/** Random series: running and activated, managed/user/panda, two resources; some averages missing. */
function histories(): SeriesHistory[] {
  const random = randomGenerator(3);
  const list: SeriesHistory[] = [];
  for (let q = 0; q < 60; q++) {
    const size = 10 ** (3 * random());
    const drop = q % 2 === 0 ? 0.05 : q % 11 === 0 ? 4 : 1; // a few queues far from their average
    for (const prodSource of ['managed', 'user', 'panda']) {
      for (const resource of ['SCORE', 'MCORE']) {
        for (const jobStatus of ['running', 'activated']) {
          if (random() < 0.15) continue;
          const averages = new Float64Array(PLANS.length).map(() => (random() < 0.1 ? NaN : size * (0.5 + random())));
          if (q === 59) averages.fill(NaN); // a queue without history
          list.push({ series: { queue: `Q${q}`, prodSource, resource, jobStatus }, current: Math.round(size * drop * (0.5 + random())), averages });
        }
      }
    }
  }
  return list;
}

function run(all: SeriesHistory[], where: QueueDirectory): { documents: MonitDocument[]; summary?: AggregateSummary } {
  let summary: AggregateSummary | undefined;
  const documents = [...aggregateDocuments(() => all, where, new DocumentFactory({ slotMs: Date.UTC(2026, 0, 14), host: 'test' }), SETTINGS, PLANS, (done) => (summary = done))];
  return { documents, summary };
}

describe('queues_derived, clouds_derived and datadisks_derived against a direct computation', () => {
  const all = histories();
  const where = directory();
  const { documents, summary } = run(all, where);
  const ofType = (type: string): MonitDocument[] => documents.filter((document) => document.type === type);

  // Written out here: per queue, the running series summed; a missing average adds 0; none at all: not judged.
  const expectedQueues = new Map<string, { current: number; average?: number }>();
  for (const history of all) {
    if (history.series.jobStatus !== 'running') continue;
    const entry = expectedQueues.get(history.series.queue) ?? { current: 0 };
    entry.current += history.current;
    const average = history.averages[AT_24H];
    if (!Number.isNaN(average)) entry.average = (entry.average ?? 0) + average;
    expectedQueues.set(history.series.queue, entry);
  }

  test('one queues_derived per queue with running series: current, average, band, outside_band, suspicious', () => {
    const queues = ofType('queues_derived');
    expect(queues.map((document) => document.queue).sort()).toEqual([...expectedQueues.keys()].sort());
    let suspicious = 0;
    for (const document of queues) {
      const expected = expectedQueues.get(String(document.queue));
      if (!expected) throw new Error(`unexpected queue ${String(document.queue)}`);
      expect(document.current).toBe(expected.current);
      if (expected.average === undefined) {
        expect([document.average, document.lower, document.upper, document.suspicious, document.outside_band, document.reason]).toEqual([undefined, undefined, undefined, false, 0, '']);
        continue;
      }
      expect(document.average).toBeCloseTo(expected.average, 9);
      expect(document.lower).toBeCloseTo(expected.average / 2, 9);
      expect(document.upper).toBeCloseTo(expected.average * 2, 9);
      const below = expected.average / 2 - expected.current;
      const above = expected.current - expected.average * 2;
      const outside = Math.max(0, below, above);
      expect(document.outside_band).toBeCloseTo(outside, 9);
      const flagged = outside > 0 && Math.abs(expected.current - expected.average) >= 20;
      expect({ queue: document.queue, suspicious: document.suspicious }).toEqual({ queue: document.queue, suspicious: flagged });
      expect(String(document.reason)).toMatch(flagged ? (below > 0 ? /is below avg_24h .* \/ 2$/ : /is above 2 x avg_24h/) : /^$/);
      if (flagged) suspicious++;
      const metadata = where.lookUp(String(document.queue));
      expect([document.site, document.cloud]).toEqual([metadata.site, metadata.cloud]);
    }
    // The history makes every verdict happen: flagged above and below, inside the band, too small, not judged.
    expect(suspicious).toBeGreaterThan(2);
    expect(queues.filter((document) => document.suspicious === false && document.average !== undefined).length).toBeGreaterThan(10);
    expect(queues.some((document) => document.average === undefined)).toBe(true);
    expect(queues.some((document) => document.suspicious === false && Number(document.outside_band) > 0)).toBe(true);
    expect(summary).toMatchObject({ queues: expectedQueues.size, suspiciousQueues: suspicious });
  });

  test('one clouds_derived per cloud: queues judged, suspicious, share, the worst five by distance outside the band', () => {
    const perCloud = new Map<string, Array<{ queue: string; current: number; average?: number; outside: number; suspicious: boolean }>>();
    for (const [queue, expected] of expectedQueues) {
      const cloud = where.lookUp(queue).cloud;
      const outside = expected.average === undefined ? 0 : Math.max(0, expected.average / 2 - expected.current, expected.current - expected.average * 2);
      const suspicious = outside > 0 && expected.average !== undefined && Math.abs(expected.current - expected.average) >= 20;
      perCloud.set(cloud, [...(perCloud.get(cloud) ?? []), { queue, ...expected, outside, suspicious }]);
    }
    const clouds = ofType('clouds_derived');
    expect(clouds.map((document) => document.cloud).sort()).toEqual([...perCloud.keys()].sort());
    expect(clouds.map((document) => document.cloud)).toContain('unknown');
    for (const document of clouds) {
      const queues = perCloud.get(String(document.cloud)) ?? [];
      const judged = queues.filter((queue) => queue.average !== undefined).length;
      const flagged = queues.filter((queue) => queue.suspicious).sort((a, b) => b.outside - a.outside);
      expect(document.queues).toBe(judged);
      expect(document.suspicious_queues).toBe(flagged.length);
      expect(document.suspicious_share).toBeCloseTo(judged === 0 ? 0 : (100 * flagged.length) / judged, 9);
      expect(String(document.worst_queues).split(', ').filter(Boolean).map((item) => item.split(' ')[0])).toEqual(flagged.slice(0, 5).map((queue) => queue.queue));
    }
    expect(clouds.some((document) => Number(document.suspicious_queues) > 5)).toBe(true);
    expect(String(clouds.find((document) => Number(document.suspicious_queues) > 0)?.worst_queues)).toMatch(/^Q\d+ \(\d+ vs avg [\d.]+\)/);
  });

  test('one datadisks_derived per DATADISK: sums of the running analysis series of the queues reading from it', () => {
    const expected = new Map<string, { current: number; cores: number; averages: Array<number | undefined>; coreAverages: Array<number | undefined> }>();
    for (const history of all) {
      if (history.series.jobStatus !== 'running' || !['user', 'panda'].includes(history.series.prodSource)) continue;
      const metadata = where.lookUp(history.series.queue);
      if (['none', 'unknown'].includes(metadata.datadisk)) continue;
      const entry = expected.get(metadata.datadisk) ?? { current: 0, cores: 0, averages: WINDOWS.map(() => undefined), coreAverages: WINDOWS.map(() => undefined) };
      // Cores per job as the directory was made: MCORE jobs of every fourth queue have 4 cores, of the others 8 (no corecount).
      const cores = history.series.resource === 'MCORE' ? (Number(history.series.queue.slice(1)) % 4 === 0 ? 4 : 8) : 1;
      entry.current += history.current;
      entry.cores += history.current * cores;
      WINDOWS.forEach((_, index) => {
        if (Number.isNaN(history.averages[index])) return;
        entry.averages[index] = (entry.averages[index] ?? 0) + history.averages[index];
        entry.coreAverages[index] = (entry.coreAverages[index] ?? 0) + history.averages[index] * cores;
      });
      expected.set(metadata.datadisk, entry);
    }
    const disks = ofType('datadisks_derived');
    expect(disks.map((document) => document.datadisk).sort()).toEqual([...expected.keys()].sort());
    expect(disks.length).toBeGreaterThan(3);
    for (const document of disks) {
      const entry = expected.get(String(document.datadisk));
      expect({ current: document.current, cores: document.cores }).toEqual({ current: entry?.current, cores: entry?.cores });
      WINDOWS.forEach((window, index) => {
        const [value, cores] = [entry?.averages[index], entry?.coreAverages[index]];
        if (value === undefined) expect([document[`avg_${window}`], document[`cores_avg_${window}`]]).toEqual([undefined, undefined]);
        else {
          expect(document[`avg_${window}`]).toBeCloseTo(value, 9);
          expect(document[`cores_avg_${window}`]).toBeCloseTo(cores ?? NaN, 9);
        }
      });
      // Where CRIC's DDM description puts it, not where the queues reading from it are.
      const location = DATADISK_LOCATIONS[String(document.datadisk)] ?? { site: 'unknown', cloud: 'unknown' };
      expect({ datadisk: document.datadisk, site: document.site, cloud: document.cloud }).toEqual({ datadisk: document.datadisk, ...location });
    }
  });

  test('a series with points only part of the window counts its missing points as no job (average x coverage)', () => {
    const plans = PLANS;
    const at = plans.findIndex((plan) => plan.window.name === '24h');
    const averages = (value: number): Float64Array => new Float64Array(plans.length).fill(NaN).map((_, index) => (index === at ? value : NaN));
    // Q0's user MCORE jobs ran 100 at a time, but only in a quarter of the day's slots: 25 per slot over the day.
    const intermittent: SeriesHistory = { series: { queue: 'Q0', prodSource: 'user', resource: 'MCORE', jobStatus: 'running' }, current: 0, averages: averages(100) };
    intermittent.coverage = new Float64Array(plans.length).fill(1);
    intermittent.coverage[at] = 0.25;
    const steady: SeriesHistory = { series: { queue: 'Q0', prodSource: 'managed', resource: 'SCORE', jobStatus: 'running' }, current: 120, averages: averages(200) };
    const [signal] = queueSignals([intermittent, steady], plans, { states: new Set(['running']), average: '24h', factor: 2, minJobs: 20 });
    // 200 + 100 x 0.25 = 225, band [112.5, 450]: 120 is inside. Taken at 100, the sum (300) would flag it (below 150).
    expect(signal).toMatchObject({ queue: 'Q0', current: 120, average: 225, lower: 112.5, suspicious: false });
  });
});

