import { type ChunkedSeries, InfluxClient, type Series } from '../../lib/influx/influxdb';

/** An InfluxDB client that records every statement it sends (to count requests) and the time spent in them. */
export class RecordingInfluxClient extends InfluxClient {
  statements: string[] = [];
  /** Wall time with at least one statement in flight (statements may overlap). */
  busyMs = 0;
  private inFlight = 0;
  private busySince = 0;
  /** Called after each statement with its text and duration (ms), e.g. to print it. */
  onStatement?: (text: string, elapsedMs: number) => void;

  private async timed<T>(text: string, send: () => Promise<T>): Promise<T> {
    this.statements.push(text);
    const started = performance.now();
    if (this.inFlight++ === 0) this.busySince = started;
    try {
      return await send();
    } finally {
      const ended = performance.now();
      if (--this.inFlight === 0) this.busyMs += ended - this.busySince;
      this.onStatement?.(text, ended - started);
    }
  }

  override query(text: string, options: { database?: string; retentionPolicy?: string } = {}): Promise<Series[][]> {
    return this.timed(text, () => super.query(text, options));
  }

  override querySeries(text: string, onSeries: (series: Series) => void, options: { database?: string; signal?: AbortSignal } = {}): Promise<void> {
    return this.timed(text, () => super.querySeries(text, onSeries, options));
  }

  override queryPieces(text: string, onPiece: (piece: ChunkedSeries) => void, options: { database?: string; signal?: AbortSignal } = {}): Promise<void> {
    return this.timed(text, () => super.queryPieces(text, onPiece, options));
  }
}
