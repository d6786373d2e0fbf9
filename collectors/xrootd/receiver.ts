import type { Config } from '../../lib/config/config';
import { runReceiver } from '../../lib/queue/receiver';
import type { Logger } from '../../lib/run/log';
import { packetForwarding } from '../../lib/stream/packetStreams';
import { xrootdSettings } from './settings';

const REPORT_START = Buffer.from('<statistics');

/** A summary report is one XML `<statistics ...>` document; anything else (e.g. detailed monitoring sent to the wrong port) is rejected. */
export function isSummaryReport(datagram: Buffer): boolean {
  return datagram.subarray(0, REPORT_START.length).equals(REPORT_START);
}

/** What the shared receiver (lib/queue/receiver.ts) needs to know of the summary stream. */
export const SUMMARY_STREAM = { what: 'xrd.report packets', accept: isSummaryReport };

/**
 * `./run.sh xrootd-receiver` (the push side of the xrootd collector): the shared receiver with
 * [xrootd-receiver] listen and queue_max_bytes, and [xrootd] queue_dir (one key, so the receiver and
 * the collector always share the queue), until `signal` aborts. With [xrootd] queue = stream, the queue
 * is published to the packet stream as receiver_name.
 */
export function runReceiverFromConfig(config: Config, log: Logger, signal: AbortSignal): Promise<void> {
  const settings = xrootdSettings(config);
  for (const warning of settings.warnings) log.warn(warning);
  return runReceiver(
    {
      ...SUMMARY_STREAM,
      host: settings.receiverListen.host,
      port: settings.receiverListen.port,
      queueDir: settings.queueDir,
      maxQueueBytes: settings.queueMaxBytes,
      log,
      forward: settings.route === 'stream' ? packetForwarding(config, 'summary', settings.receiverName, log) : undefined,
    },
    signal,
  );
}
