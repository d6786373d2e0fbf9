import { createHash } from 'node:crypto';
import { parsePacket, PacketError, type FileRecord } from '../protocol';
import { generatePacketMix, type MixPacket, type PacketMix } from './packetMix';

/** Three simulated minutes: every packet code, xfr records and full f packets, in a second or so. */
const OPTIONS = { dataServers: 3, opensPerSecond: 8, seconds: 360 };
let mix: PacketMix;

beforeAll(() => {
  mix = generatePacketMix(OPTIONS);
});

function code(packet: MixPacket): string {
  return String.fromCharCode(packet.packet[0]);
}

/** The body of a map packet ('u', 'U', 'T'...): after the header and dictid, "identity\ninfo". */
function mapText(packet: Buffer): { identity: string; info: string } {
  const text = packet.toString('latin1', 12);
  const newline = text.indexOf('\n');
  return { identity: text.slice(0, newline), info: text.slice(newline + 1) };
}

describe('the benchmark packet mix (collectors/xrootd-transfers/test/packetMix.ts)', () => {
  test('has every packet code of a busy 5.x server, in the ledger it reports', () => {
    const counted: Record<string, number> = {};
    for (const packet of mix.packets) counted[code(packet)] = (counted[code(packet)] ?? 0) + 1;
    expect(counted).toEqual(mix.ledger.packets);
    expect(Object.keys(counted).sort()).toEqual(['=', 'T', 'U', 'd', 'f', 'g', 'i', 'r', 't', 'u']);
    expect(mix.ledger.peakOpenFiles).toBeGreaterThan(1000);
    expect(mix.ledger.peakSessions).toBeGreaterThan(400);
  });

  test('each header length is the datagram length, and no packet exceeds its buffer size', () => {
    const limits: Record<string, number> = { f: 8192, t: 8192, r: 32768, g: 32768 };
    for (const { packet } of mix.packets) {
      expect(packet.readUInt16BE(2)).toBe(packet.length);
      expect(packet.length).toBeLessThanOrEqual(limits[String.fromCharCode(packet[0])] ?? 1500);
    }
    // Busy servers fill their f buffers: most f packets are near 8 KiB.
    const fileSizes = mix.packets.filter((packet) => code(packet) === 'f').map((packet) => packet.packet.length);
    expect(fileSizes.filter((size) => size > 7000).length / fileSizes.length).toBeGreaterThan(0.5);
  });

  test('every packet decodes, U and T to the session they name', () => {
    const refused: string[] = [];
    const kinds = new Map<string, Set<string>>();
    const sessions = new Set<string>();
    let namedSessions = 0;
    for (const packet of mix.packets) {
      try {
        const decoded = parsePacket(packet.packet);
        kinds.set(code(packet), (kinds.get(code(packet)) ?? new Set()).add(decoded.kind));
        if (decoded.kind === 'user') sessions.add(`${packet.sender} ${decoded.dictId}`);
        if (decoded.kind === 'activity' || decoded.kind === 'token') namedSessions += sessions.has(`${packet.sender} ${decoded.userId}`) ? 1 : 0;
      } catch (error) {
        if (!(error instanceof PacketError)) throw error;
        refused.push(`${code(packet)}: ${error.message}`);
      }
    }
    expect(refused.slice(0, 5)).toEqual([]);
    expect(Object.fromEntries([...kinds].map(([key, value]) => [key, [...value]]))).toEqual({
      '=': ['server'], u: ['user'], d: ['path'], U: ['activity'], T: ['token'], i: ['other'], t: ['other'], f: ['files'], r: ['redirects'], g: ['gstream'],
    });
    // &Uc= of every U and T is the dictid of a login of the same server.
    expect(namedSessions).toBe(mix.ledger.packets.U + mix.ledger.packets.T);
    for (const { identity, info } of mix.packets.filter((packet) => ['U', 'T'].includes(code(packet))).map((packet) => mapText(packet.packet))) {
      expect(identity).toMatch(/^xroot\/\w+\.\d+:\d+@[\w.-]+$/);
      expect(info).toMatch(/^&Uc=\d+&/);
    }
  });

  test('the f-stream records add up to what the generator closed, counted independently', () => {
    const records: FileRecord[] = mix.packets.flatMap(({ packet }) => {
      const decoded = packet[0] === 0x66 ? parsePacket(packet) : undefined;
      return decoded?.kind === 'files' ? decoded.records : [];
    });
    const count = (type: FileRecord['type']): number => records.filter((record) => record.type === type).length;
    expect({ open: count('open'), close: count('close'), transfer: count('transfer'), disconnect: count('disconnect') }).toEqual({
      open: mix.ledger.records.open,
      close: mix.ledger.records.close,
      transfer: mix.ledger.records.transfer,
      disconnect: mix.ledger.records.disconnect,
    });
    const closed = { read: 0, readv: 0, write: 0 };
    for (const record of records) {
      if (record.type !== 'close') continue;
      closed.read += record.totals.read;
      closed.readv += record.totals.readv;
      closed.write += record.totals.write;
    }
    expect(closed).toEqual(mix.ledger.closed);
    expect(records.some((record) => record.type === 'close' && record.forced)).toBe(true);
  });

  test('r and g packets follow their layouts: entries fill the packet exactly, JSON lines end in a NUL', () => {
    let redirects = 0;
    const providers = new Map<string, number>();
    for (const { packet } of mix.packets) {
      if (code({ packet } as MixPacket) === 'r') {
        expect(packet[8]).toBe(0xf0); // XROOTD_MON_REDSID
        let offset = 16;
        while (offset < packet.length) {
          const type = packet[offset];
          if (type === 0x00) offset += 8; // timing mark
          else {
            expect(type & 0xf0).toBe(0x80);
            redirects += 1;
            offset += 8 * (1 + packet[offset + 1]);
          }
        }
        expect(offset).toBe(packet.length);
      }
      if (code({ packet } as MixPacket) === 'g') {
        const provider = String.fromCharCode(packet[16]);
        expect(packet[packet.length - 1]).toBe(0);
        const lines = packet.toString('latin1', 24, packet.length - 1).split('\n');
        for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
        providers.set(provider, (providers.get(provider) ?? 0) + lines.length);
      }
    }
    expect(redirects).toBe(mix.ledger.redirects);
    // The decoder finds the same redirects, each to a data server of the mix.
    const decoded = mix.packets.flatMap(({ packet }) => {
      const result = packet[0] === 0x72 ? parsePacket(packet) : undefined;
      return result?.kind === 'redirects' ? result.redirects : [];
    });
    expect(decoded).toHaveLength(mix.ledger.redirects);
    const dataServers = new Set(decoded.map((redirect) => redirect.host));
    expect([...dataServers].every((host) => /^xrd\d\d\./.test(host))).toBe(true);
    expect(dataServers.size).toBe(OPTIONS.dataServers);
    // Each names a session that logged in at the redirector before.
    const logins = new Set<string>();
    let unnamed = 0;
    for (const { sender, packet } of mix.packets) {
      const result = packet[0] === 0x75 || packet[0] === 0x72 ? parsePacket(packet) : undefined;
      if (result?.kind === 'user') logins.add(`${sender} ${result.dictId}`);
      if (result?.kind === 'redirects') unnamed += result.redirects.filter((redirect) => !logins.has(`${sender} ${redirect.userId}`)).length;
    }
    expect(unnamed).toBe(0);
    expect(Object.fromEntries(providers)).toEqual({ P: mix.ledger.tpcTransfers, C: mix.ledger.cacheCloses });
  });

  test('sequence numbers run without gaps per server and stream (main, f, each g provider)', () => {
    const last = new Map<string, number>();
    let gaps = 0;
    for (const { sender, packet } of mix.packets) {
      const kind = code({ packet } as MixPacket);
      const stream = kind === 'f' ? 'f' : kind === 'g' ? `g${String.fromCharCode(packet[16])}` : 'main';
      const key = `${sender} ${stream}`;
      const previous = last.get(key);
      if (previous !== undefined && packet[1] !== ((previous + 1) & 0xff)) gaps += 1;
      last.set(key, packet[1]);
    }
    expect(gaps).toBe(0);
  });

  test('the same seed gives the same bytes, another seed other bytes', () => {
    const digest = (packets: MixPacket[]): string => {
      const hash = createHash('sha256');
      for (const packet of packets) hash.update(`${packet.receivedMs} ${packet.sender} `).update(packet.packet);
      return hash.digest('hex');
    };
    const small = { dataServers: 2, seconds: 120 };
    expect(digest(generatePacketMix(small).packets)).toBe(digest(generatePacketMix(small).packets));
    expect(digest(generatePacketMix({ ...small, seed: 22 }).packets)).not.toBe(digest(generatePacketMix(small).packets));
  });
});
