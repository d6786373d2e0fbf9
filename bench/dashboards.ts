import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SchemaRegistry } from '../lib/documents/schemas';
import { startInfluxDB } from '../test/support/services';
import { schemaRegistry } from '../lib/documents/schemas';
import type { Dashboard } from '../dashboards/grafana';
import { DASHBOARDS_JSON_DIR } from '../dashboards/provisioning';
import { writeRetentionsMeasurement } from '../downsample/retentions';
import { writeSyntheticData } from '../test/support/dashboards/syntheticData';
import { allPanels, interpolate, relativeRange, resolveVariables } from '../test/support/dashboards/verify';
import { median, ratio } from './support';

/**
 * A one-year panel ("Jobs per cloud by state" of the PanDA dashboard) against a year of synthetic
 * 10-minute data, downsampled to 1d by InfluxDB itself as the downsample job does. The query is timed
 * as the dashboard runs it (on the RP its variables select for a year: 1d) and, in the same run, with
 * only the RP changed to raw. Also timed: the same 1d points in an RP with 52-week shards.
 */
const SERIES = Number(process.env.BENCH_SERIES ?? 24);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 7);
const DAY_MS = 86_400_000;
const DATABASE = '"monit_production_panda"';

async function main(): Promise<void> {
  const influx = await startInfluxDB();
  try {
    const now = Date.now();
    const jobs = schemaRegistry().require('panda', 'jobs');
    const started = performance.now();
    const points = await writeSyntheticData(influx.client, new SchemaRegistry([jobs]), {
      nowMs: now,
      spans: [{ rp: 'raw', stepMs: 600_000, spanMs: 366 * DAY_MS }],
      durations: { raw: '400d', '1h': '400d', '1d': 'INF' },
      minSeries: SERIES,
    });
    console.log(`wrote ${points} raw points (${SERIES} series, one year at 10 minutes) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    // What the downsample jobs leave in 1d: daily means computed by InfluxDB, a month per statement.
    const downsampled = performance.now();
    for (let start = Math.floor((now - 367 * DAY_MS) / DAY_MS) * DAY_MS; start < now; start += 30 * DAY_MS) {
      const window = `time >= ${start}ms AND time < ${start + 30 * DAY_MS}ms`;
      await influx.client.query(`SELECT mean("jobs") AS "jobs" INTO ${DATABASE}."1d"."jobs" FROM ${DATABASE}."raw"."jobs" WHERE ${window} GROUP BY time(1d), * fill(none)`);
    }
    console.log(`downsampled to 1d in ${((performance.now() - downsampled) / 1000).toFixed(1)} s`);
    // The same 1d points in an RP with year-long shards: InfluxDB gives an RP of infinite duration 7-day shards.
    await influx.client.query(`CREATE RETENTION POLICY "1d_52w" ON ${DATABASE} DURATION INF REPLICATION 1 SHARD DURATION 52w`);
    await influx.client.query(`SELECT * INTO ${DATABASE}."1d_52w"."jobs" FROM ${DATABASE}."1d"."jobs" GROUP BY *`);
    await writeRetentionsMeasurement(influx.client);

    const dashboard = JSON.parse(readFileSync(path.join(DASHBOARDS_JSON_DIR, 'monit-panda.json'), 'utf8')) as Dashboard;
    const panel = allPanels(dashboard.panels).find((one) => one.title === 'Jobs per cloud by state');
    if (!panel?.targets) throw new Error('panel "Jobs per cloud by state" not found in monit-panda.json');
    const range = relativeRange('1y', now);
    const { values } = await resolveVariables(dashboard, influx.client, range, ['monit-influxdb']);
    const selected = interpolate(panel.targets[0].query, values, range);
    const rp = values.get('rp');
    if (!rp || rp.value.kind !== 'single') throw new Error('no $rp');
    values.set('rp', { variable: rp.variable, value: { kind: 'single', value: 'raw' } });
    const onRaw = interpolate(panel.targets[0].query, values, range);
    console.log(`dashboard selects RP ${rp.value.value} for one year`);
    console.log(`query: ${selected}`);

    const longShards = selected.replace(`${DATABASE}."1d".`, `${DATABASE}."1d_52w".`);
    const timings = { selected: [] as number[], raw: [] as number[], longShards: [] as number[] };
    const shapes = { selected: '', raw: '', longShards: '' };
    for (let repeat = 0; repeat <= REPEATS; repeat++) {
      for (const [name, query] of [
        ['selected', selected],
        ['raw', onRaw],
        ['longShards', longShards],
      ] as const) {
        const before = performance.now();
        const [series = []] = await influx.client.query(query);
        const elapsed = performance.now() - before;
        if (repeat > 0) timings[name].push(elapsed); // the first round warms both up
        shapes[name] = `${series.length} series, ${series.reduce((sum, one) => sum + one.values.length, 0)} points`;
      }
    }
    const selectedMs = median(timings.selected);
    const rawMs = median(timings.raw);
    console.log(`on ${rp.value.value}: ${selectedMs.toFixed(1)} ms (median of ${REPEATS}), ${shapes.selected}`);
    console.log(`on raw: ${rawMs.toFixed(1)} ms (median of ${REPEATS}), ${shapes.raw}`);
    console.log(`raw / ${rp.value.value}: ${ratio(rawMs, selectedMs)} (the selected RP is that many times faster)`);
    const longMs = median(timings.longShards);
    console.log(`on 1d with 52-week shards: ${longMs.toFixed(1)} ms, ${shapes.longShards}; raw / that: ${ratio(rawMs, longMs)}`);
  } finally {
    await influx.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
