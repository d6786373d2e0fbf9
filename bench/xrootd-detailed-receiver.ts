/**
 * How many detailed-monitoring packets per second the receiver queues without loss, against a
 * baseline: a bare UDP socket that only counts what it receives (the loopback and Node ceiling).
 * A child process sends 280-byte f-stream packets (recorded from a real xrootd) at rising rates;
 * bench/xrootd-accounting.ts measures the same with its packet mix through lossFreeRates().
 *
 *   npm run build && node dist/bench/xrootd-detailed-receiver.js [seconds-per-step]
 */
import { fork } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config/paths';
import { startReceiver } from '../lib/queue/receiver';
import { MemoryLogger } from '../lib/run/log';
import { DETAILED_STREAM } from '../collectors/xrootd-transfers/receiver';

interface SendOrder {
  port: number;
  rate: number;
  seconds: number;
  /** Packets to send in turn, each as a 4-byte length and its bytes; without it, the recorded f packet. */
  packetFile?: string;
}

const RATES = [5_000, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 80_000, 100_000, 120_000, 160_000];

function recordedPacket(): Buffer {
  const file = path.join(PROJECT_ROOT, 'collectors', 'xrootd-transfers', 'testdata', 'xrootd-5.5.3-packets.json');
  const packets = (JSON.parse(readFileSync(file, 'utf8')) as { packets: Array<{ hex: string }> }).packets.map((packet) => Buffer.from(packet.hex, 'hex'));
  return packets.find((packet) => packet[0] === 0x66) as Buffer;
}

/** Writes `packets` as a packet file for SendOrder.packetFile. */
export function writePacketFile(file: string, packets: Buffer[]): void {
  const lengthOf = (packet: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32LE(packet.length);
    return length;
  };
  writeFileSync(file, Buffer.concat(packets.flatMap((packet) => [lengthOf(packet), packet])));
}

function readPacketFile(file: string): Buffer[] {
  const bytes = readFileSync(file);
  const packets: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += 4 + bytes.readUInt32LE(offset)) packets.push(bytes.subarray(offset + 4, offset + 4 + bytes.readUInt32LE(offset)));
  return packets;
}

/** The child: sends `rate` packets/s for `seconds`, in 5 ms ticks, and reports how many it sent. */
async function sender(order: SendOrder): Promise<number> {
  const socket = dgram.createSocket({ type: 'udp4', sendBufferSize: 8 << 20 });
  const packets = order.packetFile ? readPacketFile(order.packetFile) : undefined;
  const recorded = recordedPacket();
  const perTick = order.rate / 200;
  const total = Math.round(order.rate * order.seconds);
  const start = Date.now();
  let sent = 0;
  let inFlight = 0;
  while (sent < total) {
    const due = Math.min(total, Math.round(((Date.now() - start) / 5 + 1) * perTick));
    while (sent < due) {
      const packet = packets ? packets[sent % packets.length] : recorded;
      if (!packets) packet[1] = sent & 0xff;
      inFlight += 1;
      socket.send(packet, order.port, '127.0.0.1', () => (inFlight -= 1));
      sent += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  socket.close();
  return sent;
}

function sendFromChild(order: SendOrder): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--send'], { stdio: 'inherit' });
    child.once('message', (sent) => {
      resolve(sent as number);
      child.kill();
    });
    child.once('error', reject);
    child.send(order);
  });
}

async function countingSocket(): Promise<{ port: number; received: () => number; close: () => void }> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 32 << 20 });
  let received = 0;
  socket.on('message', () => (received += 1));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, received: () => received, close: () => socket.close() };
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 500));
}

/** The highest rate at which `measure` lost nothing, with the loss at each step. */
async function highestLossFree(name: string, seconds: number, measure: (rate: number) => Promise<{ sent: number; kept: number }>): Promise<number> {
  let best = 0;
  for (const rate of RATES) {
    const { sent, kept } = await measure(rate);
    const lost = sent - kept;
    console.log(`${name.padEnd(15)} ${String(rate).padStart(7)} packets/s for ${seconds}s: sent ${sent}, kept ${kept}, lost ${lost}`);
    if (lost > 0) break;
    best = rate;
  }
  return best;
}

export interface LossFreeRates {
  /** A socket that only counts. */
  baseline: number;
  receivers: Array<{ flushIntervalMs: number; best: number; perBatch: number }>;
}

/** The highest loss-free rates of a counting socket and of the receiver at each flush interval. */
export async function lossFreeRates(seconds: number, flushIntervals: number[] = [0, 25, 100], packetFile?: string): Promise<LossFreeRates> {
  const base = path.join(PROJECT_ROOT, 'var', 'bench');
  mkdirSync(base, { recursive: true });

  const baseline = await highestLossFree('baseline', seconds, async (rate) => {
    const counter = await countingSocket();
    const sent = await sendFromChild({ port: counter.port, rate, seconds, packetFile });
    await settle();
    counter.close();
    return { sent, kept: counter.received() };
  });

  const dir = mkdtempSync(path.join(base, 'receiver-'));
  const results: Array<{ flushIntervalMs: number; best: number; perBatch: number }> = [];
  for (const flushIntervalMs of flushIntervals) {
    let perBatch = 0;
    const best = await highestLossFree(`receiver/${flushIntervalMs}ms`, seconds, async (rate) => {
      const queueDir = path.join(dir, `${flushIntervalMs}-${rate}`);
      const receiver = await startReceiver({
        ...DETAILED_STREAM,
        host: '127.0.0.1',
        port: 0,
        queueDir,
        segmentMs: 10_000,
        flushIntervalMs,
        socketBufferBytes: 32 << 20,
        maxQueueBytes: 2 ** 34,
        log: new MemoryLogger(),
      });
      const sent = await sendFromChild({ port: receiver.port, rate, seconds, packetFile });
      await settle();
      await receiver.stop();
      perBatch = receiver.counters.queued / Math.max(1, receiver.counters.batches);
      rmSync(queueDir, { recursive: true, force: true });
      return { sent, kept: receiver.counters.queued };
    });
    results.push({ flushIntervalMs, best, perBatch });
  }
  rmSync(dir, { recursive: true, force: true });
  return { baseline, receivers: results };
}

async function main(): Promise<void> {
  const { baseline, receivers } = await lossFreeRates(Number(process.argv[2] ?? 3));
  console.log(`\nbaseline (socket that only counts): ${baseline} packets/s without loss`);
  for (const { flushIntervalMs, best, perBatch } of receivers) {
    console.log(
      `receiver, write + fdatasync per batch, flush interval ${flushIntervalMs} ms: ${best} packets/s without loss, ` +
        `ratio to baseline ${(best / Math.max(1, baseline)).toFixed(2)} (last step ${perBatch.toFixed(0)} packets per batch)`,
    );
  }
}

if (process.argv.includes('--send')) {
  process.once('message', (order) => {
    void sender(order as SendOrder).then((sent) => process.send?.(sent));
  });
} else if (require.main === module) {
  void main();
}
