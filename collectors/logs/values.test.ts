import { appendFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../../lib/config/config';
import type { MonitDocument } from '../../lib/documents/types';
import { randomGenerator } from '../../test/support/random';
import { setup } from './test/runs';

/** One Consumer batch line's numbers, as the test wrote them. */
interface Batch {
  events: number;
  durationMs: number;
  lagS: number;
}

const CONSUMER_REGEX = 'consumer batch done events=(?<events>\\d+) duration_ms=(?<duration_ms>\\d+) lag_s=(?<lag_s>\\d+)';
const ALL_CONSUMER_VALUES = 'events:sum, events:count, events:max, duration_ms:sum, duration_ms:max, duration_ms:mean, lag_s:last, lag_s:max, lag_s:min';

const consumerConfig = (logDir: string): string => `
[logs.pattern.consumer_batch]
files = ${logDir}/consumer*.log
regex = ${CONSUMER_REGEX}
values = ${ALL_CONSUMER_VALUES}
`;

/** `count` batches with seeded numbers, and their log text with other Consumer lines between them. */
function batches(seed: number, count: number): { batches: Batch[]; text: string } {
  const random = randomGenerator(seed);
  const written: Batch[] = [];
  const lines: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const batch = { events: Math.floor(random() * 30_000), durationMs: 100 + Math.floor(random() * 9_000), lagS: Math.floor(random() * 600) };
    written.push(batch);
    const time = new Date(Date.UTC(2026, 11, 6, 7, 0, index)).toISOString().slice(0, 19).replace('T', ' ');
    lines.push(`${time} INFO consumer batch started`, `${time} INFO consumer batch done events=${batch.events} duration_ms=${batch.durationMs} lag_s=${batch.lagS}`);
    if (index % 7 === 0) lines.push(`${time} WARN consumer slow storage events=12`);
  }
  return { batches: written, text: lines.map((line) => `${line}\n`).join('') };
}

/** The consumer_batch fields the batches should give, computed here with plain loops. */
function expectedValues(written: Batch[]): Record<string, number> {
  if (written.length === 0) return { events_sum: 0, events_count: 0, duration_ms_sum: 0 };
  let events = 0;
  let duration = 0;
  let eventsMax = -1;
  let durationMax = -1;
  let lagMax = -1;
  let lagMin = Number.MAX_SAFE_INTEGER;
  for (const batch of written) {
    events += batch.events;
    duration += batch.durationMs;
    if (batch.events > eventsMax) eventsMax = batch.events;
    if (batch.durationMs > durationMax) durationMax = batch.durationMs;
    if (batch.lagS > lagMax) lagMax = batch.lagS;
    if (batch.lagS < lagMin) lagMin = batch.lagS;
  }
  return {
    events_sum: events,
    events_count: written.length,
    events_max: eventsMax,
    duration_ms_sum: duration,
    duration_ms_max: durationMax,
    duration_ms_mean: duration / written.length,
    lag_s_last: written[written.length - 1].lagS,
    lag_s_max: lagMax,
    lag_s_min: lagMin,
  };
}

/** A values document's fields (idb_fields), the mean to 9 digits (it is a float division). */
function fieldsOf(document: MonitDocument | undefined): Record<string, unknown> {
  if (!document) return {};
  return Object.fromEntries(document.idb_fields!.map((field) => [field, field.endsWith('_mean') ? Number((document[field] as number).toFixed(9)) : document[field]]));
}

function rounded(values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([field, value]) => [field, field.endsWith('_mean') ? Number(value.toFixed(9)) : value]));
}

/** Sets a file's modification time, so that which file was written last does not depend on the test's speed. */
function writtenAt(file: string, minute: number): void {
  const seconds = Date.UTC(2026, 11, 6, 7, minute) / 1000;
  utimesSync(file, seconds, seconds);
}

test('values of named groups over each run\'s new lines: sum, count, max, min, mean and last, as computed from the lines written', async () => {
  const { file, collect } = setup(consumerConfig, { fromBeginning: true });
  const first = batches(1, 500);
  writeFileSync(file('consumer.log'), first.text);
  const run1 = await collect();
  expect(run1.valuesByPattern.consumer_batch).toMatchObject({ producer: 'logs', type: 'consumer_batch', pattern: 'consumer_batch', idb_tags: ['pattern'] });
  expect(fieldsOf(run1.valuesByPattern.consumer_batch)).toEqual(rounded(expectedValues(first.batches)));
  // The counts document counts every matching line (the values' count is of the lines that gave a value).
  expect(run1.byPattern.consumer_batch).toMatchObject({ matches: 500, lines: first.text.split('\n').length - 1, unconverted_values: 0 });

  const second = batches(2, 300);
  appendFileSync(file('consumer.log'), second.text);
  expect(fieldsOf((await collect()).valuesByPattern.consumer_batch)).toEqual(rounded(expectedValues(second.batches)));

  // No new line: sums and counts are 0, and no max, min, mean or last is made up.
  const idle = await collect();
  expect(fieldsOf(idle.valuesByPattern.consumer_batch)).toEqual({ events_sum: 0, events_count: 0, duration_ms_sum: 0 });
  expect(idle.context.problems).toEqual([]);
});

test('a text group, an optional group, a schema-less measurement, and no values document when there is nothing to say', async () => {
  const { file, collect } = setup((logDir) => `
[logs.pattern.jobs]
files = ${logDir}/jobs.log
regex = job (?<state>[a-z]+)(?: code=(?<code>-?\\d+))?
values = state:last:string, state:count, code:last, code:min
measurement = job_states
[logs.pattern.last_state]
files = ${logDir}/jobs.log
regex = job (?<state>[a-z]+)
values = state:last:string
`);
  writeFileSync(file('jobs.log'), 'job started\n');
  await collect();
  appendFileSync(file('jobs.log'), 'job running\njob failed code=-3\njob retried\njob failed code=7\njob done\nnothing here\n');
  const run = await collect();
  expect(run.valuesByPattern.jobs).toMatchObject({ type: 'job_states', pattern: 'jobs' });
  expect(fieldsOf(run.valuesByPattern.jobs)).toEqual({ state_last: 'done', state_count: 5, code_last: 7, code_min: -3 });
  expect(fieldsOf(run.valuesByPattern.last_state)).toEqual({ state_last: 'done' });

  appendFileSync(file('jobs.log'), 'nothing here either\n');
  const idle = await collect();
  expect(fieldsOf(idle.valuesByPattern.jobs)).toEqual({ state_count: 0 });
  // Only a last value, and no line gave one: no document, rather than a value nobody saw.
  expect(idle.valuesByPattern.last_state).toBeUndefined();
  expect(idle.byPattern.last_state).toMatchObject({ matches: 0, lines: 1 });
});

test('rotation between runs neither loses nor doubles a value, and last is the newest line\'s', async () => {
  const { file, collect } = setup(consumerConfig);
  writeFileSync(file('consumer.log'), batches(10, 5).text);
  await collect(); // history before watching: skipped

  const beforeRotation = batches(11, 40); // written to the old file, not read before it was renamed
  appendFileSync(file('consumer.log'), beforeRotation.text);
  renameSync(file('consumer.log'), file('consumer.log.1'));
  writtenAt(file('consumer.log.1'), 10);
  const afterRotation = batches(12, 25);
  writeFileSync(file('consumer.log'), afterRotation.text);
  writtenAt(file('consumer.log'), 11);
  const expected = rounded(expectedValues([...beforeRotation.batches, ...afterRotation.batches]));
  // A run whose documents never reached the spool: the next run gives the same values again.
  expect(fieldsOf((await collect(false)).valuesByPattern.consumer_batch)).toEqual(expected);
  expect(fieldsOf((await collect()).valuesByPattern.consumer_batch)).toEqual(expected);

  // The application wrote to the old file once more before reopening the new one: those lines are the newest.
  const late = batches(13, 3);
  appendFileSync(file('consumer.log.1'), late.text);
  writtenAt(file('consumer.log.1'), 12);
  const newer = batches(14, 2);
  appendFileSync(file('consumer.log'), newer.text);
  writtenAt(file('consumer.log'), 13);
  const values = fieldsOf((await collect()).valuesByPattern.consumer_batch);
  expect(values).toEqual(rounded(expectedValues([...late.batches, ...newer.batches])));
  expect(values.lag_s_last).toBe(newer.batches[1].lagS);

  renameSync(file('consumer.log.1'), file('consumer.log.2'));
  expect(fieldsOf((await collect()).valuesByPattern.consumer_batch)).toEqual({ events_sum: 0, events_count: 0, duration_ms_sum: 0 });
});

test('a capture that does not convert is counted in unconverted_values and reported, and the others still count', async () => {
  const { file, collect } = setup((logDir) => `
[logs.pattern.took]
files = ${logDir}/app.log
regex = took=(?<ms>\\S+)
values = ms:sum, ms:count, ms:max
[logs.pattern.consumer_batch]
files = ${logDir}/consumer.log
regex = events=(?<events>[0-9.]+)
values = events:sum, events:count
`);
  writeFileSync(file('app.log'), '');
  writeFileSync(file('consumer.log'), '');
  await collect();
  appendFileSync(file('app.log'), 'took=12\ntook=abc\ntook=3\ntook=1e999\ntook=-0.5\n');
  // schemas/logs/consumer_batch.json makes events_sum an int: 2.5 events is not a value it can hold.
  appendFileSync(file('consumer.log'), 'events=10\nevents=2.5\nevents=4\n');
  const run = await collect();
  expect(fieldsOf(run.valuesByPattern.took)).toEqual({ ms_sum: 14.5, ms_count: 3, ms_max: 12 });
  expect(run.byPattern.took).toMatchObject({ matches: 5, unconverted_values: 2 });
  expect(fieldsOf(run.valuesByPattern.consumer_batch)).toEqual({ events_sum: 14, events_count: 2 });
  expect(run.byPattern.consumer_batch).toMatchObject({ matches: 3, unconverted_values: 1 });
  expect(run.context.problems).toEqual([
    expect.stringMatching(/pattern 'took': 2 captured value\(s\) did not convert .* the first: group 'ms' in .*app\.log: "abc" is not a number/),
    expect.stringMatching(/pattern 'consumer_batch': 1 captured value\(s\) did not convert .* group 'events' in .*consumer\.log: 2\.5 is not an integer/),
  ]);
});

describe('a values declaration the run cannot honour is a ConfigError naming the key', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['a group the regex does not have', `regex = events=(?<events>\\d+)\nvalues = events:sum, lag:max`, /\[logs\.pattern\.p\] values: 'lag' is not a named group of the regex \(groups: events\)/],
    ['a regex without named groups', `regex = events=\\d+\nvalues = events:sum`, /\[logs\.pattern\.p\] values: 'events' is not a named group of the regex \(it has none/],
    ['an unknown function', `regex = (?<events>\\d+)\nvalues = events:median`, /\[logs\.pattern\.p\] values: 'events:median' has an unknown function 'median' \(sum, count, max, min, mean, last\)/],
    ['a sum of texts', `regex = (?<state>\\w+)\nvalues = state:last:string, state:sum`, /\[logs\.pattern\.p\] values: group 'state' is string: only count and last apply to it, not sum/],
    ['a field the schema does not know', `regex = events=(?<events>\\d+)\nvalues = events:sum, events:min\nmeasurement = consumer_batch`, /\[logs\.pattern\.p\] values: 'events_min' is not a field of schemas\/logs\/consumer_batch\.json/],
    ['a kind the schema contradicts', `regex = lag=(?<lag_s>\\w+)\nvalues = lag_s:last:string\nmeasurement = consumer_batch`, /\[logs\.pattern\.p\] values: 'lag_s_last' is declared string but schemas\/logs\/consumer_batch\.json says int/],
    ['the counts\' measurement', `regex = (?<n>\\d+)\nvalues = n:sum\nmeasurement = pattern`, /\[logs\.pattern\.p\] measurement: 'pattern' is reserved/],
    ['a measurement without values', `regex = done\nmeasurement = done`, /\[logs\.pattern\.p\] measurement: only used with values/],
    ['a regex quoted with single backslashes', `regex = "took=(?<ms>\\d+); ok"\nvalues = ms:sum`, /\[logs\.pattern\.p\] regex: in double quotes, a backslash is written \\\\/],
  ];
  test.each(cases)('%s', async (_name, keys, message) => {
    const { collect } = setup((logDir) => `[logs.pattern.p]\nfiles = ${logDir}/a.log\n${keys}\n`);
    const run = collect();
    await expect(run).rejects.toThrow(ConfigError);
    await expect(run).rejects.toThrow(message);
  });
});
