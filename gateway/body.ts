/**
 * Byte-level checks on a request body made before JSON.parse: how many documents a top-level array
 * holds (counted as the bytes arrive, so an oversized batch is refused before it is parsed or even
 * read whole).
 */

import { isJsonWhitespace } from '../lib/http/jsonMembers';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/**
 * Counts the elements of a top-level JSON array, fed chunk by chunk. It tracks only strings, escapes
 * and nesting depth: it does not validate JSON (JSON.parse does that afterwards), so on a malformed
 * body the count is an estimate, which is enough to bound the work. A body that is not an array counts 1.
 */
export class TopLevelCounter {
  count = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;
  private topLevelArray = false;
  /** Inside the top-level array, whether an element has begun since the last comma. */
  private elementOpen = false;

  feed(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; at++) {
      const byte = bytes[at];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) this.inString = false;
        continue;
      }
      if (isJsonWhitespace(byte)) continue;
      if (!this.started) {
        this.started = true;
        this.topLevelArray = byte === OPEN_BRACKET;
        this.count = this.topLevelArray ? 0 : 1;
        if (this.topLevelArray) {
          this.depth = 1;
          continue;
        }
      }
      if (!this.topLevelArray) return; // one document: nothing more to count
      if (this.depth === 1 && byte !== COMMA && byte !== CLOSE_BRACKET && !this.elementOpen) {
        this.elementOpen = true;
        this.count += 1;
      }
      if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) this.depth += 1;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) this.depth -= 1;
      else if (byte === COMMA && this.depth === 1) this.elementOpen = false;
    }
  }
}
