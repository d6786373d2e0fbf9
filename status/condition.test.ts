import { type AggregateOperand, aggregateKey, conditionAggregates, ConditionSyntaxError, evaluateCondition, parseCondition, RuleEvaluationError, type Value } from './condition';

/** Evaluates `text` against values keyed like "max(x)". */
function holds(text: string, values: Record<string, Value>): boolean {
  return evaluateCondition(parseCondition(text), (operand: AggregateOperand) => values[aggregateKey(operand)] ?? null).holds;
}

describe('comparisons', () => {
  const cases: Array<[string, number, boolean]> = [
    ['latest(x) < 5', 4, true],
    ['latest(x) < 5', 5, false],
    ['latest(x) <= 5', 5, true],
    ['latest(x) <= 5', 6, false],
    ['latest(x) > 5', 6, true],
    ['latest(x) > 5', 5, false],
    ['latest(x) >= 5', 5, true],
    ['latest(x) >= 5', 4, false],
    ['latest(x) == 5', 5, true],
    ['latest(x) == 5', 4, false],
    ['latest(x) = 5', 5, true],
    ['latest(x) != 5', 4, true],
    ['latest(x) != 5', 5, false],
    ['5 > latest(x)', 4, true],
    ['5 > latest(x)', 6, false],
    ['latest(x) > -1.5e1', -10, true],
    ['latest(x) > .5', 0.25, false],
  ];
  test.each(cases)('%s with x=%p is %p', (text, x, expected) => {
    expect(holds(text, { 'latest(x)': x })).toBe(expected);
  });

  test('a bare field name is its latest value', () => {
    const condition = parseCondition('up == 0');
    expect(conditionAggregates(condition)).toEqual([{ kind: 'aggregate', function: 'latest', field: 'up' }]);
    expect(holds('up == 0', { 'latest(up)': 0 })).toBe(true);
    expect(holds('up == 0', { 'latest(up)': 1 })).toBe(false);
  });

  test.each(['latest', 'first', 'mean', 'min', 'max', 'sum', 'count', 'delta'])('the aggregate %s reads its own value', (fn) => {
    const text = `${fn}(x) > 10`;
    expect(conditionAggregates(parseCondition(text))).toEqual([{ kind: 'aggregate', function: fn, field: 'x' }]);
    expect(holds(text, { [`${fn}(x)`]: 11 })).toBe(true);
    const other = fn === 'latest' ? 'first(x)' : 'latest(x)';
    expect(holds(text, { [`${fn}(x)`]: 10, [other]: 11 })).toBe(false);
  });

  test('function names are case-insensitive, fields are not', () => {
    expect(conditionAggregates(parseCondition('MAX(Used) > 1'))).toEqual([{ kind: 'aggregate', function: 'max', field: 'Used' }]);
  });

  test('two fields can be compared with each other', () => {
    expect(holds('latest(used) > max(limit)', { 'latest(used)': 5, 'max(limit)': 4 })).toBe(true);
    expect(holds('latest(used) > max(limit)', { 'latest(used)': 3, 'max(limit)': 4 })).toBe(false);
  });

  test('text is compared with == and != in either quote style', () => {
    expect(holds('latest(error) == "timeout"', { 'latest(error)': 'timeout' })).toBe(true);
    expect(holds("latest(error) == 'timeout'", { 'latest(error)': 'refused' })).toBe(false);
    expect(holds('latest(error) != "timeout"', { 'latest(error)': 'refused' })).toBe(true);
    expect(holds('latest(error) == "a b = c"', { 'latest(error)': 'a b = c' })).toBe(true);
  });

  test('booleans compare with true/false and with 0/1', () => {
    expect(holds('latest(ok) == false', { 'latest(ok)': false })).toBe(true);
    expect(holds('latest(ok) == TRUE', { 'latest(ok)': false })).toBe(false);
    expect(holds('latest(ok) == 0', { 'latest(ok)': false })).toBe(true);
    expect(holds('latest(up) == true', { 'latest(up)': 1 })).toBe(true);
  });
});

describe('and, or, not and parentheses', () => {
  const values = { 'latest(a)': 1, 'latest(b)': 2, 'latest(c)': 3 };
  test.each([
    ['a == 1 and b == 2', true],
    ['a == 1 and b == 0', false],
    ['a == 0 or b == 2', true],
    ['a == 0 or b == 0', false],
    ['not a == 0', true],
    ['not a == 1', false],
    ['NOT not a == 1', true],
    // and binds tighter than or: (a==0 and b==2) or c==3
    ['a == 0 and b == 2 or c == 3', true],
    ['a == 0 and (b == 2 or c == 3)', false],
    ['(a == 1 or b == 0) and c == 3', true],
    ['a == 1 AND b == 2 AND c == 0', false],
    ['a == 0 Or b == 0 OR c == 3', true],
    ['((a == 1))', true],
  ])('%s is %p', (text, expected) => {
    expect(holds(text, values)).toBe(expected);
  });

  test('the witness is the comparison that made the condition hold, with its data value', () => {
    const read = (operand: AggregateOperand): Value => ({ 'latest(a)': 1, 'max(b)': 7 })[aggregateKey(operand)] ?? null;
    expect(evaluateCondition(parseCondition('a == 0 or max(b) > 5'), read)).toEqual({ holds: true, witness: { comparison: 'max(b) > 5', value: 7 } });
    expect(evaluateCondition(parseCondition('5 < max(b) and a == 1'), read)).toEqual({ holds: true, witness: { comparison: '5 < max(b)', value: 7 } });
  });

  test('conditionAggregates lists each (function, field) once', () => {
    expect(conditionAggregates(parseCondition('max(a) > 1 or (max(a) < 0 and not mean(b) == 2)'))).toEqual([
      { kind: 'aggregate', function: 'max', field: 'a' },
      { kind: 'aggregate', function: 'mean', field: 'b' },
    ]);
  });
});

describe('missing and odd data', () => {
  test('a comparison with a value the series lacks is false, and its negation true', () => {
    expect(holds('latest(x) > 1', {})).toBe(false);
    expect(holds('latest(x) == 0', {})).toBe(false);
    expect(holds('not latest(x) == 0', {})).toBe(true);
  });

  test('text compared with a number throws a RuleEvaluationError naming the comparison', () => {
    expect(() => holds('latest(x) > 5', { 'latest(x)': 'lots' })).toThrow(RuleEvaluationError);
    expect(() => holds('latest(x) == 5', { 'latest(x)': 'lots' })).toThrow(`cannot compare "lots" with 5 in 'latest(x) == 5'`);
  });

  test('ordering text throws', () => {
    expect(() => holds('latest(x) < "b"', { 'latest(x)': 'a' })).toThrow('only == and != apply to text');
  });

  test('or stops at the first comparison that holds, so later odd data is not reached', () => {
    expect(holds('latest(a) == 1 or latest(x) > 5', { 'latest(a)': 1, 'latest(x)': 'odd' })).toBe(true);
  });
});

describe('syntax errors name the column', () => {
  test.each([
    ['', 'empty condition', 1],
    ['latest(x) >', 'expected a field', 12],
    ['latest(x) 5', 'expected a comparison', 11],
    ['median(x) > 1', "unknown function 'median'", 1],
    ['max(x > 1', "expected ')' after max(x", 7],
    ['max() > 1', 'expected a field name inside max( )', 5],
    ['(x > 1', "expected ')'", 7],
    ['x > 1 y', "expected 'and', 'or' or the end", 7],
    ['x > 1 and', 'expected a field', 10],
    ['x ~ 1', "unexpected character '~'", 3],
    ['x == "open', 'unterminated string', 6],
    ['1 > 2', 'a comparison needs a field on one side', 5],
    ['and > 1', "'and' cannot be used as a field name", 1],
    ['x => 1', 'expected a field', 4],
  ])('%p: %s at column %p', (text, message, column) => {
    let caught: unknown;
    try {
      parseCondition(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConditionSyntaxError);
    expect((caught as ConditionSyntaxError).reason).toContain(message);
    expect((caught as ConditionSyntaxError).column).toBe(column);
  });
});
