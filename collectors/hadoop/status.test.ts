import { Config } from '../../lib/config/config';
import { databaseFor } from '../../lib/documents/interpret';
import { InfluxClient } from '../../lib/influx/influxdb';
import { collectedDocuments } from '../../lib/run/collector';
import { runPeriodicJob } from '../../lib/run/jobRunner';
import { TEN_MINUTES_MS } from '../../lib/run/slot';
import { collectorContext } from '../../test/support/collectorContext';
import { useInfluxAndGateway } from '../../test/support/fixtures';
import { TEST_TOKEN } from '../../test/support/gateway';
import { testDir } from '../../test/support/services';
import { evaluateModules } from '../../status/job';
import { loadStatusSettings } from '../../status/settings';
import { HADOOP_NAMENODE, MONIT_COLLECTORS_RUN } from '../../schemas/kinds';
import collector from './collector';
import { readTestdata, type JmxDump, type Recording } from './recordings';
import { recordedServer, type RecordedServer } from './test/recordedServer';

// The shipped rules of collectors/hadoop/status.cfg on the documents of the recorded answers, sent through
// the gateway into a real InfluxDB and judged as the status job judges them.

const servers = useInfluxAndGateway();
const MODULES = ['hadoop', 'hadoop-yarn', 'hadoop-hbase', 'hadoop-volumes'];

/** One run of the hadoop job in the current slot against these recordings, delivered with its heartbeat; then the four modules. */
async function judge(recordings: { nameNode: string; resourceManager: string; hbase: string; paths: string[] }): Promise<Record<string, { state: string; reason: string }>> {
  const started: RecordedServer[] = [];
  const serve = async (content: Parameters<typeof recordedServer>[0]): Promise<string> => {
    const server = await recordedServer(content);
    started.push(server);
    return server.url;
  };
  try {
    const hadoop =
      `[hadoop]\nnamenodes = ${await serve({ jmx: readTestdata<JmxDump>(recordings.nameNode) })}\n` +
      `resourcemanagers = ${await serve({ routes: readTestdata<Recording>(recordings.resourceManager) })}\n` +
      `hbase_masters = ${await serve({ jmx: readTestdata<JmxDump>(recordings.hbase) })}\n` +
      `webhdfs = ${await serve({ routes: readTestdata<Recording>('webhdfs.json') })}\nwebhdfs_paths = ${recordings.paths.join(', ')}\n`;
    const config = `[paths]\nvar = ${testDir('hadoop-status')}\n[monit]\nurl = ${servers.gateway.url}/\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = ${servers.influx.url}\n${hadoop}`;
    const slotMs = Math.floor(Date.now() / TEN_MINUTES_MS) * TEN_MINUTES_MS;
    const influx = new InfluxClient(servers.influx.url);
    // Each test judges only its own documents.
    await influx.query(`DROP DATABASE "${databaseFor(HADOOP_NAMENODE.producer)}"`);
    for (const producer of [HADOOP_NAMENODE.producer, MONIT_COLLECTORS_RUN.producer]) await influx.ensureDatabase(databaseFor(producer), { raw: 'INF', '1h': 'INF', '1d': 'INF' });
    const documents = collectedDocuments(await collector.collect(collectorContext('hadoop', config, { slotMs })));
    const delivery = await runPeriodicJob({ name: 'hadoop', periodMs: TEN_MINUTES_MS, run: async () => documents }, { config: Config.parse(config, 'hadoop-status.test.cfg'), deadlineMs: 30_000, timeMs: slotMs, echoLog: false });
    expect(delivery.ok).toBe(true);
    const statuses = await evaluateModules(servers.influx.client, loadStatusSettings(Config.parse(config, 'hadoop-status.test.cfg')), Date.now());
    return Object.fromEntries(statuses.filter((status) => MODULES.includes(status.module)).map((status) => [status.module, { state: status.state, reason: status.reason }]));
  } finally {
    await Promise.all(started.map((server) => server.close()));
  }
}

test('healthy recordings: the four hadoop modules are available', async () => {
  const modules = await judge({ nameNode: 'healthy.jmx.json', resourceManager: 'resourcemanager-healthy.json', hbase: 'hbase-healthy.jmx.json', paths: ['/eventindex/data', '/eventindex/tmp'] });
  expect(Object.keys(modules).sort()).toEqual([...MODULES].sort());
  for (const module of MODULES) expect([module, modules[module].state]).toEqual([module, 'available']);
});

test('degraded recordings: lost NodeManagers, dead region servers and a missing path turn their modules yellow and red', async () => {
  const modules = await judge({ nameNode: 'healthy.jmx.json', resourceManager: 'resourcemanager-degraded.json', hbase: 'hbase-degraded.jmx.json', paths: ['/eventindex/data', '/eventindex/missing'] });
  expect(modules['hadoop-yarn']).toEqual({ state: 'degraded', reason: expect.stringMatching(/^3 lost NodeManagers on /) });
  expect(modules['hadoop-hbase']).toEqual({ state: 'degraded', reason: expect.stringMatching(/^2 dead region servers on .*: rs03\.cern\.example:16020,rs07\.cern\.example:16020$/) });
  expect(modules['hadoop-volumes']).toEqual({ state: 'unavailable', reason: expect.stringMatching(/\/eventindex\/missing.* cannot be read \(not_found\)/) });
  expect(modules.hadoop.state).toBe('available');
}, 60_000);
