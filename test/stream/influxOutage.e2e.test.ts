/**
 * Issue 22, what must be shown, item 2: InfluxDB down for several collector cycles. Real runs of the
 * command collector (the job runner, its spool and sender, as cron starts it) send through
 * `./run.sh gateway` on the stream route to a nats-server; two `./run.sh writer` write to InfluxDB 1.6.
 * While InfluxDB is stopped the gateway keeps answering 2xx, the runs leave nothing in their spool and
 * the stream's backlog grows run after run; once InfluxDB is back it drains, every document once.
 * Spawns dist/cli/main.js: build first (npx tsc -p tsconfig.build.json).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import collector from '../../collectors/command/collector';
import { Config } from '../../lib/config/config';
import { databaseFor } from '../../lib/documents/interpret';
import { HEARTBEAT, runPeriodicJob } from '../../lib/run/jobRunner';
import { TEN_MINUTES_MS } from '../../lib/run/slot';
import { subjectFor } from '../../lib/stream/messages';
import { TEST_TOKEN, type GatewayProcess } from '../support/gateway';
import { useStreamServers } from '../support/fixtures';
import { testDir } from '../support/services';
import { consumerLag, metricTotal, scrapeMetrics, spawnStreamGateway, spawnStreamWriter, streamSection, until, type WriterProcess } from '../support/streamRoute';

jest.setTimeout(600_000);

const STREAM = 'OUTAGE';
/** Commands each run runs, each giving one command/result document; the run adds its heartbeat. */
const COMMANDS = Array.from({ length: 24 }, (_, index) => `c${String(index + 1).padStart(2, '0')}`);
const DOCUMENTS_PER_RUN = COMMANDS.length + 1;
/** Runs while InfluxDB is down, at successive slots. */
const RUNS = 4;
/** The first slot: two hours ago, well inside the raw retention. */
const FIRST_SLOT = Math.floor(Date.now() / TEN_MINUTES_MS) * TEN_MINUTES_MS - 12 * TEN_MINUTES_MS;
const job = { name: 'command', periodMs: TEN_MINUTES_MS, run: collector.collect };

const servers = useStreamServers(1);

/** Every file under `dir`, at any depth (folders themselves are not listed). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

/** The fields of a heartbeat as its stream message has them: line protocol `run,job=command a=1i,b=... <ms>`. */
function heartbeatFields(line: string): Record<string, string> {
  const fields = line.split(' ')[1] ?? '';
  return Object.fromEntries(fields.split(',').map((pair) => pair.split('=') as [string, string]));
}

test('InfluxDB stopped for four runs of a collector: each run sends everything (2xx, empty spool), the stream lag grows; once InfluxDB is back it drains, every document once', async () => {
  const { cluster, influx, manager } = servers;
  const stream = streamSection(STREAM, cluster.servers);
  const gateway: GatewayProcess = await spawnStreamGateway(influx.url, stream);
  const writers: WriterProcess[] = [];
  const varDir = testDir('outage-collector');
  const config = Config.parse(
    [
      `[paths]\nvar = ${varDir}`,
      `[monit]\nurl = ${gateway.url}/\ntoken = ${TEST_TOKEN}`,
      `[influxdb]\nurl = ${influx.url}`,
      '[command]\ntimeout = 10s\nconcurrency = 8',
      ...COMMANDS.map((name) => `[command.${name}]\ncommand = true`),
    ].join('\n'),
    'outage.cfg',
  );
  const spoolDir = path.join(varDir, 'spool', job.name);
  let influxStopped = false;
  try {
    await until('the gateway connected to the stream', async () => ((await fetch(`${gateway.url}/ping`)).status === 200 ? true : undefined));
    writers.push(await spawnStreamWriter(influx.url, stream, { max_retry_delay: '2s' }));
    writers.push(await spawnStreamWriter(influx.url, stream, { max_retry_delay: '2s' }));

    await influx.stop();
    influxStopped = true;
    const lags: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const slot = FIRST_SLOT + run * TEN_MINUTES_MS;
      const outcome = await runPeriodicJob(job, { config, deadlineMs: 120_000, timeMs: slot, echoLog: false });
      // The run collected its documents and the gateway took all of them and the heartbeat: none waits in the spool.
      expect(outcome).toMatchObject({ ok: true, documents: COMMANDS.length, problems: 0 });
      expect(outcome.report).toMatchObject({ documentsSent: DOCUMENTS_PER_RUN, documentsRejected: 0, documentsDropped: 0, documentsSpooled: 0 });
      expect(filesUnder(spoolDir)).toEqual([]);
      // Its heartbeat, waiting in the stream (InfluxDB is down), says the same.
      const heartbeat = await manager.streams.getMessage(STREAM, { last_by_subj: subjectFor(STREAM.toLowerCase(), HEARTBEAT.producer) });
      expect(heartbeat.string()).toMatch(new RegExp(`^${HEARTBEAT.type},job=command .* ${slot}$`));
      expect(heartbeatFields(heartbeat.string())).toMatchObject({ ok: 'true', documents_sent: `${COMMANDS.length}i`, documents_spooled: '0i', documents_rejected: '0i' });
      // Nothing of it is written: the backlog is every document of every run so far.
      lags.push(await consumerLag(manager, STREAM));
      expect(lags[run]).toBe((run + 1) * DOCUMENTS_PER_RUN);
      expect((await manager.streams.info(STREAM)).state.messages).toBe((run + 1) * DOCUMENTS_PER_RUN);
    }
    // The writers were trying all along.
    await until('the writers failing to write', async () => {
      const pages = await Promise.all(writers.map((writer) => writer.metrics()));
      return pages.some((page) => metricTotal(page, 'writer_influxdb_write_errors_total') > 0) ? true : undefined;
    });
    // The gateway answered every POST 200 while InfluxDB was down (the runs' reports say so too), and took every document.
    const gatewayMetrics = await scrapeMetrics(gateway.url);
    const posts = [...gatewayMetrics].filter(([series, count]) => series.startsWith('gateway_requests_total{path="ingest",') && count > 0);
    expect(posts.map(([series]) => series)).toEqual(['gateway_requests_total{path="ingest",code="200"}']);
    expect(metricTotal(gatewayMetrics, 'gateway_documents_accepted_total')).toBe(RUNS * DOCUMENTS_PER_RUN);

    await influx.start();
    influxStopped = false;
    let lag = -1;
    await until(
      () => `the backlog drained (lag ${lag}; writers: ${writers.map((writer) => writer.output()).join('\n---\n')})`,
      async () => ((lag = await consumerLag(manager, STREAM)) === 0 ? true : undefined),
    );

    // Every document of every run is in InfluxDB once: a command/result point per command and slot, a heartbeat per slot.
    const slots = Array.from({ length: RUNS }, (_, run) => FIRST_SLOT + run * TEN_MINUTES_MS);
    const results = await influx.client.rows(`SELECT "up", "command" FROM "result" WHERE time >= ${FIRST_SLOT}ms`, { database: databaseFor('command') });
    expect(results.map((row) => `${row.time} ${row.command} ${row.up}`).sort()).toEqual(slots.flatMap((slot) => COMMANDS.map((name) => `${slot} ${name} 1`)).sort());
    const heartbeats = await influx.client.rows(`SELECT "ok", "documents_sent", "documents_spooled", "documents_rejected" FROM "${HEARTBEAT.type}" WHERE "job" = 'command'`, { database: databaseFor(HEARTBEAT.producer) });
    expect(heartbeats).toEqual(slots.map((slot) => ({ time: slot, ok: true, documents_sent: COMMANDS.length, documents_spooled: 0, documents_rejected: 0 })));
    // Each written once: the writers' points_written_total adds up to every document, no more.
    const pages = await Promise.all(writers.map((writer) => writer.metrics()));
    expect(pages.reduce((sum, page) => sum + metricTotal(page, 'writer_points_written_total'), 0)).toBe(RUNS * DOCUMENTS_PER_RUN);
    for (const writer of writers) expect(writer.process().exitCode).toBeNull();
    // Each document one message, all acknowledged; none refused into the dead letters.
    expect((await manager.streams.info(STREAM)).state).toMatchObject({ messages: 0, last_seq: RUNS * DOCUMENTS_PER_RUN });
    expect((await manager.streams.info(`${STREAM}_DEAD`)).state.messages).toBe(0);
    console.log(`InfluxDB outage: stream lag after each run ${lags.join(', ')}; writers: ${pages.map((page) => `${metricTotal(page, 'writer_points_written_total')} written, ${metricTotal(page, 'writer_influxdb_write_errors_total')} failed writes`).join('; ')}`);
  } finally {
    if (influxStopped) await influx.start();
    await Promise.all([gateway.stop(), ...writers.map((writer) => writer.stop())]);
  }
});
