import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { MemoryLogger } from '../../lib/run/log';
import { SchemaRegistry, schemaRegistry } from '../../lib/documents/schemas';
import { InfluxClient, type RetentionPolicyDurations } from '../../lib/influx/influxdb';
import { startGateway, type RunningGateway } from '../../gateway/server';
import { ProducerSpellings } from '../../gateway/producerSpellings';
import { Sender, type SenderOptions } from '../../lib/delivery/sender';
import type { Spool } from '../../lib/delivery/spool';
import { freePort } from './ports';
import { testDir } from './services';
import type { TypeSchema } from '../../lib/documents/types';

export const TEST_TOKEN = 'test-token-0123456789';

/** A schema used only by tests: one field of each type. */
export const SAMPLE_SCHEMA: TypeSchema = {
  producer: 'test-producer',
  type: 'sample',
  description: 'Test documents.',
  tags: { site: { description: 'Site.' }, node: { description: 'Node.' } },
  fields: {
    count: { type: 'int', unit: 'count', description: 'A count.', downsample: 'sum' },
    ratio: { type: 'float', unit: '1', description: 'A ratio.', downsample: 'mean' },
    ok: { type: 'bool', unit: '', description: 'A flag.', downsample: 'last' },
    note: { type: 'string', unit: '', description: 'A text.', downsample: 'last' },
  },
};

export function testRegistry(): SchemaRegistry {
  return new SchemaRegistry([...schemaRegistry().all(), SAMPLE_SCHEMA]);
}

/** A gateway on a free port in front of `influxUrl`, with a bearer token and one producer password. */
export async function startTestGateway(
  influxUrl: string,
  options: {
    port?: number;
    maxBodyBytes?: number;
    maxInflightBytes?: number;
    maxDocuments?: number;
    producerSpellingsFile?: string;
    producerPasswords?: Record<string, string>;
    /** The schemas it checks against: the test producers' by default, schemaRegistry() for the real ones. */
    registry?: SchemaRegistry;
    durations?: RetentionPolicyDurations;
  } = {},
): Promise<RunningGateway & { log: MemoryLogger }> {
  const log = new MemoryLogger('gateway');
  const running = await startGateway(
    {
      influxdb: new InfluxClient(influxUrl, { timeoutMs: 10_000 }),
      durations: options.durations ?? { raw: '30d', '1h': '400d', '1d': 'INF' },
      auth: { token: TEST_TOKEN, producerPasswords: new Map(Object.entries(options.producerPasswords ?? { 'test-producer': 'producer-password' })) },
      maxDocuments: options.maxDocuments ?? 10_000,
      maxBodyBytes: options.maxBodyBytes ?? 5_000_000,
      maxInflightBytes: options.maxInflightBytes,
      registry: options.registry ?? testRegistry(),
      producerSpellings: new ProducerSpellings(options.producerSpellingsFile),
      log,
    },
    '127.0.0.1',
    options.port ?? 0,
  );
  return { ...running, log };
}

export interface GatewayProcess {
  url: string;
  /** The folder of its config, log (log/gateway.log) and state. */
  dir: string;
  process: ChildProcess;
  /** What it wrote on stderr so far (nothing is kept with `stderrToLog`). */
  stderr(): string;
  /** SIGTERM, then its exit. */
  stop(): Promise<void>;
}

/**
 * `./run.sh gateway` as its own process (dist/cli/main.js: build first) in front of `influxUrl`, with
 * TEST_TOKEN. By default with --debug and stderr piped (see `stderr()`); `stderrToLog` runs it as the
 * crontab line does instead: no --debug, stderr appended to its own log file.
 */
export async function spawnGatewayProcess(influxUrl: string, configExtra = '', options: { stderrToLog?: boolean } = {}): Promise<GatewayProcess> {
  const dir = testDir('gateway-process');
  const port = await freePort();
  const file = path.join(dir, 'config.cfg');
  writeFileSync(file, `[paths]\nvar = ${dir}\n[gateway]\nlisten = 127.0.0.1:${port}\ntoken = ${TEST_TOKEN}\n${configExtra}[influxdb]\nurl = ${influxUrl}\n`);
  const main = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
  let stderr = '';
  let child: ChildProcess;
  if (options.stderrToLog) {
    const logFile = path.join(dir, 'log', 'gateway.log');
    mkdirSync(path.dirname(logFile), { recursive: true });
    const descriptor = openSync(logFile, 'a');
    child = spawn(process.execPath, [main, 'gateway', '--config', file], { stdio: ['ignore', 'ignore', descriptor] });
    closeSync(descriptor);
  } else {
    // --debug: the gateway echoes its log lines on stderr (off the terminal they go to its log file only).
    const piped = spawn(process.execPath, [main, 'gateway', '--config', file, '--debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
    piped.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child = piped;
  }
  const url = `http://127.0.0.1:${port}`;
  // Any answer of /ping means it listens (503 while InfluxDB is down).
  for (let tries = 0; tries < 200 && child.exitCode === null && !(await fetch(`${url}/ping`).then(() => true, () => false)); tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (child.exitCode !== null) throw new Error(`the gateway exited at start (${child.exitCode}): ${stderr}`);
  return {
    url,
    dir,
    process: child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A sender to `url` with the test token and small batches (100 documents), logging to memory. */
export function testSender(url: string, spool: Spool, overrides: Partial<SenderOptions> = {}): Sender {
  return new Sender({
    url,
    token: TEST_TOKEN,
    timeoutMs: 5000,
    concurrency: 2,
    maxBatchDocuments: 100,
    maxBatchBytes: 1_000_000,
    spoolMaxBytes: 100_000_000,
    spool,
    log: new MemoryLogger('sender'),
    ...overrides,
  });
}
