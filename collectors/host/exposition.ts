/**
 * A strict parser for the Prometheus text exposition format 0.0.4 (what node_exporter's /metrics serves).
 * The only npm parser (parse-prometheus-text-format) is unmaintained and silently accepts malformed lines
 * (`a 1 2 3` reads as value 1 at timestamp 23), so a wrong answer could pass as data; this one refuses.
 */

/** One sample line: `name{label="value",...} value [timestamp]`. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** Metric name → its samples, in the order they came. */
export type Exposition = Map<string, Sample[]>;

export class ExpositionError extends Error {
  override name = 'ExpositionError';
}

const METRIC_NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const BLANKS = /[ \t]*/y;

/** Parses a whole exposition; throws ExpositionError naming the first bad line. */
export function parseExposition(text: string): Exposition {
  const exposition: Exposition = new Map();
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue; // HELP, TYPE and comments carry no values
    try {
      const { name, sample } = parseSampleLine(line);
      const samples = exposition.get(name);
      if (samples) samples.push(sample);
      else exposition.set(name, [sample]);
    } catch (error) {
      throw new ExpositionError(`line ${index + 1}: ${(error as Error).message}: ${JSON.stringify(line.slice(0, 120))}`);
    }
  }
  return exposition;
}

/** A cursor over one line. */
class LineReader {
  position = 0;
  constructor(readonly line: string) {}

  match(pattern: RegExp, what: string): string {
    pattern.lastIndex = this.position;
    const found = pattern.exec(this.line);
    if (!found || found[0] === '') throw new Error(`expected ${what} at column ${this.position + 1}`);
    this.position += found[0].length;
    return found[0];
  }

  skipBlanks(): void {
    BLANKS.lastIndex = this.position;
    this.position += BLANKS.exec(this.line)?.[0].length ?? 0;
  }

  peek(): string {
    return this.line[this.position] ?? '';
  }

  expect(char: string): void {
    if (this.peek() !== char) throw new Error(`expected '${char}' at column ${this.position + 1}`);
    this.position++;
  }

  /** A double-quoted label value with the escapes \\, \" and \n. */
  quoted(): string {
    this.expect('"');
    let value = '';
    for (;;) {
      const char = this.line[this.position++];
      if (char === undefined) throw new Error('unterminated label value');
      if (char === '"') return value;
      if (char !== '\\') {
        value += char;
        continue;
      }
      const escaped = this.line[this.position++];
      if (escaped === 'n') value += '\n';
      else if (escaped === '\\' || escaped === '"') value += escaped;
      else throw new Error(`unknown escape \\${escaped ?? ''} in label value`);
    }
  }

  /** The next run of non-blank characters, or '' at the end of the line. */
  token(): string {
    const start = this.position;
    while (this.position < this.line.length && this.peek() !== ' ' && this.peek() !== '\t') this.position++;
    return this.line.slice(start, this.position);
  }
}

function parseSampleLine(line: string): { name: string; sample: Sample } {
  const reader = new LineReader(line);
  reader.skipBlanks();
  const name = reader.match(METRIC_NAME, 'a metric name');
  const labels: Record<string, string> = {};
  reader.skipBlanks();
  if (reader.peek() === '{') {
    reader.position++;
    for (;;) {
      reader.skipBlanks();
      if (reader.peek() === '}') break;
      const label = reader.match(LABEL_NAME, 'a label name');
      reader.skipBlanks();
      reader.expect('=');
      reader.skipBlanks();
      if (label in labels) throw new Error(`label ${label} given twice`);
      labels[label] = reader.quoted();
      reader.skipBlanks();
      if (reader.peek() === ',') reader.position++;
      else if (reader.peek() !== '}') throw new Error(`expected ',' or '}' at column ${reader.position + 1}`);
    }
    reader.position++;
  }
  reader.skipBlanks();
  const value = parseSampleValue(reader.token());
  reader.skipBlanks();
  const timestamp = reader.token();
  if (timestamp !== '' && !/^-?\d+$/.test(timestamp)) throw new Error(`bad timestamp "${timestamp}"`);
  reader.skipBlanks();
  if (reader.position < line.length) throw new Error(`unexpected text after the sample at column ${reader.position + 1}`);
  return { name, sample: { labels, value } };
}

/** Go's float syntax as Prometheus writes it: decimals, exponents, NaN and ±Inf. */
function parseSampleValue(text: string): number {
  if (text === '') throw new Error('missing sample value');
  if (text === 'NaN') return NaN;
  if (/^[+-]?Inf$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`bad sample value "${text}"`);
  return Number(text);
}

/** The value of a metric that has exactly one finite sample (e.g. node_load1), or undefined. */
export function singleValue(exposition: Exposition, name: string): number | undefined {
  const samples = exposition.get(name);
  return samples?.length === 1 && Number.isFinite(samples[0].value) ? samples[0].value : undefined;
}
