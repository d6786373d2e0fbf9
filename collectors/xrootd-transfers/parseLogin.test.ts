import { parseLogin, PacketError } from './protocol';

/** The identity layout as a regular expression, the reference the hand-written split must equal. */
const IDENTITY = /^(?:([^/]*)\/)?(.*)\.(\d+):([^@]*)@(.+)$/s;

function reference(identity: string): object | undefined {
  const match = IDENTITY.exec(identity);
  return match ? { protocol: match[1] ?? '', user: match[2], pid: Number(match[3]), sessionId: match[4], host: match[5] } : undefined;
}

function split(identity: string): object | undefined {
  try {
    const { protocol, user, pid, sessionId, host } = parseLogin(identity);
    return { protocol, user, pid, sessionId, host };
  } catch (error) {
    if (error instanceof PacketError) return undefined;
    throw error;
  }
}

describe('parseLogin identity', () => {
  it.each([
    'atlas01.1234:56@wn1.cern.ch',
    'gsi/atlas01.1234:56@wn1.cern.ch',
    'a.b.12:3@h', // the user holds a dot
    'u.1:s.2:t@h', // the last ".digits:" before '@' ends the user
    'u.1:s@host/x', // a '/' after the user part: no protocol
    'p/q/u.1:s@h', // only the first '/' ends the protocol
    '/u.1:s@h', // an empty protocol
    '.1:@h', // empty user and session
    'u.1:s@a@b', // two '@': the regular expression decides
    'u.:s@h', // no pid digits: malformed
    'u.1:s@', // no host: malformed
    'u1:s@h', // no dot before the pid: malformed
  ])('%s splits as the layout says', (identity) => {
    expect(split(identity)).toEqual(reference(identity));
  });

  it('equals the layout on generated identities', () => {
    const pieces = ['a', '/', '.', '1', '23', ':', '@', 'h', '.4:', 'x.5:s@'];
    // xorshift32: the same identities on every run.
    let seed = 7;
    const next = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    let matching = 0;
    for (let index = 0; index < 50_000; index += 1) {
      let identity = '';
      for (let length = 1 + (next() % 8); length > 0; length -= 1) identity += pieces[next() % pieces.length];
      const expected = reference(identity);
      if (expected) matching += 1;
      expect(split(identity)).toEqual(expected);
    }
    // Enough of them follow the layout for the comparison to mean something.
    expect(matching).toBeGreaterThan(5_000);
  });
});
