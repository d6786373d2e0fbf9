import { jsonObjectMembers, NotAnObjectError } from './jsonMembers';

const members = (text: string): Array<[string, unknown]> => [...jsonObjectMembers(Buffer.from(text))];

describe('jsonObjectMembers', () => {
  test('the members JSON.parse finds, in order, whatever their values hold', () => {
    const value = {
      plain: { atlas_site: 'AGLT2', cloud: 'US' },
      'quotes "and} braces{': { note: 'a "quoted" }, {"not": "a member"} [', list: [1, [2, { three: 3 }], '],'] },
      'ünïcode ✓': 'é\u0000\n\\"',
      numbers: [-1.5e3, 0, 7],
      literals: [true, false, null],
      empty: {},
      nothing: [],
    };
    for (const text of [JSON.stringify(value), JSON.stringify(value, undefined, 2), ` \n\t${JSON.stringify(value, undefined, '\t')}\r\n `]) {
      expect(members(text)).toEqual(Object.entries(value));
    }
  });

  test('an empty object has no members', () => {
    expect(members('{}')).toEqual([]);
    expect(members(' { \n } ')).toEqual([]);
  });

  test('a valid JSON text that is not an object: NotAnObjectError', () => {
    for (const text of ['[{"a": 1}]', '"text"', '12', 'null']) {
      expect(() => members(text)).toThrow(NotAnObjectError);
    }
  });

  test.each([
    ['nothing', ''],
    ['only blanks', ' \n '],
    ['cut inside a value', '{"AGLT2": {"cloud": "US"}, "BNL": {"cloud": '],
    ['cut inside a string', '{"AGLT2": {"cloud": "U'],
    ['cut after a member', '{"AGLT2": 1,'],
    ['no closing brace', '{"AGLT2": 1'],
    ['a name without quotes', '{AGLT2: 1}'],
    ['no colon', '{"AGLT2" 1}'],
    ['no value', '{"AGLT2": }'],
    ['two values', '{"AGLT2": 1 2}'],
    ['a value that is not JSON', '{"AGLT2": {"cloud": US}}'],
    ['a trailing comma', '{"AGLT2": 1,}'],
    ['text after the object', '{"AGLT2": 1} {"BNL": 2}'],
    ['not JSON at all', '<html>down</html>'],
    ['a byte-order mark first', '\uFEFF{"AGLT2": 1}'],
    ['a byte-order mark before a value', '{"AGLT2": \uFEFF1}'],
  ])('%s: a SyntaxError, as JSON.parse says', (_, text) => {
    const read = (): void => {
      for (const member of jsonObjectMembers(Buffer.from(text))) expect(member).toBeDefined();
    };
    expect(read).toThrow(SyntaxError);
    expect(read).not.toThrow(NotAnObjectError);
    expect(() => JSON.parse(text)).toThrow(SyntaxError); // the same verdict as JSON.parse
  });
});
