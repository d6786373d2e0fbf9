import { TopLevelCounter } from './body';
import { decodeUtf8, firstInvalidUtf8Byte } from '../lib/documents/utf8';

function countFedBy(text: string, chunkSize: number): number {
  const bytes = Buffer.from(text, 'utf8');
  const counter = new TopLevelCounter();
  for (let at = 0; at < bytes.length; at += chunkSize) counter.feed(bytes.subarray(at, at + chunkSize));
  return counter.count;
}

describe('TopLevelCounter', () => {
  it.each([
    ['[]', 0],
    ['  [ ]  ', 0],
    ['[{}]', 1],
    ['{"a": [1, 2, 3]}', 1],
    ['[{"a":"],\\"[{"},[1,[2,3]],"x,y",  7 ,null]', 5],
    ['[\n{"s": "\\\\"}, {"t": "é,中"}\n]', 2],
  ])('%j holds %i documents, whatever the chunk boundaries', (text, expected) => {
    expect(JSON.parse(text) instanceof Array ? (JSON.parse(text) as unknown[]).length : 1).toBe(expected);
    for (const size of [1, 2, 3, 1000]) expect([size, countFedBy(text, size)]).toEqual([size, expected]);
  });
});

describe('UTF-8', () => {
  it.each([
    [[0x41, 0xff], 1],
    [[0x41, 0xc0, 0x80], 1], // overlong NUL
    [[0xed, 0xa0, 0x80], 0], // a surrogate
    [[0x41, 0x42, 0xe4, 0xb8], 2], // cut short
    [[0xf4, 0x90, 0x80, 0x80], 0], // beyond U+10FFFF
  ])('%j: first invalid byte at %i, and decoding refuses it', (bytes, offset) => {
    expect(firstInvalidUtf8Byte(Uint8Array.from(bytes))).toBe(offset);
    expect(() => decodeUtf8(Uint8Array.from(bytes))).toThrow(`not valid UTF-8 at byte ${offset}`);
  });

  it('valid text of 1 to 4 byte characters decodes exactly', () => {
    const text = 'a é 中 🚀';
    expect(firstInvalidUtf8Byte(Buffer.from(text))).toBe(-1);
    expect(decodeUtf8(Buffer.from(text))).toBe(text);
  });
});
