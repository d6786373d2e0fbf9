import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ExpositionError, parseExposition, singleValue } from './exposition';

test('reads every sample of a recorded node_exporter 1.5 answer', () => {
  const text = readFileSync(path.join(__dirname, 'testdata', 'node_exporter-1.5.0.prom'), 'utf8');
  const exposition = parseExposition(text);
  const sampleLines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  expect([...exposition.values()].reduce((count, samples) => count + samples.length, 0)).toBe(sampleLines.length);
  expect(exposition.get('node_cpu_seconds_total')?.[0]).toEqual({ labels: { cpu: '0', mode: 'idle' }, value: 537.31 });
  expect(singleValue(exposition, 'node_load1')).toBe(1.25);
  expect(singleValue(exposition, 'node_memory_MemTotal_bytes')).toBe(25276063744);
  expect(exposition.get('node_filesystem_size_bytes')).toEqual([{ labels: { device: '/dev/vda', fstype: 'ext4', mountpoint: '/' }, value: 270553174016 }]);
  expect(exposition.get('go_gc_duration_seconds')?.map((sample) => sample.labels.quantile)).toEqual(['0', '0.25', '0.5', '0.75', '1']);
});

test('label values keep their escapes, special values and timestamps are read', () => {
  const exposition = parseExposition(
    [
      '# HELP weird A help line with a \\ backslash.',
      '# TYPE weird gauge',
      'weird{path="C:\\\\temp",quote="say \\"hi\\"",multi="a\\nb",comma="x,y}",} 1.5e+3 1795364400000',
      'weird { path = "/" } -2',
      'special{kind="nan"} NaN',
      'special{kind="inf"} +Inf',
      'special{kind="minus inf"} -Inf',
      'dot_start .5',
      'windows_line 7\r',
      '  # an indented comment',
      '',
    ].join('\n'),
  );
  expect(exposition.get('weird')).toEqual([
    { labels: { path: 'C:\\temp', quote: 'say "hi"', multi: 'a\nb', comma: 'x,y}' }, value: 1500 },
    { labels: { path: '/' }, value: -2 },
  ]);
  expect(exposition.get('special')?.map((sample) => sample.value)).toEqual([NaN, Infinity, -Infinity]);
  expect(singleValue(exposition, 'special')).toBeUndefined(); // several samples
  expect(singleValue(exposition, 'dot_start')).toBe(0.5);
  expect(singleValue(exposition, 'windows_line')).toBe(7);
  expect(singleValue(exposition, 'absent')).toBeUndefined();
});

test.each([
  ['<html><body>Welcome</body></html>', /line 1: expected a metric name/],
  ['metric', /missing sample value/],
  ['metric one', /bad sample value "one"/],
  ['metric 1 2 3', /unexpected text after the sample/],
  ['metric 1 soon', /bad timestamp "soon"/],
  ['metric{label="open} 1', /unterminated label value/],
  ['metric{label=unquoted} 1', /expected '"'/],
  ['metric{label="x" other="y"} 1', /expected ',' or '}'/],
  ['metric{label="a\\tb"} 1', /unknown escape \\t/],
  ['metric{a="1",a="2"} 1', /label a given twice/],
  ['ok 1\nmetric{9bad="x"} 1', /line 2: expected a label name/],
])('refuses %j', (text, message) => {
  expect(() => parseExposition(text)).toThrow(ExpositionError);
  expect(() => parseExposition(text)).toThrow(message);
});
