import { spawn } from 'node:child_process';

export interface XrdCommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** True when the command was killed at its timeout. */
  timedOut: boolean;
  /** True when the caller's signal stopped it (the job's deadline). */
  aborted: boolean;
  durationMs: number;
}

/** Output kept per stream: enough for a stats reply or an error message, bounded whatever the tool prints. */
const MAX_OUTPUT = 1024 * 1024;

/** The trust and identity variables of XRootD's security plugins: a child gets these from the source's [tls] settings only. */
export const IDENTITY_VARIABLES = /^(X509_CERT_DIR|X509_USER_PROXY|X509_USER_CERT|X509_USER_KEY|BEARER_TOKEN|BEARER_TOKEN_FILE)$/;

export interface XrdCommandOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** The source's identity for the child (ClientTls.environment: X509_CERT_DIR, X509_USER_PROXY, BEARER_TOKEN_FILE...); never logged. */
  environment?: Record<string, string>;
}

/**
 * Runs an XRootD client tool (xrdfs, xrdcp) so that it never hangs: the client's own retries are cut
 * (XRD_CONNECTIONRETRY=1, request and connection windows within the timeout) and the process is killed
 * at the timeout or when `signal` aborts. Its grid identity is `environment`, never what the calling
 * environment (cron's, a login shell's) happens to hold.
 */
export function runXrdCommand(command: string, args: string[], options: XrdCommandOptions): Promise<XrdCommandResult> {
  const seconds = String(Math.max(1, Math.floor(options.timeoutMs / 1000)));
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !IDENTITY_VARIABLES.test(name)));
  const env = {
    ...inherited,
    ...options.environment,
    XRD_CONNECTIONRETRY: '1',
    XRD_CONNECTIONWINDOW: seconds,
    XRD_REQUESTTIMEOUT: seconds,
    XRD_STREAMTIMEOUT: seconds,
  };
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    let aborted = false;
    let spawnError: Error | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      if (outBytes < MAX_OUTPUT) out.push(chunk);
      outBytes += chunk.length;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (errBytes < MAX_OUTPUT) err.push(chunk);
      errBytes += chunk.length;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      child.kill('SIGKILL');
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      spawnError = error;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({
        exitCode: spawnError ? null : code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: spawnError ? `cannot run ${command}: ${spawnError.message}` : Buffer.concat(err).toString('utf8'),
        timedOut,
        aborted,
        durationMs: Date.now() - started,
      });
    });
  });
}

/** The first meaningful line of a client's error output, shortened (xrdcp prefixes "Run: "). */
export function firstErrorLine(stderr: string, maxLength = 200): string {
  const line =
    stderr
      .split('\n')
      .map((text) => text.replace(/^Run:\s*/, '').trim())
      .find((text) => text.length > 0) ?? '';
  return line.length > maxLength ? `${line.slice(0, maxLength - 1)}…` : line;
}
