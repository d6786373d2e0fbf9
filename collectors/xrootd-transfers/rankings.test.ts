/**
 * The rankings and per-tag panels of the XRootD transfers dashboard on a real InfluxDB: transfers,
 * users and servers documents sent through the real gateway, then each panel's query as Grafana runs
 * and sorts it, against sums worked out here from the same documents.
 */
import type { RunningGateway } from '../../gateway/server';
import { checkedInDashboardFiles } from '../../dashboards/generate';
import type { Dashboard, Panel } from '../../dashboards/grafana';
import { writeRetentionsMeasurement } from '../../downsample/retentions';
import { DocumentFactory } from '../../lib/documents/document';
import { schemaRegistry } from '../../lib/documents/schemas';
import type { MonitDocument } from '../../lib/documents/types';
import { TEN_MINUTES_MS } from '../../lib/run/slot';
import { XROOTD_FILES_CLOSES, XROOTD_TRANSFERS_SERVERS, XROOTD_TRANSFERS_TRANSFERS, XROOTD_TRANSFERS_USERS } from '../../schemas/kinds';
import { TEST_DURATIONS } from '../../test/support/dashboards/syntheticData';
import { relativeRange, runPanel, tableRows } from '../../test/support/dashboards/verify';
import { startTestGateway, TEST_TOKEN } from '../../test/support/gateway';
import { startInfluxDB, type TestInfluxDB } from '../../test/support/services';

const now = Date.now();
const newest = Math.floor(now / TEN_MINUTES_MS) * TEN_MINUTES_MS - TEN_MINUTES_MS;
const SLOTS = [newest - 2 * TEN_MINUTES_MS, newest - TEN_MINUTES_MS, newest];
const SITES = Array.from({ length: 12 }, (_, index) => `SITE-${String(index + 1).padStart(2, '0')}`);
const TOP = 10;
const USERS = Array.from({ length: 13 }, (_, index) => `user${String(index + 1).padStart(2, '0')}`);

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
    for (const [slotIndex, slotMs] of SLOTS.entries()) {
      const factory = new DocumentFactory({ slotMs, host: 'collector01' });
      for (const server of [`xrd1.${site.toLowerCase()}.example.org:1094`, `xrd2.${site.toLowerCase()}.example.org:1094`]) {
        for (const clientSite of ['CLIENT-A', site]) {
          const huge = site === 'SITE-01' && slotMs === newest && clientSite === 'CLIENT-A' && server.startsWith('xrd1');
          documents.push(
            factory.build(
              XROOTD_TRANSFERS_TRANSFERS,
              {
                server,
                server_site: site,
                client_domain: 'example.org',
                client_site: clientSite,
                access: clientSite === site ? 'local' : 'remote',
                access_mode: (siteIndex + slotIndex) % 2 ? 'copy' : 'remote_io',
                vo: server.startsWith('xrd1') ? 'atlas' : 'cms',
              },
              { bytes_read: huge ? 40e9 : (next() % 1e9) * (siteIndex + 1), bytes_written: next() % 3e9, files_opened: 1 },
            ),
          );
        }
      }
    }
  }
  return documents;
}

/** Per user and slot one users document; per server and slot one servers document with some duplicates. */
function otherDocuments(): { users: MonitDocument[]; servers: MonitDocument[] } {
  const next = sequence(7);
  const users: MonitDocument[] = [];
  const servers: MonitDocument[] = [];
  for (const slotMs of SLOTS) {
    const factory = new DocumentFactory({ slotMs, host: 'collector01' });
    for (const [index, user] of USERS.entries()) users.push(factory.build(XROOTD_TRANSFERS_USERS, { user, vo: index % 2 ? 'cms' : 'atlas' }, { bytes_read: (next() % 1e9) * (index + 1) }));
    for (const server of ['xrd1.site-01.example.org:1094', 'xrd2.site-02.example.org:1094']) {
      servers.push(factory.build(XROOTD_TRANSFERS_SERVERS, { server, server_site: 'SITE-01' }, { packets: 1000 + (next() % 100), packets_lost: 0, packets_rejected: 0, packets_duplicate: 1 + (next() % 20) }));
    }
  }
  return { users, servers };
}

const DOCUMENTS = transfersDocuments();
const { users: USER_DOCUMENTS, servers: SERVER_DOCUMENTS } = otherDocuments();

/** Sum of `field` per value of `tag` over `documents`, largest first. */
function sums(documents: MonitDocument[], tag: string, field: string): Array<[string, number]> {
  const totals = new Map<string, number>();
  for (const document of documents) totals.set(document[tag] as string, (totals.get(document[tag] as string) ?? 0) + (document[field] as number));
  return [...totals].sort((a, b) => b[1] - a[1]);
}

/** Sum of `field` per server site, largest first. */
function ranking(field: 'bytes_read' | 'bytes_written'): Array<[string, number]> {
  return sums(DOCUMENTS, 'server_site', field);
}

function dashboard(): Dashboard {
  return JSON.parse(checkedInDashboardFiles().get('monit-xrootd-transfers.json') ?? 'null') as Dashboard;
}

/** The table's rows in the order Grafana shows them: sorted by the panel's sortBy column. */
function shownRanking(panel: Panel, rows: Array<Record<string, unknown>>, tag = 'server_site'): Array<[string, number]> {
  const [sort] = (panel.options?.sortBy ?? []) as Array<{ displayName: string; desc: boolean }>;
  if (!sort) throw new Error(`panel "${panel.title}" sets no sort order`);
  const sorted = [...rows].sort((a, b) => (Number(a[sort.displayName]) - Number(b[sort.displayName])) * (sort.desc ? -1 : 1));
  return sorted.map((row) => [String(row[tag]), Number(row[sort.displayName])]);
}

/** A per-second panel's `column` over its 10-minute buckets, times 600, per value of `tag`: the bytes or counts back. */
function seriesTotals(series: Array<{ tags?: Record<string, string>; columns: string[]; values: unknown[][] }>, tag: string, column: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const one of series) {
    const key = one.tags?.[tag] ?? '';
    const index = one.columns.indexOf(column);
    if (index < 0) throw new Error(`no column ${column} in ${one.columns.join(', ')}`);
    for (const values of one.values) if (values[index] !== null) totals.set(key, (totals.get(key) ?? 0) + Number(values[index]) * 600);
  }
  return totals;
}

function expectTotals(totals: Map<string, number>, expected: Array<[string, number]>): void {
  expect([...totals.keys()].sort()).toEqual(expected.map(([key]) => key).sort());
  for (const [key, value] of expected) expect({ key, value: totals.get(key) }).toEqual({ key, value: expect.closeTo(value, 0) });
}

let influx: TestInfluxDB;
let gateway: RunningGateway;

beforeAll(async () => {
  influx = await startInfluxDB();
  gateway = await startTestGateway(influx.url, { registry: schemaRegistry(), durations: TEST_DURATIONS });
  await writeRetentionsMeasurement(influx.client);
  const response = await fetch(`${gateway.url}/`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` }, body: JSON.stringify([...DOCUMENTS, ...USER_DOCUMENTS, ...SERVER_DOCUMENTS]) });
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

describe('client sites, users, VO and access mode on a real InfluxDB', () => {
  test.each([
    ['Top 10 client sites by bytes read', DOCUMENTS, 'client_site'],
    ['Top 10 users by bytes read', USER_DOCUMENTS, 'user'],
  ] as const)('"%s" lists the ten largest sums, largest first', async (title, documents, tag) => {
    const expected = sums(documents, tag, 'bytes_read');
    // More values than the table keeps, all sums distinct: the cut and the order mean something.
    expect(expected.length).toBeGreaterThan(TOP);
    expect(new Set(expected.map(([, bytes]) => bytes)).size).toBe(expected.length);
    const { panel, results } = await runPanel(dashboard(), title, influx.client, relativeRange('6h', now), ['monit-influxdb']);
    expect(results).toHaveLength(1);
    expect(shownRanking(panel, tableRows(results[0]), tag)).toEqual(expected.slice(0, TOP));
  });

  test.each([
    ['Bytes read by VO', 'vo'],
    ['Bytes read: copy vs remote I/O', 'access_mode'],
  ] as const)('"%s" adds up, over its buckets, to the bytes read per %s', async (title, tag) => {
    const { results } = await runPanel(dashboard(), title, influx.client, relativeRange('6h', now), ['monit-influxdb']);
    const expected = sums(DOCUMENTS, tag, 'bytes_read');
    expect(expected).toHaveLength(2);
    expectTotals(seriesTotals(results[0], tag, 'bytes_read'), expected);
  });

  test.each(['vo', 'access_mode'])('the %s filter keeps only the chosen value in the other panels', async (tag) => {
    const variable = dashboard().templating.list.find((one) => one.name === tag);
    expect(variable).toEqual(expect.objectContaining({ type: 'query', multi: true }));
    const chosen = String(DOCUMENTS[0][tag]);
    const { results } = await runPanel(dashboard(), 'Bytes read per client site', influx.client, relativeRange('6h', now), ['monit-influxdb'], { [tag]: [chosen] });
    const expected = sums(DOCUMENTS.filter((document) => document[tag] === chosen), 'client_site', 'bytes_read');
    expect(expected.reduce((total, [, bytes]) => total + bytes, 0)).toBeLessThan(sums(DOCUMENTS, 'client_site', 'bytes_read').reduce((total, [, bytes]) => total + bytes, 0));
    expectTotals(seriesTotals(results[0], 'client_site', 'bytes_read'), expected);
  });

  test('"Monitoring stream: packets per second" draws the duplicates of each server', async () => {
    const { results } = await runPanel(dashboard(), 'Monitoring stream: packets per second', influx.client, relativeRange('6h', now), ['monit-influxdb']);
    expectTotals(seriesTotals(results[0], 'server', 'duplicate'), sums(SERVER_DOCUMENTS, 'server', 'packets_duplicate'));
    expectTotals(seriesTotals(results[0], 'server', 'received'), sums(SERVER_DOCUMENTS, 'server', 'packets'));
  });
});

test('the regular panels of per-file records leave out the open and close times, and keep the byte counts', () => {
  const row = dashboard().panels.find((panel) => panel.title === `Every field of ${XROOTD_FILES_CLOSES.producer}/${XROOTD_FILES_CLOSES.type}`);
  const queries = (row?.panels ?? []).flatMap((panel) => (panel.targets ?? []).map((target) => target.query));
  expect(queries.some((query) => query.includes(`"${XROOTD_FILES_CLOSES.fields.read_bytes}"`))).toBe(true);
  for (const field of [XROOTD_FILES_CLOSES.fields.open_time, XROOTD_FILES_CLOSES.fields.close_time]) {
    expect(queries.filter((query) => query.includes(`"${field}"`))).toEqual([]);
  }
});
