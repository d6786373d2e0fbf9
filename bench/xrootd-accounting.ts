/**
 * Throughput of the detailed stream's decode and accounting (issue 21): Accounting.add for every
 * packet, then buildReport once per 10-minute slot, as the xrootd-transfers collector does, on one
 * core and a realistic mix of packets (collectors/xrootd-transfers/test/packetMix.ts: 10 busy data
 * servers and a redirector, thousands of open files and sessions). In the same run:
 *   - decode alone (parsePacket of every packet), the baseline accounting is measured against;
 *   - the receiver's loss-free rate on the same packets (bench/xrootd-detailed-receiver.ts).
 * Prints packets/s in wall time and per CPU second, and CPU µs per packet (process.cpuUsage).
 *
 *   npm run build && node dist/bench/xrootd-accounting.js [--rounds N] [--receiver-seconds S | --no-receiver] [--file-records]
 *     [--profile DIR]   a V8 CPU profile of the timed accounting rounds only, for dist/bench/gatewayProfile.js DIR
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config/paths';
import { DocumentFactory } from '../lib/documents/document';
import { slotStart, TEN_MINUTES_MS } from '../lib/run/slot';
import { StateFile } from '../lib/state/stateFile';
import { Accounting, emptyState, type AccountingState } from '../collectors/xrootd-transfers/accounting';
import { parsePacket, PacketError } from '../collectors/xrootd-transfers/protocol';
import { buildReport } from '../collectors/xrootd-transfers/report';
import { parseSiteTable } from '../lib/sites/siteTable';
import { dnsCacheState, SiteMapper } from '../collectors/xrootd-transfers/sites';
import { parseTopologyTable } from '../collectors/xrootd-transfers/topology';
import { parseVoRules } from '../collectors/xrootd-transfers/vo';
import { Config } from '../lib/config/config';
import { COPY_PROGRAMS, DEFAULT_MIX, generatePacketMix, mixConfigText, type MixPacket } from '../collectors/xrootd-transfers/test/packetMix';
import { lossFreeRates, writePacketFile } from './xrootd-detailed-receiver';
import { median } from './support';

const TARGET_PACKETS_PER_CPU_SECOND = 100_000;

interface Measure {
  packets: number;
  wallSeconds: number;
  cpuSeconds: number;
}

function measure(run: () => number): Measure {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const packets = run();
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { packets, wallSeconds, cpuSeconds: (used.user + used.system) / 1e6 };
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function option(name: string, fallback: number): number {
  const value = argument(name);
  return value === undefined ? fallback : Number(value);
}

/** Profiles what runs between start() and stop() into DIR/xrootd-accounting.cpuprofile (no-op without a DIR); once. */
function profiler(dir: string | undefined): { start: () => Promise<void>; stop: () => Promise<void> } {
  const session = new Session();
  return {
    start: async () => {
      if (!dir) return;
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    },
    stop: async () => {
      if (!dir) return;
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'xrootd-accounting.cpuprofile'), JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/** The packets of each slot, oldest first. */
function bySlot(packets: MixPacket[]): MixPacket[][] {
  const slots = new Map<number, MixPacket[]>();
  for (const packet of packets) {
    const slot = slotStart(packet.receivedMs);
    const list = slots.get(slot);
    if (list) list.push(packet);
    else slots.set(slot, [packet]);
  }
  return [...slots.entries()].sort(([a], [b]) => a - b).map(([, list]) => list);
}

async function main(): Promise<void> {
  mkdirSync(path.join(PROJECT_ROOT, 'var', 'bench'), { recursive: true });
  const dir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'bench', 'xrootd-accounting-'));
  try {
    await run(option('--rounds', 3), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(rounds: number, dir: string): Promise<void> {
  const generationStarted = process.hrtime.bigint();
  const mix = generatePacketMix();
  const generationSeconds = Number(process.hrtime.bigint() - generationStarted) / 1e9;
  const [warmUp, ...measured] = bySlot(mix.packets);
  const packets = measured.flat();
  const records = mix.ledger.records;
  const bytesOf: Record<string, number> = {};
  const countOf: Record<string, number> = {};
  for (const { packet } of packets) {
    const code = String.fromCharCode(packet[0]);
    bytesOf[code] = (bytesOf[code] ?? 0) + packet.length;
    countOf[code] = (countOf[code] ?? 0) + 1;
  }
  const totalBytes = Object.values(bytesOf).reduce((sum, bytes) => sum + bytes, 0);
  console.log(`date: ${new Date().toISOString()}, node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  console.log(
    `mix: ${DEFAULT_MIX.dataServers} data servers + 1 redirector, ${DEFAULT_MIX.opensPerSecond} opens/s each, ${DEFAULT_MIX.seconds / 60} simulated minutes ` +
      `(generated in ${generationSeconds.toFixed(1)} s); up to ${mix.ledger.peakOpenFiles} files and ${mix.ledger.peakSessions} sessions open at once`,
  );
  console.log(`warm-up slot: ${warmUp.length} packets (not timed); measured: ${measured.length} slots, ${packets.length} packets, ${(totalBytes / 1e6).toFixed(1)} MB`);
  console.log(
    `  by code (share of packets / of bytes): ${Object.keys(countOf)
      .sort((a, b) => countOf[b] - countOf[a])
      .map((code) => `${code} ${((100 * countOf[code]) / packets.length).toFixed(1)}%/${((100 * bytesOf[code]) / totalBytes).toFixed(1)}%`)
      .join(', ')}`,
  );
  console.log(
    `  f records of the whole mix: ${records.open} open, ${records.transfer} xfr, ${records.close} close, ${records.disconnect} disconnect in ${records.time} f packets ` +
      `(${((records.open + records.transfer + records.close + records.disconnect) / records.time).toFixed(0)} per packet)`,
  );

  const config = Config.parse(mixConfigText(), 'xrootd-accounting bench');
  const topology = parseTopologyTable(config.section('xrootd-transfers.topology'));
  const mapper = new SiteMapper({
    table: parseSiteTable(config.section('xrootd-transfers.sites').entries()),
    cache: new StateFile(path.join(dir, 'dns-cache.json'), dnsCacheState),
    timeoutMs: 2000,
    budgetMs: 20_000,
    cacheTtlMs: 86_400_000,
    servers: [],
  });
  const options = {
    transferPrograms: new Set(COPY_PROGRAMS),
    idleTimeoutMs: 86_400_000,
    voRules: parseVoRules(config.section('xrootd-transfers.vo')),
    fileRecords: process.argv.includes('--file-records'),
  };
  let documents = 0;
  /** Wall ms by packet code and for the reports, filled by a run with `breakdown`. */
  const spent = new Map<string, { ms: number; count: number }>();
  const account = (name: string, ms: number): void => {
    const entry = spent.get(name) ?? { ms: 0, count: 0 };
    entry.ms += ms;
    entry.count += 1;
    spent.set(name, entry);
  };
  /** One collector run over a slot's packets, as collector.ts does it (without the queue and DNS). */
  const collect = (state: AccountingState, slotPackets: MixPacket[], breakdown = false): number => {
    const accounting = new Accounting(state, { ...options, reportedBefore: state.reportedBefore });
    for (const packet of slotPackets) {
      if (!breakdown) {
        accounting.add(packet.receivedMs, packet.sender, packet.packet);
        continue;
      }
      const started = performance.now();
      accounting.add(packet.receivedMs, packet.sender, packet.packet);
      account(String.fromCharCode(packet.packet[0]), performance.now() - started);
    }
    const started = performance.now();
    accounting.finish();
    const runSlotMs = slotStart(slotPackets[slotPackets.length - 1].receivedMs) + TEN_MINUTES_MS;
    accounting.expire(runSlotMs);
    accounting.redirections.useTopology(topology);
    for (const host of [...accounting.hostsSeen, ...accounting.redirections.targetHosts()]) mapper.request(host, runSlotMs);
    documents = buildReport(accounting, mapper, new DocumentFactory({ slotMs: runSlotMs, host: 'bench' })).documents.length;
    state.reportedBefore = runSlotMs;
    if (breakdown) account('report', performance.now() - started);
    return slotPackets.length;
  };
  const warmState = emptyState();
  collect(warmState, warmUp);

  const profile = profiler(argument('--profile'));
  const decodes: Measure[] = [];
  const accountings: Measure[] = [];
  let refused = 0;
  for (let round = 1; round <= rounds; round += 1) {
    refused = 0;
    decodes.push(
      measure(() => {
        for (const { packet } of packets) {
          try {
            parsePacket(packet);
          } catch (error) {
            if (!(error instanceof PacketError)) throw error;
            refused += 1;
          }
        }
        return packets.length;
      }),
    );
    const state = structuredClone(warmState);
    // The profile is of the last round, when the code is warm.
    if (round === rounds) await profile.start();
    accountings.push(measure(() => measured.reduce((sum, slotPackets) => sum + collect(state, slotPackets), 0)));
    if (round === rounds) await profile.stop();
    const [decode, account] = [decodes[round - 1], accountings[round - 1]];
    console.log(
      `round ${round}: decode ${rate(decode)}; decode + accounting + report ${rate(account)}, ` +
        `${(account.cpuSeconds / decode.cpuSeconds).toFixed(2)}x the CPU of decode alone`,
    );
  }
  console.log(`  ${refused} packets refused by the decoder per round; ${documents} documents in the last slot's report`);

  const perCpuSecond = median(accountings.map((result) => result.packets / result.cpuSeconds));
  const perWallSecond = median(accountings.map((result) => result.packets / result.wallSeconds));
  const decodePerCpuSecond = median(decodes.map((result) => result.packets / result.cpuSeconds));
  const fileRecordsPerPacket = (records.open + records.transfer + records.close + records.disconnect) / mix.packets.length;
  console.log(
    `median of ${rounds}: decode + accounting ${Math.round(perCpuSecond)} packets per CPU second (${Math.round(perWallSecond)}/s wall), ` +
      `${(1e6 / perCpuSecond).toFixed(2)} µs CPU per packet, ${(1e6 / (perCpuSecond * fileRecordsPerPacket)).toFixed(2)} µs per f record; ` +
      `${(perCpuSecond / decodePerCpuSecond).toFixed(2)}x decode alone (${Math.round(decodePerCpuSecond)}/CPU s); ` +
      `target >= ${TARGET_PACKETS_PER_CPU_SECOND}: ${perCpuSecond >= TARGET_PACKETS_PER_CPU_SECOND ? 'met' : 'NOT met'}`,
  );

  // Where the time goes, timed around each call (adds a little to each): one more untimed-for-the-median run.
  const breakdownState = structuredClone(warmState);
  for (const slotPackets of measured) collect(breakdownState, slotPackets, true);
  const wallTotal = [...spent.values()].reduce((sum, entry) => sum + entry.ms, 0);
  console.log(
    `where the wall time goes (one more run, each call timed): ${[...spent.entries()]
      .sort(([, a], [, b]) => b.ms - a.ms)
      .map(([name, { ms, count }]) => `${name} ${((100 * ms) / wallTotal).toFixed(1)}% (${name === 'report' ? `${(ms / count).toFixed(0)} ms per slot` : `${((1000 * ms) / count).toFixed(1)} µs each`})`)
      .join(', ')}`,
  );

  if (process.argv.includes('--no-receiver')) return;
  const packetFile = path.join(dir, 'mix.packets');
  writePacketFile(packetFile, packets.map((packet) => packet.packet));
  const { baseline, receivers } = await lossFreeRates(option('--receiver-seconds', 3), [0], packetFile);
  const receiver = receivers[0].best;
  console.log(`receiver (flush interval 0 ms, the default) on the same mix: ${receiver} packets/s without loss; a socket that only counts: ${baseline}`);
  console.log(
    `decode + accounting against the receiver's loss-free rate: ${(perWallSecond / Math.max(1, receiver)).toFixed(2)}x in wall time, ` +
      `${(perCpuSecond / Math.max(1, receiver)).toFixed(2)}x per CPU second (> 1: the collector keeps up with what the receiver can queue)`,
  );
}

function rate(result: Measure): string {
  return `${Math.round(result.packets / result.cpuSeconds)} packets/CPU s (${Math.round(result.packets / result.wallSeconds)}/s wall, ${((1e6 * result.cpuSeconds) / result.packets).toFixed(2)} µs CPU each)`;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
