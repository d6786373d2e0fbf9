/**
 * What a details page reads, on a real InfluxDB: the pages' one clock, the job's evaluation loop, and
 * the cap on the series a plot reads.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { InfluxClient, type Series } from '../lib/influx/influxdb';
import { toLineProtocol } from '../lib/influx/lineProtocol';
import { slotStart } from '../lib/run/slot';
import { RecordingInfluxClient } from '../test/support/recordingInfluxClient';
import { getPage } from '../test/support/pages';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import type { DetailsData } from './details';
import type { StatusSnapshot } from './snapshot';
import { statusPages } from './pages';
import { loadStatusSettings, type StatusSettings } from './settings';

const MINUTE = 60e3;
const NOW = slotStart(Date.now(), 10 * MINUTE) + 5 * MINUTE;
/** Parts of the module `many`: more than the job reads at once (4). */
const PARTS = 6;
/** Probes beyond the parts': more series than a plot's query reads (MAX_SERIES_READ, 200). */
const CROWD = Array.from({ length: 260 }, (_, index) => `s${String(index).padStart(3, '0')}`);

/** A rule part's own statements (readPartData): on the probes, no time buckets (the plots have them). */
function isPartStatement(text: string): boolean {
  return text.includes('"monit_production_web"') && !text.includes('time(');
}

/** Counts the part statements in flight at once, on the real InfluxDB. */
class ConcurrencyClient extends InfluxClient {
  inFlight = 0;
  mostInFlight = 0;
  override async query(text: string, options: { database?: string; retentionPolicy?: string } = {}): Promise<Series[][]> {
    if (!isPartStatement(text)) return super.query(text, options);
    this.mostInFlight = Math.max(this.mostInFlight, ++this.inFlight);
    try {
      return await super.query(text, options);
    } finally {
      this.inFlight--;
    }
  }
}

/** InfluxDB gone after the heartbeats were read: the part statements go to a closed port on loopback. */
class GoneClient extends InfluxClient {
  constructor(
    url: string,
    private readonly gone: InfluxClient,
  ) {
    super(url);
  }
  override query(text: string, options: { database?: string; retentionPolicy?: string } = {}): Promise<Series[][]> {
    return isPartStatement(text) ? this.gone.query(text, options) : super.query(text, options);
  }
}

/** Records how many series each plot statement (one with time buckets) returned. */
class SeriesCountingClient extends InfluxClient {
  returned: Array<{ statement: string; series: number }> = [];
  override async query(text: string, options: { database?: string; retentionPolicy?: string } = {}): Promise<Series[][]> {
    const results = await super.query(text, options);
    if (text.includes('time(')) this.returned.push({ statement: text, series: results[0]?.length ?? 0 });
    return results;
  }
}

/** A loopback port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

let influx: TestInfluxDB;
let configFile: string;

/** Settings of their own: a details page is cached per settings object (15 s of the pages' clock). */
function freshSettings(): StatusSettings {
  return loadStatusSettings(Config.load(configFile));
}

function probe(name: string, latency: number, timestampMs: number): string {
  return toLineProtocol({ database: 'monit_production_web', measurement: 'probe', tags: { name, url: `https://${name}.example` }, fields: [{ name: 'up', type: 'int', value: 1 }, { name: 'latency_ms', type: 'float', value: latency }], timestampMs });
}

beforeAll(async () => {
  influx = await startInfluxDB();
  const dir = testDir('status-details-bounds');
  await influx.client.ensureDatabase('monit_production_web', { raw: 'INF', '1h': 'INF', '1d': 'INF' });
  const lines = Array.from({ length: PARTS }, (_, index) => probe(`p${index}`, 100 + index, NOW - 2 * MINUTE));
  // The crowd's latency grows with its name: the highest are among the series a plot does not read.
  CROWD.forEach((name, index) => lines.push(probe(name, 200 + index, NOW - 2 * MINUTE)));
  await influx.client.write('monit_production_web', lines.join('\n'), { retentionPolicy: 'raw', precision: 'ms' });
  configFile = path.join(dir, 'config.cfg');
  writeFileSync(
    configFile,
    `[paths]\nvar = ${dir}/var\n[influxdb]\nurl = ${influx.url}\n[status]\ndefault_rules =\n` +
      `[status.module.probes]\ntitle = Probes\nmeasurement = web/probe\nfields = up, latency_ms\ncollector = none\ndegraded = mean(latency_ms) > 1000\ndegraded_reason = slow\n` +
      `[status.module.many]\ntitle = Many parts\nparts = ${Array.from({ length: PARTS }, (_, index) => `part-${index}`).join(', ')}\n` +
      Array.from({ length: PARTS }, (_, index) => `[status.part.part-${index}]\nmeasurement = web/probe\nwhere = name=p${index}\nfields = latency_ms\ncollector = none\ndegraded = mean(latency_ms) > 1000\ndegraded_reason = slow\n`).join(''),
  );
}, 120_000);

afterAll(async () => {
  await influx?.stop();
});

describe('the details pages', () => {
  test('one clock: the main snapshot is read again once the injected clock is 15 s on, like the details', async () => {
    let clock = NOW;
    const recording = new RecordingInfluxClient(influx.url);
    const pages = statusPages(recording, freshSettings(), { now: () => clock });
    const generated = async (): Promise<number> => (JSON.parse((await getPage(pages, '/status.json')).body) as StatusSnapshot).generatedMs;
    const first = await generated();
    const reads = recording.statements.length;
    clock += 14_000;
    const within = await generated();
    expect(recording.statements).toHaveLength(reads);
    clock += 1_000;
    const after = await generated();
    expect([first, within, after]).toEqual([NOW, NOW, NOW + 15_000]);
    expect(recording.statements.length).toBeGreaterThan(reads);
  });

  test('one evaluation loop: the details page reads a module\'s parts four at a time, as the job does', async () => {
    const counting = new ConcurrencyClient(influx.url);
    const pages = statusPages(counting, freshSettings(), { now: () => NOW });
    const data = JSON.parse((await getPage(pages, '/status/module/many.json')).body) as DetailsData;
    expect(data.live.parts.map((part) => [part.part, part.state])).toEqual(Array.from({ length: PARTS }, (_, index) => [`part-${index}`, 'available']));
    // Two statements per part (its newest point, its aggregates), four parts at a time.
    expect(counting.mostInFlight).toBeGreaterThan(0);
    expect(counting.mostInFlight).toBeLessThanOrEqual(2 * 4);
  });

  test('one evaluation loop: InfluxDB gone while the parts are read is the page\'s error, not N/A parts', async () => {
    const gone = new GoneClient(influx.url, new InfluxClient(`http://127.0.0.1:${await closedPort()}`));
    const pages = statusPages(gone, freshSettings(), { now: () => NOW });
    const data = JSON.parse((await getPage(pages, '/status/module/many.json')).body) as DetailsData;
    expect(data.live).toMatchObject({ state: null, parts: [], error: expect.stringContaining('ECONNREFUSED') });
    const html = (await getPage(pages, '/status/module/many')).body;
    expect(html).toContain('Cannot evaluate the rule now: ');
  });

  test('a plot reads at most 200 series of a crowded measurement, shows the top 10 among them, and says so', async () => {
    const counting = new SeriesCountingClient(influx.url);
    const pages = statusPages(counting, freshSettings(), { now: () => NOW });
    const data = JSON.parse((await getPage(pages, '/status/module/probes.json')).body) as DetailsData;
    expect(data.maxSeriesRead).toBe(200);
    // The test's own count: more series than the cap.
    const all = await influx.client.rows(`SELECT last("latency_ms") AS "last" FROM "monit_production_web"."raw"."probe" WHERE time > ${NOW - 6 * 60 * MINUTE}ms AND time <= ${NOW}ms GROUP BY *`);
    expect(all.length).toBe(PARTS + CROWD.length);
    // Each plot statement returned the cap, no more.
    expect(counting.returned.length).toBe(data.plots.length);
    expect(counting.returned.map((one) => one.series)).toEqual(data.plots.map(() => 200));
    const latency = data.plots.find((plot) => plot.title === 'mean(latency_ms) of web/probe');
    expect(latency).toMatchObject({ truncated: true, totalSeries: 200 });
    // The first 200 in InfluxDB's series key order (bytewise), then the 10 with the highest last value.
    const key = (row: Record<string, unknown>): string => `probe,name=${String(row.name)},url=${String(row.url)}`;
    const read = [...all].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)).slice(0, 200);
    const top = [...read].sort((a, b) => Number(b.last) - Number(a.last)).slice(0, 10);
    expect(latency?.series.map((series) => [series.name, series.last])).toEqual(top.map((row) => [`name=${String(row.name)}, url=${String(row.url)}`, row.last]));
    // Not the measurement's highest: those were not read.
    const highest = [...all].sort((a, b) => Number(b.last) - Number(a.last))[0];
    expect(latency?.series.map((series) => series.name)).not.toContain(`name=${String(highest.name)}, url=${String(highest.url)}`);
    const html = (await getPage(pages, '/status/module/probes')).body;
    expect(html).toContain("Showing 10 of at least 200 series: the 10 with the highest last value among the first 200 read (in InfluxDB's series order); the others are not read.");
  });
});
