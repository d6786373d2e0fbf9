import type { Logger } from '../lib/run/log';

/** Where a progress bar is drawn: a terminal (isTTY) gets a redrawn bar, anything else plain log lines. */
export interface ProgressOutput {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Progress of a long run (a backfill, a catch-up). On a terminal: one bar redrawn at most every
 * 100 ms. Otherwise: a log line at each 10 % step, so a log file stays short.
 */
export class Progress {
  private done = 0;
  private lastDrawMs = 0;
  private lastLoggedStep = 0;
  private readonly startedMs = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly log: Logger,
    private readonly output: ProgressOutput = process.stderr,
  ) {}

  private summary(): string {
    const percent = this.total ? Math.floor((100 * this.done) / this.total) : 100;
    const elapsedSeconds = (Date.now() - this.startedMs) / 1000;
    const remaining = this.done ? (elapsedSeconds / this.done) * (this.total - this.done) : Infinity;
    return `${this.done}/${this.total} ${this.label} (${percent}%), elapsed ${formatSeconds(elapsedSeconds)}, left ~${formatSeconds(remaining)}`;
  }

  advance(detail = ''): void {
    this.done = Math.min(this.total, this.done + 1);
    const finished = this.done === this.total;
    if (this.output.isTTY) {
      const now = Date.now();
      if (!finished && now - this.lastDrawMs < 100) return;
      this.lastDrawMs = now;
      const width = 30;
      const filled = this.total ? Math.round((width * this.done) / this.total) : width;
      const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.summary()} ${detail}`;
      const columns = this.output.columns ?? 120;
      this.output.write(`\r${line.slice(0, columns - 1).padEnd(columns - 1)}${finished ? '\n' : ''}`);
      return;
    }
    const step = this.total ? Math.floor((10 * this.done) / this.total) : 10;
    if (step > this.lastLoggedStep || finished) {
      if (step === this.lastLoggedStep && this.lastLoggedStep === 10) return;
      this.lastLoggedStep = step;
      this.log.info(`progress: ${this.summary()}${detail ? `, last: ${detail}` : ''}`);
    }
  }

  /** Ends a bar that stopped early (an error or the deadline), so the next log line starts clean. */
  stop(): void {
    if (this.output.isTTY && this.done < this.total && this.done > 0) this.output.write('\n');
  }
}
