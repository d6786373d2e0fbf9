import { appendFileSync, readFileSync, renameSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import type { MonitDocument } from '../../lib/documents/types';
import { readmeDisagreements } from '../../test/support/readme';
import { patternDefinitions } from './patterns';
import demo from './demo';
import { setup } from './test/runs';

const importConfig = (logDir: string): string => `
[logs.pattern.import_finished]
files = ${logDir}/import.log
regex = import finished
[logs.pattern.errors]
files = ${logDir}/import.log
regex = \\bERROR\\b
ignore_case = true
`;

function counts(byPattern: Record<string, MonitDocument>): Record<string, [unknown, unknown]> {
  return Object.fromEntries(Object.entries(byPattern).map(([name, document]) => [name, [document.matches, document.lines]]));
}

test('history before the first run is skipped, appended lines are counted once, and a failed run is counted again', async () => {
  const { file, collect } = setup(importConfig);
  writeFileSync(file('import.log'), 'import finished\nERROR old\n');
  expect(counts((await collect()).byPattern)).toEqual({ import_finished: [0, 0], errors: [0, 0] });

  appendFileSync(file('import.log'), 'import started\nimport finished\nerror: disk\nimport finished run 2\n');
  // Not committed (the documents never reached the spool): the next run counts the same lines again.
  expect(counts((await collect(false)).byPattern)).toEqual({ import_finished: [2, 4], errors: [1, 4] });
  const { byPattern } = await collect();
  expect(counts(byPattern)).toEqual({ import_finished: [2, 4], errors: [1, 4] });
  expect(byPattern.import_finished).toMatchObject({ producer: 'logs', type: 'pattern', files: 1, idb_tags: ['pattern'] });
  expect(counts((await collect()).byPattern)).toEqual({ import_finished: [0, 0], errors: [0, 0] });
});

test('from_beginning counts what the files already hold at the first run', async () => {
  const { file, collect } = setup(importConfig, { fromBeginning: true });
  writeFileSync(file('import.log'), 'import finished\nERROR old\nimport finished\n');
  expect(counts((await collect()).byPattern)).toEqual({ import_finished: [2, 3], errors: [1, 3] });
  expect(counts((await collect()).byPattern)).toEqual({ import_finished: [0, 0], errors: [0, 0] });
});

test('a partial last line is counted only once it is complete', async () => {
  const { file, collect } = setup(importConfig);
  writeFileSync(file('import.log'), 'start\n');
  await collect();
  appendFileSync(file('import.log'), 'import fin');
  expect(counts((await collect()).byPattern)).toEqual({ import_finished: [0, 0], errors: [0, 0] });
  appendFileSync(file('import.log'), 'ished\r\nERR');
  expect(counts((await collect()).byPattern)).toEqual({ import_finished: [1, 1], errors: [0, 1] });
  appendFileSync(file('import.log'), 'OR\n');
  expect(counts((await collect()).byPattern)).toEqual({ import_finished: [0, 1], errors: [1, 1] });
});

test('rotation by rename: the old file\'s unread tail and the new file are both counted, once', async () => {
  const { file, collect } = setup(importConfig);
  writeFileSync(file('import.log'), 'old history\n');
  await collect();
  appendFileSync(file('import.log'), 'import finished A\n'); // written before the rotation, not read yet
  renameSync(file('import.log'), file('import.log.1'));
  writeFileSync(file('import.log'), 'import finished B\nERROR in new\n');
  expect(counts((await collect()).byPattern)).toEqual({ import_finished: [2, 3], errors: [1, 3] });
  // The application still wrote to the old file before reopening: that line is counted too.
  appendFileSync(file('import.log.1'), 'import finished late\n');
  expect(counts((await collect()).byPattern)).toEqual({ import_finished: [1, 1], errors: [0, 1] });
  renameSync(file('import.log.1'), file('import.log.2'));
  expect(counts((await collect()).byPattern)).toEqual({ import_finished: [0, 0], errors: [0, 0] });
});

test('rotation with a glob that also matches the rotated files never counts a line twice', async () => {
  const { file, collect } = setup((logDir) => `[logs.pattern.done]\nfiles = ${logDir}/app.log*\nregex = done\n`);
  writeFileSync(file('app.log'), 'done 0\n');
  await collect();
  appendFileSync(file('app.log'), 'done 1\n');
  renameSync(file('app.log'), file('app.log.1'));
  writeFileSync(file('app.log'), 'done 2\n');
  const { byPattern } = await collect();
  expect(byPattern.done).toMatchObject({ matches: 2, lines: 2, files: 2 });
  expect((await collect()).byPattern.done).toMatchObject({ matches: 0, lines: 0, files: 2 });
});

test('truncation (copytruncate) and a file replaced by a longer one are read from the start', async () => {
  const { file, collect } = setup(importConfig);
  writeFileSync(file('import.log'), 'line one\nline two\nline three\n');
  await collect();
  truncateSync(file('import.log'), 0);
  appendFileSync(file('import.log'), 'import finished\n');
  expect(counts((await collect()).byPattern)).toEqual({ import_finished: [1, 1], errors: [0, 1] });
  // Rewritten in place with other, longer content before the next run: its first bytes changed.
  writeFileSync(file('import.log'), 'ERROR rewritten file\nimport finished x\nimport finished y\n');
  expect(counts((await collect()).byPattern)).toEqual({ import_finished: [2, 3], errors: [1, 3] });
  expect(counts((await collect()).byPattern)).toEqual({ import_finished: [0, 0], errors: [0, 0] });
});

test('a file that appears under a watched glob is read from its start; a file under two globs is one file', async () => {
  const { file, collect } = setup((logDir) => `[logs.pattern.done]\nfiles = ${logDir}/*.log, ${logDir}/a.log\nregex = done\n`);
  writeFileSync(file('a.log'), 'done before watching\n');
  expect((await collect()).byPattern.done).toMatchObject({ matches: 0, files: 1 });
  writeFileSync(file('b.log'), 'done in a new file\ndone again\n');
  expect((await collect()).byPattern.done).toMatchObject({ matches: 2, lines: 2, files: 2 });
});

test('the age of the last match comes from the file\'s modification time and is kept across runs', async () => {
  const { file, collect } = setup(importConfig);
  writeFileSync(file('import.log'), 'start\n');
  const first = await collect();
  expect(first.byPattern.import_finished.last_match_age_s).toBeUndefined();
  expect(first.byPattern.import_finished.idb_fields).not.toContain('last_match_age_s');
  appendFileSync(file('import.log'), 'import finished\n');
  const writtenMs = Date.UTC(2026, 0, 1, 12, 0, 0);
  utimesSync(file('import.log'), writtenMs / 1000, writtenMs / 1000);
  const ageBounds = (before: number, after: number): [number, number] => [Math.round((before - writtenMs) / 1000), Math.round((after - writtenMs) / 1000)];

  let before = Date.now();
  const second = await collect();
  let [low, high] = ageBounds(before, Date.now());
  expect(second.byPattern.import_finished.last_match_age_s).toBeGreaterThanOrEqual(low);
  expect(second.byPattern.import_finished.last_match_age_s).toBeLessThanOrEqual(high);
  expect(second.byPattern.errors.last_match_age_s).toBeUndefined();

  before = Date.now();
  const third = await collect(); // no new match: the age is still reported
  [low, high] = ageBounds(before, Date.now());
  expect(third.byPattern.import_finished).toMatchObject({ matches: 0 });
  expect(third.byPattern.import_finished.last_match_age_s).toBeGreaterThanOrEqual(low);
  expect(third.byPattern.import_finished.last_match_age_s).toBeLessThanOrEqual(high);
});

test('a glob that matches nothing gives files=0 and a problem, and the other patterns still count', async () => {
  const { file, collect } = setup((logDir) => `[logs.pattern.missing]\nfiles = ${logDir}/nothing-*.log\nregex = x\n[logs.pattern.present]\nfiles = ${logDir}/p.log\nregex = x\n`);
  writeFileSync(file('p.log'), '');
  await collect();
  appendFileSync(file('p.log'), 'x\n');
  const { byPattern, context } = await collect();
  expect(byPattern.missing).toMatchObject({ matches: 0, files: 0 });
  expect(byPattern.present).toMatchObject({ matches: 1, files: 1 });
  expect(context.problems).toEqual([expect.stringMatching(/pattern 'missing': no file matches .*nothing-\*\.log/)]);
});

test('lines across read chunks (several MiB, multi-byte text) are each counted exactly once', async () => {
  const { file, collect } = setup((logDir) => `[logs.pattern.accent]\nfiles = ${logDir}/big.log\nregex = événement \\d+7$\n`, { fromBeginning: true });
  const lines = Array.from({ length: 60_000 }, (_, index) => `2026-11-22T10:00:00Z événement ${index} ${'x'.repeat(index % 97)} événement ${index}`);
  writeFileSync(file('big.log'), lines.join('\n') + '\n');
  const expected = lines.filter((line) => /événement \d+7$/.test(line)).length;
  expect(expected).toBe(5999); // indices ending in 7, except 7 itself (\d+ needs a digit before it)
  expect((await collect()).byPattern.accent).toMatchObject({ matches: expected, lines: 60_000 });
  expect((await collect()).byPattern.accent).toMatchObject({ matches: 0, lines: 0 });
});

test('the README lists every tag and field of logs/pattern and logs/consumer_batch', () => {
  expect(readmeDisagreements(path.join(__dirname, 'README.md'), [{ producer: 'logs', type: 'pattern' }, { producer: 'logs', type: 'consumer_batch' }])).toEqual([]);
});

test('sample.cfg, uncommented, is a working config, its values checked against schemas/logs/consumer_batch.json', () => {
  const sample = readFileSync(path.join(__dirname, 'sample.cfg'), 'utf8').replace(/^;(?=\[|\w+ =)/gm, '');
  const config = Config.parse(sample, 'sample.cfg');
  expect(config.section('logs').bool('from_beginning')).toBe(false);
  const [pattern, ...others] = patternDefinitions(config);
  expect(others).toEqual([]);
  expect([pattern.name, pattern.globs, pattern.regex.source]).toEqual([
    'consumer_batch',
    ['/var/log/eventindex/consumer.log'],
    'consumer batch done events=(?<events>\\d+) duration_ms=(?<duration_ms>\\d+) lag_s=(?<lag_s>\\d+)',
  ]);
  expect(pattern.values?.measurement).toBe('consumer_batch');
  expect(Object.fromEntries([...(pattern.values?.groups ?? [])].map(([group, values]) => [group, [values.convertAs, [...values.fields.values()]]]))).toEqual({
    events: ['int', ['events_sum', 'events_count']],
    duration_ms: ['int', ['duration_ms_max', 'duration_ms_mean']],
    lag_s: ['int', ['lag_s_last']],
  });
});

test('the demo\'s Consumer lines give the values quickstart.cfg asks for, each a field of schemas/logs/consumer_batch.json', async () => {
  const quickstart = readFileSync(path.join(__dirname, 'quickstart.cfg'), 'utf8');
  const consumerSection = /\[logs\.pattern\.consumer_batch\][^[]*/.exec(quickstart)?.[0];
  const { logDir, file, collect } = setup((dir) => consumerSection!.replace('var/demo/consumer.log', `${dir}/consumer.log`), { fromBeginning: true });
  demo.onServerStart!(Config.parse(`[demo]\nlog_file = ${logDir}/import.log\nconsumer_log_file = ${logDir}/consumer.log\n`, 'demo.cfg'));
  const line = readFileSync(file('consumer.log'), 'utf8');
  const [events, durationMs, lagS] = [...line.matchAll(/=(\d+)/g)].map((match) => Number(match[1]));
  expect(line).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO consumer batch done events=\d+ duration_ms=\d+ lag_s=\d+\n$/);
  const { valuesByPattern, context } = await collect();
  expect(context.problems).toEqual([]);
  expect(valuesByPattern.consumer_batch).toMatchObject({
    type: 'consumer_batch',
    events_sum: events, events_count: 1, events_max: events,
    duration_ms_sum: durationMs, duration_ms_max: durationMs, duration_ms_mean: durationMs,
    lag_s_last: lagS, lag_s_max: lagS, lag_s_min: lagS,
  });
  const schemaFields = Object.keys(JSON.parse(readFileSync(path.join(__dirname, '../../schemas/logs/consumer_batch.json'), 'utf8')).fields as object);
  expect([...valuesByPattern.consumer_batch.idb_fields!].sort()).toEqual(schemaFields.sort());
});
