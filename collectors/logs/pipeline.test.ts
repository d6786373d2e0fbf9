import { appendFileSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { runPeriodicJob } from '../../lib/run/jobRunner';
import { TEN_MINUTES_MS } from '../../lib/run/slot';
import { useInfluxAndGateway } from '../../test/support/fixtures';
import { TEST_TOKEN } from '../../test/support/gateway';
import collector from './collector';

const servers = useInfluxAndGateway();
const job = { name: 'logs', periodMs: TEN_MINUTES_MS, run: collector.collect };
const database = { database: 'monit_production_logs' };

test('values through the runner, the gateway and InfluxDB: typed by their schema, across a rotation, each line once', async () => {
  const varDir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'logs-pipeline-'));
  const logDir = path.join(varDir, 'log');
  mkdirSync(logDir);
  const log = path.join(logDir, 'consumer.log');
  const config = Config.parse(
    `[paths]\nvar = ${varDir}\n[monit]\nurl = ${servers.gateway.url}/\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = ${servers.influx.url}\n` +
      `[logs]\nfrom_beginning = true\n` +
      `[logs.pattern.consumer_batch]\nfiles = ${log}\nregex = batch done events=(?<events>\\d+) duration_ms=(?<duration_ms>\\d+) lag_s=(?<lag_s>\\d+)\n` +
      `values = events:sum, events:count, duration_ms:sum, duration_ms:mean, lag_s:last\n` +
      `[logs.pattern.took]\nfiles = ${log}\nregex = duration_ms=(?<ms>\\d+)\nvalues = ms:max\nmeasurement = took_untyped\n`,
    'logs.cfg',
  );
  const line = (events: number, durationMs: number, lagS: number): string => `2026-12-06 07:00:00 INFO consumer batch done events=${events} duration_ms=${durationMs} lag_s=${lagS}\n`;

  writeFileSync(log, line(100, 1000, 5) + line(300, 3000, 7));
  const firstSlot = Date.UTC(2026, 11, 6, 7, 0);
  expect(await runPeriodicJob(job, { config, deadlineMs: 30_000, timeMs: firstSlot, echoLog: false })).toMatchObject({ ok: true, documents: 4 });

  appendFileSync(log, line(50, 500, 9));
  renameSync(log, `${log}.1`);
  writeFileSync(log, line(20, 2000, 11));
  const secondSlot = firstSlot + TEN_MINUTES_MS;
  expect(await runPeriodicJob(job, { config, deadlineMs: 30_000, timeMs: secondSlot, echoLog: false })).toMatchObject({ ok: true, documents: 4 });

  const rows = await servers.influx.client.rows('SELECT "events_sum", "events_count", "duration_ms_sum", "duration_ms_mean", "lag_s_last" FROM "consumer_batch" WHERE "pattern" = \'consumer_batch\'', database);
  expect(rows).toEqual([
    { time: firstSlot, events_sum: 400, events_count: 2, duration_ms_sum: 4000, duration_ms_mean: 2000, lag_s_last: 7 },
    { time: secondSlot, events_sum: 70, events_count: 2, duration_ms_sum: 2500, duration_ms_mean: 1250, lag_s_last: 11 },
  ]);
  const [typed = []] = await servers.influx.client.query('SHOW FIELD KEYS FROM "consumer_batch"', database);
  expect(Object.fromEntries(typed[0]?.values ?? [])).toEqual({ events_sum: 'integer', events_count: 'integer', duration_ms_sum: 'integer', duration_ms_mean: 'float', lag_s_last: 'integer' });
  // Without a schema file every number is a float (the gateway's rule for unknown types).
  expect(await servers.influx.client.rows('SELECT "ms_max" FROM "took_untyped"', database)).toEqual([{ time: firstSlot, ms_max: 3000 }, { time: secondSlot, ms_max: 2000 }]);
  const [untyped = []] = await servers.influx.client.query('SHOW FIELD KEYS FROM "took_untyped"', database);
  expect(Object.fromEntries(untyped[0]?.values ?? [])).toEqual({ ms_max: 'float' });
  const counts = await servers.influx.client.rows('SELECT "matches", "unconverted_values" FROM "pattern" WHERE "pattern" = \'consumer_batch\'', database);
  expect(counts).toEqual([{ time: firstSlot, matches: 2, unconverted_values: 0 }, { time: secondSlot, matches: 2, unconverted_values: 0 }]);
});
