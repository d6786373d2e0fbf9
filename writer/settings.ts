import type { Config } from '../lib/config/config';

/** The [writer] section: one writer process of the durable consumer they share. */
export interface WriterSettings {
  /** The durable pull consumer every writer of the stream shares. */
  consumer: string;
  /** A message not acknowledged within this is delivered again (to any writer). */
  ackWaitMs: number;
  /** Messages delivered and not yet acknowledged, over all writers. */
  maxAckPending: number;
  batchSize: number;
  /** How long one fetch waits to fill a batch. */
  batchWaitMs: number;
  /** The delay of the first redelivery after InfluxDB failed, doubled at each further one up to maxRetryDelayMs. */
  retryDelayMs: number;
  maxRetryDelayMs: number;
  /** Where /metrics is served; none: no HTTP server. */
  listen?: { host: string; port: number };
}

/** A durable consumer's name: JetStream refuses '.', '*', '>' and white space in it. */
const CONSUMER_NAME = /^[A-Za-z0-9_-]+$/;

export function writerSettings(config: Config): WriterSettings {
  const section = config.section('writer');
  const consumer = section.string('consumer', 'monit-writer');
  if (!CONSUMER_NAME.test(consumer)) throw section.invalid('consumer', `must be letters, digits, _ and - (a JetStream consumer name), got "${consumer}"`);
  const batchWaitMs = section.duration('batch_wait', '1s');
  // The nats client's own lower bound for a pull request's expiry.
  if (batchWaitMs < 1000) throw section.invalid('batch_wait', `must be at least 1s (the nats client's shortest pull), got ${batchWaitMs} ms`);
  const retryDelayMs = section.duration('retry_delay', '1s');
  const maxRetryDelayMs = section.duration('max_retry_delay', '1m');
  if (maxRetryDelayMs < retryDelayMs) throw section.invalid('max_retry_delay', `must be at least retry_delay (${retryDelayMs} ms), got ${maxRetryDelayMs} ms`);
  const batchSize = section.int('batch_size', 5000, { min: 1 });
  const maxAckPending = section.int('max_ack_pending', 20_000, { min: 1 });
  if (maxAckPending < batchSize) throw section.invalid('max_ack_pending', `must be at least batch_size (${batchSize}): a writer could never fill a batch`);
  return {
    consumer,
    ackWaitMs: section.duration('ack_wait', '2m'),
    maxAckPending,
    batchSize,
    batchWaitMs,
    retryDelayMs,
    maxRetryDelayMs,
    listen: section.has('listen') ? section.hostPort('listen') : undefined,
  };
}

/**
 * A warning when ack_wait is not above `influxTimeoutMs` (the longest timeout of the InfluxDB
 * instances): a batch still being written would be delivered to a second writer too. Not an error:
 * that costs a second write of the same points, never a loss.
 */
export function ackWaitWarning(settings: WriterSettings, influxTimeoutMs: number): string | undefined {
  if (settings.ackWaitMs > influxTimeoutMs) return undefined;
  return `[writer] ack_wait (${settings.ackWaitMs} ms) is not longer than the InfluxDB timeout (${influxTimeoutMs} ms): a slow batch will be delivered to another writer as well and written twice`;
}
