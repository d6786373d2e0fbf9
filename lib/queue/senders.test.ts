import dgram from 'node:dgram';
import { mkdtempSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { MemoryLogger } from '../run/log';
import { formatSenders, runReceiver } from './receiver';

async function waitUntil(check: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200 && !check(); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 25));
  if (!check()) throw new Error('timed out');
}

async function socketOn(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

async function send(socket: dgram.Socket, port: number, count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    await new Promise<void>((resolve, reject) => socket.send(Buffer.from(`datagram ${index}`), port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  }
}

test('the receiver names its senders with their datagram counts, busiest first, in each report', async () => {
  const base = path.join(PROJECT_ROOT, 'var', 'test');
  mkdirSync(base, { recursive: true });
  const log = new MemoryLogger();
  const stop = new AbortController();
  const running = runReceiver({ what: 'test packets', host: '127.0.0.1', port: 0, queueDir: mkdtempSync(path.join(base, 'senders-')), maxQueueBytes: 1 << 20, log }, stop.signal, 50);
  await waitUntil(() => log.lines.some((line) => line.includes('listening for test packets')));
  const port = Number(/udp 127\.0\.0\.1:(\d+)/.exec(log.lines.find((line) => line.includes('listening')) as string)?.[1]);
  const busy = await socketOn();
  const quiet = await socketOn();
  await send(busy, port, 3);
  await send(quiet, port, 1);
  const expected = `INFO test packets senders: 127.0.0.1:${busy.address().port} (3), 127.0.0.1:${quiet.address().port} (1)`;
  await waitUntil(() => log.lines.includes(expected));
  // Counted per report: the next ones say none until more arrive.
  await waitUntil(() => log.lines.lastIndexOf('INFO test packets senders: none') > log.lines.indexOf(expected));
  stop.abort();
  await running;
  busy.close();
  quiet.close();
});

test('a report names at most 10 senders and sums the rest', () => {
  const senders: Array<[string, number]> = Array.from({ length: 12 }, (_, index) => [`10.0.0.${index}:1094`, 100 - index]);
  const line = formatSenders({ senders, uncounted: 5 });
  expect(line).toMatch(/^senders: 10\.0\.0\.0:1094 \(100\), .* 10\.0\.0\.9:1094 \(91\), and 2 more \(179 datagrams\), and 5 datagrams of senders past 10000$/);
  expect(line.split('(').length - 1).toBe(11);
});
