import dgram from 'node:dgram';
import { collectedDocuments } from '../../lib/run/collector';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MemoryLogger } from '../../lib/run/log';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext } from '../../test/support/collectorContext';
import { testDir } from '../../test/support/services';
import collector from './collector';
import { PacketQueue } from './packetQueue';
import { startReceiver } from './receiver';
import { eventually } from './test/xrootdServer';

const SAMPLE = readFileSync(path.join(__dirname, 'testdata', 'summary-report-sample.xml'), 'utf8');

/** The recorded report as made at `tod` with `bytesIn` received. */
function packet(tod: number, bytesIn: number): Buffer {
  return Buffer.from(SAMPLE.replace(/tod="\d+"/, `tod="${tod}"`).replace(/<in>\d+<\/in>/, `<in>${bytesIn}</in>`));
}

async function send(port: number, packets: Buffer[]): Promise<void> {
  const socket = dgram.createSocket('udp4');
  for (const data of packets) await new Promise<void>((resolve, reject) => socket.send(data, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  socket.close();
}

describe('receiver', () => {
  it('writes every report packet to the queue, byte for byte, and refuses other packets', async () => {
    const queue = new PacketQueue(path.join(testDir('xrootd-receiver'), 'queue'));
    const receiver = await startReceiver({ host: '127.0.0.1', port: 0, queueDir: queue.dir, maxQueuedPackets: 10_000, log: new MemoryLogger() });
    try {
      const packets = Array.from({ length: 200 }, (_, index) => packet(1795363309 + index, 1000 * index));
      await send(receiver.port, [...packets, Buffer.from([0x75, 0x01, 0x00, 0x10, 1, 2, 3, 4])]);
      await eventually(async () => (receiver.counters.received === 201 ? true : undefined));
      await receiver.idle();
      expect(receiver.counters).toEqual({ received: 201, queued: 200, dropped: 0, rejected: 1 });
      // A fresh reader (another process, after a crash) sees all of them, in arrival order.
      const reader = new PacketQueue(queue.dir);
      const names = await reader.list();
      expect(names).toHaveLength(200);
      const stored = await Promise.all(names.map(async (name) => (await reader.read(name))!.data.toString()));
      expect(stored).toEqual(packets.map((data) => data.toString()));
    } finally {
      await receiver.stop();
    }
  });

  it('drops packets beyond queue_max_packets rather than filling the disk', async () => {
    const queue = new PacketQueue(path.join(testDir('xrootd-receiver'), 'queue'));
    await queue.add([{ data: packet(1, 1), receivedMs: 1 }, { data: packet(2, 2), receivedMs: 2 }]);
    const log = new MemoryLogger();
    const receiver = await startReceiver({ host: '127.0.0.1', port: 0, queueDir: queue.dir, maxQueuedPackets: 5, log });
    try {
      await send(receiver.port, Array.from({ length: 6 }, (_, index) => packet(10 + index, index)));
      await eventually(async () => (receiver.counters.received === 6 ? true : undefined));
      await receiver.idle();
      expect(receiver.counters).toMatchObject({ received: 6, queued: 3, dropped: 3 });
      expect(await queue.list()).toHaveLength(5);
      expect(log.lines.some((line) => /WARN dropping packets: the queue .* holds/.test(line))).toBe(true);
      // Once the collector drained the queue, packets are taken again.
      await queue.remove(await queue.list());
      await send(receiver.port, [packet(20, 20)]);
      await eventually(async () => (receiver.counters.queued === 4 ? true : undefined));
    } finally {
      await receiver.stop();
    }
  });

  it('refuses to start on an address in use, so its supervisor sees the failure', async () => {
    const queueDir = path.join(testDir('xrootd-receiver'), 'queue');
    const first = await startReceiver({ host: '127.0.0.1', port: 0, queueDir, maxQueuedPackets: 10, log: new MemoryLogger() });
    try {
      await expect(startReceiver({ host: '127.0.0.1', port: first.port, queueDir, maxQueuedPackets: 10, log: new MemoryLogger() })).rejects.toThrow(/cannot listen on udp 127.0.0.1:\d+: .*EADDRINUSE/);
    } finally {
      await first.stop();
    }
  });
});

describe('queue consumption by the collector', () => {
  const run = async (queueDir: string, stateDir: string): Promise<{ documents: MonitDocument[]; commit: () => Promise<void> }> => {
    const result = await collector.collect(collectorContext('xrootd', `[xrootd]\nqueue_dir = ${queueDir}\n`, { stateDir }));
    if (Array.isArray(result) || !result.commit) throw new Error('expected { documents, commit }');
    return { documents: collectedDocuments(result), commit: result.commit };
  };
  const summaries = (documents: MonitDocument[]): MonitDocument[] => documents.filter((document) => document.type === 'summary');

  it('a run that dies before commit leaves every packet for the next run, which sends them exactly once', async () => {
    const queue = new PacketQueue(path.join(testDir('xrootd-crash'), 'queue'));
    const stateDir = testDir('xrootd-crash-state');
    await queue.add([0, 1, 2].map((index) => ({ data: packet(1000 + 10 * index, 5000 * index), receivedMs: 1000 + index })));

    const crashed = await run(queue.dir, stateDir); // the runner was killed before the documents were spooled: no commit
    expect(summaries(crashed.documents)).toMatchObject([{ reports: 3, rate_interval_s: 20, link_in_rate: 500 }]);

    await queue.add([{ data: packet(1030, 15000), receivedMs: 1003 }]); // arrived meanwhile
    const next = await run(queue.dir, stateDir);
    expect(summaries(next.documents)).toMatchObject([{ reports: 4, rate_interval_s: 30, link_in_bytes: 15000, link_in_rate: 500 }]);
    const late = await queue.add([{ data: packet(1040, 20000), receivedMs: 1004 }]); // arrives between collect and commit
    await next.commit();
    expect(await queue.list()).toEqual(late);

    // The next run sends only the late packet, with its rate chained on the committed samples.
    const after = await run(queue.dir, stateDir);
    expect(summaries(after.documents)).toMatchObject([{ reports: 1, rate_interval_s: 10, link_in_rate: 500 }]);
    await after.commit();
    expect(await queue.list()).toEqual([]);
    expect((await run(queue.dir, stateDir)).documents).toEqual([]);
  });

  it('a crash after the commit saved its state but before it deleted the packets never sends them twice', async () => {
    const queue = new PacketQueue(path.join(testDir('xrootd-crash'), 'queue'));
    const stateDir = testDir('xrootd-crash-state');
    const names = await queue.add([{ data: packet(2000, 1), receivedMs: 1 }, { data: packet(2010, 2), receivedMs: 2 }]);
    const first = await run(queue.dir, stateDir);
    expect(summaries(first.documents)).toHaveLength(1);
    await first.commit();
    // Put the consumed files back, as if the deletion had not happened.
    for (const name of names) writeFileSync(path.join(queue.dir, name), packet(2000, 1));
    const second = await run(queue.dir, stateDir);
    expect(second.documents).toEqual([]);
    await second.commit();
    expect(await queue.list()).toEqual([]);
  });

  it('reports packets that are not summary reports, and consumes them', async () => {
    const queue = new PacketQueue(path.join(testDir('xrootd-bad'), 'queue'));
    await queue.add([{ data: Buffer.from('<statistics broken'), receivedMs: 1 }, { data: packet(3000, 1), receivedMs: 2 }]);
    const context = collectorContext('xrootd', `[xrootd]\nqueue_dir = ${queue.dir}\n`, { stateDir: testDir('xrootd-bad-state') });
    const result = await collector.collect(context);
    if (Array.isArray(result) || !result.commit) throw new Error('expected { documents, commit }');
    expect(summaries(collectedDocuments(result))).toHaveLength(1);
    expect(context.problems).toEqual([expect.stringMatching(/not a summary report/)]);
    await result.commit();
    expect(await queue.list()).toEqual([]);
  });
});
