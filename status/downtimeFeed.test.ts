/**
 * The GOCDB-style downtime feed: the recorded get_downtime answer (status/testdata/) parsed, matched to
 * modules by hostname, site and service type, ARGO's rule on which downtimes count, and the status
 * job reading it from a local HTTP server in front of a real InfluxDB: a module named by the feed
 * turns `downtime = true`, a feed outage falls back on the last good answer, garbage is a problem.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { DocumentFactory } from '../lib/documents/document';
import type { MonitDocument } from '../lib/documents/types';
import { MemoryLogger } from '../lib/run/log';
import { PROJECT_ROOT } from '../lib/config/paths';
import { DEMO_DOWNTIME_HOSTNAME, demoDowntimeFeed, requestWindow } from '../scripts/quickstart/statusDemo';
import { freePort } from '../test/support/ports';
import { argoFigures, NO_SLOTS } from './argo';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import { downtimesAt } from './downtime';
import { feedRequestUrl, feedToDowntimes, isScheduledOutage, parseDowntimeFeed } from './downtimeFeed';
import { runPeriodicJob } from '../lib/run/jobRunner';
import { runStatus } from './job';
import statusJob from './index';
import type { ModuleRule } from './rules';

const RECORDED_XML = readFileSync(path.join(__dirname, 'testdata', 'gocdb-downtime.xml'), 'utf8');
const RECORDED_JSON = readFileSync(path.join(__dirname, 'testdata', 'gocdb-downtime.json'), 'utf8');
const URL_SHOWN = 'https://goc.example.org/gocdbpi/public/?method=get_downtime';
const at = (text: string): number => Date.parse(text);

/** Modules as the feed knows them: by hostname, by site and service type, by site alone, and one the feed names only unscheduled. */
const RULES: Array<Pick<ModuleRule, 'module' | 'downtimeFeed'>> = [
  { module: 'web', downtimeFeed: { hostnames: ['EI-WEB.cern.ch'], sites: [], serviceTypes: [] } },
  { module: 'storage', downtimeFeed: { hostnames: [], sites: ['BNL-ATLAS'], serviceTypes: ['SRM'] } },
  { module: 'bnl', downtimeFeed: { hostnames: [], sites: ['BNL-ATLAS'], serviceTypes: [] } },
  { module: 'db', downtimeFeed: { hostnames: ['ei-db.cern.ch'], sites: [], serviceTypes: [] } },
  { module: 'plain', downtimeFeed: undefined },
];

describe('the recorded GOCDB get_downtime answer', () => {
  test('is parsed: ids, classification, severity, times (epoch seconds), hostnames, service types and sites', () => {
    const problems: string[] = [];
    const feed = parseDowntimeFeed(RECORDED_XML, URL_SHOWN, (message) => problems.push(message));
    expect(problems).toEqual([]);
    expect(feed.map(({ id, classification, severity }) => [id, classification, severity])).toEqual([
      ['31001', 'SCHEDULED', 'OUTAGE'],
      ['31002', 'UNSCHEDULED', 'OUTAGE'],
      ['31003', 'SCHEDULED', 'WARNING'],
      ['31004', 'SCHEDULED', 'OUTAGE'],
      ['31005', 'SCHEDULED', 'OUTAGE'],
    ]);
    expect(feed[0]).toEqual({
      id: '31001',
      classification: 'SCHEDULED',
      severity: 'OUTAGE',
      startMs: at('2025-11-20T08:00:00Z'),
      endMs: at('2025-11-20T12:00:00Z'),
      description: 'Kernel upgrade and reboot of the EventIndex web servers',
      services: [{ hostname: 'ei-web.cern.ch', serviceType: 'webdav', site: 'CERN-PROD' }],
    });
    // The epoch seconds and GOCDB's formatted UTC dates of the recording agree.
    for (const one of feed) {
      const formatted = /<DOWNTIME ID="(\d+)"[\s\S]*?<FORMATED_START_DATE>(.*)<\/FORMATED_START_DATE>/g;
      for (const match of RECORDED_XML.matchAll(formatted)) if (match[1] === one.id) expect(one.startMs).toBe(at(`${match[2].replace(' ', 'T')}Z`));
    }
  });

  test("only SCHEDULED OUTAGE counts, as ARGO's connector: UNSCHEDULED and WARNING (at risk) are no downtime", () => {
    const feed = parseDowntimeFeed(RECORDED_XML, URL_SHOWN, () => undefined);
    expect(feed.filter(isScheduledOutage).map((one) => one.id)).toEqual(['31001', '31004', '31005']);
    expect(isScheduledOutage({ classification: 'scheduled', severity: 'outage' })).toBe(true);
  });

  test('a downtime applies to the modules naming its hostname (any case), or its site and service type', () => {
    const downtimes = feedToDowntimes(parseDowntimeFeed(RECORDED_XML, URL_SHOWN, () => undefined), RULES);
    expect(downtimes).toEqual([
      { startMs: at('2025-11-20T08:00:00Z'), endMs: at('2025-11-20T12:00:00Z'), modules: ['web'], reason: 'Kernel upgrade and reboot of the EventIndex web servers', source: 'feed 31001' },
      { startMs: at('2025-11-21T00:00:00Z'), endMs: at('2025-11-21T06:00:00Z'), modules: ['storage', 'bnl'], reason: 'dCache upgrade', source: 'feed 31004' },
      { startMs: at('2025-11-21T00:00:00Z'), endMs: at('2025-11-21T06:00:00Z'), modules: ['bnl'], reason: 'XRootD door moved to new hardware', source: 'feed 31005' },
    ]);
    const modules = RULES.map((rule) => rule.module);
    // During the unscheduled outage of db and the at-risk warning of web, nothing is a downtime.
    expect(downtimesAt(downtimes, modules, at('2025-11-20T09:30:00Z'), 600_000)).toEqual(new Map([['web', { reason: 'Kernel upgrade and reboot of the EventIndex web servers (feed 31001)' }]]));
    expect(downtimesAt(downtimes, modules, at('2025-11-20T13:30:00Z'), 600_000)).toEqual(new Map());
  });

  test('the same entries as JSON, flat or with nested SERVICES and formatted dates, are read too', () => {
    const feed = parseDowntimeFeed(RECORDED_JSON, URL_SHOWN, () => undefined);
    expect(feed.map((one) => [one.id, one.startMs, one.endMs, one.services.length])).toEqual([
      ['31001', at('2025-11-20T08:00:00Z'), at('2025-11-20T12:00:00Z'), 1],
      ['31006', at('2025-11-22T06:00:00Z'), at('2025-11-22T18:00:00Z'), 2],
    ]);
    expect(feedToDowntimes(feed, RULES).map((one) => [one.source, one.modules])).toEqual([
      ['feed 31001', ['web']],
      ['feed 31006', ['storage', 'bnl']],
    ]);
    expect(parseDowntimeFeed(JSON.stringify({ DOWNTIME: JSON.parse(RECORDED_JSON) }), URL_SHOWN, () => undefined)).toEqual(feed);
  });

  test('a bad entry is skipped with a problem naming the URL and its number, counted from 1; garbage is an error naming the URL', () => {
    const problems: string[] = [];
    const broken = RECORDED_XML.replace('<START_DATE>1763629200</START_DATE>', '').replace('<FORMATED_START_DATE>2025-11-20 09:00</FORMATED_START_DATE>', '');
    expect(parseDowntimeFeed(broken, URL_SHOWN, (message) => problems.push(message))).toHaveLength(4);
    expect(problems).toEqual([`downtime feed ${URL_SHOWN}: entry 2 downtime 31002: START_DATE is missing or not a time; skipped`]);
    expect(() => parseDowntimeFeed('<results><DOWNTIME ID="1">', URL_SHOWN, () => undefined)).toThrow(new RegExp(`^downtime feed ${URL_SHOWN.replace(/[?.]/g, '\\$&')}: not XML \\(.* at line 1, column \\d+\\)$`));
    expect(() => parseDowntimeFeed('<html><body>Maintenance</body></html>', URL_SHOWN, () => undefined)).toThrow(`downtime feed ${URL_SHOWN}: XML without a <results> element: not a GOCDB get_downtime answer`);
    expect(() => parseDowntimeFeed('Service Unavailable', URL_SHOWN, () => undefined)).toThrow(`downtime feed ${URL_SHOWN}: neither XML nor JSON`);
  });

  test('epoch times are whole seconds of 9 to 11 digits in 2000–2100: milliseconds, huge values and far years are refused naming the entry', () => {
    const entry = (start: unknown, end: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ ID: '7', CLASSIFICATION: 'SCHEDULED', SEVERITY: 'OUTAGE', HOSTNAME: 'ei-web.cern.ch', START_DATE: start, END_DATE: end, ...extra });
    const problems: string[] = [];
    const feed = parseDowntimeFeed(
      JSON.stringify([
        entry(1763625600, 1763640000),
        entry(1763625600000, 1763640000000),
        entry(1763625600, '9'.repeat(400)),
        entry(1763625600, 1.7e21),
        entry(1763625600.5, 1763640000),
        entry(631152000, 1763640000),
        entry(1763625600, 99999999999),
        entry(undefined, undefined, { FORMATED_START_DATE: '1999-12-31 23:00', FORMATED_END_DATE: '2025-11-20 12:00' }),
      ]),
      URL_SHOWN,
      (message) => problems.push(message),
    );
    // Independently: 1763625600 s is 2025-11-20T08:00Z.
    expect(feed.map((one) => [one.startMs, one.endMs])).toEqual([[at('2025-11-20T08:00:00Z'), at('2025-11-20T12:00:00Z')]]);
    expect(problems).toEqual([
      `downtime feed ${URL_SHOWN}: entry 2 downtime 7: START_DATE 1763625600000 looks like milliseconds: give epoch seconds, as GOCDB does; skipped`,
      `downtime feed ${URL_SHOWN}: entry 3 downtime 7: END_DATE ${'9'.repeat(400)} is not whole epoch seconds (9 to 11 digits); skipped`,
      `downtime feed ${URL_SHOWN}: entry 4 downtime 7: END_DATE 1.7e+21 is not whole epoch seconds (9 to 11 digits); skipped`,
      `downtime feed ${URL_SHOWN}: entry 5 downtime 7: START_DATE 1763625600.5 is not whole epoch seconds (9 to 11 digits); skipped`,
      `downtime feed ${URL_SHOWN}: entry 6 downtime 7: START_DATE is in 1990, outside 2000–2100; skipped`,
      `downtime feed ${URL_SHOWN}: entry 7 downtime 7: END_DATE is in 5138, outside 2000–2100; skipped`,
      `downtime feed ${URL_SHOWN}: entry 8 downtime 7: START_DATE is in 1999, outside 2000–2100; skipped`,
    ]);
    // The same refusal from XML, where every value is text.
    const xmlProblems: string[] = [];
    expect(parseDowntimeFeed(RECORDED_XML.replace('<END_DATE>1763640000</END_DATE>', `<END_DATE>${'9'.repeat(30)}</END_DATE>`), URL_SHOWN, (message) => xmlProblems.push(message))).toHaveLength(4);
    expect(xmlProblems).toEqual([`downtime feed ${URL_SHOWN}: entry 1 downtime 31001: END_DATE ${'9'.repeat(30)} is not whole epoch seconds (9 to 11 digits); skipped`]);
  });

  test("the query asks from the slot's UTC day start to two days later (today and tomorrow), unless the URL chose its window", () => {
    expect(feedRequestUrl(URL_SHOWN, at('2025-11-20T09:30:00Z'))).toBe(`${URL_SHOWN}&windowstart=2025-11-20&windowend=2025-11-22`);
    // The first and last slots of a day, and across a month's and a year's end.
    expect(feedRequestUrl(URL_SHOWN, at('2025-11-20T00:00:00Z'))).toBe(`${URL_SHOWN}&windowstart=2025-11-20&windowend=2025-11-22`);
    expect(feedRequestUrl(URL_SHOWN, at('2025-11-30T23:50:00Z'))).toBe(`${URL_SHOWN}&windowstart=2025-11-30&windowend=2025-12-02`);
    expect(feedRequestUrl(URL_SHOWN, at('2025-12-31T12:00:00Z'))).toBe(`${URL_SHOWN}&windowstart=2025-12-31&windowend=2026-01-02`);
    expect(feedRequestUrl(`${URL_SHOWN}&ongoing_only=yes`, at('2025-11-20T09:30:00Z'))).toBe(`${URL_SHOWN}&ongoing_only=yes`);
    expect(feedRequestUrl('http://127.0.0.1:8080/downtimes.json', at('2025-11-20T09:30:00Z'))).toBe('http://127.0.0.1:8080/downtimes.json');
  });
});

describe("the quickstart's demo feed", () => {
  const rules = [{ module: 'web', downtimeFeed: { hostnames: [DEMO_DOWNTIME_HOSTNAME], sites: [], serviceTypes: [] } }];
  const FEED_URL = 'http://127.0.0.1:8191/status/gocdb-downtime?method=get_downtime';
  const parsed = (xml: string): ReturnType<typeof parseDowntimeFeed> => {
    const problems: string[] = [];
    const feed = parseDowntimeFeed(xml, 'demo', (message) => problems.push(message));
    expect(problems).toEqual([]);
    return feed;
  };
  /** Whether the 10-minute slot starting at `slotMs` is under the feed's downtime of web. */
  const underDowntime = (xml: string, slotMs: number): boolean => downtimesAt(feedToDowntimes(parsed(xml), rules), ['web'], slotMs, 600_000).has('web');

  test("puts the demo web module under a scheduled downtime for the slot at :20 of every hour, in GOCDB's shape, with an at-risk warning that does not count", () => {
    const hour = at('2026-12-06T10:00:00Z');
    // Without a window: this hour and the next.
    const xml = demoDowntimeFeed(requestWindow(new URL(FEED_URL), hour + 25 * 60_000));
    const feed = parsed(xml);
    expect(feed.map((entry) => [entry.severity, isScheduledOutage(entry)])).toEqual([['OUTAGE', true], ['WARNING', false], ['OUTAGE', true], ['WARNING', false]]);
    const slots = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120].map((minute) => [minute, underDowntime(xml, hour + minute * 60_000)]);
    expect(slots).toEqual([[0, false], [10, false], [20, true], [30, false], [40, false], [50, false], [60, false], [70, false], [80, true], [90, false], [100, false], [110, false], [120, false]]);
    // One hour of a module otherwise available: 5 slots up and 1 under downtime, as ARGO counts them.
    const figures = argoFigures({ ...NO_SLOTS, available: 5, downtime: 1 });
    expect(figures.availability).toBeCloseTo(5 / 6, 10);
    expect(figures.reliability).toBe(1);
    // The same answer whatever minute of the hour it is asked at.
    expect(demoDowntimeFeed(requestWindow(new URL(FEED_URL), hour + 59 * 60_000))).toBe(xml);
  });

  test("covers every hour of the window the status job asks for (windowstart to windowend, both days), so a backfill sees past hours' downtimes", () => {
    const slotMs = at('2026-12-05T23:20:00Z');
    // Asked the next morning for last night's slot, as `./run.sh status --timestamp "2026-12-05 23:20"` does.
    const url = new URL(feedRequestUrl(FEED_URL, slotMs));
    expect([url.searchParams.get('windowstart'), url.searchParams.get('windowend')]).toEqual(['2026-12-05', '2026-12-07']);
    const window = requestWindow(url, at('2026-12-06T10:05:00Z'));
    expect(window).toEqual({ fromMs: at('2026-12-05T00:00:00Z'), toMs: at('2026-12-08T00:00:00Z') });
    const xml = demoDowntimeFeed(window);
    expect(underDowntime(xml, slotMs)).toBe(true);
    const downtimes = feedToDowntimes(parsed(xml), rules);
    expect(downtimes).toHaveLength(3 * 24);
    for (let hourMs = window.fromMs; hourMs < window.toMs; hourMs += 3_600_000) {
      const covered = [0, 10, 20, 30, 40, 50].filter((minute) => downtimesAt(downtimes, ['web'], hourMs + minute * 60_000, 600_000).has('web'));
      expect({ hour: new Date(hourMs).toISOString(), covered }).toEqual({ hour: new Date(hourMs).toISOString(), covered: [20] });
    }
    // One of the two dates alone: the missing one is today.
    expect(requestWindow(new URL(`${FEED_URL}&windowstart=2026-12-04`), at('2026-12-06T10:05:00Z'))).toEqual({ fromMs: at('2026-12-04T00:00:00Z'), toMs: at('2026-12-07T00:00:00Z') });
  });

  test('a window it cannot read is an error naming the key and the value', () => {
    const now = at('2026-12-06T10:05:00Z');
    expect(() => requestWindow(new URL(`${FEED_URL}&windowstart=2026-13-01&windowend=2026-12-07`), now)).toThrow('windowstart: expected a date YYYY-MM-DD, got "2026-13-01"');
    expect(() => requestWindow(new URL(`${FEED_URL}&windowstart=2026-12-01&windowend=07/12/2026`), now)).toThrow('windowend: expected a date YYYY-MM-DD, got "07/12/2026"');
    expect(() => requestWindow(new URL(`${FEED_URL}&windowstart=2026-12-07&windowend=2026-12-05`), now)).toThrow('windowend (2026-12-05) is before windowstart (2026-12-07)');
    expect(() => requestWindow(new URL(`${FEED_URL}&windowstart=2016-12-07&windowend=2026-12-05`), now)).toThrow('longer than 31 days');
  });

  test("config.cfg.example (the quickstart's config) points the status job at it and names the hostname in [status.module.web]", () => {
    const config = Config.parse(readFileSync(path.join(PROJECT_ROOT, 'config.cfg.example'), 'utf8'), 'config.cfg.example');
    expect(config.section('status').string('downtime_feed_url')).toBe('http://127.0.0.1:8191/status/gocdb-downtime?method=get_downtime');
    expect(config.section('status.module.web').string('downtime_hostnames')).toBe(DEMO_DOWNTIME_HOSTNAME);
  });
});

describe('the status job reading the feed over HTTP', () => {
  /** What the feed server answers next: the recording, an HTTP error, or garbage. */
  let answer: { status: number; body: string } = { status: 200, body: RECORDED_XML };
  const requested: string[] = [];
  let server: Server;
  let influx: TestInfluxDB;
  let feedUrl: string;
  let dir: string;

  beforeAll(async () => {
    influx = await startInfluxDB();
    server = createServer((request, response) => {
      requested.push(request.url ?? '');
      response.writeHead(answer.status, { 'content-type': 'application/xml' });
      response.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    feedUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gocdbpi/public/?method=get_downtime`;
    dir = testDir('status-downtime-feed');
  }, 120_000);

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await influx?.stop();
  });

  const rule = (module: string, extra: string): string =>
    `[status.module.${module}]\nmeasurement = scenario/probe\nfields = up\nwhere = service=${module}\ncollector = none\nunavailable = latest(up) == 0\nunavailable_reason = ${module} down\n${extra}`;

  async function run(slotIso: string, stateDir: string, statusKeys = '', url = feedUrl): Promise<{ documents: Map<string, MonitDocument>; problems: string[]; log: MemoryLogger }> {
    const file = path.join(dir, 'config.cfg');
    writeFileSync(
      file,
      `[influxdb]\nurl = ${influx.url}\n[status]\ndefault_rules =\nhtml_file =\njson_file =\ndowntime_feed_url = ${url}\ndowntime_feed_timeout = 5s\n${statusKeys}` +
        rule('web', 'downtime_hostnames = ei-web.cern.ch\n') +
        rule('db', 'downtime_hostnames = ei-db.cern.ch\n') +
        rule('storage', 'downtime_sites = BNL-ATLAS\ndowntime_service_types = SRM\n'),
    );
    const problems: string[] = [];
    const log = new MemoryLogger('status');
    const slotMs = at(slotIso);
    const result = await runStatus({ config: Config.load(file), influxdb: influx.client, documents: new DocumentFactory({ slotMs, host: 'h' }), log, stateDir, nowMs: slotMs + 600_000, problem: (message) => problems.push(message) });
    const documents = new Map(result.documents.filter((document) => document.type === 'status').map((document) => [document.module as string, document]));
    return { documents, problems, log };
  }

  test('a module the feed names by hostname is under downtime during its SCHEDULED OUTAGE; the UNSCHEDULED one is not', async () => {
    const stateDir = path.join(dir, 'state-hostname');
    answer = { status: 200, body: RECORDED_XML };
    const { documents, problems } = await run('2025-11-20T09:30:00Z', stateDir);
    expect(problems).toEqual([]);
    expect(requested.at(-1)).toBe('/gocdbpi/public/?method=get_downtime&windowstart=2025-11-20&windowend=2025-11-22');
    expect(documents.get('web')).toMatchObject({ status: 'na', downtime: true, downtime_reason: 'Kernel upgrade and reboot of the EventIndex web servers (feed 31001)', downtime_slots: 1, na_slots: 0 });
    expect(documents.get('db')).toMatchObject({ status: 'na', downtime: false, downtime_slots: 0, na_slots: 1 });
    expect(documents.get('db')?.downtime_reason).toBeUndefined();
    expect(documents.get('storage')).toMatchObject({ downtime: false });
  });

  test('a SCHEDULED WARNING (at risk) is no downtime: the slot counts as evaluated', async () => {
    answer = { status: 200, body: RECORDED_XML };
    const { documents } = await run('2025-11-20T13:30:00Z', path.join(dir, 'state-warning'));
    expect(documents.get('web')).toMatchObject({ downtime: false, na_slots: 1, downtime_slots: 0 });
  });

  test('the feed down: the last good answer is used and the run reports a problem', async () => {
    const stateDir = path.join(dir, 'state-outage');
    answer = { status: 200, body: RECORDED_XML };
    expect((await run('2025-11-21T01:00:00Z', stateDir)).documents.get('storage')).toMatchObject({ downtime: true, downtime_reason: 'dCache upgrade (feed 31004)' });
    const stored = JSON.parse(readFileSync(path.join(stateDir, 'downtime-feed.json'), 'utf8')) as { url: string; downtimes: Array<{ id: string }> };
    expect(stored).toMatchObject({ url: feedUrl });
    // Of the recording's five, only the scheduled outages of a module: 31001 (web's hostname) and 31004
    // (BNL-ATLAS's SRM, storage); not 31002 (unscheduled), 31003 (a warning) nor 31005 (XRootD, no module's).
    expect(stored.downtimes.map((one) => one.id)).toEqual(['31001', '31004']);

    answer = { status: 503, body: 'down for maintenance' };
    const { documents, problems, log } = await run('2025-11-21T01:10:00Z', stateDir);
    expect(documents.get('storage')).toMatchObject({ downtime: true, downtime_reason: 'dCache upgrade (feed 31004)' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^downtime feed http:\/\/127\.0\.0\.1:\d+\/gocdbpi\/public\/\?method=get_downtime&windowstart=2025-11-21&windowend=2025-11-23: HTTP 503 .*; using the last good answer \(2 downtimes\)$/);
    // Still under the same downtime: no transition.
    expect(log.lines.filter((line) => line.includes('transition'))).toEqual([]);
  });

  test('an answer longer than downtime_feed_max_body_bytes is not read: a problem naming the limit, and the last good answer is used', async () => {
    const stateDir = path.join(dir, 'state-too-long');
    answer = { status: 200, body: RECORDED_XML };
    await run('2025-11-20T09:30:00Z', stateDir, 'downtime_feed_max_body_bytes = 100000\n');
    answer = { status: 200, body: RECORDED_XML.replace('</results>', `<!-- ${'x'.repeat(200_000)} --></results>`) };
    const { documents, problems } = await run('2025-11-20T09:40:00Z', stateDir, 'downtime_feed_max_body_bytes = 100000\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/: the answer is longer than the limit of 100000 bytes \(\[status\] downtime_feed_max_body_bytes\); not read further; using the last good answer \(2 downtimes\)$/);
    expect(documents.get('web')).toMatchObject({ downtime: true, downtime_reason: 'Kernel upgrade and reboot of the EventIndex web servers (feed 31001)' });
  });

  test('a last good answer whose time is not a number (an Infinity stored as null) is a problem, not a downtime covering nothing', async () => {
    const stateDir = path.join(dir, 'state-null-time');
    mkdirSync(stateDir, { recursive: true });
    const entry = { id: '31001', classification: 'SCHEDULED', severity: 'OUTAGE', startMs: at('2025-11-20T08:00:00Z'), endMs: null, description: 'd', services: [{ hostname: 'ei-web.cern.ch', serviceType: 'webdav', site: 'CERN-PROD' }] };
    writeFileSync(path.join(stateDir, 'downtime-feed.json'), JSON.stringify({ url: feedUrl, fetchedMs: 0, downtimes: [entry] }));
    answer = { status: 503, body: 'down' };
    const { problems } = await run('2025-11-20T09:30:00Z', stateDir);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/: the last good answer is unreadable: .*downtime "31001" has a start or end that is not a time/);
    expect(problems[1]).toMatch(/; no usable earlier answer: no feed downtime applies$/);
  });

  test('garbage XML from the feed is a problem naming the URL; with no good answer known, no downtime', async () => {
    answer = { status: 200, body: '<results><DOWNTIME ID="31001" CLASSIFICATION="SCHEDULED"><HOSTNAME>ei-web.cern.ch</HOST' };
    const { documents, problems } = await run('2025-11-20T09:30:00Z', path.join(dir, 'state-garbage'));
    expect(documents.get('web')).toMatchObject({ downtime: false });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`downtime feed ${feedUrl}: not XML (`);
    expect(problems[0]).toMatch(/; no earlier answer from this URL: no feed downtime applies$/);
  });

  test("the feed URL changed to a dead one: the old URL's stored answer is not used, and the problem says there is none of this URL", async () => {
    const stateDir = path.join(dir, 'state-url-changed');
    answer = { status: 200, body: RECORDED_XML };
    expect((await run('2025-11-20T09:30:00Z', stateDir)).documents.get('web')).toMatchObject({ downtime: true });
    // Nothing listens on a free port: the connection is refused.
    const deadUrl = `http://127.0.0.1:${await freePort()}/gocdbpi/public/?method=get_downtime`;
    const { documents, problems } = await run('2025-11-20T09:40:00Z', stateDir, '', deadUrl);
    expect(documents.get('web')).toMatchObject({ downtime: false });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`downtime feed ${deadUrl.split('?')[0]}`);
    expect(problems[0]).toMatch(/; no earlier answer from this URL: no feed downtime applies$/);
    expect(problems[0]).not.toMatch(/last good answer/);
    // The old URL's answer stays stored, for when the setting goes back.
    expect((JSON.parse(readFileSync(path.join(stateDir, 'downtime-feed.json'), 'utf8')) as { url: string }).url).toBe(feedUrl);
  });

  test('a first run under a feed downtime logs the first state as the light shows it: Downtime with its reason', async () => {
    answer = { status: 200, body: RECORDED_XML };
    const { log } = await run('2025-11-20T09:30:00Z', path.join(dir, 'state-first-run'));
    expect(log.lines.filter((line) => line.startsWith('INFO first state '))).toEqual([
      'INFO first state web: Downtime (Kernel upgrade and reboot of the EventIndex web servers (feed 31001))',
      'INFO first state db: N/A (no data in scenario/probe in the last 30m)',
      'INFO first state storage: N/A (no data in scenario/probe in the last 30m)',
    ]);
  });

  test('entering and leaving a feed downtime are logged as transitions', async () => {
    const stateDir = path.join(dir, 'state-transitions');
    answer = { status: 200, body: RECORDED_XML };
    await run('2025-11-20T07:50:00Z', stateDir);
    const into = await run('2025-11-20T08:00:00Z', stateDir);
    expect(into.log.lines).toContain('INFO transition web: N/A → Downtime (Kernel upgrade and reboot of the EventIndex web servers (feed 31001))');
    const out = await run('2025-11-20T12:00:00Z', stateDir);
    expect(out.log.lines.filter((line) => line.includes('transition'))).toEqual(['INFO transition web: Downtime → N/A (no data in scenario/probe in the last 30m)']);
  });

  test('under the real job runner (--dry-run for a past slot): the feed is read, and its failure is a problem counted, not a failed run', async () => {
    const runDir = testDir('status-downtime-runner');
    const file = path.join(runDir, 'config.cfg');
    writeFileSync(
      file,
      `[paths]\nvar = ${runDir}/var\n[influxdb]\nurl = ${influx.url}\n[status]\ndefault_rules =\nhtml_file =\njson_file =\ndowntime_feed_url = ${feedUrl}\n` + rule('web', 'downtime_hostnames = ei-web.cern.ch\n'),
    );
    const run = async (): Promise<{ outcome: Awaited<ReturnType<typeof runPeriodicJob>>; printed: string }> => {
      let printed = '';
      const outcome = await runPeriodicJob(
        { name: 'status', periodMs: 600_000, run: (context) => statusJob.collect(context) },
        { config: Config.load(file), deadlineMs: 60_000, timeMs: at('2025-11-20T09:30:00Z'), dryRun: true, echoLog: false, output: (text) => (printed += text) },
      );
      return { outcome, printed };
    };
    answer = { status: 200, body: RECORDED_XML };
    const good = await run();
    expect(good.outcome).toMatchObject({ ok: true, problems: 0 });
    expect(good.printed).toContain('"downtime_reason":"Kernel upgrade and reboot of the EventIndex web servers (feed 31001)"');
    answer = { status: 500, body: 'internal error' };
    const failed = await run();
    expect(failed.outcome).toMatchObject({ ok: true, problems: 1 });
    expect(failed.printed).toContain('"downtime":false');
  });
});
