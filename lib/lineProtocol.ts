import { Point } from '@influxdata/influxdb-client';
import type { InterpretedDocument } from './interpret';

/** Keeps the millisecond timestamp as given: lines are written with precision=ms. */
const keepMilliseconds = { convertTime: (value: string | number | Date | undefined) => (value === undefined ? undefined : String(value)) };

/**
 * Why InfluxDB 1.x cannot store this tag value exactly, or undefined when it can. Its line protocol has
 * no escape for a newline in a tag, and a tag ending in a backslash escapes the separator after it.
 */
export function unstorableTagValue(value: string): string | undefined {
  if (/[\n\r]/.test(value)) return 'InfluxDB 1.x line protocol cannot store a newline in a tag value (make it a field)';
  if (value.endsWith('\\')) return 'InfluxDB 1.x line protocol cannot store a tag value ending in a backslash';
  return undefined;
}

/** One line of line protocol, escaped by the InfluxDB client library's Point class. */
export function toLineProtocol(point: InterpretedDocument): string {
  const line = new Point(point.measurement);
  for (const [key, value] of Object.entries(point.tags)) line.tag(key, value);
  for (const field of point.fields) {
    switch (field.type) {
      case 'int':
        line.intField(field.name, field.value);
        break;
      case 'float':
        line.floatField(field.name, field.value);
        break;
      case 'bool':
        line.booleanField(field.name, field.value as boolean);
        break;
      case 'string':
        line.stringField(field.name, field.value);
        break;
    }
  }
  line.timestamp(String(Math.round(point.timestampMs)));
  const text = line.toLineProtocol(keepMilliseconds);
  if (!text) throw new Error(`cannot write ${point.measurement}: no fields`);
  return text;
}
