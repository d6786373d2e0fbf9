import dgram from 'node:dgram';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { startReceiver } from '../../lib/queue/receiver';
import { listSegments, queueBytes } from '../../lib/queue/segments';
import { collectedDocuments } from '../../lib/run/collector';
import { MemoryLogger } from '../../lib/run/log';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext } from '../../test/support/collectorContext';
import { queuedPackets, queuePackets } from '../../test/support/packetQueue';
import { testDir } from '../../test/support/services';
import collector from './collector';
import { importPacketFiles } from './legacyQueue';
import { runReceiverFromConfig, SUMMARY_STREAM } from './receiver';
import { STATE_FILE } from './state';
import { eventually } from '../../test/support/xrootdServer';

const SAMPLE = readFileSync(path.join(__dirname, 'testdata', 'summary-report-sample.xml'), 'utf8');

/** The recorded report as made at `tod` with `bytesIn` received. */
function packet(tod: number, bytesIn: number): Buffer {
  return Buffer.from(SAMPLE.replace(/tod="\d+"/, `tod="${tod}"`).replace(/<in>\d+<\/in>/, `<in>${bytesIn}</in>`));
}

/** A sending socket on loopback (bound, so its address, which the queue records, is known). */
async function sender(): Promise<{ name: string; send(port: number, packets: Buffer[]): Promise<void>; close(): void }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    name: `127.0.0.1:${socket.address().port}`,
    send: async (port, packets) => {
      for (const data of packets) await new Promise<void>((resolve, reject) => socket.send(data, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
    },
    close: () => socket.close(),
  };
}

async function send(port: number, packets: Buffer[]): Promise<void> {
  const socket = await sender();
  await socket.send(port, packets);
  socket.close();
}

/** The text of every packet on disk in the queue folder `dir`. */
const onDisk = (dir: string): string[] => queuedPackets(dir).map((queued) => queued.packet.toString());

/** Bytes one packet takes in the queue: the record's fixed part (13 bytes), its sender and the datagram. */
const recordBytes = (senderName: string, data: Buffer): number => 13 + senderName.length + data.length;

/** One run of the collector on `queueDir`; commit() is left to the test. */
async function run(queueDir: string, stateDir: string): Promise<{ documents: MonitDocument[]; commit: () => Promise<void> }> {
  const result = await collector.collect(collectorContext('xrootd', `[xrootd]\nqueue_dir = ${queueDir}\n`, { stateDir }));
  if (Array.isArray(result) || !result.commit) throw new Error('expected { documents, commit }');
  return { documents: collectedDocuments(result), commit: result.commit };
}

const summaries = (documents: MonitDocument[]): MonitDocument[] => documents.filter((document) => document.type === 'summary');

describe('receiver', () => {
  it('writes every report packet to the queue, byte for byte, and refuses other packets', async () => {
    const queueDir = path.join(testDir('xrootd-receiver'), 'queue');
    const receiver = await startReceiver({ ...SUMMARY_STREAM, host: '127.0.0.1', port: 0, queueDir, maxQueueBytes: 1 << 30, log: new MemoryLogger() });
    try {
      const packets = Array.from({ length: 200 }, (_, index) => packet(1795363309 + index, 1000 * index));
      await send(receiver.port, [...packets, Buffer.from([0x75, 0x01, 0x00, 0x10, 1, 2, 3, 4])]);
      await eventually(async () => (receiver.counters.received === 201 ? true : undefined));
      await receiver.flushed();
      expect(receiver.counters).toEqual({ received: 201, queued: 200, dropped: 0, rejected: 1, batches: expect.any(Number), writeErrors: 0 });
      expect(receiver.counters.batches).toBeGreaterThanOrEqual(1);
      // A fresh reader (another process, after a crash) sees all of them, in arrival order.
      expect(onDisk(queueDir)).toEqual(packets.map((data) => data.toString()));
    } finally {
      await receiver.stop();
    }
  });

  it('drops packets beyond queue_max_bytes rather than filling the disk, and takes them again once the collector consumed the queue', async () => {
    const queueDir = path.join(testDir('xrootd-receiver'), 'queue');
    await queuePackets(queueDir, [{ data: packet(1, 1), receivedMs: 1 }, { data: packet(2, 2), receivedMs: 2 }]);
    const socket = await sender();
    const packets = Array.from({ length: 6 }, (_, index) => packet(10 + index, index));
    // Room for exactly three more packets.
    const maxQueueBytes = queueBytes(queueDir) + 3 * recordBytes(socket.name, packets[0]);
    const log = new MemoryLogger();
    // Short segments: the receiver closes its segment soon, so the collector can consume and remove it.
    const receiver = await startReceiver({ ...SUMMARY_STREAM, host: '127.0.0.1', port: 0, queueDir, segmentMs: 200, maxQueueBytes, log });
    try {
      await socket.send(receiver.port, packets);
      await eventually(async () => (receiver.counters.received === 6 ? true : undefined));
      await receiver.flushed();
      expect(receiver.counters).toMatchObject({ received: 6, queued: 3, dropped: 3, writeErrors: 0 });
      expect(onDisk(queueDir)).toHaveLength(5);
      expect(queueBytes(queueDir)).toBe(maxQueueBytes);
      expect(log.lines.some((line) => /WARN dropping packets: the queue .* holds \d+ bytes \(queue_max_bytes \d+\)/.test(line))).toBe(true);
      // Once the collector consumed the queue (the receiver's segment closed), packets are taken again.
      await eventually(async () => (listSegments(queueDir).every((segment) => !segment.open) ? true : undefined));
      const result = await run(queueDir, testDir('xrootd-receiver-state'));
      expect(summaries(result.documents)).toMatchObject([{ reports: 5 }]);
      await result.commit();
      expect(listSegments(queueDir)).toEqual([]);
      await socket.send(receiver.port, [packet(20, 20)]);
      await eventually(async () => (receiver.counters.queued === 4 ? true : undefined));
    } finally {
      socket.close();
      await receiver.stop();
    }
  });

  it('refuses to start on an address in use, so its supervisor sees the failure', async () => {
    const queueDir = path.join(testDir('xrootd-receiver'), 'queue');
    const first = await startReceiver({ ...SUMMARY_STREAM, host: '127.0.0.1', port: 0, queueDir, maxQueueBytes: 1000, log: new MemoryLogger() });
    try {
      await expect(startReceiver({ ...SUMMARY_STREAM, host: '127.0.0.1', port: first.port, queueDir, maxQueueBytes: 1000, log: new MemoryLogger() })).rejects.toThrow(
        /cannot listen on udp 127.0.0.1:\d+: .*EADDRINUSE/,
      );
    } finally {
      await first.stop();
    }
  });

  it('reads queue_max_packets, the key queue_max_bytes replaces, as 2 kB a packet and warns that names the new key', async () => {
    const queueDir = path.join(testDir('xrootd-receiver'), 'queue');
    const config = Config.parse(`[xrootd]\nqueue_dir = ${queueDir}\n[xrootd-receiver]\nlisten = 127.0.0.1:0\nqueue_max_packets = 2\n`, 'old.cfg');
    const log = new MemoryLogger('xrootd-receiver');
    const stop = new AbortController();
    const running = runReceiverFromConfig(config, log, stop.signal);
    const port = await eventually(async () => {
      const match = log.lines.map((line) => /listening for xrd\.report packets on udp 127\.0\.0\.1:(\d+)/.exec(line)).find(Boolean);
      return match ? Number(match[1]) : undefined;
    });
    expect(log.lines).toContainEqual(expect.stringMatching(/WARN old\.cfg: \[xrootd-receiver\] queue_max_packets is replaced by queue_max_bytes: read as queue_max_bytes = 4096 \(2 packets × 2048 bytes\)/));
    // Packets of about 1.7 kB: two fit in 4096 bytes, the third is dropped.
    await send(port, [packet(1795363309, 1), packet(1795363310, 2), packet(1795363311, 3)]);
    await eventually(async () => (log.lines.some((line) => /WARN dropping packets/.test(line)) ? true : undefined));
    stop.abort();
    await running;
    expect(log.lines[log.lines.length - 1]).toMatch(/xrd\.report packets: received=3 queued=2 dropped=1 rejected=0 batches=\d+ write_errors=0$/);
    expect(onDisk(queueDir)).toHaveLength(2);
  });
});

describe('queue consumption by the collector', () => {
  it('a run that dies before commit leaves every packet for the next run, which sends them exactly once', async () => {
    const queueDir = path.join(testDir('xrootd-crash'), 'queue');
    const stateDir = testDir('xrootd-crash-state');
    await queuePackets(queueDir, [0, 1, 2].map((index) => ({ data: packet(1000 + 10 * index, 5000 * index), receivedMs: 1000 + index })));

    const crashed = await run(queueDir, stateDir); // the runner was killed before the documents were spooled: no commit
    expect(summaries(crashed.documents)).toMatchObject([{ reports: 3, rate_interval_s: 20, link_in_rate: 500 }]);

    await queuePackets(queueDir, [{ data: packet(1030, 15000), receivedMs: 1003 }]); // arrived meanwhile
    const next = await run(queueDir, stateDir);
    expect(summaries(next.documents)).toMatchObject([{ reports: 4, rate_interval_s: 30, link_in_bytes: 15000, link_in_rate: 500 }]);
    const late = packet(1040, 20000);
    await queuePackets(queueDir, [{ data: late, receivedMs: 1004 }]); // arrives between collect and commit
    await next.commit();
    expect(onDisk(queueDir)).toEqual([late.toString()]);

    // The next run sends only the late packet, with its rate chained on the committed samples.
    const after = await run(queueDir, stateDir);
    expect(summaries(after.documents)).toMatchObject([{ reports: 1, rate_interval_s: 10, link_in_rate: 500 }]);
    await after.commit();
    expect(onDisk(queueDir)).toEqual([]);
    expect((await run(queueDir, stateDir)).documents).toEqual([]);
  });

  it('a crash after the commit saved its state but before it removed the segments never sends them twice', async () => {
    const queueDir = path.join(testDir('xrootd-crash'), 'queue');
    const stateDir = testDir('xrootd-crash-state');
    await queuePackets(queueDir, [{ data: packet(2000, 1), receivedMs: 1 }, { data: packet(2010, 2), receivedMs: 2 }]);
    const segments = listSegments(queueDir);
    const saved = testDir('xrootd-crash-copies');
    for (const segment of segments) copyFileSync(segment.file, path.join(saved, path.basename(segment.file)));
    const first = await run(queueDir, stateDir);
    expect(summaries(first.documents)).toHaveLength(1);
    await first.commit();
    expect(listSegments(queueDir)).toEqual([]);
    // Put the consumed segments back, as if the removal had not happened.
    for (const segment of segments) copyFileSync(path.join(saved, path.basename(segment.file)), segment.file);
    const second = await run(queueDir, stateDir);
    expect(second.documents).toEqual([]);
    await second.commit();
    expect(onDisk(queueDir)).toEqual([]);
  });

  it('reports packets that are not summary reports, and consumes them', async () => {
    const queueDir = path.join(testDir('xrootd-bad'), 'queue');
    await queuePackets(queueDir, [{ data: Buffer.from('<statistics broken'), receivedMs: 1 }, { data: packet(3000, 1), receivedMs: 2 }]);
    const context = collectorContext('xrootd', `[xrootd]\nqueue_dir = ${queueDir}\n`, { stateDir: testDir('xrootd-bad-state') });
    const result = await collector.collect(context);
    if (Array.isArray(result) || !result.commit) throw new Error('expected { documents, commit }');
    expect(summaries(collectedDocuments(result))).toHaveLength(1);
    expect(context.problems).toEqual([expect.stringMatching(/^queued packet from 127\.0\.0\.1:1094 received 1970-01-01T00:00:00\.001Z is not a summary report/)]);
    await result.commit();
    expect(onDisk(queueDir)).toEqual([]);
  });
});

describe('packets an older version queued one file each (.pkt)', () => {
  /** The older layout: `<receivedMs>-<pid>-<sequence>.pkt` files, and tmp/ where they were written. */
  function olderQueue(dir: string, packets: Buffer[]): string[] {
    mkdirSync(path.join(dir, 'tmp'), { recursive: true });
    const names = packets.map((data, index) => `${String(1000 + index).padStart(15, '0')}-4242-${String(index + 1).padStart(9, '0')}.pkt`);
    names.forEach((name, index) => writeFileSync(path.join(dir, name), packets[index]));
    // Never renamed into the queue (its writer died an hour ago): it was never queued.
    const stale = path.join(dir, 'tmp', `${String(999).padStart(15, '0')}-4242-000000000.pkt`);
    writeFileSync(stale, packet(1, 1));
    utimesSync(stale, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
    return names;
  }

  it('join the queue once: none lost, none counted twice, those an older state counted are removed unread', async () => {
    const queueDir = path.join(testDir('xrootd-older-queue'), 'queue');
    const stateDir = testDir('xrootd-older-state');
    const names = olderQueue(queueDir, [packet(4000, 1000), packet(4010, 2000), packet(4020, 3000), packet(4030, 4000)]);
    // The older collector committed the first packet but died before removing its file.
    writeFileSync(path.join(stateDir, STATE_FILE), JSON.stringify({ servers: {}, consumed: [names[0]] }));

    // A dry run reads them and changes nothing.
    const dryContext = collectorContext('xrootd', `[xrootd]\nqueue_dir = ${queueDir}\n`, { stateDir, dryRun: true });
    const dry = await collector.collect(dryContext);
    expect(summaries(collectedDocuments(dry))).toMatchObject([{ reports: 3, link_in_bytes: 4000, rate_interval_s: 20 }]);
    expect(readdirSync(queueDir).filter((name) => name.endsWith('.pkt'))).toEqual(names);

    const first = await run(queueDir, stateDir);
    expect(summaries(first.documents)).toMatchObject([{ reports: 3, link_in_bytes: 4000, link_in_rate: 100, rate_interval_s: 20 }]);
    expect(readdirSync(queueDir).filter((name) => name.endsWith('.pkt'))).toEqual([]);
    expect(existsSync(path.join(queueDir, 'tmp'))).toBe(false);
    // Imported, not yet consumed: a run that fails here sends the same next time.
    expect(onDisk(queueDir)).toEqual([packet(4010, 2000), packet(4020, 3000), packet(4030, 4000)].map(String));
    const again = await run(queueDir, stateDir);
    expect(again.documents).toEqual(first.documents);
    await again.commit();
    expect(onDisk(queueDir)).toEqual([]);
    expect((await run(queueDir, stateDir)).documents).toEqual([]);
  });

  it('many files are imported in parts of bounded size, in their order', () => {
    const queueDir = path.join(testDir('xrootd-older-queue'), 'queue');
    const packets = [0, 1, 2, 3, 4].map((index) => packet(5000 + index, index));
    olderQueue(queueDir, packets);
    expect(importPacketFiles(queueDir, new Set(), 2)).toBe(5);
    expect(listSegments(queueDir)).toHaveLength(3);
    expect(onDisk(queueDir)).toEqual(packets.map(String));
  });
});
