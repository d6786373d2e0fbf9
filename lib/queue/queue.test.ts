import dgram from 'node:dgram';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { MemoryLogger } from '../run/log';
import { encodeRecord } from './records';
import { runReceiver, startReceiver } from './receiver';
import { commitRead, finishImports, importPackets, listSegments, QueueWriter, readQueue, removeConsumed, type QueuePosition, type QueueRead } from './segments';

function freshDir(): string {
  const base = path.join(PROJECT_ROOT, 'var', 'test');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(path.join(base, 'packet-queue-'));
}

const packet = (text: string): Buffer => Buffer.from(text, 'latin1');
/** What a read yields, as text. */
const textsOf = (read: QueueRead): string[] => [...read.packets].map((queued) => queued.packet.toString());
const texts = (dir: string, from?: QueuePosition): string[] => textsOf(readQueue(dir, from));

/** A consumer's run: reads from `from`, then commits (the position stored, the segments read removed). */
function readAndCommit(dir: string, from: QueuePosition | undefined): { texts: string[]; position: QueuePosition | undefined } {
  const read = readQueue(dir, from);
  const result = { texts: textsOf(read), position: undefined as QueuePosition | undefined };
  commitRead(dir, read.position(), (position) => (result.position = position));
  return result;
}

async function waitUntil(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('the disk packet queue', () => {
  test('reads up to the cutoff, resumes from the position, and only closed, fully read segments are removable', async () => {
    const dir = freshDir();
    const writer = new QueueWriter(dir, 10_000);
    await writer.append([encodeRecord(1_000, '10.0.0.1:1000', packet('a')), encodeRecord(2_000, '10.0.0.1:1000', packet('b'))], 1_000);
    await writer.append([encodeRecord(12_000, '10.0.0.2:2000', packet('c'))], 12_000); // next segment
    await writer.append([encodeRecord(13_000, '10.0.0.2:2000', packet('d'))], 13_000);

    const first = readQueue(dir, undefined, { before: 12_500 });
    expect([...first.packets].map((queued) => [queued.receivedMs, queued.sender, queued.packet.toString()])).toEqual([
      [1_000, '10.0.0.1:1000', 'a'],
      [2_000, '10.0.0.1:1000', 'b'],
      [12_000, '10.0.0.2:2000', 'c'],
    ]);
    const position = first.position();
    expect(position?.consumed).toEqual(['000000000000000']);
    removeConsumed(dir, position);

    const second = readQueue(dir, position);
    expect(textsOf(second)).toEqual(['d']);
    expect(second.position()?.consumed).toEqual([]); // still open: the receiver writes there
    await writer.closeCurrent();
    expect(readdirSync(dir)).toEqual(['000000000010000.seg']);
  });

  test('a record cut short by a crash is ignored by the reader and trimmed at the next start', async () => {
    const dir = freshDir();
    // What a receiver that died mid-write leaves: an open segment ending in part of a record.
    const openFile = path.join(dir, '000000000000000.open');
    appendFileSync(openFile, encodeRecord(1_000, '10.0.0.1:1000', packet('whole')));
    const cut = encodeRecord(1_500, '10.0.0.1:1000', packet('cut short'));
    appendFileSync(openFile, cut.subarray(0, cut.length - 3));
    expect(texts(dir)).toEqual(['whole']);

    const restarted = new QueueWriter(dir, 10_000);
    expect(restarted.recover()).toBe(cut.length - 3);
    const closed = path.join(dir, '000000000000000.seg');
    expect(statSync(closed).size).toBe(encodeRecord(1_000, '10.0.0.1:1000', packet('whole')).length);
    await restarted.append([encodeRecord(2_000, '10.0.0.1:1000', packet('after'))], 2_000);
    await restarted.closeCurrent();
    // The same interval after a restart goes to a new segment; nothing is overwritten.
    expect(texts(dir)).toEqual(['whole', 'after']);
  });

  test('a run reads at most maxPackets; the next one goes on from the position, mid-segment', async () => {
    const dir = freshDir();
    const writer = new QueueWriter(dir, 10_000);
    await writer.append(['a', 'b', 'c', 'd', 'e'].map((text, index) => encodeRecord(1_000 + index, '', packet(text))), 1_000);
    await writer.closeCurrent();
    const first = readQueue(dir, undefined, { maxPackets: 3 });
    expect(textsOf(first)).toEqual(['a', 'b', 'c']);
    expect(first.position()).toEqual({ segment: '000000000000000', offset: expect.any(Number), consumed: [] });
    const second = readQueue(dir, first.position(), { maxPackets: 3 });
    expect(textsOf(second)).toEqual(['d', 'e']);
    expect(second.position()?.consumed).toEqual(['000000000000000']);
  });

  test('commitRead stores the position before it removes; a crash between the two neither loses nor repeats a packet', async () => {
    const dir = freshDir();
    const writer = new QueueWriter(dir, 10_000);
    await writer.append([encodeRecord(1_000, '', packet('a')), encodeRecord(2_000, '', packet('b'))], 1_000);
    await writer.append([encodeRecord(11_000, '', packet('c'))], 11_000);
    await writer.closeCurrent();

    const first = readQueue(dir, undefined);
    expect(textsOf(first)).toEqual(['a', 'b', 'c']);
    // The consumer's state write succeeds, then the process dies before the segments are removed.
    let stored: QueuePosition | undefined;
    const crash = new Error('killed');
    expect(() =>
      commitRead(dir, first.position(), (position) => {
        stored = position;
        throw crash; // stands for the death right after the durable write
      }),
    ).toThrow(crash);
    expect(listSegments(dir).map((segment) => segment.name)).toEqual(['000000000000000', '000000000010000']);

    // Packets queued since are read; those of the stored position never again.
    await writer.append([encodeRecord(21_000, '', packet('d'))], 21_000);
    await writer.closeCurrent();
    const second = readAndCommit(dir, stored);
    expect(second.texts).toEqual(['d']);
    expect(second.position?.consumed).toEqual(['000000000000000', '000000000010000', '000000000020000']);
    expect(listSegments(dir)).toEqual([]);
    expect(texts(dir, second.position)).toEqual([]);
  });

  test('a position stored before positions listed their segments takes every segment before it as read', async () => {
    const dir = freshDir();
    const writer = new QueueWriter(dir, 10_000);
    await writer.append([encodeRecord(1_000, '', packet('a'))], 1_000);
    await writer.append([encodeRecord(11_000, '', packet('b')), encodeRecord(12_000, '', packet('c'))], 11_000);
    await writer.closeCurrent();
    const offsetOfC = encodeRecord(11_000, '', packet('b')).length;
    const read = readQueue(dir, { segment: '000000000010000', offset: offsetOfC });
    expect(textsOf(read)).toEqual(['c']);
    expect(read.position()?.consumed).toEqual(['000000000000000', '000000000010000']);
  });
});

describe('importing packets into the queue', () => {
  /** Source files of an older layout, one packet each. */
  function sources(dir: string, contents: string[]): string[] {
    const folder = path.join(dir, 'older');
    mkdirSync(folder, { recursive: true });
    return contents.map((text) => {
      const file = path.join(folder, `${text}.pkt`);
      writeFileSync(file, text);
      return file;
    });
  }
  const packets = (contents: string[]): Array<{ receivedMs: number; sender: string; packet: Buffer }> =>
    contents.map((text, index) => ({ receivedMs: 500 + index, sender: '', packet: packet(text) }));
  const importBytes = (contents: string[]): Buffer => Buffer.concat(packets(contents).map((queued) => encodeRecord(queued.receivedMs, queued.sender, queued.packet)));

  test('imported packets are read once, even behind a position that is further on; their sources are gone', async () => {
    const dir = freshDir();
    const writer = new QueueWriter(dir, 10_000);
    await writer.append([encodeRecord(100_000, '', packet('new'))], 100_000);
    await writer.closeCurrent();
    const first = readAndCommit(dir, undefined);
    expect(first.texts).toEqual(['new']);

    const files = sources(dir, ['x', 'y']);
    const name = importPackets(dir, packets(['x', 'y']), files);
    expect(name < (first.position as QueuePosition).segment).toBe(true); // named by its oldest packet: before the position
    expect(files.filter((file) => existsSync(file))).toEqual([]);
    const second = readAndCommit(dir, first.position);
    expect(second.texts).toEqual(['x', 'y']);
    expect(texts(dir, second.position)).toEqual([]);
    expect(readdirSync(dir).filter((file) => !file.startsWith('older'))).toEqual([]);
  });

  test('a crash at any step of an import leaves every packet exactly once', () => {
    const name = '000000000000500-import';
    // Crashed after storing the list of sources, before the segment was complete: the sources stay, nothing is queued.
    let dir = freshDir();
    let files = sources(dir, ['x', 'y']);
    writeFileSync(path.join(dir, `${name}.sources`), JSON.stringify(files));
    writeFileSync(path.join(dir, `.tmp-${name}.import-4242`), importBytes(['x']));
    finishImports(dir);
    expect(files.every((file) => existsSync(file))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['older']);

    // Crashed once the segment was complete, before (or while) the sources were removed: it is published, the sources go.
    for (const removedBefore of [0, 1, 2]) {
      dir = freshDir();
      files = sources(dir, ['x', 'y']);
      writeFileSync(path.join(dir, `${name}.sources`), JSON.stringify(files));
      writeFileSync(path.join(dir, `${name}.import`), importBytes(['x', 'y']));
      for (const file of files.slice(0, removedBefore)) rmSync(file);
      expect(texts(dir)).toEqual([]); // not readable before it is published
      finishImports(dir);
      expect(files.filter((file) => existsSync(file))).toEqual([]);
      expect(texts(dir)).toEqual(['x', 'y']);
      expect(readdirSync(dir).sort()).toEqual([`${name}.seg`, 'older']);
    }

    // Crashed after publishing, before the list of sources was removed.
    dir = freshDir();
    writeFileSync(path.join(dir, `${name}.sources`), JSON.stringify([path.join(dir, 'older', 'x.pkt')]));
    writeFileSync(path.join(dir, `${name}.seg`), importBytes(['x']));
    finishImports(dir);
    expect(readdirSync(dir).sort()).toEqual([`${name}.seg`]);
    expect(texts(dir)).toEqual(['x']);
  });
});

describe('the shared receiver', () => {
  async function send(port: number, datagrams: Buffer[]): Promise<void> {
    const socket = dgram.createSocket('udp4');
    for (const datagram of datagrams) await new Promise<void>((resolve, reject) => socket.send(datagram, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
    socket.close();
  }

  test('logs its counters every interval and at its stop, in one vocabulary', async () => {
    const dir = freshDir();
    const log = new MemoryLogger();
    const stop = new AbortController();
    const running = runReceiver(
      { what: 'test packets', host: '127.0.0.1', port: 0, queueDir: dir, maxQueueBytes: 1 << 20, accept: (datagram) => datagram[0] !== 0x78, log },
      stop.signal,
      50,
    );
    await waitUntil(() => log.lines.some((line) => line.includes('listening for test packets on udp 127.0.0.1:')));
    const port = Number(/udp 127\.0\.0\.1:(\d+)/.exec(log.lines.find((line) => line.includes('listening')) as string)?.[1]);
    await send(port, [packet('one'), packet('two'), packet('x rejected'), packet('three')]);
    await waitUntil(() => log.lines.some((line) => /received=4 queued=3 dropped=0 rejected=1 batches=\d+ write_errors=0$/.test(line)));
    stop.abort();
    await running;
    expect(log.lines[log.lines.length - 1]).toMatch(/^INFO test packets: received=4 queued=3 dropped=0 rejected=1 batches=[1-3] write_errors=0$/);
    expect(texts(dir)).toEqual(['one', 'two', 'three']);
    expect(listSegments(dir).every((segment) => !segment.open)).toBe(true); // closed at the stop
  });

  test('a batch the disk refuses counts as a write error and as dropped, never as queued', async () => {
    const dir = freshDir();
    const log = new MemoryLogger();
    const receiver = await startReceiver({ what: 'test packets', host: '127.0.0.1', port: 0, queueDir: dir, maxQueueBytes: 1 << 20, log });
    try {
      rmSync(dir, { recursive: true }); // the queue folder is gone: the segment cannot be created
      await send(receiver.port, [packet('lost')]);
      await waitUntil(() => receiver.counters.received === 1);
      await receiver.flushed();
      expect(receiver.counters).toEqual({ received: 1, queued: 0, dropped: 1, rejected: 0, batches: 0, writeErrors: 1 });
      expect(log.lines).toContainEqual(expect.stringMatching(/^ERROR queue write failed, 1 datagrams lost: .*ENOENT/));
    } finally {
      mkdirSync(dir, { recursive: true });
      await receiver.stop();
    }
  });

  test('a second receiver on the address of a running one fails before it touches the queue', async () => {
    const dir = freshDir();
    const options = { what: 'test packets', host: '127.0.0.1', queueDir: dir, maxQueueBytes: 1 << 20 };
    const running = await startReceiver({ ...options, port: 0, log: new MemoryLogger() });
    try {
      await send(running.port, [packet('one')]);
      await waitUntil(() => running.counters.received === 1);
      await running.flushed();
      await expect(startReceiver({ ...options, port: running.port, log: new MemoryLogger() })).rejects.toThrow(/EADDRINUSE/);
      expect(listSegments(dir).map((segment) => segment.open)).toEqual([true]); // still the running receiver's
      await send(running.port, [packet('two')]);
      await waitUntil(() => running.counters.queued === 2);
    } finally {
      await running.stop();
    }
    expect(texts(dir)).toEqual(['one', 'two']);
  });

  test('a record a crash cut short is trimmed when the receiver starts, with a warning', async () => {
    const dir = freshDir();
    const cut = encodeRecord(1_500, '10.0.0.1:1000', packet('cut short'));
    writeFileSync(path.join(dir, '000000000000000.open'), Buffer.concat([encodeRecord(1_000, '', packet('whole')), cut.subarray(0, 10)]));
    const log = new MemoryLogger();
    const receiver = await startReceiver({ what: 'test packets', host: '127.0.0.1', port: 0, queueDir: dir, maxQueueBytes: 1 << 20, log });
    await receiver.stop();
    expect(log.lines).toContain('WARN trimmed 10 bytes of a record cut short by a previous stop');
    expect(readFileSync(path.join(dir, '000000000000000.seg'))).toEqual(encodeRecord(1_000, '', packet('whole')));
  });
});
