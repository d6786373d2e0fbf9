/**
 * Plausible data for every schema, in raw, 1h and 1d, as the collectors (through the gateway) and the downsample jobs would
 * leave it: slot-aligned points, the schema's types (mean-downsampled fields become floats in 1h and
 * 1d, as InfluxDB's mean() makes them), a few series per measurement. For the dashboard tests and the benchmark.
 */
import { databaseFor, type InterpretedDocument } from '../../../lib/documents/interpret';
import type { InfluxClient, RetentionPolicy, RetentionPolicyDurations } from '../../../lib/influx/influxdb';
import { toLineProtocol } from '../../../lib/influx/lineProtocol';
import type { SchemaRegistry } from '../../../lib/documents/schemas';
import { TEN_MINUTES_MS } from '../../../lib/run/slot';
import type { FieldSchema, MonitDocument, Scalar, TypeSchema } from '../../../lib/documents/types';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** How far back each RP gets points, and at which step. */
export interface SyntheticSpan {
  rp: RetentionPolicy;
  stepMs: number;
  spanMs: number;
}

export const DEFAULT_SPANS: SyntheticSpan[] = [
  { rp: 'raw', stepMs: TEN_MINUTES_MS, spanMs: 2 * DAY_MS },
  { rp: '1h', stepMs: HOUR_MS, spanMs: 35 * DAY_MS },
  { rp: '1d', stepMs: DAY_MS, spanMs: 400 * DAY_MS },
];

export const TEST_DURATIONS: RetentionPolicyDurations = { raw: '30d', '1h': '400d', '1d': 'INF' };

/** Realistic values for tags the panels filter or group on; other tags get "<tag>-<n>". */
const TAG_VALUES: Record<string, string[]> = {
  job_status: ['running', 'activated', 'finished', 'failed'],
  access: ['local', 'remote', 'unknown'],
  direction: ['download', 'upload'],
  program: ['xrootd', 'cmsd'],
  mountpoint: ['/', '/data'],
  cloud: ['DE', 'FR', 'US'],
};

const STRING_VALUES: Record<string, string[]> = {
  status: ['available', 'degraded', 'unavailable', 'na'],
};

export interface SyntheticOptions {
  nowMs: number;
  spans?: SyntheticSpan[];
  durations?: RetentionPolicyDurations;
  /** Extra tag values, e.g. the status modules for `module`. */
  tagValues?: Record<string, string[]>;
  /** Series per measurement, at least. */
  minSeries?: number;
  /** Sends the raw points as MONIT documents (e.g. through the gateway) instead of writing them to InfluxDB. */
  sendRaw?: (documents: MonitDocument[]) => Promise<void>;
}

/** The tag sets of one measurement's series: every listed value of every tag appears; a measurement without tags has one series. */
export function syntheticSeries(schema: TypeSchema, tagValues: Record<string, string[]>, minSeries = 3): Array<Record<string, string>> {
  const tags = Object.keys(schema.tags);
  if (tags.length === 0) return [{}];
  const count = Math.max(minSeries, ...tags.map((tag) => tagValues[tag]?.length ?? 0));
  return Array.from({ length: count }, (_, index) =>
    Object.fromEntries(tags.map((tag) => [tag, tagValues[tag] ? tagValues[tag][index % tagValues[tag].length] : `${tag}-${index}`])),
  );
}

function fieldValue(name: string, field: FieldSchema, rp: RetentionPolicy, seriesIndex: number, step: number): { type: FieldSchema['type']; value: Scalar } {
  const wave = Math.sin(step / 9 + seriesIndex);
  switch (field.type) {
    case 'bool':
      return { type: 'bool', value: (step + seriesIndex) % 2 === 0 };
    case 'string': {
      const values = STRING_VALUES[name] ?? [`${name}-${seriesIndex}`];
      return { type: 'string', value: values[(step + seriesIndex) % values.length] };
    }
    default: {
      // A pure number (unit "1": a ratio, or 0 or 1 such as web's `up`) stays within 0..1; 0 now and then, never in the newest point.
      if (field.unit === '1') {
        if (field.type === 'int' && (rp === 'raw' || field.downsample !== 'mean')) return { type: 'int', value: step > 0 && (step + seriesIndex) % 7 === 0 ? 0 : 1 };
        return { type: 'float', value: 0.5 + 0.4 * wave };
      }
      const scale = field.unit === '%' ? 10 : field.unit === 'bytes' ? 1e9 : field.unit === 'B/s' ? 1e6 : 10;
      const level = scale * (2 + seriesIndex + wave);
      const value = field.unit === '%' ? Math.min(level, 99) : level;
      // mean() makes floats in 1h and 1d, whatever the raw type.
      if (field.type === 'float' || (rp !== 'raw' && field.downsample === 'mean')) return { type: 'float', value };
      return { type: 'int', value: Math.round(value) };
    }
  }
}

/** The points of one measurement in one RP, oldest first. */
export function syntheticPoints(schema: TypeSchema, span: SyntheticSpan, nowMs: number, series: Array<Record<string, string>>): InterpretedDocument[] {
  const points: InterpretedDocument[] = [];
  const last = Math.floor(nowMs / span.stepMs) * span.stepMs;
  const steps = Math.floor(span.spanMs / span.stepMs);
  for (let step = steps; step >= 0; step--) {
    const timestampMs = last - step * span.stepMs;
    series.forEach((tags, seriesIndex) => {
      const fields = Object.entries(schema.fields).map(([name, field]) => ({ name, ...fieldValue(name, field, span.rp, seriesIndex, step) }));
      points.push({ database: databaseFor(schema.producer), measurement: schema.type, tags, fields, timestampMs });
    });
  }
  return points;
}

/** The MONIT document a collector would send for a point. */
export function toMonitDocument(producer: string, point: InterpretedDocument): MonitDocument {
  return {
    producer,
    type: point.measurement,
    timestamp: point.timestampMs,
    idb_tags: Object.keys(point.tags),
    idb_fields: point.fields.map((field) => field.name),
    ...point.tags,
    ...Object.fromEntries(point.fields.map((field) => [field.name, field.value])),
  };
}

const BATCH_LINES = 5000;
/** Batches in flight at once: InfluxDB, not this process, is the bottleneck. */
const WRITE_CONCURRENCY = 4;

/** Creates each producer's database (raw, 1h, 1d) and writes every schema's synthetic points; returns the number of points. */
export async function writeSyntheticData(client: InfluxClient, registry: SchemaRegistry, options: SyntheticOptions): Promise<number> {
  const tagValues = { ...TAG_VALUES, ...options.tagValues };
  const durations = options.durations ?? TEST_DURATIONS;
  let points = 0;
  for (const database of new Set(registry.all().map((schema) => databaseFor(schema.producer)))) await client.ensureDatabase(database, durations);
  for (const schema of registry.all()) {
    const series = syntheticSeries(schema, tagValues, options.minSeries);
    for (const span of options.spans ?? DEFAULT_SPANS) {
      const spanPoints = syntheticPoints(schema, span, options.nowMs, series);
      points += spanPoints.length;
      if (span.rp === 'raw' && options.sendRaw) {
        for (let start = 0; start < spanPoints.length; start += BATCH_LINES) {
          await options.sendRaw(spanPoints.slice(start, start + BATCH_LINES).map((point) => toMonitDocument(schema.producer, point)));
        }
        continue;
      }
      const lines = spanPoints.map(toLineProtocol);
      const batches = Array.from({ length: Math.ceil(lines.length / BATCH_LINES) }, (_, index) => lines.slice(index * BATCH_LINES, (index + 1) * BATCH_LINES).join('\n'));
      let next = 0;
      const writer = async (): Promise<void> => {
        while (next < batches.length) await client.write(databaseFor(schema.producer), batches[next++], { retentionPolicy: span.rp, precision: 'ms' });
      };
      await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, writer));
    }
  }
  return points;
}
