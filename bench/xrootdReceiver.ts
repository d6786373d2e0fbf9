/**
 * How many xrd.report packets per second the push chain handles, as ratios against a baseline
 * measured in the same run (one packet per append to the shared queue, i.e. one write and one
 * fdatasync each):
 *   - the queue with batched appends (what the receiver does under load);
 *   - the receiver end to end (UDP from another process in, durably queued), paced and flooding;
 *   - the collector consuming the queue (read, parse, aggregate, build documents).
 * Run: npm run build && node dist/bench/xrootdReceiver.js
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { collectedDocuments } from '../lib/run/collector';
import { MemoryLogger } from '../lib/run/log';
import { RunCredentials } from '../lib/run/runCredentials';
import { PROJECT_ROOT } from '../lib/config/paths';
import { Config } from '../lib/config/config';
import { StateFile } from '../lib/state/stateFile';
import { DocumentFactory } from '../lib/documents/document';
import { InfluxClient } from '../lib/influx/influxdb';
import collector from '../collectors/xrootd/collector';
import { SUMMARY_STREAM } from '../collectors/xrootd/receiver';
import { startReceiver } from '../lib/queue/receiver';
import { encodeRecord } from '../lib/queue/records';
import { QueueWriter } from '../lib/queue/segments';

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

/** Appends `count` packets to a fresh queue in `dir`, `batch` per write and fdatasync. */
async function append(dir: string, count: number, batch: number): Promise<void> {
  const writer = new QueueWriter(dir, 10_000);
  const now = Date.now();
  for (let index = 0; index < count; index += batch) {
    await writer.append(Array.from({ length: Math.min(batch, count - index) }, (_, offset) => encodeRecord(now, '127.0.0.1:1094', packet(index + offset))), now);
  }
  await writer.closeCurrent();
}

function baseline(count: number): Promise<number> {
  const dir = benchDir('queue-serial');
  return timed(async () => {
    await append(dir, count, 1);
    return count;
  });
}

function batched(count: number, batch: number): Promise<number> {
  const dir = benchDir('queue-batched');
  return timed(async () => {
    await append(dir, count, batch);
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
  const receiver = await startReceiver({ ...SUMMARY_STREAM, host: '127.0.0.1', port: 0, queueDir: dir, maxQueueBytes: 2 ** 34, log: new MemoryLogger() });
  const rate = await timed(async () => {
    await sendFromChild(receiver.port, count, perMs);
    await receiver.flushed();
    return receiver.counters.queued;
  });
  await receiver.stop();
  return { rate, lost: count - receiver.counters.queued };
}

async function consumption(count: number): Promise<number> {
  const dir = benchDir('consume');
  const queueDir = path.join(dir, 'queue');
  await append(queueDir, count, 500);
  const config = Config.parse(`[xrootd]\nqueue_dir = ${queueDir}\n`);
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
      tls: (source) => new RunCredentials(config, new MemoryLogger()).tls(source),
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
  console.log(line('queue, one packet per append (baseline)', base));
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
