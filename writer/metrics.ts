import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The writer's Prometheus metrics, on a registry of its own (one per writer). */
export class WriterMetrics {
  readonly registry = new Registry();
  /** Set at each scrape from the consumer's info (set by Writer). */
  readonly lag = new Gauge({ name: 'writer_stream_lag_messages', help: 'Messages of the stream not yet acknowledged by any writer: pending plus delivered and unacknowledged', registers: [this.registry] });
  readonly redeliveries = new Counter({ name: 'writer_redeliveries_total', help: 'Messages this writer received again (after a nak, a timeout or a writer that died)', registers: [this.registry] });
  readonly deadLetters = new Counter({ name: 'writer_dead_letters_total', help: 'Messages InfluxDB refused for good, moved to the dead-letter stream', labelNames: ['producer'], registers: [this.registry] });
  readonly pointsWritten = new Counter({ name: 'writer_points_written_total', help: 'Points stored in InfluxDB and acknowledged', labelNames: ['producer'], registers: [this.registry] });
  readonly writeSeconds = new Histogram({
    name: 'writer_batch_write_seconds',
    help: 'Time to write one batch to InfluxDB, refused lines found and dead-lettered included',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly writeErrors = new Counter({ name: 'writer_influxdb_write_errors_total', help: 'InfluxDB /write calls that failed, by kind', labelNames: ['kind'], registers: [this.registry] });
}
