/**
 * The condition language of status rules: comparisons of a field's value (latest, or an aggregate over
 * the rule's window) against a threshold, joined with and / or / not and parentheses. Conditions are
 * parsed into a tree and interpreted; nothing is ever evaluated as code.
 *
 *   latest(up) == 0
 *   max(used_percent) > 98 or (mean(latency_ms) >= 2000 and not latest(error) == "timeout")
 */

/** How a field's values over the window are reduced to one value. A bare field name means `latest`. */
export const AGGREGATE_FUNCTIONS = ['latest', 'first', 'mean', 'min', 'max', 'sum', 'count', 'delta'] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

export const COMPARATORS = ['<', '<=', '>', '>=', '==', '!='] as const;
export type Comparator = (typeof COMPARATORS)[number];

export type Literal = number | string | boolean;
/** A value read from the data: absent (null) when the series has no value for it. */
export type Value = Literal | null;

export interface AggregateOperand {
  kind: 'aggregate';
  function: AggregateFunction;
  field: string;
}
export interface LiteralOperand {
  kind: 'literal';
  value: Literal;
}
export type Operand = AggregateOperand | LiteralOperand;

export type Condition =
  | { kind: 'compare'; left: Operand; comparator: Comparator; right: Operand; text: string }
  | { kind: 'and' | 'or'; items: Condition[] }
  | { kind: 'not'; item: Condition };

/** A condition text that does not parse; `column` is 1-based. */
export class ConditionSyntaxError extends Error {
  override name = 'ConditionSyntaxError';
  constructor(
    readonly reason: string,
    readonly column: number,
  ) {
    super(`${reason} at column ${column}`);
  }
}

/** The data broke an assumption of the rule (e.g. a string compared with a number): the module is N/A. */
export class RuleEvaluationError extends Error {
  override name = 'RuleEvaluationError';
}

type Token =
  | { kind: 'number'; value: number; start: number; end: number }
  | { kind: 'string'; value: string; start: number; end: number }
  | { kind: 'word'; value: string; start: number; end: number }
  | { kind: 'comparator'; value: Comparator; start: number; end: number }
  | { kind: '(' | ')' | 'end'; start: number; end: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  while (position < text.length) {
    const rest = text.slice(position);
    const space = /^\s+/.exec(rest);
    if (space) {
      position += space[0].length;
      continue;
    }
    const number = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/.exec(rest);
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    const comparator = /^(<=|>=|==|!=|<|>|=)/.exec(rest);
    if (number) {
      tokens.push({ kind: 'number', value: Number(number[0]), start: position, end: position + number[0].length });
      position += number[0].length;
    } else if (word) {
      tokens.push({ kind: 'word', value: word[0], start: position, end: position + word[0].length });
      position += word[0].length;
    } else if (comparator) {
      const value = (comparator[0] === '=' ? '==' : comparator[0]) as Comparator;
      tokens.push({ kind: 'comparator', value, start: position, end: position + comparator[0].length });
      position += comparator[0].length;
    } else if (rest[0] === '(' || rest[0] === ')') {
      tokens.push({ kind: rest[0], start: position, end: position + 1 });
      position += 1;
    } else if (rest[0] === '"' || rest[0] === "'") {
      const quote = rest[0];
      const close = rest.indexOf(quote, 1);
      if (close < 0) throw new ConditionSyntaxError(`unterminated string`, position + 1);
      tokens.push({ kind: 'string', value: rest.slice(1, close), start: position, end: position + close + 1 });
      position += close + 1;
    } else {
      throw new ConditionSyntaxError(`unexpected character '${rest[0]}'`, position + 1);
    }
  }
  tokens.push({ kind: 'end', start: text.length, end: text.length });
  return tokens;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'true', 'false']);

/** Recursive descent over: or := and ('or' and)*; and := unary ('and' unary)*; unary := 'not' unary | '(' or ')' | comparison. */
class Parser {
  private index = 0;
  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
  ) {}

  private peek(): Token {
    return this.tokens[this.index];
  }
  private next(): Token {
    return this.tokens[this.index++];
  }
  private isKeyword(token: Token, keyword: string): boolean {
    return token.kind === 'word' && token.value.toLowerCase() === keyword;
  }
  private fail(reason: string, token: Token = this.peek()): never {
    throw new ConditionSyntaxError(reason, token.start + 1);
  }
  private describe(token: Token): string {
    return token.kind === 'end' ? 'the end of the condition' : `'${this.text.slice(token.start, token.end)}'`;
  }

  parse(): Condition {
    if (this.peek().kind === 'end') this.fail('empty condition');
    const condition = this.parseOr();
    if (this.peek().kind !== 'end') this.fail(`expected 'and', 'or' or the end, got ${this.describe(this.peek())}`);
    return condition;
  }

  private parseOr(): Condition {
    const items = [this.parseAnd()];
    while (this.isKeyword(this.peek(), 'or')) {
      this.next();
      items.push(this.parseAnd());
    }
    return items.length === 1 ? items[0] : { kind: 'or', items };
  }

  private parseAnd(): Condition {
    const items = [this.parseUnary()];
    while (this.isKeyword(this.peek(), 'and')) {
      this.next();
      items.push(this.parseUnary());
    }
    return items.length === 1 ? items[0] : { kind: 'and', items };
  }

  private parseUnary(): Condition {
    const token = this.peek();
    if (this.isKeyword(token, 'not')) {
      this.next();
      return { kind: 'not', item: this.parseUnary() };
    }
    if (token.kind === '(') {
      this.next();
      const inner = this.parseOr();
      if (this.peek().kind !== ')') this.fail(`expected ')', got ${this.describe(this.peek())}`);
      this.next();
      return inner;
    }
    return this.parseComparison();
  }

  private parseComparison(): Condition {
    const start = this.peek().start;
    const left = this.parseOperand();
    const comparatorToken = this.next();
    if (comparatorToken.kind !== 'comparator') this.fail(`expected a comparison (<, <=, >, >=, ==, !=), got ${this.describe(comparatorToken)}`, comparatorToken);
    const right = this.parseOperand();
    if (left.kind === 'literal' && right.kind === 'literal') this.fail('a comparison needs a field on one side', this.tokens[this.index - 1]);
    const end = this.tokens[this.index - 1].end;
    return { kind: 'compare', left, comparator: comparatorToken.value, right, text: this.text.slice(start, end) };
  }

  private parseOperand(): Operand {
    const token = this.next();
    if (token.kind === 'number') return { kind: 'literal', value: token.value };
    if (token.kind === 'string') return { kind: 'literal', value: token.value };
    if (token.kind !== 'word') this.fail(`expected a field, a function such as max(field), a number or a "string", got ${this.describe(token)}`, token);
    const lower = token.value.toLowerCase();
    if (lower === 'true' || lower === 'false') return { kind: 'literal', value: lower === 'true' };
    if (KEYWORDS.has(lower)) this.fail(`'${token.value}' cannot be used as a field name`, token);
    if (this.peek().kind !== '(') return { kind: 'aggregate', function: 'latest', field: token.value };
    if (!(AGGREGATE_FUNCTIONS as readonly string[]).includes(lower)) {
      this.fail(`unknown function '${token.value}' (known: ${AGGREGATE_FUNCTIONS.join(', ')})`, token);
    }
    this.next();
    const field = this.next();
    if (field.kind !== 'word' || KEYWORDS.has(field.value.toLowerCase())) this.fail(`expected a field name inside ${lower}( ), got ${this.describe(field)}`, field);
    if (this.peek().kind !== ')') this.fail(`expected ')' after ${lower}(${field.value}, got ${this.describe(this.peek())}`);
    this.next();
    return { kind: 'aggregate', function: lower as AggregateFunction, field: field.value };
  }
}

/** Parses a condition text into its tree; throws ConditionSyntaxError naming the column. */
export function parseCondition(text: string): Condition {
  return new Parser(text, tokenize(text)).parse();
}

/** Every (function, field) the condition reads, without repeats. */
export function conditionAggregates(condition: Condition): AggregateOperand[] {
  const found = new Map<string, AggregateOperand>();
  const visit = (node: Condition): void => {
    if (node.kind === 'compare') {
      for (const operand of [node.left, node.right]) {
        if (operand.kind === 'aggregate') found.set(aggregateKey(operand), operand);
      }
    } else if (node.kind === 'not') visit(node.item);
    else node.items.forEach(visit);
  };
  visit(condition);
  return [...found.values()];
}

export function aggregateKey(operand: AggregateOperand): string {
  return `${operand.function}(${operand.field})`;
}

/** What made a condition hold: the comparison and the data value it compared. */
export interface Witness {
  comparison: string;
  value: Value;
}

export interface ConditionResult {
  holds: boolean;
  witness?: Witness;
}

function describeValue(value: Value): string {
  return typeof value === 'string' ? `"${value}"` : String(value);
}

function compareValues(left: Value, comparator: Comparator, right: Value, text: string): boolean {
  // A value the series does not have makes the comparison false: no data is not evidence of a problem.
  if (left === null || right === null) return false;
  const asNumber = (value: Literal): Literal => (typeof value === 'boolean' ? Number(value) : value);
  const a = asNumber(left);
  const b = asNumber(right);
  if (typeof a !== typeof b) {
    throw new RuleEvaluationError(`cannot compare ${describeValue(left)} with ${describeValue(right)} in '${text}'`);
  }
  if (typeof a === 'string' && comparator !== '==' && comparator !== '!=') {
    throw new RuleEvaluationError(`cannot order the text ${describeValue(left)} in '${text}': only == and != apply to text`);
  }
  switch (comparator) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

/**
 * Evaluates a condition for one series. `read` gives the value of an aggregate (null when absent).
 * Throws RuleEvaluationError when the data does not fit the comparison.
 */
export function evaluateCondition(condition: Condition, read: (operand: AggregateOperand) => Value): ConditionResult {
  switch (condition.kind) {
    case 'compare': {
      const value = (operand: Operand): Value => (operand.kind === 'literal' ? operand.value : read(operand));
      const left = value(condition.left);
      const right = value(condition.right);
      const holds = compareValues(left, condition.comparator, right, condition.text);
      const observed = condition.left.kind === 'aggregate' ? left : right;
      return holds ? { holds, witness: { comparison: condition.text, value: observed } } : { holds };
    }
    case 'not':
      return { holds: !evaluateCondition(condition.item, read).holds };
    case 'and': {
      let witness: Witness | undefined;
      for (const item of condition.items) {
        const result = evaluateCondition(item, read);
        if (!result.holds) return { holds: false };
        witness ??= result.witness;
      }
      return { holds: true, witness };
    }
    case 'or': {
      for (const item of condition.items) {
        const result = evaluateCondition(item, read);
        if (result.holds) return result;
      }
      return { holds: false };
    }
  }
}
