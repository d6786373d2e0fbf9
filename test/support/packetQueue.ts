import { encodeRecord, type QueuedPacket } from '../../lib/queue/records';
import { QueueWriter, readQueue, type QueuePosition } from '../../lib/queue/segments';

/** Queues packets as the receiver would (one synced batch), in a closed segment of their own. */
export async function queuePackets(dir: string, packets: Array<{ data: Buffer; receivedMs: number; sender?: string }>): Promise<void> {
  if (packets.length === 0) return;
  const writer = new QueueWriter(dir, 10_000);
  await writer.append(
    packets.map((packet) => encodeRecord(packet.receivedMs, packet.sender ?? '127.0.0.1:1094', packet.data)),
    packets[0].receivedMs,
  );
  await writer.closeCurrent();
}

/** The packets of the queue in `dir` from `from` on (all of them without), without moving anything. */
export function queuedPackets(dir: string, from?: QueuePosition): QueuedPacket[] {
  return [...readQueue(dir, from).packets];
}
