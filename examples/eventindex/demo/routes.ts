/**
 * The demo HTTP server's EventIndex answers: the web interface and its JSON status, the nightly build
 * summary, the event picking service the picking test asks, two EventIndex machines' node_exporter,
 * and WebHDFS content summaries of the EventIndex folders. Each reads its module's switch on every
 * request. Values move with the clock, so the dashboards show lines rather than constants.
 */
import type { Config } from '../../../lib/config/config';
import type { DemoAnswer, DemoRoute } from '../../../scripts/quickstart/components';
import { isFailing, type ModuleName } from './switches';

const json = (body: (url: URL) => unknown, status?: () => number): DemoRoute => ({ contentType: 'application/json', body: (url) => JSON.stringify(body(url)), status });

function failing(config: Config | undefined, module: ModuleName): boolean {
  return config !== undefined && isFailing(config, module);
}

const minutesOfDay = (): number => Math.floor(Date.now() / 60_000) % 1440;

/** The web interface's own status endpoint, in the shape a service health page commonly has. */
function webStatus(config: Config | undefined): unknown {
  const down = failing(config, 'web');
  return {
    service: 'EventIndex web interface',
    state: down ? 'down' : 'ok',
    checks: { total: 4, failed: down ? 3 : 0, hbase: down ? 'timeout' : 'ok', oracle: 'ok', hadoop: down ? 'timeout' : 'ok', kafka: down ? 'error' : 'ok' },
    queue: { length: 3 + (minutesOfDay() % 9) },
  };
}

const PLATFORMS = ['x86_64-el9-gcc13-opt', 'x86_64-el9-gcc13-dbg', 'x86_64-el9-clang16-opt', 'aarch64-el9-gcc13-opt'];

/** A nightly build summary: per-platform results and their totals. */
function nightlySummary(config: Config | undefined): unknown {
  const broken = failing(config, 'nightly');
  const builds = PLATFORMS.map((platform, index) => ({ platform, status: broken && index < 2 ? 'failed' : 'ok', tests: { total: 62, failed: 0 } }));
  const today = new Date().toISOString().slice(0, 10);
  return {
    project: 'EventIndex',
    release: 'main--24.0',
    nightly: `${today}T03:00:00Z`,
    builds,
    summary: {
      builds_total: builds.length,
      builds_failed: builds.filter((build) => build.status === 'failed').length,
      tests_total: builds.reduce((total, build) => total + build.tests.total, 0),
      tests_failed: builds.reduce((total, build) => total + build.tests.failed, 0),
    },
  };
}

/** One event lookup: the GUID of the file holding (run, event), as the picking service answers. */
function pickedEvent(url: URL): unknown {
  const run = Number(url.searchParams.get('run') ?? 0);
  const event = Number(url.searchParams.get('event') ?? 0);
  const guid = [run, event, run ^ event, 0xe1, 0xda7a].map((part) => (part >>> 0).toString(16).padStart(8, '0')).join('').slice(0, 32);
  return { run, event, format: 'AOD', guid: `${guid.slice(0, 8)}-${guid.slice(8, 12)}-${guid.slice(12, 16)}-${guid.slice(16, 20)}-${guid.slice(20, 32)}`.toUpperCase() };
}

/**
 * A node_exporter answer (Prometheus text format) of one EventIndex machine, with the metrics the host
 * collector reads (collectors/host/node-sample.ts): counters grow with the clock, so rates come out.
 */
function nodeExposition(machine: { cores: number; memoryBytes: number; diskBytes: number; diskUsed: number }): string {
  const now = Date.now() / 1000;
  const boot = Math.floor(now / 86_400) * 86_400 - 3 * 86_400;
  const up = now - boot;
  const lines = ['# TYPE node_cpu_seconds_total counter'];
  for (let cpu = 0; cpu < machine.cores; cpu += 1) {
    for (const [mode, share] of [['idle', 0.7], ['user', 0.22], ['system', 0.05], ['iowait', 0.03]] as const) lines.push(`node_cpu_seconds_total{cpu="${cpu}",mode="${mode}"} ${(up * share).toFixed(2)}`);
  }
  const free = machine.diskBytes - machine.diskUsed;
  lines.push(
    '# TYPE node_filesystem_size_bytes gauge',
    `node_filesystem_size_bytes{device="/dev/vda1",fstype="xfs",mountpoint="/"} ${machine.diskBytes}`,
    '# TYPE node_filesystem_free_bytes gauge',
    `node_filesystem_free_bytes{device="/dev/vda1",fstype="xfs",mountpoint="/"} ${free}`,
    '# TYPE node_filesystem_avail_bytes gauge',
    `node_filesystem_avail_bytes{device="/dev/vda1",fstype="xfs",mountpoint="/"} ${free}`,
    '# TYPE node_load1 gauge',
    `node_load1 ${(machine.cores * 0.3 + (minutesOfDay() % 7) / 10).toFixed(2)}`,
    '# TYPE node_load5 gauge',
    `node_load5 ${(machine.cores * 0.3).toFixed(2)}`,
    '# TYPE node_load15 gauge',
    `node_load15 ${(machine.cores * 0.28).toFixed(2)}`,
    '# TYPE node_memory_MemTotal_bytes gauge',
    `node_memory_MemTotal_bytes ${machine.memoryBytes}`,
    '# TYPE node_memory_MemAvailable_bytes gauge',
    `node_memory_MemAvailable_bytes ${Math.round(machine.memoryBytes * (0.45 + (minutesOfDay() % 10) / 100))}`,
    '# TYPE node_network_receive_bytes_total counter',
    `node_network_receive_bytes_total{device="eth0"} ${Math.round(up * 4.5e6)}`,
    '# TYPE node_network_transmit_bytes_total counter',
    `node_network_transmit_bytes_total{device="eth0"} ${Math.round(up * 2.1e6)}`,
    '# TYPE node_boot_time_seconds gauge',
    `node_boot_time_seconds ${boot}`,
    '# TYPE node_time_seconds gauge',
    `node_time_seconds ${now.toFixed(3)}`,
  );
  return `${lines.join('\n')}\n`;
}

const TB = 1e12;

/**
 * WebHDFS GETCONTENTSUMMARY (apache/hadoop WebHDFS.md, "Get Content Summary of a Directory") of the
 * EventIndex's folders: the datasets grow through the day towards their space quota (the volumes
 * switch fills it to 97%); HBase's tables have no quota (-1, as HDFS says "none").
 */
function contentSummary(config: Config | undefined, folder: 'datasets' | 'hbase'): unknown {
  const growth = minutesOfDay() / 1440;
  if (folder === 'hbase') {
    const length = Math.round((310 + 5 * growth) * TB);
    return { ContentSummary: { directoryCount: 48_211, fileCount: 611_904, length, quota: -1, spaceConsumed: length * 3, spaceQuota: -1, typeQuota: {} } };
  }
  const spaceQuota = 3000 * TB;
  const length = Math.round(((failing(config, 'volumes') ? 0.97 : 0.62 + 0.02 * growth) * spaceQuota) / 3);
  return { ContentSummary: { directoryCount: 12_530, fileCount: 2_104_377 + Math.round(growth * 5000), length, quota: 5_000_000, spaceConsumed: length * 3, spaceQuota, typeQuota: {} } };
}

const MACHINES = {
  'ei-web01': { cores: 8, memoryBytes: 32 * 2 ** 30, diskBytes: 200 * 2 ** 30, diskUsed: 61 * 2 ** 30 },
  'ei-consumer01': { cores: 16, memoryBytes: 64 * 2 ** 30, diskBytes: 500 * 2 ** 30, diskUsed: 212 * 2 ** 30 },
};

/** Every route of the example; `config` is the demo server's (set when it starts), for the switches. */
export function eventIndexRoutes(config: () => Config | undefined): Record<string, DemoRoute> {
  const routes: Record<string, DemoRoute> = {
    '/eventindex/web/ui': {
      contentType: 'text/html',
      body: () => (failing(config(), 'web') ? '<html><body><h1>503 Service Unavailable</h1></body></html>' : '<html><body><h1>ATLAS EventIndex</h1><p>Event lookup, event picking, trigger overlap.</p></body></html>'),
      status: () => (failing(config(), 'web') ? 503 : 200),
    },
    '/eventindex/web/status.json': json(() => webStatus(config())),
    '/eventindex/nightly/summary.json': json(() => nightlySummary(config())),
    '/eventindex/picking': json(pickedEvent, () => (failing(config(), 'picking') ? 503 : 200)),
    '/webhdfs/v1/eventindex/datasets': json(() => contentSummary(config(), 'datasets')),
    '/webhdfs/v1/hbase/data': json(() => contentSummary(config(), 'hbase')),
  };
  for (const [name, machine] of Object.entries(MACHINES)) {
    routes[`/eventindex/hosts/${name}/metrics`] = {
      contentType: 'text/plain; version=0.0.4',
      body: () => (failing(config(), 'computers') && name === 'ei-consumer01' ? 'node_exporter is not running\n' : nodeExposition(machine)),
      // The computers switch takes one machine away.
      status: () => (failing(config(), 'computers') && name === 'ei-consumer01' ? 503 : 200),
    };
  }
  return routes;
}

/**
 * The Hadoop switch: the daemons' web interfaces that the hadoop collector's demo answers (the
 * NameNode's and the HBase master's /jmx, the ResourceManager's REST API) answer 503.
 */
export function hadoopOverride(config: () => Config | undefined): (url: URL) => DemoAnswer | undefined {
  return (url) => {
    if (!failing(config(), 'hadoop')) return undefined;
    if (!url.pathname.endsWith('/jmx') && !url.pathname.startsWith('/ws/v1/')) return undefined;
    return { status: 503, contentType: 'text/plain', body: 'HTTP ERROR 503 Service Unavailable (EventIndex demo: the hadoop switch is on)\n' };
  };
}
