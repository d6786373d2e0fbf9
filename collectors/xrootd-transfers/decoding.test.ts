import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { packetTime } from './accounting';
import { parsePacket, PacketError, sequenceStream, type FileRecord } from './protocol';
import { receiverOptions } from './receiver';
import { StateFile } from '../../lib/state/stateFile';
import { parseSiteTable, siteOfHostName } from '../../lib/sites/siteTable';
import { dnsCacheState, SiteMapper } from './sites';
import { startTestDns } from './test/dnsServer';
import { testDir } from '../../test/support/services';

const recorded = JSON.parse(readFileSync(path.join(__dirname, 'testdata', 'xrootd-5.5.3-packets.json'), 'utf8')) as { packets: Array<{ hex: string }> };
const packets = recorded.packets.map((packet) => Buffer.from(packet.hex, 'hex'));

describe('decoding packets a real xrootd 5.5.3 sent', () => {
  test('server identification, user login and path map', () => {
    const decoded = packets.map(parsePacket);
    const server = decoded.find((packet) => packet.kind === 'server');
    expect(server?.kind === 'server' && server.login.info).toMatchObject({ site: 'TEST_SITE', pgm: 'xrootd', ver: 'v5.5.3' });
    const user = decoded.find((packet) => packet.kind === 'user');
    expect(user?.kind === 'user' && [user.dictId, user.login.protocol, user.login.user, user.login.host, user.login.info.x]).toEqual([1, 'xroot', 'root', '[::ffff:127.0.0.1]', 'xrdcp']);
    const pathMap = decoded.find((packet) => packet.kind === 'path');
    expect(pathMap?.kind === 'path' && pathMap.path).toBe('/up1.bin');
  });

  test('f-stream: open, close with byte totals and ops, xfr, disconnect', () => {
    const records: FileRecord[] = packets.map(parsePacket).flatMap((packet) => (packet.kind === 'files' ? packet.records : []));
    expect(records.filter((record) => record.type === 'open')).toEqual([
      { type: 'open', fileId: 2, fileSize: 0, readWrite: true, userId: 1, path: '/up1.bin' },
      { type: 'open', fileId: 4, fileSize: 1_000_000, readWrite: false, userId: 3, path: '/up1.bin' },
      expect.objectContaining({ type: 'open', fileSize: 0, readWrite: true, path: '/held.bin' }),
    ]);
    const closes = records.filter((record) => record.type === 'close');
    // pgwrite upload: 1,000,000 bytes + 4 bytes of CRC32C per 4 KiB page (245 pages) as the server counts it.
    expect(closes.map((record) => record.type === 'close' && record.totals)).toEqual([
      { read: 0, readv: 0, write: 1_000_980 },
      { read: 1_000_000, readv: 0, write: 0 },
      { read: 0, readv: 0, write: 4_000_000 },
    ]);
    expect(closes[1].type === 'close' && closes[1].operations).toMatchObject({ read: 1, readv: 0, write: 0 });
    expect(records.find((record) => record.type === 'transfer')).toEqual(expect.objectContaining({ totals: { read: 0, readv: 0, write: 2_097_152 } }));
    expect(records.filter((record) => record.type === 'disconnect')).toHaveLength(3);
  });

  test('truncated, padded and garbled packets are PacketErrors, never anything else', () => {
    const fileStream = packets.find((packet) => packet[0] === 'f'.charCodeAt(0)) as Buffer;
    expect(() => parsePacket(fileStream.subarray(0, 40))).toThrow(PacketError);
    expect(() => parsePacket(Buffer.concat([fileStream, Buffer.alloc(3)]))).toThrow(PacketError);
    expect(() => parsePacket(Buffer.from('hello'))).toThrow(PacketError);
    const zeroSize = Buffer.from(fileStream);
    zeroSize.writeUInt16BE(0, 32 + 2);
    expect(() => parsePacket(zeroSize)).toThrow(PacketError);
    // Random corruption of every recorded packet: either decoded or a PacketError.
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    let rejected = 0;
    for (let round = 0; round < 3000; round += 1) {
      const copy = Buffer.from(packets[round % packets.length]);
      for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips -= 1) copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
      try {
        parsePacket(copy);
      } catch (error) {
        expect(error).toBeInstanceOf(PacketError);
        rejected += 1;
      }
    }
    expect(rejected).toBeGreaterThan(0);
  });
});

describe('every packet code of XRootD 5.x', () => {
  /** A packet of `code` with a map body (dictid and text), as the codes without a binary layout of their own. */
  function craft(code: string, text: string, sequence = 0): Buffer {
    const body = Buffer.from(`${text}\0`, 'latin1');
    const packet = Buffer.alloc(12 + body.length);
    packet.write(code, 0, 'latin1');
    packet[1] = sequence;
    packet.writeUInt16BE(packet.length, 2);
    packet.writeInt32BE(1_700_000_000, 4);
    packet.writeUInt32BE(42, 8);
    body.copy(packet, 12);
    return packet;
  }

  test('recorded codes decode; t, i, p, x are skipped without a rejection; U and T decode their map text', () => {
    expect(packets.map((packet) => parsePacket(packet).kind)).toEqual(expect.arrayContaining(['server', 'user', 'path', 'files', 'other']));
    for (const code of ['t', 'i', 'p', 'x']) expect(parsePacket(craft(code, 'whatever')).kind).toBe('other');
    expect(parsePacket(craft('U', 'xroot/alice.12:34@client.example\n&Uc=7&Ec=2&Ac=5'))).toMatchObject({ kind: 'activity', dictId: 42, userId: 7, experiment: 2, activity: 5, login: { user: 'alice', host: 'client.example' } });
    expect(parsePacket(craft('T', 'https/alice.12:34@client.example\n&Uc=7&s=abc-123&n=alice&o=https://wlcg.example/&r=prod&g=/cms,/cms/production'))).toMatchObject({
      kind: 'token',
      userId: 7,
      token: { subject: 'abc-123', userName: 'alice', issuer: 'https://wlcg.example/', role: 'prod', groups: ['/cms', '/cms/production'] },
    });
  });

  test('bad packets are rejected by kind', () => {
    const kindOf = (packet: Buffer): string => {
      try {
        parsePacket(packet);
        return 'decoded';
      } catch (error) {
        return (error as PacketError).kind;
      }
    };
    const fileStream = packets.find((packet) => packet[0] === 'f'.charCodeAt(0)) as Buffer;
    expect(kindOf(craft('Q', 'x'))).toBe('unknown_code');
    expect(kindOf(Buffer.alloc(5))).toBe('truncated');
    expect(kindOf(fileStream.subarray(0, 40))).toBe('truncated');
    expect(kindOf(Buffer.concat([fileStream, Buffer.alloc(3)]))).toBe('length_mismatch');
    expect(kindOf(craft('U', 'xroot/alice.12:34@client.example\n&Ec=2&Ac=5'))).toBe('bad_map');
    expect(kindOf(craft('u', 'no identity here'))).toBe('bad_map');
    const zeroSize = Buffer.from(fileStream);
    zeroSize.writeUInt16BE(0, 32 + 2);
    expect(kindOf(zeroSize)).toBe('bad_record');
  });

  test('sequence streams: main for every map and trace packet, f, and one per g-stream provider', () => {
    expect(['=', 'u', 'd', 'U', 'T', 't', 'r', 'i', 'p', 'x'].map((code) => sequenceStream(craft(code, 'x')))).toEqual(Array(10).fill('main'));
    expect(sequenceStream(packets.find((packet) => packet[0] === 0x66) as Buffer)).toBe('f');
    const g = Buffer.alloc(24);
    g.write('g', 0, 'latin1');
    g[16] = 'C'.charCodeAt(0);
    expect(sequenceStream(g)).toBe('g67');
    g[16] = 'P'.charCodeAt(0);
    expect(sequenceStream(g)).toBe('g80');
  });
});

describe('the time a packet counts at', () => {
  const received = Date.UTC(2026, 10, 22, 10, 0);
  const started = received - 86_400_000 * 3;
  const MINUTE = 60_000;

  test('its own time when plausible and older than 5 minutes on arrival; its receive time otherwise', () => {
    expect(packetTime(received - 86_400_000, received, started)).toBe(received - 86_400_000); // replayed a day later
    expect(packetTime(received - 6 * MINUTE, received, started)).toBe(received - 6 * MINUTE); // held up
    expect(packetTime(received - 4 * MINUTE, received, started)).toBe(received); // live, sent before a slot boundary
    expect(packetTime(received + 4 * MINUTE, received, started)).toBe(received); // a server clock a little ahead
    expect(packetTime(received + 6 * MINUTE, received, started)).toBe(received); // far in the future: not believed
    expect(packetTime(started - 6 * MINUTE, received, started)).toBe(received); // before its server started: not believed
    expect(packetTime(undefined, received, started)).toBe(received);
  });
});

describe('client site mapping', () => {
  // The table itself is tested in lib/sites/siteTable.test.ts.
  const table = parseSiteTable([['in2p3.fr', 'cc*:IN2P3-CC, clr*:IN2P3-LPC']]);

  test('reverse DNS first (cached), unanswered look-ups time out as unknown', async () => {
    // 127.0.0.1 is in /etc/hosts, which the resolver reads before asking DNS: use other loopback addresses.
    const dns = await startTestDns({ '127.0.0.9': 'ccwsge1317.in2p3.fr' });
    const silent = await startTestDns({}, { silent: true });
    const dir = testDir('xrootd-sites');
    const options = { table, cache: new StateFile(path.join(dir, 'cache.json'), dnsCacheState), timeoutMs: 200, budgetMs: 5000, cacheTtlMs: 3600_000 };
    try {
      const mapper = new SiteMapper({ ...options, servers: [dns.server] });
      mapper.request('[::ffff:127.0.0.9]', Date.now());
      mapper.request('127.0.0.10', Date.now());
      await mapper.settle();
      expect(mapper.place('[::ffff:127.0.0.9]')).toEqual({ hostName: 'ccwsge1317.in2p3.fr', domain: 'in2p3.fr', site: 'IN2P3-CC' });
      expect(mapper.place('127.0.0.10')).toEqual({ hostName: '127.0.0.10', domain: 'unknown', site: 'unknown' });
      expect(mapper.place('clrwn71.in2p3.fr').site).toBe('IN2P3-LPC');
      mapper.save(Date.now());

      // From the cache: a mapper whose DNS never answers still knows 127.0.0.9 and asks nothing for it.
      const cached = new SiteMapper({ ...options, servers: [silent.server] });
      cached.request('127.0.0.9', Date.now());
      cached.request('127.0.0.11', Date.now());
      await cached.settle();
      expect(cached.place('127.0.0.9').site).toBe('IN2P3-CC');
      expect(cached.place('127.0.0.11').site).toBe('unknown');
      expect(silent.queries).toContain('11.0.0.127.in-addr.arpa');
      expect(silent.queries).not.toContain('9.0.0.127.in-addr.arpa');
    } finally {
      await dns.close();
      await silent.close();
    }
  });
});

describe('sample.cfg', () => {
  test('uncommented, it parses into the defaults the code uses', () => {
    const text = readFileSync(path.join(__dirname, 'sample.cfg'), 'utf8').replace(/^;(?=[A-Za-z0-9_.-]+ *=)/gm, ''); // commented keys only, not the '; text' comments
    const config = Config.parse(text);
    expect(receiverOptions(config)).toMatchObject({ host: '127.0.0.1', port: 9930, segmentMs: 10_000, flushIntervalMs: 0, maxQueueBytes: 4 * 1024 ** 3 });
    const table = parseSiteTable(config.section('xrootd-transfers.sites').entries());
    expect(siteOfHostName(table, 'ccwsge1317.in2p3.fr').site).toBe('IN2P3-CC');
    expect(siteOfHostName(table, 'clrwn71.in2p3.fr').site).toBe('IN2P3-LPC');
    expect(siteOfHostName(table, 'lxplus1.cern.ch').site).toBe('CERN-PROD');
  });
});
