/**
 * What a details page reads, on a real InfluxDB: the pages' one clock, the job's evaluation loop, and
 * the cap on the series a plot reads.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { toLineProtocol } from '../lib/influx/lineProtocol';
import { slotStart } from '../lib/run/slot';
import { RecordingInfluxClient } from '../test/support/recordingInfluxClient';
import { getPage } from '../test/support/pages';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import type { StatusSnapshot } from './snapshot';
import { statusPages } from './pages';
import { loadStatusSettings, type StatusSettings } from './settings';

const MINUTE = 60e3;
const NOW = slotStart(Date.now(), 10 * MINUTE) + 5 * MINUTE;

let influx: TestInfluxDB;
let settings: StatusSettings;

function probe(name: string, latency: number, timestampMs: number): string {
  return toLineProtocol({ database: 'monit_production_web', measurement: 'probe', tags: { name, url: `https://${name}.example` }, fields: [{ name: 'up', type: 'int', value: 1 }, { name: 'latency_ms', type: 'float', value: latency }], timestampMs });
}

beforeAll(async () => {
  influx = await startInfluxDB();
  const dir = testDir('status-details-bounds');
  await influx.client.ensureDatabase('monit_production_web', { raw: 'INF', '1h': 'INF', '1d': 'INF' });
  const lines = [0, 1, 2].map((index) => probe(`p${index}`, 100 + index, NOW - 2 * MINUTE));
  await influx.client.write('monit_production_web', lines.join('\n'), { retentionPolicy: 'raw', precision: 'ms' });
  const configFile = path.join(dir, 'config.cfg');
  writeFileSync(
    configFile,
    `[paths]\nvar = ${dir}/var\n[influxdb]\nurl = ${influx.url}\n[status]\ndefault_rules =\n` +
      `[status.module.probes]\ntitle = Probes\nmeasurement = web/probe\nfields = up, latency_ms\ncollector = none\ndegraded = mean(latency_ms) > 1000\ndegraded_reason = slow\n`,
  );
  settings = loadStatusSettings(Config.load(configFile));
}, 120_000);

afterAll(async () => {
  await influx?.stop();
});

describe('the details pages', () => {
  test('one clock: the main snapshot is read again once the injected clock is 15 s on, like the details', async () => {
    let clock = NOW;
    const recording = new RecordingInfluxClient(influx.url);
    const pages = statusPages(recording, settings, { now: () => clock });
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
});
