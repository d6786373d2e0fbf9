import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { COLLECTORS_DIR } from '../../lib/config/paths';
import { slotStart } from '../../lib/run/slot';
import { defineDemo } from '../../scripts/quickstart/components';
import { encodeRecord } from '../../lib/queue/records';
import { QueueWriter } from '../../lib/queue/segments';
import { receiverOptions } from './receiver';

/**
 * A recorded detailed-monitoring capture of a real xrootd 5.5.3 (xrdcp up and down), queued once as
 * if received during the previous 10-minute slot: the aggregator reports a slot once it is complete,
 * so the quickstart has transfer documents at once; the demo server's own show up a slot later.
 */
export default defineDemo({
  components: [
    {
      name: 'recorded-xrootd-transfers',
      phase: 'data',
      wanted: (context) => context.config.hasSection('xrootd-transfers') && context.config.section('demo').has('xrootd'),
      start: async (context) => {
        const marker = path.join(context.varRoot, 'demo', 'recorded-transfers-queued');
        if (existsSync(marker)) return;
        const recorded = JSON.parse(readFileSync(path.join(COLLECTORS_DIR, 'xrootd-transfers', 'testdata', 'xrootd-5.5.3-packets.json'), 'utf8')) as {
          packets: Array<{ receivedMs: number; hex: string }>;
        };
        const firstMs = recorded.packets[0].receivedMs;
        const previousSlot = slotStart(Date.now()) - 600_000;
        const options = receiverOptions(context.config);
        const writer = new QueueWriter(options.queueDir, options.segmentMs);
        const records = recorded.packets.map((packet) => encodeRecord(previousSlot + 60_000 + (packet.receivedMs - firstMs), '127.0.0.1:1094', Buffer.from(packet.hex, 'hex')));
        await writer.append(records, previousSlot + 60_000);
        await writer.closeCurrent();
        mkdirSync(path.dirname(marker), { recursive: true });
        writeFileSync(marker, `${new Date().toISOString()}\n`);
      },
      stop: async () => undefined,
    },
  ],
});
