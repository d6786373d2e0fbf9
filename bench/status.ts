import { Point } from '@influxdata/influxdb-client';
import { Config } from '../lib/config/config';
import { InfluxClient } from '../lib/influx/influxdb';
import { SchemaRegistry } from '../lib/documents/schemas';
import { startInfluxDB } from '../test/support/services';
import { evaluatePart } from '../status/evaluate';
import { readPartData } from '../status/query';
import { loadRules, type ModuleRule, type PartRule } from '../status/rules';
import { ratio } from './support';

/**
 * The status rule of the module with the most series: a per-series rule over panda/jobs_derived against PanDA-scale
 * derived data (2,500 queues × 2 prod sources × 3 resources × 8 states, three slots), with and without
 * its prefilter. Baseline, in the same run: InfluxDB's own cheapest pass over the same points (a
 * count without GROUP BY), which no rule can beat.
 */
const QUEUES = Number(process.env.BENCH_QUEUES ?? 2500);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const MINUTE = 60_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timed(repeats: number, task: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let index = 0; index < repeats; index++) {
    const started = performance.now();
    await task();
    times.push(performance.now() - started);
  }
  return median(times);
}

async function main(): Promise<void> {
  const influx = await startInfluxDB();
  try {
    const client = new InfluxClient(influx.url, { timeoutMs: 600_000 });
    await client.ensureDatabase('monit_production_panda', { raw: 'INF', '1h': 'INF', '1d': 'INF' });
    const now = Date.now();
    const slot = Math.floor(now / (10 * MINUTE)) * 10 * MINUTE;
    const lines: string[] = [];
    for (let queue = 0; queue < QUEUES; queue++) {
      for (const prodSource of ['managed', 'user']) {
        for (const resource of ['SCORE', 'MCORE', 'HIMEM']) {
          for (const state of ['running', 'queued', 'assigned', 'activated', 'finished', 'failed', 'cancelled', 'holding']) {
            for (const timeMs of [slot - 20 * MINUTE, slot - 10 * MINUTE, slot]) {
              const point = new Point('jobs_derived')
                .tag('queue', `Q${queue}`)
                .tag('site', `SITE${queue % 300}`)
                .tag('cloud', `C${queue % 12}`)
                .tag('country', 'CH')
                .tag('tier', String(queue % 3))
                .tag('prod_source', prodSource)
                .tag('resource', resource)
                .tag('job_status', state)
                .intField('current', queue % 50)
                .booleanField('suspicious', timeMs === slot && queue % 97 === 0)
                .timestamp(timeMs);
              lines.push(point.toLineProtocol({ convertTime: (value) => String(value) }) as string);
            }
          }
        }
      }
    }
    const writeStarted = performance.now();
    for (let index = 0; index < lines.length; index += 5000) await client.write('monit_production_panda', lines.slice(index, index + 5000).join('\n'));
    console.log(`wrote ${lines.length} points (${lines.length / 3} series) in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s`);

    // A per-series rule over jobs_derived (about 120k series at PanDA scale): the rule with the most series a
    // prefilter has to keep cheap.
    const perSeriesRule = `[status]\ndefault_rules =\n[status.module.panda]\ncollector = panda-derived\nmeasurement = panda/jobs_derived\nfields = suspicious, current\nwindow = 10m\nprefilter = suspicious == true\ndegraded = latest(suspicious) == true\ndegraded_reason = {matches} suspicious queue series, e.g. {series}\n`;
    const perSeriesPandaRule = (loadRules(Config.parse(perSeriesRule, 'bench'), { registry: new SchemaRegistry([]) }).find((rule) => rule.module === 'panda') as ModuleRule).parts[0];
    const unfiltered: PartRule = { ...perSeriesPandaRule, prefilter: undefined };
    const evaluateAt = slot + 8 * MINUTE;
    const heartbeat = { timeMs: evaluateAt, ok: true, timedOut: false, message: '' };
    let reason = '';
    let seriesRead = 0;
    const run = (rule: PartRule) => async (): Promise<void> => {
      const data = await readPartData(client, rule, evaluateAt, 'raw');
      seriesRead = data.series.length;
      reason = evaluatePart(rule, { nowMs: evaluateAt, heartbeat, ...data }).reason;
    };
    const baseline = await timed(REPEATS, async () => {
      await client.query(`SELECT count("current") FROM "monit_production_panda"."raw"."jobs_derived" WHERE time > '${new Date(evaluateAt - 30 * MINUTE).toISOString()}'`);
    });
    const withPrefilter = await timed(REPEATS, run(perSeriesPandaRule));
    console.log(`per-series rule (prefilter): ${seriesRead} series read; ${reason}`);
    const withoutPrefilter = await timed(REPEATS, run(unfiltered));
    console.log(`without prefilter: ${seriesRead} series read; ${reason}`);
    console.log(`baseline (count over the points, no GROUP BY): ${(baseline / 1000).toFixed(2)} s`);
    console.log(`per-series panda rule:                      ${(withPrefilter / 1000).toFixed(2)} s = ${ratio(withPrefilter, baseline)} the baseline`);
    console.log(`same rule without its prefilter:            ${(withoutPrefilter / 1000).toFixed(2)} s = ${ratio(withoutPrefilter, baseline)} the baseline`);
    console.log(`prefilter speed-up: ${ratio(withoutPrefilter, withPrefilter)}; peak RSS of this process ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  } finally {
    await influx.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
