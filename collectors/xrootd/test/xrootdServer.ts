import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PacketQueue } from '../packetQueue';
import { parseSummaryReport, type SummaryReport } from '../summaryReport';
import { runXrdCommand } from '../xrdCommand';

/** Test helpers shared by the xrootd and xrdprobe tests (real servers, loopback only); kept free of test/ imports so the build stays clean. */

/**
 * The --config-extra file of a real xrootd (written into `dir`) that pushes its summary report every
 * second to 127.0.0.1:reportPort (when given) and names its site.
 */
export function xrootdConfigExtra(dir: string, options: { reportPort?: number; site?: string; extraLines?: string[] } = {}): string {
  const lines = [...(options.extraLines ?? [])];
  if (options.reportPort) lines.push(`xrd.report 127.0.0.1:${options.reportPort} every 1s all`);
  if (options.site) lines.push(`all.sitename ${options.site}`);
  const extra = path.join(dir, 'extra.cfg');
  writeFileSync(extra, lines.join('\n') + '\n');
  return extra;
}

/** xrdcp that must succeed within 30 s. */
export async function xrdcp(source: string, destination: string): Promise<void> {
  const result = await runXrdCommand('xrdcp', ['--force', '--nopbar', source, destination], { timeoutMs: 30_000 });
  if (result.exitCode !== 0) throw new Error(`xrdcp ${source} ${destination} failed: ${result.stderr}`);
}

/** A local file of random bytes. */
export function randomFile(dir: string, name: string, size: number): string {
  const file = path.join(dir, name);
  writeFileSync(file, randomBytes(size));
  return file;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `probe` returns a value (the test's own timeout bounds the wait). */
export async function eventually<T>(probe: () => Promise<T | undefined>, everyMs = 100): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(everyMs);
  }
}

export interface QueuedReport {
  name: string;
  data: Buffer;
  report: SummaryReport;
}

/** The queued packets, parsed. */
export async function queuedReports(queue: PacketQueue): Promise<QueuedReport[]> {
  const result: QueuedReport[] = [];
  for (const name of await queue.list()) {
    const packet = await queue.read(name);
    if (packet) result.push({ name, data: packet.data, report: parseSummaryReport(packet.data.toString('utf8')) });
  }
  return result;
}

/** Waits for a queued report made at or after `unixSeconds` (a report that includes everything done before then). */
export function reportMadeAfter(queue: PacketQueue, unixSeconds: number, pid?: number): Promise<QueuedReport> {
  return eventually(async () =>
    (await queuedReports(queue)).find((queued) => queued.report.time >= unixSeconds && (pid === undefined || queued.report.pid === pid)),
  );
}

/** Now, rounded up to the next whole second: a report with this tod was made after everything before now. */
export function nextSecond(): number {
  return Math.floor(Date.now() / 1000) + 1;
}
