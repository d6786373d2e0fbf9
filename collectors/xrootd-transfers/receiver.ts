import path from 'node:path';
import type { Config } from '../../lib/config/config';
import { pathsFrom } from '../../lib/config/paths';
import { runReceiver, type ReceiverOptions } from '../../lib/queue/receiver';
import { queueRoute, receiverName, type QueueRoute } from '../../lib/queue/route';
import type { Logger } from '../../lib/run/log';
import { packetForwarding } from '../../lib/stream/packetStreams';

export const RECEIVER_JOB = 'xrootd-detailed-receiver';
export const SECTION = 'xrootd-transfers';

/** What the shared receiver (lib/queue/receiver.ts) needs to know of the detailed stream: every datagram is queued unparsed. */
export const DETAILED_STREAM = { what: 'detailed monitoring packets' };

/** The receiver's settings from [xrootd-transfers] (the collector reads its queue_dir and queue route too). */
export function receiverOptions(config: Config): Omit<ReceiverOptions, 'log'> & { segmentMs: number; route: QueueRoute; receiverName: string; streamAckWaitMs: number } {
  const section = config.section(SECTION);
  const listen = section.hostPort('receiver_listen', '127.0.0.1:9930');
  return {
    route: queueRoute(section),
    receiverName: receiverName(section, listen.port),
    streamAckWaitMs: section.duration('stream_ack_wait', '5m'),
    ...DETAILED_STREAM,
    host: listen.host,
    port: listen.port,
    // Under [paths] var, as state and spool are: a second config with its own var has its own queue.
    queueDir: section.path('queue_dir', path.join(pathsFrom(config).root, 'queue', SECTION)),
    segmentMs: section.duration('receiver_segment', '10s'),
    flushIntervalMs: section.duration('receiver_flush_interval', '0ms'),
    socketBufferBytes: section.int('receiver_socket_buffer', 32 * 1024 * 1024, { min: 65536 }),
    maxQueueBytes: section.int('queue_max_bytes', 4 * 1024 * 1024 * 1024, { min: 1 }),
  };
}

/**
 * `./run.sh xrootd-detailed-receiver`: the shared receiver until `signal` aborts; with `queue = stream`,
 * its queue is published to the packet stream as `receiver_name`.
 */
export function runDetailedReceiver(config: Config, log: Logger, signal: AbortSignal): Promise<void> {
  const options = receiverOptions(config);
  const forward = options.route === 'stream' ? packetForwarding(config, 'detailed', options.receiverName, log) : undefined;
  return runReceiver({ ...options, log, forward }, signal);
}
