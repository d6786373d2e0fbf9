/**
 * The server-site rankings of the XRootD transfers dashboard on a real InfluxDB: transfers documents
 * of twelve server sites, sent through the real gateway, then each ranking panel's query as Grafana
 * runs and sorts it, against sums worked out here from the same documents.
 */
import type { RunningGateway } from '../../gateway/server';
import { checkedInDashboardFiles } from '../../dashboards/generate';
import type { Dashboard, Panel } from '../../dashboards/grafana';
import { writeRetentionsMeasurement } from '../../downsample/retentions';
import { DocumentFactory } from '../../lib/documents/document';
import { schemaRegistry } from '../../lib/documents/schemas';
import type { MonitDocument } from '../../lib/documents/types';
import { TEN_MINUTES_MS } from '../../lib/run/slot';
import { XROOTD_TRANSFERS_TRANSFERS } from '../../schemas/kinds';
import { TEST_DURATIONS } from '../../test/support/dashboards/syntheticData';
import { relativeRange, runPanel, tableRows } from '../../test/support/dashboards/verify';
import { startTestGateway, TEST_TOKEN } from '../../test/support/gateway';
import { startInfluxDB, type TestInfluxDB } from '../../test/support/services';

const now = Date.now();
const newest = Math.floor(now / TEN_MINUTES_MS) * TEN_MINUTES_MS - TEN_MINUTES_MS;
const SLOTS = [newest - 2 * TEN_MINUTES_MS, newest - TEN_MINUTES_MS, newest];
const SITES = Array.from({ length: 12 }, (_, index) => `SITE-${String(index + 1).padStart(2, '0')}`);
const TOP = 10;

/** Bytes from a fixed linear congruential sequence: the same documents on every run. */
function sequence(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state;
  };
}

/** Per server site, slot, server and client site one document; SITE-01 reads one huge file in one slot only. */
function transfersDocuments(): MonitDocument[] {
  const next = sequence(21);
  const documents: MonitDocument[] = [];
  for (const [siteIndex, site] of SITES.entries()) {
    for (const slotMs of SLOTS) {
      const factory = new DocumentFactory({ slotMs, host: 'collector01' });
      for (const server of [`xrd1.${site.toLowerCase()}.example.org:1094`, `xrd2.${site.toLowerCase()}.example.org:1094`]) {
        for (const clientSite of ['CLIENT-A', site]) {
          const huge = site === 'SITE-01' && slotMs === newest && clientSite === 'CLIENT-A' && server.startsWith('xrd1');
          documents.push(
            factory.build(
              XROOTD_TRANSFERS_TRANSFERS,
              { server, server_site: site, client_domain: 'example.org', client_site: clientSite, access: clientSite === site ? 'local' : 'remote' },
              { bytes_read: huge ? 40e9 : (next() % 1e9) * (siteIndex + 1), bytes_written: next() % 3e9, files_opened: 1 },
            ),
          );
        }
      }
    }
  }
  return documents;
}

const DOCUMENTS = transfersDocuments();

/** Sum of `field` per server site, largest first. */
function ranking(field: 'bytes_read' | 'bytes_written'): Array<[string, number]> {
  const sums = new Map<string, number>();
  for (const document of DOCUMENTS) sums.set(document.server_site as string, (sums.get(document.server_site as string) ?? 0) + (document[field] as number));
  return [...sums].sort((a, b) => b[1] - a[1]);
}

function dashboard(): Dashboard {
  return JSON.parse(checkedInDashboardFiles().get('monit-xrootd-transfers.json') ?? 'null') as Dashboard;
}

/** The table's rows in the order Grafana shows them: sorted by the panel's sortBy column. */
function shownRanking(panel: Panel, rows: Array<Record<string, unknown>>): Array<[string, number]> {
  const [sort] = (panel.options?.sortBy ?? []) as Array<{ displayName: string; desc: boolean }>;
  if (!sort) throw new Error(`panel "${panel.title}" sets no sort order`);
  const sorted = [...rows].sort((a, b) => (Number(a[sort.displayName]) - Number(b[sort.displayName])) * (sort.desc ? -1 : 1));
  return sorted.map((row) => [String(row.server_site), Number(row[sort.displayName])]);
}

let influx: TestInfluxDB;
let gateway: RunningGateway;

beforeAll(async () => {
  influx = await startInfluxDB();
  gateway = await startTestGateway(influx.url, { registry: schemaRegistry(), durations: TEST_DURATIONS });
  await writeRetentionsMeasurement(influx.client);
  const response = await fetch(`${gateway.url}/`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` }, body: JSON.stringify(DOCUMENTS) });
  if (response.status !== 200) throw new Error(`gateway answered ${response.status}: ${await response.text()}`);
}, 180_000);

afterAll(async () => {
  await gateway?.close();
  await influx?.stop();
});

describe('server sites ranked by bytes on a real InfluxDB', () => {
  test.each([
    ['Top 10 server sites by bytes served (read by clients)', 'bytes_read'],
    ['Top 10 server sites by bytes written to them', 'bytes_written'],
  ] as const)('"%s" lists the ten largest sums of %s per server site, largest first', async (title, field) => {
    const expected = ranking(field);
    // The fixture must make the cut and the order mean something: distinct sums, and a site left out.
    expect(new Set(expected.map(([, bytes]) => bytes)).size).toBe(SITES.length);
    // SITE-01's huge file is the largest document of all, yet its sum is not first: a ranking by max() would differ.
    if (field === 'bytes_read') expect(expected.findIndex(([site]) => site === 'SITE-01')).toBeGreaterThan(0);
    const { panel, results } = await runPanel(dashboard(), title, influx.client, relativeRange('6h', now), ['monit-influxdb']);
    expect(results).toHaveLength(1);
    expect(shownRanking(panel, tableRows(results[0]))).toEqual(expected.slice(0, TOP));
  });

  test('"Bytes served per server site" adds up, over its buckets, to each site\'s bytes read', async () => {
    const { results } = await runPanel(dashboard(), 'Bytes served per server site', influx.client, relativeRange('6h', now), ['monit-influxdb']);
    const totals = new Map<string, number>();
    for (const series of results[0]) {
      const site = series.tags?.server_site ?? '';
      // Bytes per second over 10-minute buckets: times 600 gives the bucket's bytes back.
      for (const [, perSecond] of series.values) totals.set(site, (totals.get(site) ?? 0) + Number(perSecond) * 600);
    }
    const expected = ranking('bytes_read');
    expect([...totals.keys()].sort()).toEqual(SITES);
    for (const [site, bytes] of expected) expect({ site, bytes: totals.get(site) }).toEqual({ site, bytes: expect.closeTo(bytes, 0) });
  });
});
