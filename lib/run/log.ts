import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Values that must never reach a log line: passwords and tokens from the config. */
const secrets = new Set<string>();

/** Registers a secret so every later log line and error message shown by us replaces it with ***. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 3) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

/** One timestamped line per event, to var/log/<job>.log and to stderr. */
export class Logger {
  constructor(
    readonly job: string,
    private readonly file: string | undefined,
    private readonly debugEnabled = false,
    private readonly echo = true,
  ) {
    if (file) {
      try {
        mkdirSync(path.dirname(file), { recursive: true });
      } catch (error) {
        this.fileFailed(error);
      }
    }
  }

  /** Set while the log file cannot be written: lines then go to stderr, so the run is not silent. */
  private fileError?: string;

  /** Says once on stderr why the log file is not written (a full disk, permissions). */
  private fileFailed(error: unknown): void {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    if (this.fileError === reason) return;
    this.fileError = reason;
    process.stderr.write(`${new Date().toISOString()} ERROR [${this.job}] cannot write the log ${this.file}: ${(error as Error).message}; log lines go to stderr\n`);
  }

  static forJob(job: string, logDir: string | undefined, options: { debug?: boolean; echo?: boolean } = {}): Logger {
    return new Logger(job, logDir ? path.join(logDir, `${job}.log`) : undefined, options.debug ?? false, options.echo ?? true);
  }

  private write(level: LogLevel, message: string): void {
    if (level === 'debug' && !this.debugEnabled) return;
    const line = redact(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${this.job}] ${message.replace(/\n/g, '\\n')}`);
    let written = false;
    if (this.file) {
      try {
        appendFileSync(this.file, line + '\n');
        written = true;
        this.fileError = undefined;
      } catch (error) {
        this.fileFailed(error);
      }
    }
    if (this.echo || (this.file && !written)) process.stderr.write(line + '\n');
  }

  debug(message: string): void {
    this.write('debug', message);
  }
  info(message: string): void {
    this.write('info', message);
  }
  warn(message: string): void {
    this.write('warn', message);
  }
  error(message: string): void {
    this.write('error', message);
  }
}

/** A logger that keeps lines in memory: for tests and for code run without a job. */
export class MemoryLogger extends Logger {
  readonly lines: string[] = [];
  constructor(job = 'test') {
    super(job, undefined, true, false);
  }
  override debug(message: string): void {
    this.lines.push(`DEBUG ${message}`);
  }
  override info(message: string): void {
    this.lines.push(`INFO ${message}`);
  }
  override warn(message: string): void {
    this.lines.push(`WARN ${message}`);
  }
  override error(message: string): void {
    this.lines.push(`ERROR ${message}`);
  }
}
