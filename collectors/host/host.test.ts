import { readFileSync, statfsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { collectedDocuments } from '../../lib/run/collector';
import { collectorContext, type TestContext } from '../../test/support/collectorContext';
import { freePort } from '../../test/support/ports';
import { readmeDisagreements } from '../../test/support/readme';
import { startServer, type RunningServer } from '../../test/support/services';
import type { MonitDocument } from '../../lib/documents/types';
import hostCollector, { readSettings } from './collector';
import { Config } from '../../lib/config/config';
import { previousSamplesFile } from './rates';

const TESTDATA = path.join(__dirname, 'testdata');

async function collect(configText: string, stateDir?: string): Promise<{ context: TestContext; documents: MonitDocument[] }> {
  const context = collectorContext('host', configText, { stateDir });
  const result = await hostCollector.collect(context);
  return { context, documents: collectedDocuments(result) };
}

function only(documents: MonitDocument[], type: string, tags: Record<string, string> = {}): MonitDocument {
  const found = documents.filter((document) => document.type === type && Object.entries(tags).every(([key, value]) => document[key] === value));
  if (found.length !== 1) throw new Error(`expected one ${type} document with ${JSON.stringify(tags)}, found ${found.length}`);
  return found[0];
}

/** A local HTTP server answering each path with whatever `routes` holds at the time of the request. */
async function textServer(routes: Record<string, { status?: number; body: string }>): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    const route = routes[request.url ?? ''];
    response.writeHead(route ? (route.status ?? 200) : 404, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(route ? route.body : 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

// ---- what the kernel says, read around each run, to bound what node_exporter can have seen ----

interface CpuTimes {
  busy: number;
  idleOrIowait: number;
  cpus: number;
}

/** Sums the per-CPU lines of /proc/stat (as node_exporter does) into busy and idle+iowait jiffies. */
function procCpu(): CpuTimes {
  let busy = 0;
  let idleOrIowait = 0;
  let cpus = 0;
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    if (!/^cpu\d+ /.test(line)) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1, 9).map(Number);
    busy += user + nice + system + irq + softirq + steal;
    idleOrIowait += idle + iowait;
    cpus++;
  }
  return { busy, idleOrIowait, cpus };
}

function procLoad(): number[] {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

function procMeminfo(key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(readFileSync('/proc/meminfo', 'utf8'));
  if (!match) throw new Error(`no ${key} in /proc/meminfo`);
  return Number(match[1]) * 1024;
}

function procNetDev(): Map<string, { receive: number; transmit: number }> {
  const counters = new Map<string, { receive: number; transmit: number }>();
  for (const line of readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2)) {
    const match = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!match) continue;
    const values = match[2].trim().split(/\s+/).map(Number);
    counters.set(match[1], { receive: values[0], transmit: values[8] });
  }
  return counters;
}

function procUptime(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

/** Keeps a CPU busy for a while so the measured utilisation is clearly above zero. */
function burnCpu(milliseconds: number): number {
  const end = Date.now() + milliseconds;
  let spins = 0;
  while (Date.now() < end) spins += Math.sqrt(spins + 1) > 0 ? 1 : 0;
  return spins;
}

const within = (value: unknown, low: number, high: number, slack = 0): void => {
  expect(typeof value).toBe('number');
  expect(value as number).toBeGreaterThanOrEqual(low - slack);
  expect(value as number).toBeLessThanOrEqual(high + slack);
};

describe('host collector against a real node_exporter', () => {
  let nodeExporter: RunningServer;
  let endpoint: string;

  beforeAll(async () => {
    nodeExporter = await startServer('node_exporter');
    endpoint = `http://127.0.0.1:${nodeExporter.port}/metrics`;
  }, 600_000);

  afterAll(async () => {
    await nodeExporter?.stop();
  });

  test('agrees with /proc, and its rates over two runs are the ones the kernel counters give', async () => {
    const config = `[host]\nendpoints = node1=${endpoint}\n`;
    const [cpuA, loadA, availableA, diskA, netA] = [procCpu(), procLoad(), procMeminfo('MemAvailable'), statfsSync('/'), procNetDev()];
    const first = await collect(config);
    const [cpuB, loadB, availableB, diskB, netB, uptimeB] = [procCpu(), procLoad(), procMeminfo('MemAvailable'), statfsSync('/'), procNetDev(), procUptime()];
    expect(first.context.problems).toEqual([]);

    const system = only(first.documents, 'system', { instance: 'node1' });
    expect(system).toMatchObject({ producer: 'host', up: 1, error: '', cpu_count: cpuA.cpus });
    expect(system.cpu_percent).toBeUndefined(); // no previous sample yet
    expect(first.documents.filter((document) => document.type === 'network')).toEqual([]);
    for (const [index, key] of ['load1', 'load5', 'load15'].entries()) {
      within(system[key], Math.min(loadA[index], loadB[index]), Math.max(loadA[index], loadB[index]), 0.01);
    }
    expect(system.memory_total_bytes).toBe(procMeminfo('MemTotal'));
    const MiB = 1024 * 1024;
    // Other tests may start servers meanwhile: memory and disk get a margin (2% of this machine's memory, 0.4% of its disk).
    within(system.memory_available_bytes, Math.min(availableA, availableB), Math.max(availableA, availableB), 512 * MiB);
    expect(system.memory_used_bytes).toBe((system.memory_total_bytes as number) - (system.memory_available_bytes as number));
    within(system.uptime_s, uptimeB - 5, uptimeB, 3); // btime is whole seconds, and wall and boot clocks drift apart

    const root = only(first.documents, 'filesystem', { instance: 'node1', mountpoint: '/' });
    expect(root.size_bytes).toBe(diskA.blocks * diskA.bsize);
    const used = (disk: typeof diskA): number => (disk.blocks - disk.bfree) * disk.bsize;
    within(root.used_bytes, Math.min(used(diskA), used(diskB)), Math.max(used(diskA), used(diskB)), 1024 * MiB);
    within(root.free_bytes, Math.min(diskA.bavail, diskB.bavail) * diskA.bsize, Math.max(diskA.bavail, diskB.bavail) * diskA.bsize, 1024 * MiB);
    const dfPercent = (100 * used(diskB)) / (used(diskB) + diskB.bavail * diskB.bsize);
    within(root.used_percent, dfPercent - 0.5, dfPercent + 0.5);
    for (const document of first.documents.filter((document) => document.type === 'filesystem')) {
      expect(['tmpfs', 'proc', 'sysfs', 'overlay', 'devtmpfs']).not.toContain(document.fstype);
    }

    burnCpu(1500);
    const [cpuC, netC] = [procCpu(), procNetDev()];
    const second = await collect(config, first.context.stateDir);
    const [cpuD, netD] = [procCpu(), procNetDev()];
    expect(second.context.problems).toEqual([]);

    // The exporter read /proc/stat once inside [A, B] and once inside [C, D]: its increases lie between
    // the increases over [B, C] and over [A, D], which bounds the busy share.
    const secondSystem = only(second.documents, 'system', { instance: 'node1' });
    const busyShare = (busy: number, idle: number): number => (100 * busy) / (busy + idle);
    const lowest = busyShare(cpuC.busy - cpuB.busy, cpuD.idleOrIowait - cpuA.idleOrIowait);
    const highest = busyShare(cpuD.busy - cpuA.busy, cpuC.idleOrIowait - cpuB.idleOrIowait);
    within(secondSystem.cpu_percent, lowest, highest, 0.5);
    expect(secondSystem.cpu_percent as number).toBeGreaterThan(10); // a CPU was kept busy for most of the interval
    within(secondSystem.cpu_iowait_percent, 0, 100);

    const interfaces = [...netB.keys()].filter((device) => device !== 'lo');
    expect(interfaces.length).toBeGreaterThan(0);
    for (const device of interfaces) {
      const network = only(second.documents, 'network', { instance: 'node1', interface: device });
      const interval = network.interval_s as number;
      within(interval, 1.5, Infinity);
      for (const [field, direction] of [['receive_bytes_per_s', 'receive'], ['transmit_bytes_per_s', 'transmit']] as const) {
        const low = netC.get(device)![direction] - netB.get(device)![direction];
        const high = netD.get(device)![direction] - netA.get(device)![direction];
        within((network[field] as number) * interval, low, high, 1e-6 * high + 1e-6);
      }
    }
    expect(second.documents.some((document) => document.interface === 'lo')).toBe(false);
  });

  test('a counter that went down between a real sample and the next one is a reset, never a negative rate', async () => {
    const first = await collect(`[host]\nendpoints = node1=${endpoint}\n`);
    const stored = previousSamplesFile(first.context.stateDir).read().node1;
    expect(stored).toBeDefined();
    const resetTo = 300;
    const reset = Object.keys(stored.network).filter((device) => stored.network[device].transmitBytes > resetTo);
    expect(reset.length).toBeGreaterThan(0);

    // The recorded second sample: a real answer, 600 s later by the host's clock, every transmit counter at 300.
    let text = await (await fetch(endpoint)).text();
    text = text.replace(/^node_time_seconds .*$/m, `node_time_seconds ${stored.timeSeconds + 600}`);
    text = text.replace(/^(node_network_transmit_bytes_total\{device="[^"]+"\}) .*$/gm, `$1 ${resetTo}`);
    const server = await textServer({ '/metrics': { body: text } });
    try {
      const second = await collect(`[host]\nendpoints = node1=${server.url}/metrics\n`, first.context.stateDir);
      expect(second.context.problems).toEqual([]);
      for (const device of Object.keys(stored.network)) {
        const network = only(second.documents, 'network', { instance: 'node1', interface: device });
        expect(network.interval_s).toBeCloseTo(600, 6);
        // Reset counters counted from zero; an interface whose counter was below 300 simply grew to it.
        expect(network.transmit_bytes_per_s).toBeCloseTo((reset.includes(device) ? resetTo : resetTo - stored.network[device].transmitBytes) / 600, 9);
        const receivedNow = Number(new RegExp(`^node_network_receive_bytes_total\\{device="${device}"\\} (.*)$`, 'm').exec(text)![1]);
        expect(network.receive_bytes_per_s).toBeCloseTo((receivedNow - stored.network[device].receiveBytes) / 600, 9);
        expect(network.receive_bytes_per_s as number).toBeGreaterThanOrEqual(0);
      }
    } finally {
      await server.close();
    }
  });
});

describe('host collector on recorded samples', () => {
  const recorded = (name: string): string => readFileSync(path.join(TESTDATA, name), 'utf8');

  async function twoRuns(secondFile: string): Promise<{ first: MonitDocument[]; second: MonitDocument[] }> {
    const routes = { '/metrics': { body: recorded('before.prom') } };
    const server = await textServer(routes);
    try {
      const config = `[host]\nendpoints = db1=${server.url}/metrics\n`;
      const first = await collect(config);
      routes['/metrics'] = { body: recorded(secondFile) };
      const second = await collect(config, first.context.stateDir);
      expect([...first.context.problems, ...second.context.problems]).toEqual([]);
      return { first: first.documents, second: second.documents };
    } finally {
      await server.close();
    }
  }

  test('two runs give the expected documents, with a counter reset counted from zero (golden file)', async () => {
    const { first, second } = await twoRuns('after-reset.prom');
    expect(first.map((document) => `${document.type} ${document.mountpoint ?? ''}`)).toEqual(['system ', 'filesystem /', 'filesystem /data']); // tmpfs left out

    const system = only(second, 'system');
    expect(system.cpu_percent).toBeCloseTo(20, 9); // (user 180 + system 60) of 1200 CPU-seconds
    expect(system.cpu_iowait_percent).toBeCloseTo(5, 9);
    expect(system).toMatchObject({ load1: 1.5, memory_total_bytes: 24e9, memory_available_bytes: 12e9, memory_used_bytes: 12e9, memory_used_percent: 50, uptime_s: 1800 });
    expect(only(second, 'filesystem', { mountpoint: '/' })).toMatchObject({ size_bytes: 1e11, used_bytes: 2e10, free_bytes: 7e10, used_percent: (100 * 2) / 9 });
    expect(only(second, 'network', { interface: 'eth0' })).toMatchObject({ receive_bytes_per_s: 100, transmit_bytes_per_s: 2, interval_s: 600 });
    expect(only(second, 'network', { interface: 'ifb0' })).toMatchObject({ receive_bytes_per_s: 0, transmit_bytes_per_s: 0 });
    expect(second.some((document) => document.interface === 'lo')).toBe(false);

    const golden = path.join(TESTDATA, 'expected-after-reset.json');
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, JSON.stringify(second, null, 2) + '\n');
    expect(second).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
  });

  test('after a reboot every counter counts from zero, even one now above its old value', async () => {
    const { second } = await twoRuns('after-reboot.prom');
    const eth0 = only(second, 'network', { interface: 'eth0' });
    expect(eth0.receive_bytes_per_s).toBeCloseTo(9.5e8 / 600, 9);
    expect(eth0.transmit_bytes_per_s).toBeCloseTo(6000 / 600, 9);
    expect(only(second, 'system').uptime_s).toBe(300);
  });

  test('a rerun at the same host time, or after a gap over max_rate_interval, gives no rates instead of wrong ones', async () => {
    const routes = { '/metrics': { body: recorded('before.prom') } };
    const server = await textServer(routes);
    try {
      const first = await collect(`[host]\nendpoints = db1=${server.url}/metrics\n`);
      const again = await collect(`[host]\nendpoints = db1=${server.url}/metrics\n`, first.context.stateDir);
      expect(only(again.documents, 'system').cpu_percent).toBeUndefined();
      expect(again.documents.filter((document) => document.type === 'network')).toEqual([]);
      routes['/metrics'] = { body: recorded('after-reset.prom') };
      const late = await collect(`[host]\nendpoints = db1=${server.url}/metrics\nmax_rate_interval = 5m\n`, first.context.stateDir);
      expect(only(late.documents, 'system').cpu_percent).toBeUndefined();
      expect(late.documents.filter((document) => document.type === 'network')).toEqual([]);
    } finally {
      await server.close();
    }
  });

  test('an endpoint that fails gives up=0 with its error class and does not spoil the others', async () => {
    const server = await textServer({
      '/metrics': { body: recorded('before.prom') },
      '/page': { body: '<html><body>Welcome</body></html>\n' },
      '/empty': { body: '# HELP x nothing\n' },
    });
    const closedPort = await freePort();
    try {
      const { context, documents } = await collect(
        `[host]\nendpoints = good=${server.url}/metrics, down=http://127.0.0.1:${closedPort}/metrics, html=${server.url}/page, ` +
          `gone=${server.url}/missing, empty=${server.url}/empty\n`,
      );
      expect(only(documents, 'system', { instance: 'good' })).toMatchObject({ up: 1, error: '' });
      for (const [instance, error] of [['down', 'refused'], ['html', 'malformed'], ['gone', 'status'], ['empty', 'malformed']]) {
        const system = only(documents, 'system', { instance });
        expect(system).toMatchObject({ up: 0, error });
        expect(system.idb_fields).toEqual(['up', 'error']);
      }
      expect(context.problems).toHaveLength(4);
      expect(context.problems.join('\n')).toContain(`down (http://127.0.0.1:${closedPort}/metrics): refused`);
    } finally {
      await server.close();
    }
  });

  test('a damaged state file is reported and the run goes on without rates', async () => {
    const server = await textServer({ '/metrics': { body: recorded('before.prom') } });
    try {
      const first = await collect(`[host]\nendpoints = db1=${server.url}/metrics\n`);
      writeFileSync(previousSamplesFile(first.context.stateDir).file, '{"db1": {"timeSec');
      const second = await collect(`[host]\nendpoints = db1=${server.url}/metrics\n`, first.context.stateDir);
      expect(second.context.problems).toHaveLength(1);
      expect(second.context.problems[0]).toContain('previous-samples.json is unreadable');
      expect(only(second.documents, 'system')).toMatchObject({ up: 1 });
      expect(previousSamplesFile(first.context.stateDir).read().db1.timeSeconds).toBe(1.7953644e9); // rewritten whole
    } finally {
      await server.close();
    }
  });

  test('bad config names the key', async () => {
    await expect(collect('[host]\nendpoints = not a url\n')).rejects.toThrow(/\[host\] endpoints: "not a url" is not a URL/);
    await expect(collect('[host]\nendpoints = a=http://x/metrics, a=http://y/metrics\n')).rejects.toThrow(/"a" is given twice/);
    await expect(collect('[host]\nendpoints = http://x/metrics\nignore_interfaces = (lo\n')).rejects.toThrow(/\[host\] ignore_interfaces: not a regular expression/);
  });
});

test('README Metrics section lists every tag and field of the host schemas', () => {
  const types = ['system', 'filesystem', 'network'].map((type) => ({ producer: 'host', type }));
  expect(readmeDisagreements(path.join(__dirname, 'README.md'), types)).toEqual([]);
});

test('sample.cfg, uncommented, gives exactly the defaults', () => {
  const uncommented = readFileSync(path.join(__dirname, 'sample.cfg'), 'utf8').replace(/^;(?=\w+ = )/gm, '');
  expect(uncommented).not.toMatch(/^;\w+ = /m);
  const fromSample = readSettings(Config.parse(uncommented, 'sample.cfg').section('host'));
  expect(fromSample).toEqual(readSettings(Config.parse('', 'empty.cfg').section('host')));
  expect(fromSample.filters.ignoreInterfaces.test('lo')).toBe(true);
  expect(fromSample.filters.ignoreInterfaces.test('eth0')).toBe(false);
  expect(fromSample.filters.ignoreMountpoints.test('/run/user/0')).toBe(true);
  expect(fromSample.filters.ignoreMountpoints.test('/runtime')).toBe(false);
});
