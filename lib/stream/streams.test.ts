/**
 * ensureStreams on an existing stream, and `./run.sh stream-setup`, against three real nats-server
 * processes: a start never lowers the replicas nor undoes another host's settings; stream-setup applies
 * them, or refuses clearly what JetStream cannot do.
 */
import { RetentionPolicy, StorageType, type JetStreamManager, type NatsConnection } from 'nats';
import { streamSetup } from '../../cli/streamSetup';
import { startNatsCluster, type NatsCluster } from '../../test/support/nats';
import { Config } from '../config/config';
import { streamSettings, type StreamSettings } from './settings';
import { describeDifferences, ensureStreams, StreamSetupError } from './streams';

jest.setTimeout(180_000);

let cluster: NatsCluster;
let connection: NatsConnection;
let manager: JetStreamManager;

beforeAll(async () => {
  cluster = await startNatsCluster({ nodes: 3 });
  connection = await cluster.connect();
  manager = await connection.jetstreamManager();
});

afterAll(async () => {
  await connection?.close();
  await cluster?.stop();
});

/** A host's config: its [stream] section with `keys` over the stream's name and servers. */
function hostConfig(stream: string, keys: Record<string, string>): Config {
  const lines = Object.entries({ servers: cluster.servers.join(', '), name: stream, subject_prefix: stream.toLowerCase(), ...keys }).map(([key, value]) => `${key} = ${value}`);
  return Config.parse(`[stream]\n${lines.join('\n')}\n`, `${stream}.cfg`);
}

const hostSettings = (stream: string, keys: Record<string, string>): StreamSettings => streamSettings(hostConfig(stream, keys));

/** The settings a start may change, as the stream has them now. */
async function current(stream: string): Promise<{ replicas: number; maxBytes: number; duplicateWindowMs: number }> {
  const { config } = await manager.streams.info(stream);
  return { replicas: config.num_replicas, maxBytes: config.max_bytes, duplicateWindowMs: config.duplicate_window / 1e6 };
}

test('a host with replicas = 1 and other limits starting beside an R3 stream keeps it as it is, and says what differs; no flip-flop between two hosts', async () => {
  const first = hostSettings('KEEP', { replicas: '3', max_bytes: '50000000', duplicate_window: '2m' });
  const second = hostSettings('KEEP', { replicas: '1', max_bytes: '20000000', duplicate_window: '1m' });
  expect((await ensureStreams(manager, first)).created).toEqual(['KEEP', 'KEEP_DEAD']);
  const made = { replicas: 3, maxBytes: 50_000_000, duplicateWindowMs: 120_000 };
  expect(await current('KEEP')).toEqual(made);

  const outcome = await ensureStreams(manager, second);
  expect(await current('KEEP')).toEqual(made);
  expect(await current('KEEP_DEAD')).toEqual(made);
  expect(outcome.updated).toEqual([]);
  expect(outcome.differences.filter((difference) => difference.stream === 'KEEP')).toEqual([
    { stream: 'KEEP', setting: 'replicas', existing: '3', configured: '1' },
    { stream: 'KEEP', setting: 'duplicate_window', existing: '120000 ms', configured: '60000 ms' },
    { stream: 'KEEP', setting: 'max_bytes', existing: '50000000', configured: '20000000' },
  ]);
  expect(describeDifferences(outcome.differences)).toMatch(/^existing stream settings kept .*`\.\/run\.sh stream-setup` applies \[stream\]'s\): KEEP replicas is 3, \[stream\] says 1; /);
  // Still three replicas: a leader and two followers.
  expect((await manager.streams.info('KEEP')).cluster?.replicas).toHaveLength(2);

  // The two hosts start again, one after the other: the stream keeps the first one's settings.
  for (const settings of [first, second, first, second]) {
    await ensureStreams(manager, settings);
    expect(await current('KEEP')).toEqual(made);
  }
  expect((await ensureStreams(manager, first)).differences).toEqual([]);
});

test('stream-setup applies this host\'s [stream], replicas lowered included, and prints each change; a second run changes nothing', async () => {
  await ensureStreams(manager, hostSettings('SETUP', { replicas: '3' }));
  const lines: string[] = [];
  expect(await streamSetup(hostConfig('SETUP', { replicas: '1', max_bytes: '30000000' }), (line) => lines.push(line))).toBe(0);
  expect(lines).toEqual([
    'stream SETUP: replicas 3 -> 1',
    'stream SETUP: max_bytes unlimited -> 30000000',
    'stream SETUP_DEAD: replicas 3 -> 1',
    'stream SETUP_DEAD: max_bytes unlimited -> 30000000',
  ]);
  expect(await current('SETUP')).toEqual({ replicas: 1, maxBytes: 30_000_000, duplicateWindowMs: 120_000 });
  expect(await current('SETUP_DEAD')).toEqual({ replicas: 1, maxBytes: 30_000_000, duplicateWindowMs: 120_000 });

  lines.length = 0;
  expect(await streamSetup(hostConfig('SETUP', { replicas: '1', max_bytes: '30000000' }), (line) => lines.push(line))).toBe(0);
  expect(lines).toEqual(["stream SETUP has [stream]'s settings already", "stream SETUP_DEAD has [stream]'s settings already"]);

  // A missing stream is created.
  lines.length = 0;
  expect(await streamSetup(hostConfig('FRESH', {}), (line) => lines.push(line))).toBe(0);
  expect(lines).toEqual(['created stream FRESH', 'created stream FRESH_DEAD']);
});

test('stream-setup with more replicas than servers: a StreamSetupError naming the stream and [stream] replicas; the stream is left as it was', async () => {
  await ensureStreams(manager, hostSettings('TOOMANY', { replicas: '1' }));
  const error = await streamSetup(hostConfig('TOOMANY', { replicas: '5' }), () => undefined).catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(StreamSetupError);
  expect((error as Error).message).toMatch(/^cannot update stream TOOMANY \(\[stream\] replicas = 5\): .* \(fewer JetStream servers up than 5: one is down or starting, or the cluster has fewer\)$/);
  expect(await current('TOOMANY')).toEqual({ replicas: 1, maxBytes: -1, duplicateWindowMs: 120_000 });
});

test('a stream of that name with another retention: a StreamSetupError no retry fixes, at a start and from stream-setup; the stream untouched', async () => {
  await manager.streams.add({ name: 'OTHER', subjects: ['other.>'], retention: RetentionPolicy.Limits, storage: StorageType.File, num_replicas: 1 });
  const atStart = await ensureStreams(manager, hostSettings('OTHER', {})).catch((thrown: unknown) => thrown);
  expect(atStart).toBeInstanceOf(StreamSetupError);
  expect((atStart as StreamSetupError).transient).toBe(false);
  expect((atStart as Error).message).toBe('stream OTHER exists with limits retention and file storage, not workqueue and file: JetStream cannot change them in place (delete or rename the stream)');
  await expect(streamSetup(hostConfig('OTHER', {}), () => undefined)).rejects.toThrow(/^stream OTHER exists with limits retention/);
  expect((await manager.streams.info('OTHER')).config.retention).toBe('limits');
});
