import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { validateFile } from '../lib/delivery/commands';
import { spawnGatewayProcess, TEST_TOKEN, type GatewayProcess } from '../test/support/gateway';
import { useInfluxAndGateway } from '../test/support/fixtures';
import { testDir } from '../test/support/services';
import { gatewaySettings } from './settings';

/**
 * The shapes real MONIT senders post (testdata/monit-senders/README.md says who sends each and where
 * it was seen), each sent through the gateway into a real InfluxDB 1.6: every point read back exactly
 * (measurement, tags, typed fields, millisecond), or the document refused with the rule's reason.
 */

const servers = useInfluxAndGateway();
const CORPUS = path.join(__dirname, 'testdata', 'monit-senders');

/** The corpus's timestamps are around this time; they are moved to a day ago, within the raw RP. */
const CORPUS_BASE_MS = Date.UTC(2025, 11, 5);
const offsetMs = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 86_400_000 - CORPUS_BASE_MS;

type Row = Record<string, string | number | boolean>;

/** A document moved by offsetMs, in its own unit: seconds (below 1e11) stay seconds, ms stay ms. */
function shiftedDocument(document: unknown): unknown {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return document;
  const copy = { ...(document as Record<string, unknown>) };
  const shift = (value: unknown): unknown => (typeof value === 'number' ? value + (value < 1e11 ? offsetMs / 1000 : offsetMs) : value);
  if ('timestamp' in copy) copy.timestamp = shift(copy.timestamp);
  if (typeof copy.metadata === 'object' && copy.metadata !== null) {
    const metadata = { ...(copy.metadata as Record<string, unknown>) };
    if ('timestamp' in metadata) metadata.timestamp = shift(metadata.timestamp);
    copy.metadata = metadata;
  }
  return copy;
}

/** A corpus file as its sender posts it (an array, or one object), its timestamps moved. */
function corpusBody(file: string): unknown {
  const parsed = JSON.parse(readFileSync(path.join(CORPUS, file), 'utf8')) as unknown;
  return Array.isArray(parsed) ? parsed.map(shiftedDocument) : shiftedDocument(parsed);
}

interface ExpectedPoint {
  database: string;
  measurement: string;
  /** Corpus time in ms (before the shift); 'arrival' for documents without a timestamp. */
  at: number | 'arrival';
  tags: Record<string, string>;
  fields: Row;
}

interface CorpusCase {
  file: string;
  status: number;
  refused?: Array<[number, RegExp]>;
  points: ExpectedPoint[];
  /** Databases nothing may be written to. */
  untouched?: string[];
}

const base = CORPUS_BASE_MS;
const ssbmetric = { database: 'monit_production_cmssst', measurement: 'ssbmetric', tags: {} };
const samCommon = { site: 'EXAMPLE-RSE', endpoint: 'storage.example.org', port: 1094, protocol: 'root', path: '/eos/test/gfal_sam/testing', vo: 'ESCAPE' };
const pandaAvailability = { service_status: 'degraded', availabilitydesc: 'PanDA server at example', availabilityinfo: '2 of 3 nodes answer', contact: 'panda-ops@example.org', serviceid: 'PandaServer' };

const CASES: CorpusCase[] = [
  {
    file: 'kpiit-repokpi.json',
    status: 200,
    points: [
      {
        database: 'monit_production_invenio',
        measurement: 'repokpi',
        at: base + 1836,
        tags: { service: 'zenodo', env: 'prod' },
        fields: { records: 2512, visits: 740, visits_unique: 311, uptime_web: 99.5, uptime_search: 98.25, uptime_files: 100, response_time_web: 212.75, response_time_search: 380.5, response_time_files: 95.125 },
      },
      { database: 'monit_production_invenio', measurement: 'doikpi', at: base + 1836, tags: { doi_prefix: '10.9999' }, fields: { doi_success: 4200, doi_failed: 17 } },
    ],
  },
  {
    file: 'kpiit-publisher-tags-only.json',
    status: 200,
    points: [{ database: 'monit_production_digitalrepos', measurement: 'repokpi', at: base + 2000, tags: { service: 'cds', env: 'qa' }, fields: { records: 91, uptime_web: 97.5 } }],
  },
  {
    // No tags and one time for every site: InfluxDB would merge them into one point (issue 24's rule).
    file: 'cmssst-hammercloud.json',
    status: 207,
    refused: [[1, /^same series and time as document #0: InfluxDB would merge them into one point \(overwriting fields 'name', 'status'\)/]],
    points: [{ ...ssbmetric, at: base + 450_000, fields: { name: 'T2_XX_Alpha', status: 'ok', value: 0.975, detail: '39 Success [1001]...\n1 Failed [1002]...' } }],
  },
  {
    file: 'cmssst-downtime.json',
    status: 200,
    points: [{ ...ssbmetric, at: base + 1_350_000, fields: { name: 'se01.example.org', type: 'XRootD origin server', status: 'downtime', detail: 'EGI:99999' } }],
  },
  {
    file: 'python-monit-output.json',
    status: 200,
    points: [{ database: 'monit_production_eos_ops', measurement: 'fsck_report', at: base + 3123, tags: {}, fields: { environment: 'production', instance: 'eosexample', report: 'd_mem_sz_diff', value: 12 } }],
  },
  {
    file: 'stompamq-notification.json',
    status: 400,
    refused: [[0, /^document must have required property 'type'$/]],
    points: [],
    untouched: ['monit_production_cms_example'],
  },
  {
    file: 'monit-archive-record.json',
    status: 200,
    points: [{ ...ssbmetric, at: base + 43_200_000, fields: { name: 'T1_XX_Gamma', status: 'ok', value: 1 } }],
  },
  {
    file: 'panda-sls.json',
    status: 200,
    points: [
      { database: 'monit_production_panda', measurement: 'availability', at: base + 5000, tags: {}, fields: pandaAvailability },
      { database: 'monit_production_panda', measurement: 'metrics', at: base + 5000, tags: {}, fields: { nodes_up: 2, nodes_total: 3, serviceid: 'PandaServer' } },
    ],
  },
  {
    file: 'availability-no-timestamp.json',
    status: 200,
    points: [
      { database: 'monit_production_wininfra', measurement: 'availability', at: 'arrival', tags: {}, fields: { serviceid: 'example-terminal-service', service_status: 'available', contact: 'service-desk@example.org' } },
    ],
  },
  {
    file: 'escape-sam-gfal.json',
    status: 200,
    points: [
      { database: 'monit_production_escape_wp2', measurement: 'sam_gfal', at: base + 6000, tags: {}, fields: { ...samCommon, operation: 'UPLOAD', status: 'SUCCESS', error_code: 'None', str_datetime: '2025-12-05 00:00:06' } },
      {
        database: 'monit_production_escape_wp2',
        measurement: 'sam_gfal',
        at: base + 8000,
        tags: {},
        fields: { ...samCommon, operation: 'DOWNLOAD', status: 'FAILED', error_code: 'gfal-copy error: 2 (No such file or directory)', str_datetime: '2025-12-05 00:00:08' },
      },
      { database: 'monit_production_escape_wp2', measurement: 'sam_gfal', at: base + 9000, tags: {}, fields: { ...samCommon, operation: 'DELETE', status: 'SKIPPED', error_code: 'None', str_datetime: '2025-12-05 00:00:09' } },
    ],
  },
  {
    file: 'spark-rows-tags-only.json',
    status: 200,
    points: [
      { database: 'monit_production_ceph', measurement: 'percent', at: 'arrival', tags: { hostgroup: 'ceph/example', hostname: 'osd-01.example.org', name: '/dev/sda' }, fields: { ssd_life_percent: 87 } },
      { database: 'monit_production_ceph', measurement: 'percent', at: 'arrival', tags: { hostgroup: 'ceph/example', hostname: 'osd-02.example.org', name: '/dev/sdb' }, fields: { ssd_life_percent: 91 } },
    ],
  },
  {
    file: 'aaa-probe-tag-and-field.json',
    status: 400,
    refused: [[0, /^'status', 'host', 'codeStatus' is listed in both idb_tags and idb_fields$/]],
    points: [],
    untouched: ['monit_production_cmsaaa'],
  },
];

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: { accepted?: number; rejected?: Array<{ index: number; reason: string }>; error?: string } }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json; charset=UTF-8', authorization: `Bearer ${TEST_TOKEN}`, ...headers }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as { accepted?: number; rejected?: Array<{ index: number; reason: string }> } };
}

function withoutNulls(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([, value]) => value !== null));
}

const INFLUX_TYPE: Record<string, string> = { number: 'float', string: 'string', boolean: 'boolean' };

/** What InfluxDB holds for `point` at `timeMs`: the row, and which keys are tags and which fields of which type. */
async function stored(point: ExpectedPoint, timeMs: number): Promise<{ rows: Array<Record<string, unknown>>; tagKeys: Set<string>; fieldTypes: Map<string, string> }> {
  const client = servers.influx.client;
  const options = { database: point.database };
  const where = Object.entries(point.tags).map(([key, value]) => `"${key}" = '${value.replace(/'/g, "\\'")}'`);
  const rows = await client.rows(`SELECT * FROM "${point.measurement}" WHERE time = ${timeMs}ms${where.map((clause) => ` AND ${clause}`).join('')}`, options);
  const tagKeys = new Set((await client.rows(`SHOW TAG KEYS FROM "${point.measurement}"`, options)).map((row) => String(row.tagKey)));
  const fieldTypes = new Map((await client.rows(`SHOW FIELD KEYS FROM "${point.measurement}"`, options)).map((row) => [String(row.fieldKey), String(row.fieldType)]));
  return { rows: rows.map(withoutNulls), tagKeys, fieldTypes };
}

describe('the real-sender corpus through the gateway into InfluxDB', () => {
  it('has a case for every corpus file and a description of each in its README', () => {
    const files = readdirSync(CORPUS).filter((name) => name.endsWith('.json')).sort();
    expect(CASES.map((item) => item.file).sort()).toEqual(files);
    const readme = readFileSync(path.join(CORPUS, 'README.md'), 'utf8');
    for (const file of files) expect(readme).toContain(`\`${file}\``);
  });

  it.each(CASES)('$file: stored as MONIT would store it, or refused naming the rule', async (item) => {
    const before = Date.now();
    const answer = await post(`${servers.gateway.url}/`, corpusBody(item.file));
    const after = Date.now();
    expect(answer.status).toBe(item.status);
    const refused = item.refused ?? [];
    expect(answer.json.rejected?.map((rejection) => rejection.index)).toEqual(refused.map(([index]) => index));
    refused.forEach(([, reason], position) => expect(answer.json.rejected?.[position].reason).toMatch(reason));
    expect(answer.json.accepted).toBe(item.points.length);

    for (const point of item.points) {
      if (point.at === 'arrival') {
        const rows = (await servers.influx.client.rows(`SELECT * FROM "${point.measurement}"`, { database: point.database })).map(withoutNulls);
        const row = rows.find((candidate) => Object.entries(point.tags).every(([key, value]) => candidate[key] === value));
        expect(row).toBeDefined();
        const time = Number(row?.time);
        // Stamped on arrival: between the moments the request was sent and answered.
        expect(time).toBeGreaterThanOrEqual(before);
        expect(time).toBeLessThanOrEqual(after);
        expect(row).toEqual({ time, ...point.tags, ...point.fields });
        continue;
      }
      const timeMs = point.at + offsetMs;
      const { rows, tagKeys, fieldTypes } = await stored(point, timeMs);
      expect(rows).toEqual([{ time: timeMs, ...point.tags, ...point.fields }]);
      for (const tag of Object.keys(point.tags)) expect(tagKeys.has(tag)).toBe(true);
      for (const [field, value] of Object.entries(point.fields)) {
        expect(tagKeys.has(field)).toBe(false);
        expect([field, fieldTypes.get(field)]).toEqual([field, INFLUX_TYPE[typeof value]]);
      }
    }
    const databases = new Set((await servers.influx.client.rows('SHOW DATABASES')).map((row) => String(row.name)));
    for (const database of item.untouched ?? []) expect(databases.has(database)).toBe(false);
  });

  it("the same cmssst batch with idb_tags ['data.name'] and dotted idb_fields stores every site", async () => {
    const extraMs = 30_000;
    // Its own database: the corpus stores `name` as a field of ssbmetric, and a query would then name this tag name_1.
    const batch = (corpusBody('cmssst-hammercloud.json') as Array<Record<string, unknown>>).map((document) => ({
      ...document,
      producer: 'cmssst-tagged',
      timestamp: (document.timestamp as number) + extraMs,
      idb_tags: ['data.name'],
      idb_fields: ['data.status', 'data.value'],
    }));
    // The second site has no value: a name in idb_fields without one is refused, so it lists only status.
    batch[1].idb_fields = ['data.status'];
    const answer = await post(`${servers.gateway.url}/`, batch);
    expect(answer).toEqual({ status: 200, json: { accepted: 2, rejected: [] } });
    const timeMs = CORPUS_BASE_MS + 450_000 + extraMs + offsetMs;
    const rows = await servers.influx.client.rows(`SELECT "name", "status", "value" FROM "ssbmetric" WHERE time = ${timeMs}ms GROUP BY "name"`, { database: 'monit_production_cmssst_tagged' });
    expect(rows.map(withoutNulls)).toEqual([
      { time: timeMs, status: 'ok', value: 0.975, name: 'T2_XX_Alpha' },
      { time: timeMs, status: 'unknown', name: 'T3_XX_Beta' },
    ]);
  });

  it('`./run.sh validate` refuses exactly what the gateway refuses in each corpus file, with the same reason', async () => {
    const dir = testDir('monit-senders');
    for (const item of CASES) {
      const file = path.join(dir, item.file);
      writeFileSync(file, JSON.stringify(corpusBody(item.file)));
      const { problems } = validateFile(file);
      // The gateway keeps its per-request rules for the same file (sent again: the points are rewritten identically).
      const answer = await post(`${servers.gateway.url}/`, corpusBody(item.file));
      expect(problems).toEqual((answer.json.rejected ?? []).map((rejection) => `document at index ${rejection.index} (counting from 0): ${rejection.reason}`));
      expect(problems.length).toBe(item.refused?.length ?? 0);
    }
  });
});

describe('[gateway.partial_success]: a sender that knows only 200', () => {
  let gateway: GatewayProcess | undefined;
  beforeAll(async () => {
    gateway = await spawnGatewayProcess(servers.influx.url, '[gateway.partial_success]\ncmssst = 200\nescape_wp2 = 207\n');
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  /** What MONIT senders do: send, and send the same batch again unless the answer is 200 (at most `attempts` times here). */
  async function sendUntil200(url: string, body: unknown, attempts: number): Promise<{ sent: number; last: Awaited<ReturnType<typeof post>> }> {
    let last = await post(url, body);
    let sent = 1;
    while (last.status !== 200 && sent < attempts) {
      last = await post(url, body);
      sent += 1;
    }
    return { sent, last };
  }

  /** The cmssst shape, moved to its own time so that it does not meet the corpus case's points. */
  function hammercloudBatch(extraMs: number): unknown[] {
    return (corpusBody('cmssst-hammercloud.json') as Array<Record<string, unknown>>).map((document) => ({ ...document, timestamp: (document.timestamp as number) + extraMs }));
  }

  it('stops after one send with the option, and the refused document is in the answer; without it the sender sends again and again', async () => {
    const url = gateway?.url ?? '';
    const withOption = await sendUntil200(`${url}/`, hammercloudBatch(60_000), 5);
    expect(withOption.sent).toBe(1);
    expect(withOption.last.status).toBe(200);
    expect(withOption.last.json.accepted).toBe(1);
    expect(withOption.last.json.rejected).toEqual([{ index: 1, reason: expect.stringMatching(/^same series and time as document #0/) as unknown }]);
    const rows = await servers.influx.client.rows(`SELECT "name" FROM "ssbmetric" WHERE time = ${CORPUS_BASE_MS + 450_000 + 60_000 + offsetMs}ms`, { database: 'monit_production_cmssst' });
    expect(rows.map((row) => row.name)).toEqual(['T2_XX_Alpha']);
    // The refusal is also in the gateway's log, saying it was answered 200.
    expect(gateway?.stderr()).toMatch(/refused 1 of 2 documents \(answered 200: \[gateway\.partial_success\]\); first: #1: same series and time/);

    // The same batch from a gateway without the option: 207 every time, so the sender never stops by itself.
    const without = await sendUntil200(`${servers.gateway.url}/`, hammercloudBatch(120_000), 5);
    expect(without.sent).toBe(5);
    expect(without.last.status).toBe(207);
    expect(without.last.json.rejected?.map((rejection) => rejection.index)).toEqual([1]);
  });

  it('takes the producer of the request from its path, else from its documents when they name one; 207 stays the default', async () => {
    const url = gateway?.url ?? '';
    const viaPath = await post(`${url}/cmssst`, hammercloudBatch(180_000));
    expect([viaPath.status, viaPath.json.rejected?.length]).toEqual([200, 1]);
    // A batch of two producers has no producer of its own: the default answer.
    const mixed = [...hammercloudBatch(240_000), { producer: 'escape_wp2', type: 'sam_gfal', timestamp: CORPUS_BASE_MS + offsetMs + 240_000, site: 'mixed', status: 'SUCCESS' }];
    const mixedAnswer = await post(`${url}/`, mixed);
    expect([mixedAnswer.status, mixedAnswer.json.accepted, mixedAnswer.json.rejected?.map((rejection) => rejection.index)]).toEqual([207, 2, [1]]);
    // A producer set to 207 keeps 207; an all-refused batch of a 200 producer gets 200 with its report.
    const escape = await post(`${url}/`, [
      { producer: 'escape_wp2', type: 'sam_gfal', timestamp: CORPUS_BASE_MS + offsetMs + 300_000, site: 'a', status: 'SUCCESS' },
      { producer: 'escape_wp2', type: 'sam_gfal', timestamp: CORPUS_BASE_MS + offsetMs + 300_000, site: 'b', status: 'SUCCESS' },
    ]);
    expect(escape.status).toBe(207);
    const allRefused = await post(`${url}/`, [{ producer: 'cmssst', type: 'ssbmetric', timestamp: 1e16, data: { name: 'x' } }]);
    expect(allRefused).toEqual({ status: 200, json: { accepted: 0, rejected: [{ index: 0, reason: expect.stringMatching(/^timestamp 10000000000000000 looks like microseconds/) as unknown }] } });
    // Answered 200 or not, every refusal is counted by its class.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^gateway_documents_rejected_total\{reason="timestamp"\} 1$/m);
    expect(metrics).toMatch(/^gateway_documents_rejected_total\{reason="collision"\} [1-9]/m);
  });
});

describe('[gateway.partial_success] settings', () => {
  const settings = (extra: string): ReturnType<typeof gatewaySettings> => gatewaySettings(Config.parse(`[gateway]\nlisten = 127.0.0.1:1\ntoken = t\n${extra}`, 'test.cfg'));

  it('lists the producers answered 200, and refuses any status but 200 or 207, naming the key', () => {
    expect([...settings('[gateway.partial_success]\ncmssst = 200\nother = 207\n').partialSuccess200]).toEqual(['cmssst']);
    expect(settings('').partialSuccess200.size).toBe(0);
    expect(() => settings('[gateway.partial_success]\ncmssst = 201\n')).toThrow('test.cfg: [gateway.partial_success] cmssst must be 200 or 207 (the status of a batch with refused documents), got 201');
    expect(() => settings('[gateway.partial_success]\ncmssst = yes\n')).toThrow(/\[gateway\.partial_success\] cmssst must be a number/);
  });
});
