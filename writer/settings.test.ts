import { Config } from '../lib/config/config';
import { ackWaitWarning, writerSettings } from './settings';

const settings = (text: string) => writerSettings(Config.parse(`[writer]\n${text}`, 'test.cfg'));

test('defaults: consumer monit-writer, ack_wait 2m, batches of 5000 within 1s, retries from 1s to 1m, no /metrics', () => {
  expect(settings('')).toEqual({
    consumer: 'monit-writer',
    ackWaitMs: 120_000,
    maxAckPending: 20_000,
    batchSize: 5000,
    batchWaitMs: 1000,
    retryDelayMs: 1000,
    maxRetryDelayMs: 60_000,
    listen: undefined,
  });
  expect(settings('listen = 127.0.0.1:8192').listen).toEqual({ host: '127.0.0.1', port: 8192 });
});

test.each([
  ['consumer = monit.writer', '[writer] consumer must be letters, digits, _ and -'],
  ['batch_wait = 500ms', "[writer] batch_wait must be at least 1s (the nats client's shortest pull), got 500 ms"],
  ['batch_size = 100\nmax_ack_pending = 50', '[writer] max_ack_pending must be at least batch_size (100)'],
  ['retry_delay = 10s\nmax_retry_delay = 5s', '[writer] max_retry_delay must be at least retry_delay (10000 ms), got 5000 ms'],
  ['batch_size = 0', '[writer] batch_size must be at least 1'],
  ['listen = 8192', '[writer] listen must be host:port'],
])('%j: a config error naming the key', (text, message) => {
  expect(() => settings(text)).toThrow(`test.cfg: ${message}`);
});

test('an ack_wait not above the InfluxDB timeout is warned about: a slow batch would be written twice', () => {
  expect(ackWaitWarning(settings('ack_wait = 30s'), 30_000)).toContain('[writer] ack_wait (30000 ms) is not longer than the InfluxDB timeout (30000 ms)');
  expect(ackWaitWarning(settings('ack_wait = 31s'), 30_000)).toBeUndefined();
});
