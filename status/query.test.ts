import { parseCondition } from './condition';
import { prefilterClause } from './query';

test('a prefilter becomes an InfluxQL WHERE expression with quoted names and literals', () => {
  expect(prefilterClause(parseCondition('suspicious == true'))).toBe('"suspicious" = true');
  expect(prefilterClause(parseCondition('a >= -1.5 and (b != "it\'s" or c = false)'))).toBe(`("a" >= -1.5 AND ("b" != 'it\\'s' OR "c" = false))`);
  expect(prefilterClause(parseCondition('3 < latency'))).toBe('3 < "latency"');
  // The condition language has no escapes: a backslash is itself, and InfluxQL's quoting doubles it.
  expect(prefilterClause(parseCondition(String.raw`x == "a\b"`))).toBe(String.raw`"x" = 'a\\b'`);
});
