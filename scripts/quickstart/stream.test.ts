import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { sources } from '../../collectors/source';
import { Config } from '../../lib/config/config';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { InfluxClient } from '../../lib/influx/influxdb';
import { identityOf, isRunning, readIdentityFile, type ProcessIdentity } from '../../lib/run/processIdentity';
import { supervisorFilesIn } from '../../lib/run/service';
import { streamSettings } from '../../lib/stream/settings';
import { TEST_TOKEN } from '../../test/support/gateway';
import { freePort } from '../../test/support/ports';
import { testDir } from '../../test/support/services';
import { writerSettings } from '../../writer/settings';
import { CLI, SERVICES_SCRIPT } from './components';
import { generateConfig, addStreamRoute } from './quickstartConfig';
import { localNodes } from './streamRoute';

/** The quickstart's stream route ports at offset 0, as stream.cfg writes them and README names them. */
const CLIENT_PORTS = [4232, 4233, 4234];
const WRITER_PORT = 8192;

describe('./run.sh quickstart --stream: the config', () => {
  it('adds [stream] (three loopback servers, replicas = 3), [gateway] route = stream and [writer], shifted by the port offset, once; the cluster ports follow NATS defaults', () => {
    const dir = testDir('quickstart-stream-config');
    const file = path.join(dir, 'config.cfg');
    const offset = 700;
    generateConfig(file, offset);
    const direct = Config.load(file);
    expect([direct.hasSection('stream'), direct.section('gateway').string('route', 'direct')]).toEqual([false, 'direct']);

    const added = addStreamRoute(file, offset);
    const hasJetstreamCollector = sources().some((source) => source.name === 'jetstream');
    expect(added).toEqual(['stream', 'gateway', 'writer', ...(hasJetstreamCollector ? ['jetstream'] : [])]);
    const config = Config.load(file);
    expect(streamSettings(config)).toEqual(expect.objectContaining({ servers: CLIENT_PORTS.map((port) => `nats://127.0.0.1:${port + offset}`), replicas: 3 }));
    expect(config.section('gateway').string('route')).toBe('stream');
    // One [gateway]: route = stream stands where `;route = direct` was documented, the rest is kept.
    const text = readFileSync(file, 'utf8');
    expect(text.match(/^\[gateway\]$/gm)).toHaveLength(1);
    expect(text.match(/^;?route = .*$/gm)).toEqual(['route = stream']);
    expect(config.section('gateway').string('listen')).toBe(direct.section('gateway').string('listen'));
    expect(writerSettings(config).listen).toEqual({ host: '127.0.0.1', port: WRITER_PORT + offset });
    expect(config.hasSection('jetstream')).toBe(hasJetstreamCollector);
    // 6222 and 8222 beside 4222, as NATS's defaults; a store of its own per node.
    expect(localNodes({ config, configFile: file, varRoot: dir, runDir: path.join(dir, 'run') })).toEqual(
      CLIENT_PORTS.map((port, index) => ({ url: `nats://127.0.0.1:${port + offset}`, port: port + offset, clusterPort: port + 2000 + offset, monitorPort: port + 4000 + offset, dir: path.join(dir, `nats-${index + 1}`) })),
    );

    // A second --stream, and a run without it, change nothing.
    const written = readFileSync(file, 'utf8');
    expect(addStreamRoute(file, offset)).toEqual([]);
    expect(generateConfig(file, offset)).toEqual({ created: false, added: [], examplesAdded: [] });
    expect(readFileSync(file, 'utf8')).toBe(written);
  });

  it('sets its keys inside the [gateway] and [writer] the config has (route = direct replaced, a key it lacks added at the section\'s end), once', () => {
    const dir = testDir('quickstart-stream-merged');
    const file = path.join(dir, 'config.cfg');
    writeFileSync(file, `[gateway]\nlisten = 127.0.0.1:8190\nroute = direct\ntoken = ${TEST_TOKEN}\n\n[writer]\nbatch_size = 100\n\n;[influxdb.other]\n;listen = 127.0.0.1:1\n`);
    expect(addStreamRoute(file).slice(0, 3)).toEqual(['stream', 'gateway', 'writer']);
    const text = readFileSync(file, 'utf8');
    expect([text.match(/^\[gateway\]$/gm), text.match(/^\[writer\]$/gm)]).toEqual([['[gateway]'], ['[writer]']]);
    // The writer's listen goes after batch_size, before the blank line and the example section.
    expect(text.startsWith(`[gateway]\nlisten = 127.0.0.1:8190\n; Set by ./run.sh quickstart --stream (scripts/quickstart/stream.cfg).\nroute = stream\ntoken = ${TEST_TOKEN}\n\n[writer]\nbatch_size = 100\n; Set by ./run.sh quickstart --stream (scripts/quickstart/stream.cfg).\nlisten = 127.0.0.1:${WRITER_PORT}\n\n;[influxdb.other]\n;listen = 127.0.0.1:1\n`)).toBe(true);
    const config = Config.load(file);
    expect([config.section('gateway').string('route'), writerSettings(config).listen, writerSettings(config).batchSize]).toEqual(['stream', { host: '127.0.0.1', port: WRITER_PORT }, 100]);
    expect(addStreamRoute(file)).toEqual([]);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('keeps a [stream] the config has already (a real cluster elsewhere): nothing added, no local node', () => {
    const dir = testDir('quickstart-stream-kept');
    const file = path.join(dir, 'config.cfg');
    const text = `[stream]\nservers = nats://nats1.example.org:4222, nats://nats2.example.org:4222, nats://nats3.example.org:4222\nreplicas = 3\n[gateway]\nlisten = 127.0.0.1:8190\ntoken = ${TEST_TOKEN}\n`;
    writeFileSync(file, text);
    expect(addStreamRoute(file).filter((name) => name !== 'jetstream')).toEqual([]);
    expect(readFileSync(file, 'utf8').startsWith(text)).toBe(true);
    expect(localNodes({ config: Config.load(file), configFile: file, varRoot: dir, runDir: path.join(dir, 'run') })).toEqual([]);
  });
});

/** Whether `port` on 127.0.0.1 can be bound now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * An offset whose stream ports (clients, cluster, monitoring, two writers) are all free now. Below
 * 15000: the full quickstart test shifts its ports by 12000 and more, so its lowest is 15316.
 */
async function freeStreamOffset(): Promise<number> {
  for (;;) {
    const offset = 1000 + Math.floor(Math.random() * 6000);
    const ports = [...CLIENT_PORTS.flatMap((port) => [port, port + 2000, port + 4000]), WRITER_PORT, WRITER_PORT + 1].map((port) => port + offset);
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return offset;
  }
}

const LOCAL = path.join(PROJECT_ROOT, 'dist', 'scripts', 'quickstart', 'local.js');

function local(command: string, configFile: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [LOCAL, command, '--config', configFile], { encoding: 'utf8', timeout: 300_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every process whose command line names `dir` (its config or data folder). */
function processesNaming(dir: string): string[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
    .flatMap((pid) => {
      try {
        const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        return command.includes(dir) ? [`${pid}: ${command}`] : [];
      } catch {
        return [];
      }
    });
}

/** The points of every measurement of `database`. */
async function pointsIn(influx: InfluxClient, database: string): Promise<number> {
  const [measurements = []] = await influx.query('SHOW MEASUREMENTS', { database });
  const counts = await Promise.all((measurements[0]?.values ?? []).map(async (row) => (await influx.rows(`SELECT * FROM "${String(row[0])}"`, { database })).length));
  return counts.reduce((sum, count) => sum + count, 0);
}

/** A writer's /metrics: writer_points_written_total over every producer. */
async function pointsWritten(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(/^writer_points_written_total(?:\{[^}]*\})? (\S+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

it(
  'quickstart --stream over a direct setup: three nats-server nodes and two writers run, the gateway is restarted on the stream route; a collector\'s documents reach InfluxDB through the stream; a second start keeps every process; stop leaves none',
  async () => {
    const dir = testDir('quickstart-stream');
    const [influxPort, gatewayPort] = [await freePort(), await freePort()];
    const offset = await freeStreamOffset();
    const configFile = path.join(dir, 'config.cfg');
    writeFileSync(
      configFile,
      [
        `[paths]\nvar = ${dir}\n[monit]\nurl = http://127.0.0.1:${gatewayPort}/\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = http://127.0.0.1:${influxPort}\n`,
        `[gateway]\nlisten = 127.0.0.1:${gatewayPort}\ntoken = ${TEST_TOKEN}\n`,
        // A collector that needs no server: one document per run, from a demo script.
        '[command.event_picking]\ncommand = collectors/command/demo/event_picking.sh --events 100\noutput = json\nfields = events_requested, events_found, passed:bool\n',
      ].join(''),
    );
    const runDirs = [path.join(dir, 'run'), path.join(dir, 'writer-2', 'run')];
    const natsDirs = [1, 2, 3].map((index) => path.join(dir, `nats-${index}`));
    const seen: ProcessIdentity[] = [];
    const pingGateway = async (): Promise<{ status: number; body: unknown }> => {
      const ping = await fetch(`http://127.0.0.1:${gatewayPort}/ping`);
      return { status: ping.status, body: await ping.json() };
    };
    try {
      // A quickstart of the direct route runs already; quickstart --stream then adds the stream route.
      const direct = local('start', configFile);
      expect({ status: direct.status, stderr: direct.stderr }).toEqual({ status: 0, stderr: '' });
      expect(direct.stdout).not.toMatch(/nats-server|writer/);
      expect(await pingGateway()).toEqual({ status: 200, body: { gateway: 'ok', influxdb: 'ok' } });
      const directGateway = readIdentityFile(supervisorFilesIn(runDirs[0], 'gateway').supervisor) as ProcessIdentity;
      seen.push(directGateway);
      expect(addStreamRoute(configFile, offset).slice(0, 3)).toEqual(['stream', 'gateway', 'writer']);

      const first = local('start', configFile);
      expect({ status: first.status, stderr: first.stderr }).toEqual({ status: 0, stderr: '' });
      const clientPorts = CLIENT_PORTS.map((port) => port + offset);
      expect(first.stdout).toMatch(new RegExp(`^ {2}nats-server +running \\(3 nodes, client ports ${clientPorts.join(', ')}\\)$`, 'm'));
      for (const name of ['gateway', 'writer', 'writer-2']) expect(first.stdout).toMatch(new RegExp(`^ {2}${name} +running$`, 'm'));

      // Three nats-server processes, one cluster of three with a leader, each on its own store.
      const nats = natsDirs.map((natsDir) => readIdentityFile(path.join(natsDir, 'server.pid')) as ProcessIdentity);
      seen.push(...nats);
      expect(new Set(nats.map((identity) => identity.pid)).size).toBe(3);
      for (const [index, identity] of nats.entries()) {
        expect(readFileSync(`/proc/${identity.pid}/cmdline`, 'utf8').split('\0').slice(0, 3)).toEqual(['nats-server', '-c', path.join(natsDirs[index], 'nats-server.conf')]);
        const jsz = (await (await fetch(`http://127.0.0.1:${clientPorts[index] + 4000}/jsz`)).json()) as { config: { store_dir: string }; meta_cluster: { cluster_size: number; leader: string } };
        expect(jsz.meta_cluster).toEqual(expect.objectContaining({ cluster_size: 3, leader: expect.stringMatching(/^nats-\d+$/) }));
        expect(jsz.config.store_dir).toContain(path.join(natsDirs[index], 'store'));
      }
      // Two writer processes, each under its own supervisor.
      const writers = runDirs.map((runDir) => readIdentityFile(supervisorFilesIn(runDir, 'writer').child) as ProcessIdentity);
      const supervisors = runDirs.map((runDir) => readIdentityFile(supervisorFilesIn(runDir, 'writer').supervisor) as ProcessIdentity);
      seen.push(...writers, ...supervisors);
      expect(writers.map((identity) => isRunning(identity))).toEqual([true, true]);
      expect(writers[0].pid).not.toBe(writers[1].pid);
      for (const identity of writers) expect(readFileSync(`/proc/${identity.pid}/cmdline`, 'utf8').split('\0').slice(1, 3)).toEqual([CLI, 'writer']);
      // The gateway started for the direct route was started again, on the stream route.
      expect(isRunning(directGateway)).toBe(false);
      seen.push(readIdentityFile(supervisorFilesIn(runDirs[0], 'gateway').child) as ProcessIdentity);
      expect(await pingGateway()).toEqual({ status: 200, body: { gateway: 'ok', stream: 'ok' } });

      // A collector's run: its document and its heartbeat go gateway -> stream -> writers -> InfluxDB.
      const run = spawnSync(process.execPath, [CLI, 'command', '--config', configFile], { encoding: 'utf8', timeout: 120_000 });
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
      const drain = local('drain', configFile);
      expect({ status: drain.status, stdout: drain.stdout }).toEqual({ status: 0, stdout: '  writers                      stream MONIT: the writers wrote everything sent so far\n' });
      const influx = new InfluxClient(`http://127.0.0.1:${influxPort}`);
      const picking = await influx.rows('SELECT "events_found" FROM "event_picking"', { database: 'monit_production_command' });
      expect(picking).toEqual([expect.objectContaining({ events_found: expect.any(Number) })]);
      const collected = await pointsIn(influx, 'monit_production_command');
      const heartbeats = await influx.rows(`SELECT "ok", "documents_sent" FROM "run" WHERE "job" = 'command'`, { database: 'monit_production_monit_collectors' });
      expect(heartbeats).toEqual([expect.objectContaining({ ok: true, documents_sent: collected })]);
      // Only the writers write on this route: the points they count are the points InfluxDB holds.
      const stored = collected + (await pointsIn(influx, 'monit_production_monit_collectors'));
      const written = await Promise.all([0, 1].map((shift) => pointsWritten(WRITER_PORT + offset + shift)));
      expect(written[0] + written[1]).toBe(stored);

      const summary = local('summary', configFile);
      expect(summary.status).toBe(0);
      expect(summary.stdout).toMatch(new RegExp(`^JetStream: 3 nats-server nodes ${clientPorts.map((port) => `nats://127\\.0\\.0\\.1:${port}`).join(', ')} `, 'm'));
      expect(summary.stdout).toMatch(/^ {2}stream MONIT \(R3, leader nats-\d+\): \d+ documents stored so far, 0 waiting, 0 not yet delivered and 0 not yet acknowledged by the writers \(consumer monit-writer\); 0 dead letters in MONIT_DEAD$/m);
      const [, one, two] = /^Writers: 2, sharing consumer monit-writer: \S+ \((\d+) points written\), \S+ \((\d+) points written\)/m.exec(summary.stdout) ?? [];
      expect(Number(one) + Number(two)).toBe(stored);
      expect(summary.stdout).toMatch(/^Gateway: \S+ \(route stream: /m);

      // A second start finds everything running and starts nothing.
      const second = local('start', configFile);
      expect({ status: second.status, stderr: second.stderr }).toEqual({ status: 0, stderr: '' });
      expect(second.stdout).toMatch(new RegExp(`^ {2}writer-2 +running \\(under its supervisor, pid ${supervisors[1].pid}\\)$`, 'm'));
      expect(natsDirs.map((natsDir) => readIdentityFile(path.join(natsDir, 'server.pid')))).toEqual(nats);
      expect(runDirs.map((runDir) => readIdentityFile(supervisorFilesIn(runDir, 'writer').child))).toEqual(writers);

      const stopped = local('stop', configFile);
      expect({ status: stopped.status, stderr: stopped.stderr }).toEqual({ status: 0, stderr: '' });
      for (const name of ['writer-2', 'writer', 'gateway', 'nats-server', 'influxdb']) expect(stopped.stdout).toMatch(new RegExp(`^ {2}${name} +stopped$`, 'm'));
      expect(seen.filter((identity) => isRunning(identity))).toEqual([]);
      expect(processesNaming(dir)).toEqual([]);
      expect(natsDirs.map((natsDir) => existsSync(path.join(natsDir, 'server.pid')))).toEqual([false, false, false]);
    } finally {
      for (const identity of [...seen, ...processesNaming(dir).map((line) => identityOf(Number(line.split(':')[0])))]) if (identity && isRunning(identity)) process.kill(identity.pid, 'SIGKILL');
      for (const server of [...natsDirs, path.join(dir, 'influxdb')]) spawnSync(SERVICES_SCRIPT, ['stop', server], { stdio: 'ignore' });
    }
  },
  300_000,
);
