import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { encodeRecord } from './records';
import { commitRead, listSegments, pruneArchive, QueueWriter, readArchiveAndQueue, readQueue } from './segments';

function freshDir(): string {
  const base = path.join(PROJECT_ROOT, 'var', 'test');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(path.join(base, 'archive-'));
}

const SEGMENT = 10_000;
const texts = (packets: Iterable<{ packet: Buffer }>): string[] => [...packets].map((queued) => queued.packet.toString());

test('consumed segments move to the archive, where a backfill reads them before the queue; old ones are pruned', async () => {
  const dir = freshDir();
  const archive = path.join(dir, 'archive');
  const writer = new QueueWriter(dir, SEGMENT);
  const base = 1_800_000_000_000;
  for (const [index, text] of ['one', 'two', 'three'].entries()) {
    await writer.append([encodeRecord(base + index * SEGMENT, '10.0.0.1:1094', Buffer.from(text))], base + index * SEGMENT);
  }
  await writer.closeCurrent();

  const read = readQueue(dir, undefined, { before: base + 2 * SEGMENT });
  expect(texts(read.packets)).toEqual(['one', 'two']);
  commitRead(dir, read.position(), () => undefined, archive);
  expect(listSegments(archive).map((segment) => Number(segment.name))).toEqual([base, base + SEGMENT]);
  expect(listSegments(dir).map((segment) => Number(segment.name))).toEqual([base + 2 * SEGMENT]);
  expect(texts(readArchiveAndQueue(archive, dir))).toEqual(['one', 'two', 'three']);

  expect(pruneArchive(archive, base + SEGMENT)).toBe(1);
  expect(texts(readArchiveAndQueue(archive, dir))).toEqual(['two', 'three']);
  // Without an archive folder, consumed segments are removed as before.
  const again = readQueue(dir, read.position());
  expect(texts(again.packets)).toEqual(['three']);
  commitRead(dir, again.position(), () => undefined);
  expect(listSegments(dir)).toEqual([]);
  expect(existsSync(path.join(archive, `${String(base + 2 * SEGMENT).padStart(15, '0')}.seg`))).toBe(false);
});
