import type { InterpretedDocument } from '../documents/interpret';

/*
 * InfluxDB 1.x line protocol, written here rather than by @influxdata/influxdb-client's Point: Point keeps
 * fields and tags in plain objects (a key named `__proto__` is lost) and turns a TAB, CR or newline in a key
 * into the two characters `\t`, `\r` or `\n`, which InfluxDB 1.x stores literally. Here every character is written
 * as itself, escaped only where the line protocol needs it, and lineProtocolProblem() refuses the few
 * texts InfluxDB 1.6 cannot store exactly. The rules were found by writing and reading back every case
 * (lineProtocol.test.ts does so against the real InfluxDB 1.6).
 */

/** Where a text goes in a line: each place has its own escaping and its own limits. */
export type LinePosition = 'measurement' | 'tag key' | 'tag value' | 'field key' | 'string value';

/** InfluxDB 1.x's limit on a series key (measurement and tags) plus one field key, in bytes. */
export const MAX_SERIES_KEY_BYTES = 65535;
/** InfluxDB adds this between the series key and a field key when it checks the limit above. */
const FIELD_KEY_SEPARATOR_BYTES = '#!~#'.length;
/** The latest time InfluxDB 1.x stores (its int64 nanoseconds), in milliseconds. */
export const MAX_TIMESTAMP_MS = 9_223_372_036_854;

const MEASUREMENT_SPECIAL = /[, ]/;
const MEASUREMENT_SPECIALS = /[, ]/g;
const KEY_SPECIAL = /[, =]/;
const KEY_SPECIALS = /[, =]/g;
const STRING_SPECIAL = /["\\]/;
const STRING_SPECIALS = /["\\]/g;

function escapeMeasurement(text: string): string {
  return MEASUREMENT_SPECIAL.test(text) ? text.replace(MEASUREMENT_SPECIALS, '\\$&') : text;
}

/** Tag keys, tag values and field keys. */
function escapeKey(text: string): string {
  return KEY_SPECIAL.test(text) ? text.replace(KEY_SPECIALS, '\\$&') : text;
}

function escapeString(text: string): string {
  return STRING_SPECIAL.test(text) ? text.replace(STRING_SPECIALS, '\\$&') : text;
}

/** `name` in single quotes, readable in one line of a reason: backslashes, control characters and lone surrogates as JSON escapes. */
export function displayName(name: string): string {
  return `'${JSON.stringify(name).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
}

/** 1-based position of the character at UTF-16 `index`, counting an emoji as one character. */
function characterNumber(text: string, index: number): number {
  return Array.from(text.slice(0, index)).length + 1;
}

function describeCharacter(character: string): string {
  switch (character) {
    case '\n':
      return 'a newline';
    case '\t':
      return 'a TAB';
    case '\0':
      return 'a NUL character';
    case '\\':
      return 'a backslash';
    case '#':
      return "a '#'";
    case ' ':
      return 'a space';
    case ',':
      return 'a comma';
    case '=':
      return "an '='";
    case '"':
      return 'a double quote';
    default:
      return `'${JSON.stringify(character).slice(1, -1)}'`;
  }
}

const SURROGATE = /[\ud800-\udfff]/;
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** An odd number of backslashes right before a space, comma or '=': InfluxDB 1.6 refuses such a field key. */
const FIELD_KEY_ODD_BACKSLASHES = /(?<!\\)(?:\\\\)*\\(?=[ ,=])/;
/** A backslash right before a space, comma, '=' or '"': InfluxDB 1.6 drops the backslash from a measurement. */
const MEASUREMENT_BACKSLASH = /\\(?=[ ,="])/;

/** The characters the rules below look at beyond the first one; most texts have none of them. */
const NEEDS_A_LOOK = /[\n\\\ud800-\udfff]/;
const MEASUREMENT_BAD_START = /^[#\t\0]/;

function measurementStartProblem(text: string): string {
  const first = `${describeCharacter(text[0] ?? '')} at character 1`;
  return text[0] === '#'
    ? `${first} cannot start a measurement: InfluxDB 1.x takes the line for a comment and drops it`
    : `${first} cannot start a measurement: InfluxDB 1.x drops it as leading white space`;
}

/**
 * Why InfluxDB 1.x cannot store `text` exactly at `position` (naming the character and where it is),
 * or undefined when it can. Found by round trip against InfluxDB 1.6:
 * - no text may hold an unpaired UTF-16 surrogate: it has no UTF-8 encoding;
 * - a newline ends the line everywhere but inside a string value, and has no escape;
 * - a measurement, tag or field key, or tag value may not be empty or end in a backslash (it would
 *   escape the separator after it);
 * - a measurement may not start with '#' (the line is taken for a comment and dropped), a TAB or a
 *   NUL (dropped as leading white space), nor have a backslash before a space, comma, '=' or '"';
 * - a field key may not have a backslash before '"', nor an odd run of backslashes before a space,
 *   comma or '='.
 * A newline right after an odd run of backslashes happens to survive in InfluxDB 1.6, but the line
 * protocol has no newline escape, so it is refused like any other newline.
 */
export function lineProtocolProblem(position: LinePosition, text: string): string | undefined {
  if (position !== 'string value' && text !== '' && !NEEDS_A_LOOK.test(text)) {
    return position === 'measurement' && MEASUREMENT_BAD_START.test(text) ? measurementStartProblem(text) : undefined;
  }
  const where = (index: number): string => `${describeCharacter(text[index] ?? '')} at character ${characterNumber(text, index)}`;
  const unpaired = SURROGATE.test(text) ? text.search(UNPAIRED_SURROGATE) : -1;
  if (unpaired >= 0) {
    return `an unpaired UTF-16 surrogate (${JSON.stringify(text[unpaired]).slice(1, -1)}) at character ${characterNumber(text, unpaired)} has no UTF-8 encoding and cannot be stored`;
  }
  if (position === 'string value') return undefined;
  if (text === '') return `an empty ${position} cannot be stored by InfluxDB 1.x`;
  const newline = text.indexOf('\n');
  if (newline >= 0) return `${where(newline)} cannot be stored by InfluxDB 1.x line protocol (only string field values can hold one)`;
  if (text.endsWith('\\')) return `${where(text.length - 1)} cannot end a ${position} in InfluxDB 1.x line protocol (it would escape the separator after it)`;
  if (position === 'measurement') {
    if (MEASUREMENT_BAD_START.test(text)) return measurementStartProblem(text);
    const backslash = text.search(MEASUREMENT_BACKSLASH);
    if (backslash >= 0) return `${where(backslash)} before ${describeCharacter(text[backslash + 1] ?? '')} cannot be stored in a measurement by InfluxDB 1.x (it drops the backslash)`;
  }
  if (position === 'field key') {
    const beforeQuote = text.indexOf('\\"');
    if (beforeQuote >= 0) return `${where(beforeQuote)} before a double quote cannot be stored in a field key by InfluxDB 1.x (it drops the backslash)`;
    const match = FIELD_KEY_ODD_BACKSLASHES.exec(text);
    if (match) {
      const index = match.index + match[0].length - 1;
      return `${where(index)} before ${describeCharacter(text[index + 1] ?? '')} cannot be stored in a field key by InfluxDB 1.x (an odd run of backslashes there is refused)`;
    }
  }
  return undefined;
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Whether a series key of `keyUnits` UTF-16 units (measurement, tag keys and values, a comma and '='
 * per tag) with a field key of `fieldKeyUnits` might be over the limit: a cheap bound, so ordinary
 * points skip seriesKeyProblem's exact count. Escaping at most doubles a character, and UTF-8 takes at
 * most 3 bytes per UTF-16 unit.
 */
export function mayExceedSeriesKey(keyUnits: number, fieldKeyUnits: number): boolean {
  return (keyUnits + fieldKeyUnits) * 6 + FIELD_KEY_SEPARATOR_BYTES > MAX_SERIES_KEY_BYTES;
}

/** Why the series key (measurement and tags, as written) plus a field key is over InfluxDB 1.x's MAX_SERIES_KEY_BYTES, or undefined. */
export function seriesKeyProblem(measurement: string, tags: ReadonlyArray<readonly [string, string]>, fieldNames: readonly string[]): string | undefined {
  let keyBytes = utf8Bytes(escapeMeasurement(measurement));
  for (const [key, value] of tags) keyBytes += 2 + utf8Bytes(escapeKey(key)) + utf8Bytes(escapeKey(value));
  for (const name of fieldNames) {
    const bytes = keyBytes + FIELD_KEY_SEPARATOR_BYTES + utf8Bytes(escapeKey(name));
    if (bytes > MAX_SERIES_KEY_BYTES) {
      return `the measurement and tags with field ${displayName(name)} take ${bytes} bytes, over InfluxDB 1.x's series key limit of ${MAX_SERIES_KEY_BYTES}`;
    }
  }
  return undefined;
}

function fieldValue(field: InterpretedDocument['fields'][number]): string {
  switch (field.type) {
    case 'int':
      return `${field.value as number}i`;
    case 'float':
      return String(field.value);
    case 'bool':
      return field.value ? 'true' : 'false';
    case 'string':
      return `"${escapeString(field.value as string)}"`;
  }
}

/**
 * One line of line protocol for a point interpretDocument accepted (so every text in it is storable),
 * with the millisecond timestamp as given: lines are written with precision=ms. Tags are sorted by key,
 * as InfluxDB would otherwise sort them itself.
 */
export function toLineProtocol(point: InterpretedDocument): string {
  if (point.fields.length === 0) throw new Error(`cannot write ${point.measurement}: no fields`);
  let line = escapeMeasurement(point.measurement);
  const tagKeys = Object.keys(point.tags).sort();
  for (const key of tagKeys) {
    const value = point.tags[key] as string;
    if (value !== '') line += `,${escapeKey(key)}=${escapeKey(value)}`; // InfluxDB has no empty tag value: absent
  }
  let separator = ' ';
  for (const field of point.fields) {
    line += `${separator}${escapeKey(field.name)}=${fieldValue(field)}`;
    separator = ',';
  }
  return `${line} ${Math.round(point.timestampMs)}`;
}
