import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { readQueue } from '../../lib/queue/segments';
import { parseSummaryReport, type SummaryReport } from '../../collectors/xrootd/summaryReport';
import { runXrdCommand } from '../../lib/xrootd/clientTools';

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
  data: Buffer;
  report: SummaryReport;
}

/** The packets in the queue folder `queueDir`, parsed (those a collector consumed included, while their segment is on disk). */
export async function queuedReports(queueDir: string): Promise<QueuedReport[]> {
  return [...readQueue(queueDir, undefined).packets].map((queued) => ({ data: queued.packet, report: parseSummaryReport(queued.packet.toString('utf8')) }));
}

/** Waits for a queued report made at or after `unixSeconds` (a report that includes everything done before then). */
export function reportMadeAfter(queueDir: string, unixSeconds: number, pid?: number): Promise<QueuedReport> {
  return eventually(async () =>
    (await queuedReports(queueDir)).find((queued) => queued.report.time >= unixSeconds && (pid === undefined || queued.report.pid === pid)),
  );
}

/** Now, rounded up to the next whole second: a report with this tod was made after everything before now. */
export function nextSecond(): number {
  return Math.floor(Date.now() / 1000) + 1;
}
