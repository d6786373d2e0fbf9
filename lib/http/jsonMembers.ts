/**
 * The members of a JSON object text, one at a time, each value parsed on its own by JSON.parse. CRIC's
 * PanDA-queue description is one large object with an object per queue: parsed whole, its tree is much
 * larger than the text and lives on top of it while the panda job reads its history; member by
 * member, only one queue is a tree at a time.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Whether a byte is whitespace between JSON tokens (space, line feed, carriage return, tab). */
export function isJsonWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** The top level is not an object: a valid JSON text of another kind (array, string, ...) or none. */
export class NotAnObjectError extends SyntaxError {
  override name = 'NotAnObjectError';
}

/**
 * Yields [name, value] for each member of the JSON object in `text` (UTF-8), in order. Anything that is not
 * one JSON object throws a SyntaxError naming the byte offset; a valid JSON text of another kind throws
 * NotAnObjectError.
 */
export function* jsonObjectMembers(text: Uint8Array): Generator<[string, unknown]> {
  // Not fatal: a byte that is not UTF-8 becomes U+FFFD, as when the whole answer is decoded as a string. A
  // byte-order mark is kept, so that JSON.parse refuses it as it would in the whole text.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const fail = (at: number, what: string): never => {
    throw new SyntaxError(`${what} at byte ${at}`);
  };
  const skipWhitespace = (at: number): number => {
    while (at < text.length && isJsonWhitespace(text[at])) at++;
    return at;
  };
  /** Where the string starting at `at` (its opening quote) ends: just past its closing quote. */
  const endOfString = (at: number): number => {
    for (let next = at + 1; next < text.length; next++) {
      if (text[next] === BACKSLASH) next++;
      else if (text[next] === QUOTE) return next + 1;
    }
    return fail(at, 'unterminated string');
  };
  /** Where the value starting at `at` ends: at the comma or brace that follows it at depth 0. */
  const endOfValue = (at: number): number => {
    let depth = 0;
    let next = at;
    while (next < text.length) {
      const byte = text[next];
      if (byte === QUOTE) {
        next = endOfString(next);
        continue;
      }
      if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth++;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (depth === 0) return next;
        depth--;
      } else if (byte === COMMA && depth === 0) return next;
      next++;
    }
    return depth === 0 ? next : fail(at, 'unterminated value');
  };
  const parse = (from: number, to: number): unknown => {
    try {
      return JSON.parse(decoder.decode(text.subarray(from, to)));
    } catch (error) {
      // JSON.parse counts from the start of the piece; say where that piece starts.
      return fail(from, `${(error as Error).message}, in the piece`);
    }
  };

  let at = skipWhitespace(0);
  if (at === text.length) fail(at, 'no JSON text');
  if (text[at] !== OPEN_BRACE) {
    parse(at, text.length); // throws the SyntaxError of a text that is not JSON at all
    throw new NotAnObjectError('the JSON text is not an object');
  }
  at = skipWhitespace(at + 1);
  if (text[at] === CLOSE_BRACE) at++;
  else {
    for (;;) {
      if (text[at] !== QUOTE) fail(at, 'expected a member name');
      const nameEnd = endOfString(at);
      const name = parse(at, nameEnd) as string;
      at = skipWhitespace(nameEnd);
      if (text[at] !== COLON) fail(at, 'expected ":"');
      const valueStart = skipWhitespace(at + 1);
      const valueEnd = endOfValue(valueStart);
      yield [name, parse(valueStart, valueEnd)];
      at = skipWhitespace(valueEnd);
      if (text[at] === COMMA) {
        at = skipWhitespace(at + 1);
        continue;
      }
      if (text[at] === CLOSE_BRACE) {
        at++;
        break;
      }
      fail(at, 'expected "," or "}"');
    }
  }
  if (skipWhitespace(at) !== text.length) fail(at, 'unexpected text after the object');
}

/** Whether a parsed JSON value is an object (not null, not a list). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
