import { Config, ConfigError } from '../lib/config/config';
import { DocumentFactory } from '../lib/documents/document';
import { schemaRegistry } from '../lib/documents/schemas';
import { rawDurationWarnings, retentionDurations } from '../lib/influx/settings';
import { XROOTD_FILES_CLOSES, XROOTD_TRANSFERS_SERVERS } from '../schemas/kinds';
import { spawnGatewayProcess, TEST_TOKEN, type GatewayProcess } from '../test/support/gateway';
import { useInfluxDB } from '../test/support/fixtures';

/** [influxdb] producer_raw_duration: a producer's raw retention policy, e.g. short-lived per-file records. */
const servers = useInfluxDB();
let gateway: GatewayProcess | undefined;

beforeAll(async () => {
  // xrootd-file: a typo of xrootd-files, which the gateway's log must point out.
  gateway = await spawnGatewayProcess(servers.influx.url, '[influxdb]\nproducer_raw_duration = xrootd-files=7d, xrootd-file=14d\n');
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
});

test('the listed producer gets its own raw duration, the others raw_duration; 1h and 1d are the same for all', async () => {
  const slotMs = Math.floor(Date.now() / 600_000) * 600_000;
  const documents = new DocumentFactory({ slotMs, host: 'test-host' });
  const body = [
    documents.build(XROOTD_FILES_CLOSES, { server: 's:1094', vo: 'atlas' }, { file_name: '/atlas/a.root', read_bytes: 10, close_time: slotMs + 5 }, slotMs + 5),
    documents.build(XROOTD_TRANSFERS_SERVERS, { server: 's:1094' }, { packets: 3 }),
  ];
  const answer = await fetch(`${gateway?.url}/`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` }, body: JSON.stringify(body) });
  expect(answer.status).toBe(200);
  const policies = async (database: string): Promise<unknown[]> =>
    (await servers.influx.client.rows(`SHOW RETENTION POLICIES ON "${database}"`)).filter((row) => row.name !== 'autogen').map((row) => [row.name, row.duration, row.default]);
  expect(await policies('monit_production_xrootd_files')).toEqual([
    ['raw', '168h0m0s', true],
    ['1h', '9600h0m0s', false],
    ['1d', '0s', false],
  ]);
  expect(await policies('monit_production_xrootd_transfers')).toEqual([
    ['raw', '720h0m0s', true],
    ['1h', '9600h0m0s', false],
    ['1d', '0s', false],
  ]);
  const stored = await servers.influx.client.rows('SELECT "file_name", "read_bytes" FROM "closes"', { database: 'monit_production_xrootd_files' });
  expect(stored).toEqual([expect.objectContaining({ time: slotMs + 5, file_name: '/atlas/a.root', read_bytes: 10 })]);
});

test('a bad producer_raw_duration is a config error naming the key', () => {
  const durations = (value: string) => retentionDurations(Config.parse(`[influxdb]\nproducer_raw_duration = ${value}\n`, 'r.cfg'));
  expect(durations('xrootd-files=7d, my-app=2w').rawByDatabase).toEqual({ monit_production_xrootd_files: '7d', monit_production_my_app: '2w' });
  expect(() => durations('xrootd-files=a week')).toThrow(new ConfigError('r.cfg: [influxdb] producer_raw_duration: xrootd-files must have an InfluxDB duration such as 7d, got "a week"'));
  expect(() => durations('xrootd-files')).toThrow(/\[influxdb\] producer_raw_duration items must be producer=DURATION/);
});

test('a producer_raw_duration producer without a schema is a warning naming it and the producers with schemas', () => {
  const warnings = (value: string) => rawDurationWarnings(Config.parse(`[influxdb]\nproducer_raw_duration = ${value}\n`, 'r.cfg'), schemaRegistry());
  // Another spelling of a producer with a schema writes to its database: no warning.
  expect(warnings('xrootd-files=7d, xrootd_files=7d')).toEqual([]);
  const [typo, other, ...rest] = warnings('xrootd-file=7d, my-app=2w');
  expect(rest).toEqual([]);
  expect(typo).toMatch(/^r\.cfg: \[influxdb\] producer_raw_duration: no schema has producer 'xrootd-file' \(a typo\? producers with schemas: .*\bxrootd-files\b/);
  expect(other).toContain("no schema has producer 'my-app'");
  // Every producer with a schema is listed.
  const producers = [...new Set(schemaRegistry().all().map((schema) => schema.producer))];
  expect(producers.length).toBeGreaterThan(3);
  for (const producer of producers) expect(typo).toContain(producer);
});

test('the gateway logs the misspelt producer at start, and still starts', () => {
  expect(gateway?.stderr()).toContain("[influxdb] producer_raw_duration: no schema has producer 'xrootd-file'");
});

test('a gateway stopped by a config error says so, and not that the status pages are unavailable while ingestion goes on', async () => {
  const started = spawnGatewayProcess(servers.influx.url, '[influxdb]\nproducer_raw_duration = xrootd-files=a week\n');
  await expect(started).rejects.toThrow(/the gateway exited at start \(1\):[^]*producer_raw_duration: xrootd-files must have an InfluxDB duration/);
  await expect(started).rejects.not.toThrow(/status pages unavailable/);
});
