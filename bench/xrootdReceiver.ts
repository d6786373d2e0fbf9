/**
 * How many xrd.report packets per second the push chain handles, as ratios against a baseline
 * measured in the same run (one packet per add(), i.e. one file fsync plus one folder fsync each):
 *   - the queue with batched adds (what the receiver does under load);
 *   - the receiver end to end (UDP from another process in, durably queued), paced and flooding;
 *   - the collector consuming the queue (read, parse, aggregate, build documents).
 * Run: npm run build && node dist/bench/xrootdReceiver.js
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { collectedDocuments } from '../lib/run/collector';
import { MemoryLogger } from '../lib/run/log';
import { PROJECT_ROOT } from '../lib/config/paths';
import { Config } from '../lib/config/config';
import { StateFile } from '../lib/state/stateFile';
import { DocumentFactory } from '../lib/documents/document';
import { InfluxClient } from '../lib/influx/influxdb';
import collector from '../collectors/xrootd/collector';
import { PacketQueue } from '../collectors/xrootd/packetQueue';
import { startReceiver } from '../collectors/xrootd/receiver';

const SAMPLE = readFileSync(path.join(PROJECT_ROOT, 'collectors', 'xrootd', 'testdata', 'summary-report-sample.xml'), 'utf8');
const SERVERS = 50;

/** Packet `index` of a fleet of SERVERS servers reporting in turn. */
function packet(index: number): Buffer {
  const server = index % SERVERS;
  const tod = 1795363309 + Math.floor(index / SERVERS) * 60;
  return Buffer.from(SAMPLE.replace(/tod="\d+"/, `tod="${tod}"`).replace('src="vm:11094"', `src="server${server}:1094"`).replace(/<in>\d+<\/in>/, `<in>${tod * 1000}</in>`));
}

const createdDirs: string[] = [];
function benchDir(name: string): string {
  const base = path.join(PROJECT_ROOT, 'var', 'bench');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(path.join(base, `xrootd-${name}-`));
  createdDirs.push(dir);
  return dir;
}

async function timed(run: () => Promise<number>): Promise<number> {
  const started = process.hrtime.bigint();
  const count = await run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return count / seconds;
}

async function baseline(count: number): Promise<number> {
  const queue = new PacketQueue(benchDir('queue-serial'));
  return timed(async () => {
    for (let index = 0; index < count; index += 1) await queue.add([{ data: packet(index), receivedMs: index }]);
    return count;
  });
}

async function batched(count: number, batch: number): Promise<number> {
  const queue = new PacketQueue(benchDir('queue-batched'));
  return timed(async () => {
    for (let index = 0; index < count; index += batch) {
      await queue.add(Array.from({ length: Math.min(batch, count - index) }, (_, offset) => ({ data: packet(index + offset), receivedMs: index + offset })));
    }
    return count;
  });
}

/** Sends `count` packets from another process, `perMs` packets per millisecond at most. */
function sendFromChild(port: number, count: number, perMs: number): Promise<void> {
  const sender = `
    const dgram = require('node:dgram');
    const socket = dgram.createSocket('udp4');
    const packets = JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8')).map((text) => Buffer.from(text));
    let index = 0;
    const tick = () => {
      const until = Math.min(index + ${perMs}, ${count});
      for (; index < until; index += 1) socket.send(packets[index % packets.length], ${port}, '127.0.0.1');
      if (index < ${count}) setTimeout(tick, 1); else setTimeout(() => socket.close(), 100);
    };
    tick();`;
  const packets = path.join(benchDir('packets'), 'packets.json');
  writeFileSync(packets, JSON.stringify(Array.from({ length: 500 }, (_, index) => packet(index).toString())));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', sender, packets], (error) => (error ? reject(error) : resolve()));
  });
}

async function receiverEndToEnd(count: number, perMs: number): Promise<{ rate: number; lost: number }> {
  const dir = benchDir('receiver');
  const receiver = await startReceiver({ host: '127.0.0.1', port: 0, queueDir: dir, maxQueuedPackets: 1_000_000, log: new MemoryLogger() });
  const rate = await timed(async () => {
    await sendFromChild(receiver.port, count, perMs);
    await receiver.idle();
    return receiver.counters.queued;
  });
  await receiver.stop();
  return { rate, lost: count - receiver.counters.queued };
}

async function consumption(count: number): Promise<number> {
  const dir = benchDir('consume');
  const queue = new PacketQueue(path.join(dir, 'queue'));
  for (let index = 0; index < count; index += 500) {
    await queue.add(Array.from({ length: Math.min(500, count - index) }, (_, offset) => ({ data: packet(index + offset), receivedMs: index + offset })));
  }
  const config = Config.parse(`[xrootd]\nqueue_dir = ${queue.dir}\n`);
  const slotMs = Date.UTC(2026, 10, 22, 10, 0);
  return timed(async () => {
    const result = await collector.collect({
      job: 'xrootd',
      config,
      section: config.section('xrootd'),
      slotMs,
      documents: new DocumentFactory({ slotMs, host: 'bench' }),
      log: new MemoryLogger(),
      stateDir: path.join(dir, 'state'),
      state: (name, options) => new StateFile(path.join(dir, 'state', name), options),
      signal: new AbortController().signal,
      dryRun: false,
      influxdb: () => new InfluxClient('http://127.0.0.1:1'),
      problem: () => undefined,
    });
    if (Array.isArray(result) || collectedDocuments(result).length !== SERVERS * 2) throw new Error('unexpected collector result');
    await result.commit?.();
    return count;
  });
}

async function main(): Promise<void> {
  const base = await baseline(500);
  const batch = await batched(5000, 500);
  const paced = await receiverEndToEnd(5000, 1);
  const flood = await receiverEndToEnd(5000, 50);
  const consume = await consumption(10_000);
  const line = (name: string, rate: number, extra = ''): string => `${name.padEnd(44)} ${(rate / base).toFixed(1).padStart(7)}× baseline  (${Math.round(rate)} packets/s)${extra}`;
  console.log(line('queue, one packet per add (baseline)', base));
  console.log(line('queue, batches of 500', batch));
  console.log(line('receiver, sender at ≤1000 packets/s', paced.rate, `, ${paced.lost} of 5000 lost`));
  console.log(line('receiver, sender at ≤50000 packets/s', flood.rate, `, ${flood.lost} of 5000 lost`));
  console.log(line(`collector consuming (${SERVERS} servers)`, consume));
  for (const dir of createdDirs) rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
