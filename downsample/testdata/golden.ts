/**
 * A golden dataset for the downsampling tests, and the 1h/1d values computed from it independently
 * of InfluxDB (plain JavaScript over the generated points).
 */
import { Point } from '@influxdata/influxdb-client';
import type { DownsampleFunction, TypeSchema } from '../../lib/documents/types';
import { randomGenerator } from '../../test/support/random';

export type FieldValue = number | string | boolean;

export interface GoldenPoint {
  measurement: string;
  tags: Record<string, string>;
  timeMs: number;
  fields: Record<string, FieldValue>;
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
const TEN_MINUTES_MS = 600_000;

/** The test producer: one field per kind of data a collector sends. */
export const GOLDEN_SCHEMA: TypeSchema = {
  producer: 'downsample-test',
  type: 'golden',
  description: 'Golden dataset of the downsampling tests.',
  tags: { host: { description: 'Host.' }, site: { description: 'Site.' } },
  fields: {
    load: { type: 'float', unit: '1', description: 'A gauge.', downsample: 'mean' },
    connections: { type: 'int', unit: 'count', description: 'An integer gauge.', downsample: 'mean' },
    jobs_finished: { type: 'int', unit: 'count', description: 'A count per interval.', downsample: 'sum' },
    bytes_total: { type: 'int', unit: 'bytes', description: 'A cumulative counter.', downsample: 'last' },
    queue_peak: { type: 'int', unit: 'count', description: 'A peak.', downsample: 'max' },
    free_min: { type: 'float', unit: 'bytes', description: 'A floor.', downsample: 'min' },
    state: { type: 'string', unit: '', description: 'A state name.', downsample: 'last' },
    up: { type: 'bool', unit: '', description: 'A flag.', downsample: 'last' },
  },
};
export const GOLDEN_DATABASE = 'monit_production_downsample_test';

/** A measurement without schema in the same database: numbers mean, the rest last. */
export const ADHOC_MEASUREMENT = 'adhoc';

const SERIES = [
  { host: 'node-a', site: 'CERN' },
  { host: 'node-b', site: 'CERN' },
  { host: 'node-c', site: 'BNL' },
];
const STATES = ['ok', 'draining', 'busy'];

/**
 * Ten-minute points from `startMs` for `days` days: node-b misses four hours on day 1, node-c misses
 * all of day 2, node-a two points of 05:00 every day, `state` is only sent on the hour, and node-c
 * never reports `queue_peak`.
 */
export function goldenPoints(startMs: number, days: number): GoldenPoint[] {
  const random = randomGenerator(42);
  const points: GoldenPoint[] = [];
  for (const [index, tags] of SERIES.entries()) {
    let bytesTotal = 1_000_000 * (index + 1);
    for (let timeMs = startMs; timeMs < startMs + days * DAY_MS; timeMs += TEN_MINUTES_MS) {
      const sinceStart = timeMs - startMs;
      if (tags.host === 'node-b' && sinceStart >= DAY_MS + 3 * HOUR_MS && sinceStart < DAY_MS + 7 * HOUR_MS) continue;
      if (tags.host === 'node-c' && sinceStart >= 2 * DAY_MS && sinceStart < 3 * DAY_MS) continue;
      // Two points missing inside an hour: the day's mean of hourly means then differs from the mean of raw points.
      if (tags.host === 'node-a' && [5 * HOUR_MS + 10 * 60_000, 5 * HOUR_MS + 20 * 60_000].includes(sinceStart % DAY_MS)) continue;
      bytesTotal += Math.floor(random() * 50_000);
      const fields: Record<string, FieldValue> = {
        load: Math.round(random() * 10_000) / 1000,
        connections: Math.floor(random() * 500),
        jobs_finished: Math.floor(random() * 20),
        bytes_total: bytesTotal,
        free_min: Math.round(random() * 1e9) / 7,
        up: random() > 0.2,
      };
      if (tags.host !== 'node-c') fields.queue_peak = Math.floor(random() * 1000);
      if (timeMs % HOUR_MS === 0) fields.state = STATES[Math.floor(random() * STATES.length)];
      points.push({ measurement: GOLDEN_SCHEMA.type, tags, timeMs, fields });
      if (index === 0) {
        points.push({ measurement: ADHOC_MEASUREMENT, tags: { probe: 'p1' }, timeMs, fields: { temperature: 20 + random() * 5, note: `n${timeMs % 7}` } });
      }
    }
  }
  return points;
}

/** Line protocol with the schema's types (int fields as integers), as the gateway would write them. */
export function toLineProtocol(points: GoldenPoint[]): string {
  return points
    .map((one) => {
      const point = new Point(one.measurement).timestamp(one.timeMs);
      for (const [key, value] of Object.entries(one.tags)) point.tag(key, value);
      for (const [field, value] of Object.entries(one.fields)) {
        const declared = one.measurement === GOLDEN_SCHEMA.type ? GOLDEN_SCHEMA.fields[field].type : undefined;
        if (typeof value === 'string') point.stringField(field, value);
        else if (typeof value === 'boolean') point.booleanField(field, value);
        else if (declared === 'int') point.intField(field, value);
        else point.floatField(field, value);
      }
      return point.toLineProtocol();
    })
    .join('\n');
}

/** measurement|tags|time → field → value: the shape both the expectation and InfluxDB's answer are put in. */
export type Results = Map<string, Record<string, FieldValue>>;

export function resultKey(measurement: string, tags: Record<string, string>, timeMs: number): string {
  const tagText = Object.keys(tags)
    .sort()
    .map((key) => `${key}=${tags[key]}`)
    .join(',');
  return `${measurement}|${tagText}|${new Date(timeMs).toISOString()}`;
}

function functionFor(measurement: string, field: string, sample: FieldValue): DownsampleFunction {
  if (measurement === GOLDEN_SCHEMA.type) return GOLDEN_SCHEMA.fields[field].downsample;
  return typeof sample === 'number' ? 'mean' : 'last';
}

/** Applies one function to values in time order. */
function aggregate(fn: DownsampleFunction, values: FieldValue[]): FieldValue {
  const numbers = values as number[];
  switch (fn) {
    case 'mean':
      return numbers.reduce((a, b) => a + b, 0) / numbers.length;
    case 'sum':
      return numbers.reduce((a, b) => a + b, 0);
    case 'max':
      return Math.max(...numbers);
    case 'min':
      return Math.min(...numbers);
    case 'last':
      return values[values.length - 1];
  }
}

interface Sample {
  measurement: string;
  tags: Record<string, string>;
  timeMs: number;
  fields: Record<string, FieldValue>;
}

/** Groups samples into windows of `windowMs` before `untilMs` and aggregates each field. */
function downsample(samples: Sample[], windowMs: number, fromMs: number, untilMs: number): Results {
  const groups = new Map<string, { sample: Sample; windowMs: number; values: Map<string, FieldValue[]> }>();
  const ordered = [...samples].sort((a, b) => a.timeMs - b.timeMs);
  for (const sample of ordered) {
    if (sample.timeMs < fromMs || sample.timeMs >= untilMs) continue;
    const windowStart = Math.floor(sample.timeMs / windowMs) * windowMs;
    const key = resultKey(sample.measurement, sample.tags, windowStart);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { sample, windowMs: windowStart, values: new Map() }));
    for (const [field, value] of Object.entries(sample.fields)) {
      const list = group.values.get(field) ?? [];
      list.push(value);
      group.values.set(field, list);
    }
  }
  const results: Results = new Map();
  for (const [key, group] of groups) {
    const fields: Record<string, FieldValue> = {};
    for (const [field, values] of group.values) fields[field] = aggregate(functionFor(group.sample.measurement, field, values[0]), values);
    results.set(key, fields);
  }
  return results;
}

/** The 1h windows in [fromMs, untilMs), from the raw points. */
export function expectedHourly(points: GoldenPoint[], fromMs: number, untilMs: number): Results {
  return downsample(points, HOUR_MS, fromMs, untilMs);
}

/** The 1d windows in [fromMs, untilMs), from the hourly results (1d is made from 1h). */
export function expectedDaily(points: GoldenPoint[], fromMs: number, untilMs: number): Results {
  const hourly = expectedHourly(points, fromMs, untilMs);
  const samples: Sample[] = [...hourly].map(([key, fields]) => {
    const [measurement, tagText, time] = key.split('|');
    const tags = Object.fromEntries(tagText.split(',').map((pair) => pair.split('=') as [string, string]));
    return { measurement, tags, timeMs: Date.parse(time), fields };
  });
  return downsample(samples, DAY_MS, fromMs, untilMs);
}
