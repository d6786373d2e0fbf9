import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { encodeRecord, QueueWriter, readQueue, removeSegments } from './queue';

function freshDir(): string {
  const base = path.join(PROJECT_ROOT, 'var', 'test');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(path.join(base, 'xrootd-queue-'));
}

const packet = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('the on-disk packet queue', () => {
  test('reads up to the cutoff, resumes from the position, and only closed, fully read segments are removable', async () => {
    const dir = freshDir();
    const writer = new QueueWriter(dir, 10_000);
    await writer.append([encodeRecord(1_000, '10.0.0.1:1000', packet('a')), encodeRecord(2_000, '10.0.0.1:1000', packet('b'))], 1_000);
    await writer.append([encodeRecord(12_000, '10.0.0.2:2000', packet('c'))], 12_000); // next segment
    await writer.append([encodeRecord(13_000, '10.0.0.2:2000', packet('d'))], 13_000);

    const first = readQueue(dir, undefined, 12_500);
    expect([...first.packets].map((queued) => [queued.receivedMs, queued.sender, queued.packet.toString()])).toEqual([
      [1_000, '10.0.0.1:1000', 'a'],
      [2_000, '10.0.0.1:1000', 'b'],
      [12_000, '10.0.0.2:2000', 'c'],
    ]);
    const { position, consumed } = first.result();
    expect(consumed.map((file) => path.basename(file))).toEqual(['000000000000000.seg']);
    removeSegments(consumed);

    const second = readQueue(dir, position, Infinity);
    expect([...second.packets].map((queued) => queued.packet.toString())).toEqual(['d']);
    expect(second.result().consumed).toEqual([]); // still open: the receiver writes there
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
    expect([...readQueue(dir, undefined, Infinity).packets].map((queued) => queued.packet.toString())).toEqual(['whole']);

    const restarted = new QueueWriter(dir, 10_000);
    expect(restarted.recover()).toBe(cut.length - 3);
    const closed = path.join(dir, '000000000000000.seg');
    expect(statSync(closed).size).toBe(encodeRecord(1_000, '10.0.0.1:1000', packet('whole')).length);
    await restarted.append([encodeRecord(2_000, '10.0.0.1:1000', packet('after'))], 2_000);
    await restarted.closeCurrent();
    // The same interval after a restart goes to a new segment; nothing is overwritten.
    expect([...readQueue(dir, undefined, Infinity).packets].map((queued) => queued.packet.toString())).toEqual(['whole', 'after']);
  });
});
