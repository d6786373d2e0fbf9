/**
 * The same-series-and-time rule of one request, shared by the gateway and `./run.sh validate`, so a
 * file that validates is not then partly refused by the gateway for this reason.
 */
import type { InterpretedDocument } from './interpret';

/** Prefix of every collision reason (the gateway's metrics class them by it). */
export const COLLISION_REASON_PREFIX = 'same series and time as document #';

/**
 * What InfluxDB keeps one point for: database, measurement, tag set and time. Each text is prefixed by
 * its length, so no tag value can make two different series read alike. On the hot path: no JSON.
 */
export function seriesAndTime(point: InterpretedDocument): string {
  let key = `${point.database.length}:${point.database}${point.measurement.length}:${point.measurement}${point.timestampMs}`;
  for (const name of Object.keys(point.tags).sort()) {
    const value = point.tags[name];
    key += `|${name.length}:${name}${value.length}:${value}`;
  }
  return key;
}

/** Whether two points of one series carry the same fields with the same types and values (an exact repeat). */
export function sameFields(a: InterpretedDocument, b: InterpretedDocument): boolean {
  if (a.fields.length !== b.fields.length) return false;
  const byName = new Map(a.fields.map((field) => [field.name, field]));
  return b.fields.every((field) => {
    const other = byName.get(field.name);
    return other !== undefined && other.type === field.type && other.value === field.value;
  });
}

function quotedList(names: string[]): string {
  return names.map((name) => `'${name}'`).join(', ');
}

/**
 * Why `later` is refused after `earlier` (same series and time, other fields): InfluxDB would merge the
 * two into one point, so one acknowledged document would not be a point of its own; the reason says
 * which of the earlier document's values would be overwritten and which fields would be added.
 */
export function collisionReason(earlierIndex: number, earlier: InterpretedDocument, later: InterpretedDocument): string {
  const earlierByName = new Map(earlier.fields.map((field) => [field.name, field]));
  const overwritten: string[] = [];
  const added: string[] = [];
  for (const field of later.fields) {
    const other = earlierByName.get(field.name);
    if (other === undefined) added.push(field.name);
    else if (other.type !== field.type || other.value !== field.value) overwritten.push(field.name);
  }
  const effects: string[] = [];
  if (overwritten.length) effects.push(`overwriting ${overwritten.length === 1 ? 'field' : 'fields'} ${quotedList(overwritten)}`);
  if (added.length) effects.push(`adding ${added.length === 1 ? 'field' : 'fields'} ${quotedList(added)} to it`);
  // Only a subset of the earlier fields with equal values: the merge changes nothing, but is not an exact repeat.
  if (effects.length === 0) effects.push('which changes nothing: its fields are a part of that document with the same values');
  return `${COLLISION_REASON_PREFIX}${earlierIndex}: InfluxDB would merge them into one point (${effects.join('; ')})`;
}

export type SeriesVerdict = { kind: 'first' } | { kind: 'repeat'; of: number } | { kind: 'collision'; of: number; reason: string };

/**
 * Checks the documents of one request in order: the first of each series and time is kept, an exact
 * repeat of it is stored once (acknowledged as that one is), any other is refused with the reason.
 */
export class SeriesCollisions {
  private readonly firstOfSeries = new Map<string, { index: number; point: InterpretedDocument }>();

  check(index: number, point: InterpretedDocument): SeriesVerdict {
    const series = seriesAndTime(point);
    const earlier = this.firstOfSeries.get(series);
    if (earlier === undefined) {
      this.firstOfSeries.set(series, { index, point });
      return { kind: 'first' };
    }
    if (sameFields(earlier.point, point)) return { kind: 'repeat', of: earlier.index };
    return { kind: 'collision', of: earlier.index, reason: collisionReason(earlier.index, earlier.point, point) };
  }
}
