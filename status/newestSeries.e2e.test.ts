/**
 * The status job remembers, for each prefiltered part, the series that held the newest point
 * (var/state/status/newest-series.json), and the next run checks that series alone for freshness.
 * Against a real InfluxDB: the file's content, the statements of the second run, a dry run, a stale
 * series, and a file that is not this state.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { DocumentFactory } from '../lib/documents/document';
import { toLineProtocol } from '../lib/influx/lineProtocol';
import { slotStart } from '../lib/run/slot';
import { MemoryLogger } from '../lib/run/log';
import { freshnessStatements } from '../test/support/freshnessStatements';
import { RecordingInfluxClient } from '../test/support/recordingInfluxClient';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import { runStatus, type StatusRunResult } from './job';
import { seriesSetKey } from './judgeParts';

const MINUTE = 60e3;
const PERIOD = 10 * MINUTE;
const SLOT = slotStart(Date.now(), PERIOD);
const NOW = SLOT + 8 * MINUTE;
const DATABASE = 'monit_production_scale';
const SERIES = 50;
/** Where the job keeps the part's newest series. */
const KEY = seriesSetKey({ producer: 'scale', type: 'nodes', fields: ['errors'], where: [] });
const NEWEST = { [KEY]: { node: 'n0', rack: 'r0' } };

let influx: TestInfluxDB;
let dir: string;
let stateFile: string;

/** Series n0..n49, each with one point (index + 1) minutes before NOW: n0 holds the newest. */
async function writeSeries(): Promise<void> {
  const lines = Array.from({ length: SERIES }, (_, index) =>
    toLineProtocol({ database: DATABASE, measurement: 'nodes', tags: { node: `n${index}`, rack: `r${index % 4}` }, fields: [{ name: 'errors', type: 'int', value: index === 7 ? 5 : 0 }], timestampMs: NOW - (index + 1) * MINUTE }),
  );
  await influx.client.write(DATABASE, lines.join('\n'), { precision: 'ms' });
}

beforeAll(async () => {
  influx = await startInfluxDB();
  await influx.client.ensureDatabase(DATABASE, { raw: 'INF', '1h': 'INF', '1d': 'INF' });
  await writeSeries();
  dir = testDir('status-newest-series');
  stateFile = path.join(dir, 'state', 'newest-series.json');
}, 60_000);

afterAll(async () => {
  await influx?.stop();
});

const CONFIG = (influxUrl: string, varDir: string): string =>
  `[paths]\nvar = ${varDir}\n[influxdb]\nurl = ${influxUrl}\n[status]\ndefault_rules =\n` +
  '[status.module.nodes]\ncollector = none\nmeasurement = scale/nodes\nfields = errors\nfreshness = 30m\nwindow = 10m\n' +
  'prefilter = errors > 0\ndegraded = max(errors) > 0\ndegraded_reason = {series} has errors\n';

async function run(options: { dryRun?: boolean; pastSlot?: boolean } = {}): Promise<{ result: StatusRunResult; statements: string[]; log: MemoryLogger }> {
  const client = new RecordingInfluxClient(influx.url);
  const log = new MemoryLogger('status');
  const result = await runStatus({
    config: Config.parse(CONFIG(influx.url, dir), 'newest.cfg'),
    influxdb: client,
    // A past slot (a backfill) is one whose end has passed and that is given no nowMs.
    documents: new DocumentFactory({ slotMs: options.pastSlot ? SLOT - 6 * PERIOD : SLOT }),
    log,
    stateDir: path.join(dir, 'state'),
    nowMs: options.pastSlot ? undefined : NOW,
    dryRun: options.dryRun,
  });
  return { result, statements: client.statements, log };
}

const freshness = (statements: string[]): string[] => freshnessStatements(statements, 'errors');

test('a dry run reads every series and writes no state', async () => {
  const { result, statements } = await run({ dryRun: true });
  expect(result.statuses[0]).toMatchObject({ module: 'nodes', state: 'degraded', lastDataMs: NOW - MINUTE });
  expect(freshness(statements)).toEqual([expect.not.stringContaining('"node" =')]);
  expect(existsSync(stateFile)).toBe(false);
});

test('the first run reads every series and remembers the one with the newest point; the next checks it alone', async () => {
  const first = await run();
  expect(first.result.statuses[0]).toMatchObject({ state: 'degraded', lastDataMs: NOW - MINUTE });
  expect(freshness(first.statements)).toHaveLength(1);
  expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual(NEWEST);
  const writtenAt = statSync(stateFile).mtimeMs;

  const second = await run();
  expect(freshness(second.statements)).toEqual([expect.stringMatching(/AND "node" = 'n0' AND "rack" = 'r0'$/)]);
  expect(second.result.statuses).toEqual(first.result.statuses);
  expect(second.result.documents).toEqual(first.result.documents);
  // Nothing changed: the file is not written again.
  expect(statSync(stateFile).mtimeMs).toBe(writtenAt);
});

test('a dry run and a past slot (backfill) use the file but leave it as it is, even a stale or damaged one', async () => {
  for (const content of [JSON.stringify({ [KEY]: { node: 'gone' } }), '{not json']) {
    for (const options of [{ dryRun: true }, { pastSlot: true }]) {
      writeFileSync(stateFile, content);
      const { result, log } = await run(options);
      expect(result.statuses[0].module).toBe('nodes');
      expect(readFileSync(stateFile, 'utf8')).toBe(content);
      const warnings = log.lines.filter((line) => line.startsWith('WARN'));
      expect(warnings).toEqual(content.startsWith('{not') ? [expect.stringMatching(/ignored \(a dry run or a past slot leaves it as it is\)$/)] : []);
    }
  }
});

test('series sets no prefiltered part reads any more are forgotten', async () => {
  writeFileSync(stateFile, JSON.stringify({ ...NEWEST, [seriesSetKey({ producer: 'scale', type: 'retired', fields: ['errors'], where: [{ tag: 'site', value: 'x' }] })]: { node: 'n1' } }));
  const { statements } = await run();
  expect(freshness(statements)).toEqual([expect.stringContaining(`"node" = 'n0'`)]);
  expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual(NEWEST);
});

test('a remembered series that went stale: every series is read again and the newest one is remembered', async () => {
  writeFileSync(stateFile, JSON.stringify({ [KEY]: { node: 'gone', rack: 'r9' } }));
  const { result, statements } = await run();
  expect(result.statuses[0]).toMatchObject({ state: 'degraded', lastDataMs: NOW - MINUTE });
  const checks = freshness(statements);
  expect(checks).toHaveLength(2);
  expect(checks[0]).toContain(`"node" = 'gone'`);
  expect(checks[1]).not.toContain('"node" =');
  expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual(NEWEST);
});

test('a file that is not this state: a warning, every series read, the file written afresh', async () => {
  writeFileSync(stateFile, '{not json');
  const { result, statements, log } = await run();
  expect(result.statuses[0]).toMatchObject({ state: 'degraded', lastDataMs: NOW - MINUTE });
  expect(log.lines.filter((line) => line.startsWith('WARN'))).toEqual([expect.stringMatching(/newest-series\.json is not JSON \(.*\); ignored, and replaced after this run$/)]);
  expect(freshness(statements)).toEqual([expect.not.stringContaining('"node" =')]);
  expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual(NEWEST);
});
