/**
 * The site-to-site matrix end to end: xrdprobe run with two source sites against real xrootd servers of
 * two destination sites, its documents through the real gateway into a real InfluxDB, and the matrix
 * panels' queries read back and laid out as Grafana's groupingToMatrix does, against means worked out
 * here from the documents themselves.
 */
import type { RunningGateway } from '../../gateway/server';
import { checkedInDashboardFiles } from '../../dashboards/generate';
import type { Dashboard, Panel } from '../../dashboards/grafana';
import { writeRetentionsMeasurement } from '../../downsample/retentions';
import { schemaRegistry } from '../../lib/documents/schemas';
import type { MonitDocument } from '../../lib/documents/types';
import type { Series } from '../../lib/influx/influxdb';
import { TEN_MINUTES_MS } from '../../lib/run/slot';
import { collectorContext } from '../../test/support/collectorContext';
import { TEST_DURATIONS } from '../../test/support/dashboards/syntheticData';
import { relativeRange, runPanel, tableRows } from '../../test/support/dashboards/verify';
import { startTestGateway, TEST_TOKEN } from '../../test/support/gateway';
import { startInfluxDB, startServer, testDir, type RunningServer, type TestInfluxDB } from '../../test/support/services';
import { randomFile, xrdcp } from '../../test/support/xrootdServer';
import collector from './collector';

const SIZE = 2_000_000;
const now = Date.now();
const newest = Math.floor(now / TEN_MINUTES_MS) * TEN_MINUTES_MS - TEN_MINUTES_MS;
const older = newest - TEN_MINUTES_MS;

let servers: RunningServer[] = [];
let endpoints: string[] = [];
let influx: TestInfluxDB;
let gateway: RunningGateway;
/** Every document the runs made, in order. */
const made: MonitDocument[] = [];

async function probeRun(lines: string[], slotMs: number): Promise<{ documents: MonitDocument[]; log: string[] }> {
  const config = ['[xrdprobe]', `endpoints = ${endpoints.map((endpoint) => `root://${endpoint}//probe/test.bin`).join(', ')}`, 'upload = true', 'upload_size_mb = 1', 'timeout = 30s', ...lines];
  const context = collectorContext('xrdprobe', config.join('\n') + '\n', { stateDir: testDir('xrdprobe-matrix-state'), slotMs });
  const result = await collector.collect(context);
  if (!Array.isArray(result)) throw new Error('xrdprobe returns a plain list of documents');
  expect(context.problems).toEqual([]);
  made.push(...result);
  return { documents: result, log: context.log.lines };
}

/** (source_site, endpoint, site, direction) of each document; a missing tag as undefined. */
const tagsOf = (documents: MonitDocument[]): unknown[][] => documents.map((document) => [document.source_site, document.endpoint, document.site, document.direction]);

function dashboard(): Dashboard {
  return JSON.parse(checkedInDashboardFiles().get('monit-xrdprobe.json') ?? 'null') as Dashboard;
}

/** The table after Grafana's groupingToMatrix with the panel's own options: row value → column value → cell. */
function asMatrix(panel: Panel, results: Series[][]): Map<string, Map<string, number>> {
  const transformation = panel.transformations?.find((one) => one.id === 'groupingToMatrix');
  if (!transformation) throw new Error(`panel "${panel.title}" is no matrix`);
  const { rowField, columnField, valueField } = transformation.options as { rowField: string; columnField: string; valueField: string };
  const matrix = new Map<string, Map<string, number>>();
  for (const row of results.flatMap(tableRows)) {
    const cells = matrix.get(String(row[rowField])) ?? new Map<string, number>();
    cells.set(String(row[columnField]), Number(row[valueField]));
    matrix.set(String(row[rowField]), cells);
  }
  return matrix;
}

/** The same cells from the documents: the mean throughput of the successful probes of each source and destination site. */
function expectedMatrix(direction: string): Map<string, Map<string, number>> {
  const sums = new Map<string, Map<string, { total: number; count: number }>>();
  for (const document of made) {
    if (document.direction !== direction || document.source_site === undefined || document.site === undefined || document.throughput_mbps === undefined) continue;
    const row = sums.get(document.source_site as string) ?? new Map<string, { total: number; count: number }>();
    const cell = row.get(document.site as string) ?? { total: 0, count: 0 };
    row.set(document.site as string, { total: cell.total + (document.throughput_mbps as number), count: cell.count + 1 });
    sums.set(document.source_site as string, row);
  }
  return new Map([...sums].map(([source, row]) => [source, new Map([...row].map(([site, cell]) => [site, cell.total / cell.count]))]));
}

function plain(matrix: Map<string, Map<string, number>>): Record<string, Record<string, number>> {
  return Object.fromEntries([...matrix].map(([row, cells]) => [row, Object.fromEntries(cells)]));
}

beforeAll(async () => {
  [servers, influx] = await Promise.all([Promise.all([startServer('xrootd'), startServer('xrootd'), startServer('xrootd')]), startInfluxDB()]);
  endpoints = servers.map((server) => `127.0.0.1:${server.port}`);
  const file = randomFile(testDir('xrdprobe-matrix-files'), 'test.bin', SIZE);
  for (const endpoint of endpoints) await xrdcp(file, `root://${endpoint}//probe/test.bin`);
  gateway = await startTestGateway(influx.url, { registry: schemaRegistry(), durations: TEST_DURATIONS });
  await writeRetentionsMeasurement(influx.client);
}, 300_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([...servers.map((server) => server.stop()), influx?.stop()]);
});

describe('xrdprobe run from two sites against the servers of two sites', () => {
  test('each run tags its documents with its own source site and each endpoint with its site', async () => {
    const [first, second, third] = endpoints;
    // SITE-ONE knows the sites of all three endpoints, SITE-TWO not that of the third; two slots each.
    for (const slotMs of [older, newest]) {
      const one = await probeRun(['source_site = SITE-ONE', `sites = ${first}=DEST-A, ${second}=DEST-A, ${third}=DEST-B`], slotMs);
      expect(tagsOf(one.documents)).toEqual([
        ['SITE-ONE', first, 'DEST-A', 'download'],
        ['SITE-ONE', first, 'DEST-A', 'upload'],
        ['SITE-ONE', second, 'DEST-A', 'download'],
        ['SITE-ONE', second, 'DEST-A', 'upload'],
        ['SITE-ONE', third, 'DEST-B', 'download'],
        ['SITE-ONE', third, 'DEST-B', 'upload'],
      ]);
      const two = await probeRun(['source_site = SITE-TWO', `sites = ${first}=DEST-A, ${second}=DEST-A`], slotMs);
      expect(tagsOf(two.documents)).toEqual([
        ['SITE-TWO', first, 'DEST-A', 'download'],
        ['SITE-TWO', first, 'DEST-A', 'upload'],
        ['SITE-TWO', second, 'DEST-A', 'download'],
        ['SITE-TWO', second, 'DEST-A', 'upload'],
        ['SITE-TWO', third, undefined, 'download'],
        ['SITE-TWO', third, undefined, 'upload'],
      ]);
      for (const document of [...one.documents, ...two.documents]) {
        expect(document).toMatchObject({ success: true, size_bytes: document.direction === 'download' ? SIZE : 1_000_000 });
        expect(document.idb_tags).toContain('source_site');
      }
    }
    // As before this version: no source site named anywhere, so no tag; the log says why.
    const unnamed = await probeRun([`sites = ${first}=DEST-A`], newest);
    expect(unnamed.documents.map((document) => document.source_site)).toEqual(Array(6).fill(undefined));
    expect(unnamed.documents.every((document) => !(document.idb_tags as string[]).includes('source_site'))).toBe(true);
    expect(unnamed.log.join('\n')).toMatch(/no source site: neither \[xrdprobe\] source_site nor \[xrootd-transfers.sites\] names the site of .*; these probes stay out of the site-to-site matrix/);

    const response = await fetch(`${gateway.url}/`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` }, body: JSON.stringify(made) });
    expect(response.status).toBe(200);
  }, 300_000);

  test.each(['download', 'upload'])('the %s matrix has one cell per source and destination site: the mean throughput of its probes', async (direction) => {
    const title = direction === 'download' ? 'Site-to-site transfer rate: downloads (rows read from columns)' : 'Site-to-site transfer rate: uploads (rows wrote to columns)';
    const { panel, results } = await runPanel(dashboard(), title, influx.client, relativeRange('6h', now), ['monit-influxdb']);
    const shown = asMatrix(panel, results);
    const expected = expectedMatrix(direction);
    // Rows and columns exactly: no row for the unnamed probes, no column for the endpoint without a site.
    expect(plain(shown)).toEqual({ 'SITE-ONE': { 'DEST-A': expect.any(Number), 'DEST-B': expect.any(Number) }, 'SITE-TWO': { 'DEST-A': expect.any(Number) } });
    for (const [source, cells] of expected) {
      for (const [site, rate] of cells) expect({ source, site, rate: shown.get(source)?.get(site) }).toEqual({ source, site, rate: expect.closeTo(rate, 9) });
    }
    // A DEST-A cell averages four probes: two endpoints, two slots.
    expect(made.filter((document) => document.direction === direction && document.source_site === 'SITE-ONE' && document.site === 'DEST-A')).toHaveLength(4);
  });

  test('the source_site and site variables still narrow the matrix, though it leaves out their empty values', async () => {
    const title = 'Site-to-site transfer rate: downloads (rows read from columns)';
    const range = relativeRange('6h', now);
    const bySource = await runPanel(dashboard(), title, influx.client, range, ['monit-influxdb'], { source_site: ['SITE-TWO'] });
    expect(plain(asMatrix(bySource.panel, bySource.results))).toEqual({ 'SITE-TWO': { 'DEST-A': expect.any(Number) } });
    const bySite = await runPanel(dashboard(), title, influx.client, range, ['monit-influxdb'], { site: ['DEST-B'] });
    expect(plain(asMatrix(bySite.panel, bySite.results))).toEqual({ 'SITE-ONE': { 'DEST-B': expect.any(Number) } });
  });

  test('probes without a source site still show in the per-endpoint panels with every variable at All', async () => {
    const { results } = await runPanel(dashboard(), 'Transfer probes: latest result', influx.client, relativeRange('6h', now), ['monit-influxdb']);
    const rows = results.flatMap(tableRows);
    const unnamed = rows.filter((row) => !row.source_site);
    expect(unnamed.map((row) => [row.endpoint, row.direction]).sort()).toEqual(endpoints.flatMap((endpoint) => [[endpoint, 'download'], [endpoint, 'upload']]).sort());
    expect(unnamed.every((row) => row.success === true)).toBe(true);
    // One row per source site, endpoint and direction: SITE-ONE's and SITE-TWO's probes of one endpoint stay apart.
    expect(rows.filter((row) => row.source_site === 'SITE-ONE' || row.source_site === 'SITE-TWO')).toHaveLength(12);
  });
});
