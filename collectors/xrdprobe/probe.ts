import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { firstErrorLine, runXrdCommand, type XrdCommandOptions, type XrdCommandResult } from '../../lib/xrootd/clientTools';
import { writeFileDurably } from '../../lib/state/durableFile';
import type { FailureClass } from '../../lib/documents/failures';

/** An endpoint's test file, from `root://host[:port]//path`. */
export interface ProbeTarget {
  /** host:port, the document's endpoint tag. */
  endpoint: string;
  /** The full URL of the file read by the download test. */
  url: string;
  /** The root://host:port part, for building the upload URL. */
  base: string;
}

export type Direction = 'download' | 'upload';

export interface ProbeOutcome {
  success: boolean;
  durationMs: number;
  sizeBytes?: number;
  /** 10^6 bytes per second, on success. */
  throughputMBps?: number;
  errorClass: FailureClass | '';
  errorMessage: string;
}

export function parseTarget(url: string): ProbeTarget {
  const match = /^(x?roots?):\/\/([^/\s]+)\/([^\s]+)$/.exec(url.trim());
  if (!match) throw new Error(`"${url}" is not an XRootD file URL such as root://host:1094//store/test/file`);
  const hostPort = /:\d+$/.test(match[2]) ? match[2] : `${match[2]}:1094`;
  return { endpoint: hostPort, url: url.trim(), base: `${match[1]}://${hostPort}` };
}

/** A short, bounded class of why a transfer failed (a tag-like value for dashboards and status rules). */
export function classifyFailure(result: XrdCommandResult): FailureClass {
  if (result.timedOut) return 'timeout';
  if (result.aborted) return 'aborted';
  if (result.exitCode === null) return 'local';
  const text = result.stderr;
  if (/operation expired|timed? ?out/i.test(text)) return 'timeout';
  if (/\[3011\]|no such file/i.test(text)) return 'not_found';
  if (/\[3010\]|permission denied|not authorized/i.test(text)) return 'permission';
  if (/auth/i.test(text)) return 'auth';
  if (/connection|socket|refused|resolve|unreachable/i.test(text)) return 'connection';
  if (/local/i.test(text)) return 'local';
  return 'other';
}

function outcomeOf(result: XrdCommandResult, sizeBytes: number | undefined): ProbeOutcome {
  if (result.exitCode === 0 && !result.timedOut && !result.aborted && sizeBytes !== undefined) {
    const seconds = Math.max(result.durationMs, 1) / 1000;
    return { success: true, durationMs: result.durationMs, sizeBytes, throughputMBps: sizeBytes / 1e6 / seconds, errorClass: '', errorMessage: '' };
  }
  const errorMessage = result.timedOut ? `no result within the timeout, xrdcp killed` : firstErrorLine(result.stderr) || `xrdcp exit ${result.exitCode}`;
  return { success: false, durationMs: result.durationMs, errorClass: classifyFailure(result), errorMessage };
}

/** Reads the test file into `localFile` (removed afterwards). */
export async function probeDownload(target: ProbeTarget, localFile: string, options: XrdCommandOptions): Promise<ProbeOutcome> {
  try {
    const result = await runXrdCommand('xrdcp', ['--force', '--nopbar', target.url, localFile], options);
    const sizeBytes = result.exitCode === 0 ? (await stat(localFile).catch(() => undefined))?.size : undefined;
    return outcomeOf(result, sizeBytes);
  } finally {
    await unlink(localFile).catch(() => undefined);
  }
}

/** Writes `localFile` to `remotePath` on the endpoint (overwriting the previous run's copy). */
export async function probeUpload(
  target: ProbeTarget,
  localFile: string,
  remotePath: string,
  options: XrdCommandOptions,
): Promise<ProbeOutcome> {
  const result = await runXrdCommand('xrdcp', ['--force', '--nopbar', localFile, `${target.base}/${remotePath}`], options);
  return outcomeOf(result, result.exitCode === 0 ? statSync(localFile).size : undefined);
}

/** The file uploaded by the upload test: random bytes of the configured size, made once and reused. */
export function uploadSource(file: string, sizeBytes: number): string {
  if (!existsSync(file) || statSync(file).size !== sizeBytes) {
    writeFileDurably(file, randomBytes(sizeBytes));
  }
  return file;
}
