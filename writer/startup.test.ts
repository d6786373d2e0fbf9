/**
 * A writer started while NATS or JetStream is not ready: it waits and tries again (once logged per
 * reason) until it can work, or until SIGTERM; what no retry fixes still ends it at once. Against real
 * nats-server processes and a real InfluxDB 1.6.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RetentionPolicy, StorageType } from 'nats';
import { Config } from '../lib/config/config';
import { PROJECT_ROOT } from '../lib/config/paths';
import { influxInstances } from '../lib/influx/instances';
import { MemoryLogger } from '../lib/run/log';
import { publishPoints } from '../lib/stream/publish';
import { streamSettings } from '../lib/stream/settings';
import { ensureStreams } from '../lib/stream/streams';
import { startNatsCluster, type NatsCluster } from '../test/support/nats';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import { sleep } from '../test/support/xrootdServer';
import { writerSettings } from './settings';
import { Writer } from './writer';

jest.setTimeout(300_000);

/** Built by `npx tsc -p tsconfig.build.json` before this test. */
const MAIN = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
const BASE_MS = Date.UTC(2026, 11, 1);
/** Polls of 100 ms before a condition counts as never met: far longer than any step here takes. */
const POLLS = 1200;

let influx: TestInfluxDB;

beforeAll(async () => {
  influx = await startInfluxDB();
});

afterAll(async () => {
  await influx?.stop();
});

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let poll = 1; poll <= POLLS; poll++) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`${what}: still not after ${POLLS} polls`);
}

function configText(varDir: string, servers: string[], stream: string, extra = ''): string {
  return [
    `[paths]\nvar = ${varDir}`,
    `[influxdb]\nurl = ${influx.url}`,
    `[stream]\nservers = ${servers.join(', ')}\nname = ${stream}\nsubject_prefix = ${stream.toLowerCase()}\n${extra}`,
    `[writer]\nconsumer = writers\nack_wait = 1m\nbatch_size = 500\nbatch_wait = 1s\nretry_delay = 100ms\nmax_retry_delay = 1s`,
  ].join('\n');
}

interface WriterProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** var/log/writer.log so far. */
  log(): string;
}

/** `node dist/cli/main.js writer --debug --config FILE`, returning at once. */
function spawnWriter(varDir: string, text: string): WriterProcess {
  const file = path.join(varDir, 'writer.cfg');
  writeFileSync(file, text);
  const child = spawn(process.execPath, [MAIN, 'writer', '--debug', '--config', file], { stdio: 'ignore' });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const logFile = path.join(varDir, 'log', 'writer.log');
  return { child, exited, log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') };
}

const count = (text: string, pattern: RegExp): number => text.split('\n').filter((line) => pattern.test(line)).length;

/** `lines` points of producer `startup`, measurement `m`. */
const linesOf = (measurement: string, total: number): Array<{ producer: string; line: string; id: string }> =>
  Array.from({ length: total }, (_, index) => ({ producer: 'startup', line: `${measurement},k=${index} v=${index}i ${BASE_MS + index}`, id: `${measurement}-${index}` }));

async function storedCount(measurement: string): Promise<number> {
  const rows = await influx.client.rows(`SELECT count("v") AS "points" FROM "${measurement}"`, { database: 'monit_production_startup' }).catch(() => []);
  return Number(rows[0]?.points ?? 0);
}

describe('one nats-server', () => {
  let cluster: NatsCluster;

  beforeAll(async () => {
    cluster = await startNatsCluster({ nodes: 1 });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  test('a writer started before the nats-server listens waits, warns once, and writes the documents once the server is up', async () => {
    const [node] = cluster.nodes;
    await cluster.kill(node);
    const varDir = testDir('writer-startup');
    const writer = spawnWriter(varDir, configText(varDir, [node.url], 'EARLY'));
    try {
      // Three failed attempts, one warning: the same reason each time.
      await until(`three connection attempts failed (log: ${writer.log()})`, () => {
        if (writer.child.exitCode !== null) throw new Error(`the writer exited with ${writer.child.exitCode}: ${writer.log()}`);
        return /connecting to .* attempt 3 failed/.test(writer.log()) ? true : undefined;
      });
      expect(count(writer.log(), /WARN.*connecting to nats:\/\/127\.0\.0\.1:\d+ failed, trying again/)).toBe(1);

      await cluster.restart(node);
      const publisher = await cluster.connect();
      try {
        const settings = streamSettings(Config.parse(configText(varDir, cluster.servers, 'EARLY'), 'publisher.cfg'));
        // Made by the writer already, or now (the gateway makes them too).
        await ensureStreams(await publisher.jetstreamManager(), settings);
        await publishPoints(publisher.jetstream(), settings, linesOf('early', 300));
      } finally {
        await publisher.close();
      }
      await until(`300 points in InfluxDB (log: ${writer.log()})`, async () => ((await storedCount('early')) === 300 ? true : undefined));
      expect(writer.log()).toMatch(/connecting to .*: done after \d+ failed attempts/);
      writer.child.kill('SIGTERM');
      expect(await writer.exited).toEqual({ code: 0, signal: null });
    } finally {
      writer.child.kill('SIGKILL');
      if (cluster.nodes[0].pid && !existsSync(`/proc/${cluster.nodes[0].pid}`)) await cluster.restart(node);
    }
  });

  test('SIGTERM while the writer waits for NATS: it stops at once with status 0', async () => {
    const varDir = testDir('writer-startup');
    // The port of a server that is no longer there.
    const [node] = cluster.nodes;
    await cluster.kill(node);
    const writer = spawnWriter(varDir, configText(varDir, [node.url], 'NEVER'));
    try {
      await until(`the writer's warning (log: ${writer.log()})`, () => {
        if (writer.child.exitCode !== null) throw new Error(`the writer exited with ${writer.child.exitCode}: ${writer.log()}`);
        return /WARN.*failed, trying again/.test(writer.log()) ? true : undefined;
      });
      writer.child.kill('SIGTERM');
      expect(await writer.exited).toEqual({ code: 0, signal: null });
      expect(writer.log()).toMatch(/SIGTERM received: stopping/);
    } finally {
      writer.child.kill('SIGKILL');
      await cluster.restart(node);
    }
  });

  test('a stream JetStream cannot use (another retention): the writer exits at once with status 1, naming the stream and why', async () => {
    const connection = await cluster.connect();
    try {
      await (await connection.jetstreamManager()).streams.add({ name: 'WRONG', subjects: ['wrong.>'], retention: RetentionPolicy.Limits, storage: StorageType.File });
    } finally {
      await connection.close();
    }
    const varDir = testDir('writer-startup');
    const writer = spawnWriter(varDir, configText(varDir, cluster.servers, 'WRONG'));
    try {
      expect(await writer.exited).toEqual({ code: 1, signal: null });
      expect(writer.log()).toMatch(/ERROR +\[writer\] stream WRONG exists with limits retention and file storage, not workqueue and file: JetStream cannot change them in place/);
      expect(writer.log()).not.toMatch(/trying again/);
    } finally {
      writer.child.kill('SIGKILL');
    }
  });

  test('an existing stream with other limits than this writer\'s [stream]: kept as it is, one warning naming each difference', async () => {
    const connection = await cluster.connect();
    const manager = await connection.jetstreamManager();
    const varDir = testDir('writer-startup');
    try {
      await ensureStreams(manager, streamSettings(Config.parse(configText(varDir, cluster.servers, 'LIMITS', 'max_bytes = 50000000'), 'other.cfg')));
      const config = Config.parse(configText(varDir, cluster.servers, 'LIMITS', 'max_bytes = 20000000\nduplicate_window = 1m'), 'writer.cfg');
      const log = new MemoryLogger('writer');
      const writer = new Writer({ connection, stream: streamSettings(config), settings: writerSettings(config), instances: influxInstances(config), log });
      expect(await writer.prepare()).toBe(true);
      expect((await manager.streams.info('LIMITS')).config.max_bytes).toBe(50_000_000);
      expect((await manager.streams.info('LIMITS')).config.duplicate_window).toBe(120_000 * 1e6);
      expect(log.lines.filter((line) => line.startsWith('WARN'))).toEqual([
        "WARN existing stream settings kept (set by another host or an earlier config; `./run.sh stream-setup` applies [stream]'s): LIMITS duplicate_window is 120000 ms, [stream] says 60000 ms; LIMITS max_bytes is 50000000, [stream] says 20000000; LIMITS_DEAD duplicate_window is 120000 ms, [stream] says 60000 ms; LIMITS_DEAD max_bytes is 50000000, [stream] says 20000000",
      ]);
    } finally {
      await connection.close();
    }
  });
});

test('JetStream without a meta leader (two of three servers down): prepare() tries again until the cluster is back, then the writer writes', async () => {
  const three = await startNatsCluster({ nodes: 3 });
  const [survivor, ...others] = three.nodes;
  const connection = await three.connect({ servers: [survivor.url] });
  const varDir = testDir('writer-startup');
  try {
    await Promise.all(others.map((node) => three.kill(node)));
    const config = Config.parse(configText(varDir, [survivor.url], 'LEADERLESS', 'replicas = 3'), 'writer.cfg');
    const log = new MemoryLogger('writer');
    const writer = new Writer({ connection, stream: streamSettings(config), settings: writerSettings(config), instances: influxInstances(config), log });
    const stop = new AbortController();
    let failure: unknown;
    const prepared = writer.prepare(stop.signal).catch((error: unknown) => {
      failure = error;
      return false;
    });
    await until(`a warning of a failed preparation (log: ${log.lines.join(' | ')})`, () => {
      if (failure) throw failure;
      return log.lines.some((line) => /^WARN preparing stream LEADERLESS and consumer writers failed, trying again/.test(line)) ? true : undefined;
    });
    await Promise.all(others.map((node) => three.restart(node)));
    expect(await prepared).toBe(true);
    expect((await (await connection.jetstreamManager()).streams.info('LEADERLESS')).config.num_replicas).toBe(3);

    const running = writer.run(stop.signal);
    await publishPoints(connection.jetstream(), streamSettings(config), linesOf('leaderless', 100));
    await until('100 points in InfluxDB', async () => ((await storedCount('leaderless')) === 100 ? true : undefined));
    stop.abort();
    await running;
  } finally {
    await connection.close();
    await three.stop();
  }
});
