import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The gateway's Prometheus metrics, on a registry of its own (one per gateway instance). */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'gateway_requests_total', help: 'HTTP requests by path and status code', labelNames: ['path', 'code'], registers: [this.registry] });
  readonly accepted = new Counter({ name: 'gateway_documents_accepted_total', help: 'Documents accepted: stored in InfluxDB, or in the stream on the stream route', labelNames: ['producer'], registers: [this.registry] });
  readonly rejected = new Counter({ name: 'gateway_documents_rejected_total', help: 'Documents refused, by reason class', labelNames: ['reason'], registers: [this.registry] });
  readonly writeSeconds = new Histogram({
    name: 'gateway_influxdb_write_seconds',
    help: 'Latency of InfluxDB /write calls',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly inflightBytes = new Gauge({ name: 'gateway_inflight_body_bytes', help: 'Body bytes of the requests being read, parsed and written now', registers: [this.registry] });
  readonly inflightBytesPeak = new Gauge({
    name: 'gateway_inflight_body_bytes_peak',
    help: 'The most body bytes in flight at once since the start (at most [gateway] max_inflight_bytes)',
    registers: [this.registry],
  });
  readonly streamPublished = new Counter({
    name: 'gateway_stream_documents_published_total',
    help: 'Documents JetStream acknowledged (stream route), by result: stored, or duplicate (its _id was stored already)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly streamFailures = new Counter({
    name: 'gateway_stream_publish_failures_total',
    help: 'Requests whose publish failed (stream route), by reason: too_large refuses one document; the others answer 503',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly streamPublishSeconds = new Histogram({
    name: 'gateway_stream_publish_seconds',
    help: 'Time to publish one request\'s documents until JetStream acknowledged every one (stream route)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly writeErrors = new Counter({ name: 'gateway_influxdb_write_errors_total', help: 'InfluxDB /write calls that failed, by kind', labelNames: ['kind'], registers: [this.registry] });
}

/** A short, bounded label for a rejection reason (metrics labels must not carry free text). */
export function reasonClass(reason: string): string {
  if (/^too large for the stream/.test(reason)) return 'stream_too_large';
  if (/^same series and time as document/.test(reason)) return 'collision';
  if (/^timestamp /.test(reason)) return 'timestamp';
  if (/not in schemas/.test(reason)) return 'unknown_key';
  if (/must be (an integer|a float|a bool|a string)/.test(reason)) return 'wrong_type';
  if (/must have required property|must be (string|integer|number|object|array)$|must be >=|must NOT|must match|must be equal/.test(reason)) return 'envelope';
  if (/idb_tags and idb_fields/.test(reason)) return 'tag_and_field';
  if (/must be a (scalar|string, number or boolean)|JSON object/.test(reason)) return 'not_scalar';
  if (/InfluxDB/.test(reason)) return 'influxdb';
  if (/producer/.test(reason)) return 'producer';
  return 'other';
}
