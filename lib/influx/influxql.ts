/** Quoting for InfluxQL, so no query is ever built by pasting an untrusted value. */

/** A double-quoted identifier (database, retention policy, measurement, field, tag key). */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A single-quoted string literal (tag values in WHERE clauses). */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `value` with every character a regular expression or its /.../ literal treats specially escaped. */
function regexEscape(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A regular-expression literal matching exactly one of `values` (at least one). */
export function anyOfRegex(values: Iterable<string>): string {
  return `/^(?:${[...values].map(regexEscape).join('|')})$/`;
}

/** "db"."rp"."measurement" */
export function qualifiedMeasurement(database: string, retentionPolicy: string, measurement: string): string {
  return `${quoteIdentifier(database)}.${quoteIdentifier(retentionPolicy)}.${quoteIdentifier(measurement)}`;
}

/** An RFC 3339 time literal for WHERE time >= ... clauses. */
export function timeLiteral(ms: number): string {
  return `'${new Date(ms).toISOString()}'`;
}
