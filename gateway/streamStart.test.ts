/**
 * GatewayStream's start against a real nats-server: an existing stream with other settings is kept and
 * named in one warning; each distinct reason the connection fails for is a warning of its own.
 */
import { RetentionPolicy, StorageType } from 'nats';
import { Config } from '../lib/config/config';
import { MemoryLogger } from '../lib/run/log';
import { ensureStreams } from '../lib/stream/streams';
import { streamSettings } from '../lib/stream/settings';
import { startNatsCluster, type NatsCluster } from '../test/support/nats';
import { sleep } from '../test/support/xrootdServer';
import { GatewayStream } from './stream';

jest.setTimeout(180_000);

/** Polls of 100 ms before a condition counts as never met: far longer than any step here takes. */
const POLLS = 1200;
let cluster: NatsCluster;

beforeAll(async () => {
  cluster = await startNatsCluster({ nodes: 1 });
});

afterAll(async () => {
  await cluster?.stop();
});

async function until(what: () => string, probe: () => boolean): Promise<void> {
  for (let poll = 1; poll <= POLLS; poll++) {
    if (probe()) return;
    await sleep(100);
  }
  throw new Error(`${what()}: still not after ${POLLS} polls`);
}

const configOf = (stream: string, extra = ''): Config => Config.parse(`[stream]\nservers = ${cluster.servers.join(', ')}\nname = ${stream}\nsubject_prefix = ${stream.toLowerCase()}\n${extra}`, `${stream}.cfg`);
const warnings = (log: MemoryLogger): string[] => log.lines.filter((line) => line.startsWith('WARN '));

test('a stream made with other limits by another host: the gateway keeps it and warns once, naming each difference', async () => {
  const connection = await cluster.connect();
  const manager = await connection.jetstreamManager();
  const log = new MemoryLogger('gateway');
  const gateway = new GatewayStream(configOf('GWKEPT', 'max_bytes = 20000000'), log);
  try {
    await ensureStreams(manager, streamSettings(configOf('GWKEPT', 'max_bytes = 50000000')));
    gateway.start();
    await until(() => `connected (log: ${log.lines.join(' | ')})`, () => log.lines.some((line) => line.startsWith('INFO connected to stream GWKEPT')));
    expect((await manager.streams.info('GWKEPT')).config.max_bytes).toBe(50_000_000);
    expect(warnings(log)).toEqual([
      "WARN existing stream settings kept (set by another host or an earlier config; `./run.sh stream-setup` applies [stream]'s): GWKEPT max_bytes is 50000000, [stream] says 20000000; GWKEPT_DEAD max_bytes is 50000000, [stream] says 20000000",
    ]);
  } finally {
    await gateway.close();
    await connection.close();
  }
});

test('the server down, then up with a stream the gateway cannot use: two warnings, one per reason, though it tried many times', async () => {
  const connection = await cluster.connect();
  await (await connection.jetstreamManager()).streams.add({ name: 'GWWRONG', subjects: ['gwwrong.>'], retention: RetentionPolicy.Limits, storage: StorageType.File });
  await connection.close();
  const [node] = cluster.nodes;
  await cluster.kill(node);
  const log = new MemoryLogger('gateway');
  const gateway = new GatewayStream(configOf('GWWRONG'), log);
  try {
    gateway.start();
    const attempts = (): number => log.lines.filter((line) => /^(WARN cannot connect|DEBUG stream connection attempt)/.test(line)).length;
    await until(() => `three failed attempts (log: ${log.lines.join(' | ')})`, () => attempts() >= 3);
    // Refused each time: one warning, the repeats debug lines.
    expect(warnings(log)).toEqual(['WARN cannot connect to the stream (answering 503 until it can; trying again every 10 s at most): CONNECTION_REFUSED']);
    await cluster.restart(node);
    // A reason of its own (a connection reset while the server starts may come between): a warning too.
    await until(() => `the stream refused (log: ${log.lines.join(' | ')})`, () => log.lines.some((line) => line.includes('stream GWWRONG exists with limits retention')));
    expect(warnings(log).filter((line) => line.includes('at most): stream GWWRONG exists with limits retention'))).toHaveLength(1);
    expect(await gateway.problem()).toMatch(/^not connected: stream GWWRONG exists with limits retention/);
  } finally {
    await gateway.close();
  }
});
