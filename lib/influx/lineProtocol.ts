import { Point } from '@influxdata/influxdb-client';
import type { InterpretedDocument } from '../documents/interpret';

/** Keeps the millisecond timestamp as given: lines are written with precision=ms. */
const keepMilliseconds = { convertTime: (value: string | number | Date | undefined) => (value === undefined ? undefined : String(value)) };

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
