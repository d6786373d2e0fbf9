import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { NatsConnection } from 'nats';
import { Config } from '../config/config';
import { MemoryLogger } from '../run/log';
import { packetForwarding, packetStreamName } from '../stream/packetStreams';
import { streamSettings } from '../stream/settings';
import { queuePackets } from '../../test/support/packetQueue';
import { startNatsCluster, type NatsCluster } from '../../test/support/nats';
import { testDir } from '../../test/support/services';
import { eventually } from '../../test/support/xrootdServer';
import { ChunkReader, startForwarder } from './forwarder';
import { decodeRecords } from './records';
import { listSegments } from './segments';

const SLOT = 10 * 60_000;
const START = Date.UTC(2026, 10, 22, 10, 0);

/** `count` packets of `size` bytes, received 1 s apart from `fromMs`, the i-th holding i. */
function packets(count: number, size: number, fromMs: number): Array<{ data: Buffer; receivedMs: number; sender: string }> {
  return Array.from({ length: count }, (_, index) => ({ data: Buffer.alloc(size, index % 256), receivedMs: fromMs + index * 1000, sender: '10.0.0.1:1094' }));
}

describe('chunks of a queue (the messages of the stream route)', () => {
  test('whole records, at most maxBytes, never across a slot or a segment, in queue order', async () => {
    const dir = path.join(testDir('forwarder-chunks'), 'queue');
    // Segment 1: 5 packets ending 2 s before a slot boundary, then 3 after it; segment 2: 2 packets.
    await queuePackets(dir, [...packets(5, 100, START + SLOT - 7000), ...packets(3, 100, START + SLOT)]);
    await queuePackets(dir, packets(2, 100, START + SLOT + 60_000));
    const recordBytes = 4 + 8 + 1 + '10.0.0.1:1094'.length + 100; // length, time, sender length, sender, datagram
    const reader = new ChunkReader(dir, 2 * recordBytes);
    const sizes: number[] = [];
    const offsets: number[] = [];
    let position;
    for (let chunk = reader.next(undefined); chunk; chunk = reader.next(position)) {
      sizes.push(chunk.packets);
      offsets.push(chunk.offset);
      expect([...decodeRecords(chunk.data)]).toHaveLength(chunk.packets);
      position = chunk.position;
    }
    // 5 before the boundary in 2 + 2 + 1, 3 after it in 2 + 1, the second segment's 2 in one.
    expect(sizes).toEqual([2, 2, 1, 2, 1, 2]);
    expect(offsets).toEqual([0, 2, 4, 5, 7, 0].map((records) => records * recordBytes));
    // Both segments read to their end: nothing was removed here (no commit), so the first is listed again.
    expect(position?.consumed).toEqual(listSegments(dir).map((segment) => segment.name));
    expect(position?.consumed).toHaveLength(2);
  });
});

describe('the forwarder, against a real nats-server', () => {
  let cluster: NatsCluster;
  let connection: NatsConnection;
  beforeAll(async () => {
    cluster = await startNatsCluster({ nodes: 1 });
    connection = await cluster.connect();
  }, 120_000);
  afterAll(async () => {
    await connection?.close();
    await cluster?.stop();
  });

  test('an acknowledgement lost after the stream stored a message: published again, stored once, then the segment goes', async () => {
    const dir = path.join(testDir('forwarder-lost-ack'), 'queue');
    await queuePackets(dir, packets(3, 200, START));
    const config = Config.parse(`[stream]\nservers = ${cluster.servers.join(', ')}\n`);
    const forwarding = packetForwarding(config, 'detailed', 'receiver-1');
    let attempts = 0;
    const forwarder = startForwarder({
      ...forwarding,
      queueDir: dir,
      log: new MemoryLogger(),
      pollMs: 50,
      retryMs: 50,
      connect: async () => {
        const client = await forwarding.connect();
        return {
          ...client,
          publish: async (subject, data, headers) => {
            await client.publish(subject, data, headers);
            attempts += 1;
            if (attempts === 1) throw new Error('the acknowledgement was lost');
          },
        };
      },
    });
    await eventually(async () => (forwarder.counters.published === 3 ? true : undefined));
    await forwarder.stop();
    expect(attempts).toBe(2);
    expect(forwarder.counters).toEqual({ messages: 1, published: 3, publishErrors: 1 });
    const manager = await connection.jetstreamManager();
    const stream = packetStreamName(streamSettings(config));
    expect((await manager.streams.info(stream)).state.messages).toBe(1);
    const stored = await manager.streams.getMessage(stream, { last_by_subj: forwarding.subject });
    expect([...decodeRecords(Buffer.from(stored.data))].map((record) => record.packet[0])).toEqual([0, 1, 2]);
    expect(stored.header.get('Nats-Msg-Id')).toMatch(/^receiver-1:\d+:0$/);
    expect(readdirSync(dir).filter((file) => file.endsWith('.seg'))).toEqual([]);
  });
});
