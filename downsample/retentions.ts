/**
 * Which retention policy a dashboard reads, by the length of its time range.
 *
 * Grafana cannot choose an InfluxDB retention policy by itself. The dashboards therefore hold three
 * hidden query variables ($rp, $resolution, $resolution_s) that read one row of a tiny measurement,
 * "monit_dashboards"."forever"."retentions", whose rows say for which range lengths each RP is meant:
 *
 *   SELECT "rp" FROM "monit_dashboards"."forever"."retentions"
 *     WHERE "min_range_ms" < ${__to} - ${__from} AND "max_range_ms" >= ${__to} - ${__from}
 *
 * Grafana re-runs them whenever the time range changes. writeRetentionsMeasurement() writes the rows.
 */
import { parseArgs } from 'node:util';
import { Config, ConfigError } from '../lib/config/config';
import type { InfluxClient, RetentionPolicy } from '../lib/influx/influxdb';
import { toLineProtocol } from '../lib/influx/lineProtocol';
import { quoteIdentifier } from '../lib/influx/influxql';
import { retentionDurations } from '../lib/influx/settings';
import { influxInstances } from '../lib/influx/instances';
import { parseDuration, TEN_MINUTES_MS } from '../lib/run/slot';

export const RETENTIONS_DATABASE = 'monit_dashboards';
/** Its own RP of infinite duration: the rows are stamped at time 0 and must never expire. */
export const RETENTIONS_RP = 'forever';
export const RETENTIONS_MEASUREMENT = 'retentions';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Larger than any time range Grafana can show (about 285,000 years). */
const NO_LIMIT_MS = 9e15;

/** The longest time range (ms) each of the finer RPs is meant for; beyond the last, 1d. */
export interface RetentionThresholds {
  rawMaxRangeMs: number;
  hourlyMaxRangeMs: number;
}

export const DEFAULT_THRESHOLDS: RetentionThresholds = { rawMaxRangeMs: 2 * DAY_MS, hourlyMaxRangeMs: 90 * DAY_MS };

/** One row of the retentions measurement. */
export interface RetentionChoice {
  rp: RetentionPolicy;
  /** The RP's resolution as an InfluxQL duration, for GROUP BY time(...). */
  interval: string;
  intervalSeconds: number;
  /** The row applies to ranges longer than min and at most max. */
  minRangeMs: number;
  maxRangeMs: number;
}

/** The three rows, finest first. Raw data comes every 10 minutes (the collectors' slot). */
export function retentionChoices(thresholds: RetentionThresholds = DEFAULT_THRESHOLDS): RetentionChoice[] {
  if (!(thresholds.rawMaxRangeMs > 0 && thresholds.hourlyMaxRangeMs > thresholds.rawMaxRangeMs)) {
    throw new Error(`retention thresholds must grow: raw up to ${thresholds.rawMaxRangeMs} ms, 1h up to ${thresholds.hourlyMaxRangeMs} ms`);
  }
  return [
    { rp: 'raw', interval: '10m', intervalSeconds: TEN_MINUTES_MS / 1000, minRangeMs: 0, maxRangeMs: thresholds.rawMaxRangeMs },
    { rp: '1h', interval: '1h', intervalSeconds: 3600, minRangeMs: thresholds.rawMaxRangeMs, maxRangeMs: thresholds.hourlyMaxRangeMs },
    { rp: '1d', interval: '1d', intervalSeconds: 86400, minRangeMs: thresholds.hourlyMaxRangeMs, maxRangeMs: NO_LIMIT_MS },
  ];
}

/** The same rule as the variables' query, for code that knows its range (fixed-range panels, tests). */
export function retentionFor(rangeMs: number, thresholds: RetentionThresholds = DEFAULT_THRESHOLDS): RetentionChoice {
  const choice = retentionChoices(thresholds).find((row) => row.minRangeMs < rangeMs && row.maxRangeMs >= rangeMs);
  if (!choice) throw new Error(`no retention policy for a range of ${rangeMs} ms`);
  return choice;
}

/**
 * `[dashboards] raw_max_range` and `1h_max_range` (see dashboards/sample.cfg). Each must fit in its
 * RP's duration ([influxdb] raw_duration, 1h_duration), or long ranges would show holes.
 */
export function retentionThresholdsFrom(config: Config): RetentionThresholds {
  const section = config.section('dashboards');
  const thresholds = { rawMaxRangeMs: section.duration('raw_max_range', '2d'), hourlyMaxRangeMs: section.duration('1h_max_range', '90d') };
  if (thresholds.hourlyMaxRangeMs <= thresholds.rawMaxRangeMs) throw new ConfigError(`${config.file}: [dashboards] 1h_max_range must be longer than raw_max_range`);
  const durations = retentionDurations(config);
  for (const [key, rp, maxMs] of [['raw_max_range', 'raw', thresholds.rawMaxRangeMs], ['1h_max_range', '1h', thresholds.hourlyMaxRangeMs]] as const) {
    const duration = durations[rp];
    if (duration !== 'INF' && parseDuration(duration) < maxMs) throw new ConfigError(`${config.file}: [dashboards] ${key} is longer than [influxdb] ${rp}_duration (${duration})`);
  }
  return thresholds;
}

/** Which column of the retentions rows each dashboard variable reads. */
export const RETENTION_VARIABLES = { rp: 'rp', resolution: 'interval', resolution_s: 'interval_s' } as const;

/** The InfluxQL of one of the variables above, with Grafana's ${__from} / ${__to} (epoch ms). */
export function retentionVariableQuery(column: (typeof RETENTION_VARIABLES)[keyof typeof RETENTION_VARIABLES]): string {
  const from = `${quoteIdentifier(RETENTIONS_DATABASE)}.${quoteIdentifier(RETENTIONS_RP)}.${quoteIdentifier(RETENTIONS_MEASUREMENT)}`;
  const range = '${__to} - ${__from}';
  return `SELECT ${quoteIdentifier(column)} FROM ${from} WHERE "min_range_ms" < ${range} AND "max_range_ms" >= ${range}`;
}

/**
 * Creates the retentions database and writes its three rows (idempotent: same points every time).
 * Every downsample run calls it; main() below writes them by hand, e.g. after changing the thresholds.
 */
export async function writeRetentionsMeasurement(influxdb: InfluxClient, thresholds: RetentionThresholds = DEFAULT_THRESHOLDS): Promise<void> {
  const database = quoteIdentifier(RETENTIONS_DATABASE);
  await influxdb.query(`CREATE DATABASE ${database}`);
  await influxdb.query(`CREATE RETENTION POLICY ${quoteIdentifier(RETENTIONS_RP)} ON ${database} DURATION INF REPLICATION 1`);
  const lines = retentionChoices(thresholds).map((choice, level) =>
    toLineProtocol({
      database: RETENTIONS_DATABASE,
      measurement: RETENTIONS_MEASUREMENT,
      // One series per row, all stamped at time 0, so a rewrite replaces the same three points.
      tags: { level: String(level) },
      fields: [
        { name: 'rp', type: 'string', value: choice.rp },
        { name: 'interval', type: 'string', value: choice.interval },
        { name: 'interval_s', type: 'int', value: choice.intervalSeconds },
        { name: 'min_range_ms', type: 'int', value: choice.minRangeMs },
        { name: 'max_range_ms', type: 'int', value: choice.maxRangeMs },
      ],
      timestampMs: 0,
    }),
  );
  await influxdb.write(RETENTIONS_DATABASE, lines.join('\n'), { retentionPolicy: RETENTIONS_RP, precision: 'ms' });
}

/** `node dist/downsample/retentions.js [--config config.cfg]`: writes the rows into every configured InfluxDB instance. */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  const config = Config.loadDefault(values.config);
  const thresholds = retentionThresholdsFrom(config);
  // Every instance is a Grafana datasource whose dashboards read these rows.
  for (const instance of influxInstances(config).all) await writeRetentionsMeasurement(instance.client, thresholds);
  for (const choice of retentionChoices(thresholds)) {
    console.log(`${choice.rp}: ranges up to ${choice.maxRangeMs >= NO_LIMIT_MS ? 'any length' : `${choice.maxRangeMs / DAY_MS}d`}, buckets of ${choice.interval}`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  });
}
