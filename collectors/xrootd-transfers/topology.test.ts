import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { readSample } from '../../lib/config/sample';
import { receiverName } from '../../lib/queue/route';
import { collectorContext } from '../../test/support/collectorContext';
import { testDir } from '../../test/support/services';
import { parsePacket, PacketError } from './protocol';
import { parseRedirectPacket } from './redirections';
import { loadTopology, mergeTopology, parseCricFederations, parseCricSites, parseTopologyTable, redirectionScope } from './topology';

const testdata = (name: string): string => path.join(__dirname, 'testdata', name);
const recorded = JSON.parse(readFileSync(testdata('xrootd-5.5.3-redirect-packets.json'), 'utf8')) as { packets: Array<{ hex: string }> };
const redirectPackets = recorded.packets.map((packet) => Buffer.from(packet.hex, 'hex'));

/** An 'r' packet: header, server id (0xf0...), then 8-byte entries. */
function redirectPacket(entries: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from('f0000000000000a1', 'hex'), ...entries]);
  const header = Buffer.alloc(8);
  header.write('r', 0, 'latin1');
  header.writeUInt16BE(8 + body.length, 2);
  header.writeInt32BE(1_700_000_000, 4);
  return Buffer.concat([header, body]);
}
const timeMark = (time: number): Buffer => Buffer.from([0, 0, 0, 1, ...int32(time)]);
function int32(value: number): number[] {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return [...buffer];
}
/** A redirect entry: type, target slots, port, user dictid, then "host:path" padded to whole slots. */
function redirectEntry(type: number, port: number, userId: number, target: string): Buffer {
  const slots = Math.ceil((target.length + 1) / 8);
  const text = Buffer.alloc(slots * 8);
  text.write(target, 'latin1');
  const head = Buffer.alloc(8);
  head.writeUInt8(type, 0);
  head.writeUInt8(slots, 1);
  head.writeUInt16BE(port, 2);
  head.writeUInt32BE(userId, 4);
  return Buffer.concat([head, text]);
}

describe('redirect records', () => {
  test('packets of a real 5.5.3 redirector: an openr of each file, to the data servers host, in the window of its time marks', () => {
    const decoded = redirectPackets.map(parsePacket);
    expect(decoded.map((packet) => packet.kind === 'redirects' && [packet.begin, packet.end, packet.redirects])).toEqual([
      [0x6b158758, 0x6b158759, [{ operation: 'openr', configuredRoute: false, userId: 2, host: '127.0.0.1', port: 21094, path: '/fb.bin', time: 0x6b158758 }]],
      [0x6b158758, 0x6b158759, [{ operation: 'openr', configuredRoute: false, userId: 1, host: '127.0.0.1', port: 21094, path: '/fa.bin', time: 0x6b158758 }]],
    ]);
  });

  test('several entries and time marks: each redirect takes the time of the mark before it; IPv6 targets and routes of the configuration', () => {
    const packet = redirectPacket([
      timeMark(100),
      redirectEntry(0x85, 1094, 7, 'data1.example.org:/store/a/very/long/path/name.root'),
      timeMark(101),
      redirectEntry(0x9d, 2094, 8, '[2001:db8::1]:/stat/me'),
      redirectEntry(0x86, 1094, 9, ':/no/host'),
      timeMark(102),
    ]);
    const decoded = parseRedirectPacket(packet);
    expect([decoded.begin, decoded.end]).toEqual([100, 102]);
    expect(decoded.redirects).toEqual([
      { operation: 'openr', configuredRoute: false, userId: 7, host: 'data1.example.org', port: 1094, path: '/store/a/very/long/path/name.root', time: 100 },
      { operation: 'stat', configuredRoute: true, userId: 8, host: '[2001:db8::1]', port: 2094, path: '/stat/me', time: 101 },
      { operation: 'openw', configuredRoute: false, userId: 9, host: '', port: 1094, path: '/no/host', time: 101 },
    ]);
  });

  test.each([
    ['a server id without the 0xf0 mark', Buffer.concat([Buffer.from('72000018', 'hex'), Buffer.alloc(4), Buffer.alloc(16)]), /server id starts with 0x0/],
    ['an entry of unknown type', redirectPacket([timeMark(1), Buffer.from('a0000000000000000000000000000000', 'hex')]), /byte 24 has unknown type 0xa0/],
    ['target slots past the end', redirectPacket([timeMark(1), redirectEntry(0x85, 1, 1, 'h:/p').subarray(0, 8)]), /declares 1 target slots, past the packet end/],
    ['a redirect before any time mark', redirectPacket([redirectEntry(0x85, 1, 1, 'h:/p')]), /before any time mark/],
    ['no time mark at all', redirectPacket([]), /holds no entry/],
    ['a cut entry', Buffer.concat([redirectPacket([timeMark(1)]), Buffer.alloc(3)]), /not whole 8-byte entries|header says/],
    ['a target without host:path', redirectPacket([timeMark(1), redirectEntry(0x85, 1, 1, 'nocolon')]), /"nocolon" is not host:path/],
  ])('%s is a PacketError naming what is wrong', (_what, packet, message) => {
    if (packet[0] === 0x72 && packet.readUInt16BE(2) !== packet.length) packet.writeUInt16BE(packet.length, 2);
    expect(() => parsePacket(packet)).toThrow(PacketError);
    expect(() => parsePacket(packet)).toThrow(message);
  });
});

describe('topology', () => {
  const sitesBody = readFileSync(testdata('cric-sites.json'));
  const federationsBody = readFileSync(testdata('wlcg-federations.json'));

  test("CRIC's answers: each site's cloud and country from ATLAS CRIC, its federation from WLCG CRIC's rcsites", () => {
    const topology = mergeTopology(parseCricSites(sitesBody), parseCricFederations(federationsBody), new Map());
    // Independently: the recorded answers' own fields.
    const sites = JSON.parse(sitesBody.toString()) as Record<string, { cloud: string; country: string; rc_site: string }>;
    const federations = JSON.parse(federationsBody.toString()) as Record<string, { name: string; rcsites: string[] }>;
    for (const [name, site] of Object.entries(sites)) {
      const federation = Object.values(federations).find((entry) => entry.rcsites.includes(site.rc_site))?.name;
      expect(topology.get(name)).toEqual({ cloud: site.cloud, country: site.country, federation });
    }
    expect(topology.get('SiGNET')).toEqual({ cloud: 'ND', country: 'Slovenia', federation: 'SI-SiGNET' });
  });

  test('the config table completes and overrides CRIC field by field; a bad entry names its key', () => {
    const section = Config.parse('[t]\nSiGNET = cloud=DE\nT2_NEW = cloud=IT, country=Italy, federation=IT-INFN\n', 'test.cfg').section('t');
    const topology = mergeTopology(parseCricSites(sitesBody), parseCricFederations(federationsBody), parseTopologyTable(section));
    expect(topology.get('SiGNET')).toEqual({ cloud: 'DE', country: 'Slovenia', federation: 'SI-SiGNET' });
    expect(topology.get('T2_NEW')).toEqual({ cloud: 'IT', country: 'Italy', federation: 'IT-INFN' });
    const bad = Config.parse('[t]\nSITE = cloud=DE, region=EU\n', 'test.cfg').section('t');
    expect(() => parseTopologyTable(bad)).toThrow(/SITE.*"region" is not one of cloud, country, federation/);
    const table = (text: string) => parseTopologyTable(Config.parse(`[t]\n${text}\n`, 'test.cfg').section('t'));
    expect(() => table('OK = cloud=CH\nLOCAL-SITE =')).toThrow("test.cfg: [t] LOCAL-SITE is empty: give the site's cloud=..., country=..., federation=... (at least one), or remove the line");
    expect(() => table('CERN-PROD = cloud=CH, country=Switzerland, cloud=FR')).toThrow('test.cfg: [t] CERN-PROD gives "cloud" twice');
    expect(() => table('CERN-PROD = cloud=CH, cloud = CH')).toThrow('[t] CERN-PROD gives "cloud" twice');
    expect(() => parseCricSites(Buffer.from('[1, 2]'))).toThrow(/CRIC sites: expected an object of sites/);
  });

  test('scope: local by site, then same or other cloud; unknown when a site or a cloud is missing', () => {
    const topology = new Map([['A', { cloud: 'EU' }], ['B', { cloud: 'EU' }], ['C', { cloud: 'US' }], ['D', {}]]);
    expect(redirectionScope(topology, 'A', 'A')).toBe('local');
    expect(redirectionScope(topology, 'D', 'D')).toBe('local');
    expect(redirectionScope(topology, 'A', 'B')).toBe('same_cloud');
    expect(redirectionScope(topology, 'A', 'C')).toBe('other_cloud');
    expect(redirectionScope(topology, 'A', 'D')).toBe('unknown');
    expect(redirectionScope(topology, 'unknown', 'A')).toBe('unknown');
    expect(redirectionScope(topology, 'A', 'unknown')).toBe('unknown');
  });

  test('from CRIC URLs: fetched once per refresh, kept in the state folder, the cached copy served while CRIC is down', async () => {
    const requests: string[] = [];
    let down = false;
    const server = http.createServer((request, response) => {
      requests.push(request.url ?? '');
      if (down) {
        response.writeHead(503).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(request.url?.startsWith('/api/atlas/site') ? sitesBody : federationsBody);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config = (refresh: string): string =>
      `[xrootd-transfers]\ntopology_cric_sites = ${base}/api/atlas/site/query/?json\ntopology_cric_federations = ${base}/api/core/federation/query/?json\ntopology_refresh = ${refresh}\n\n[xrootd-transfers.topology]\nT2_NEW = cloud=IT\n`;
    const stateDir = testDir('topology-state');
    const load = async (refresh: string): Promise<{ topology: Awaited<ReturnType<typeof loadTopology>>; problems: string[] }> => {
      const context = collectorContext('xrootd-transfers', config(refresh), { stateDir });
      const topology = await loadTopology(context, context.config.section('xrootd-transfers.topology'));
      return { topology, problems: context.problems };
    };
    try {
      const first = await load('1d');
      expect(requests).toHaveLength(2);
      expect(first.topology.get('CERN-PROD')).toEqual({ cloud: 'CERN', country: 'Switzerland', federation: 'CH-CERN' });
      expect(first.topology.get('T2_NEW')).toEqual({ cloud: 'IT' });
      await load('1d');
      expect(requests).toHaveLength(2); // within the refresh: the cached copies
      down = true;
      const stale = await load('0s');
      expect(requests).toHaveLength(4);
      expect(stale.topology.get('CERN-PROD')).toEqual(first.topology.get('CERN-PROD'));
      expect(stale.problems).toEqual([expect.stringMatching(/^CRIC sites .*HTTP 503.*serving the cached copy/), expect.stringMatching(/^WLCG CRIC federations .*HTTP 503.*serving the cached copy/)]);
    } finally {
      server.close();
    }
  });

  test('from a CRIC file: read as it is; an unreadable one names the key and the file', async () => {
    const context = collectorContext('xrootd-transfers', `[xrootd-transfers]\ntopology_cric_sites = ${testdata('cric-sites.json')}\n`);
    const topology = await loadTopology(context, context.config.section('xrootd-transfers.topology'));
    expect(topology.get('AGLT2')).toEqual({ cloud: 'US', country: 'USA', federation: undefined });
    const missing = collectorContext('xrootd-transfers', `[xrootd-transfers]\ntopology_cric_sites = ${testdata('no-such.json')}\n`);
    await expect(loadTopology(missing, missing.config.section('xrootd-transfers.topology'))).rejects.toThrow(/topology_cric_sites.*cannot read .*no-such\.json/);
  });
});

describe('sample.cfg', () => {
  test('its CRIC and receiver_name keys, commented out, are at their defaults: uncommented they change nothing', () => {
    const [section] = readSample(path.join(__dirname, 'sample.cfg')).sections.filter((one) => one.name === 'xrootd-transfers');
    const keys = ['topology_cric_sites', 'topology_cric_federations', 'receiver_name'];
    const lines = section.lines.filter((line) => line.kind === 'key' && keys.includes(line.key));
    // Each has a key line, commented out.
    expect(lines.map((line) => line.kind === 'key' && [line.key, line.commented]).sort()).toEqual(keys.map((key) => [key, true]).sort());
    const uncommented = Config.parse(`[xrootd-transfers]\n${lines.map((line) => line.kind === 'key' && `${line.key} = ${line.value}`).join('\n')}\n`, 'sample.cfg').section('xrootd-transfers');
    const absent = Config.parse('[xrootd-transfers]\n', 'empty.cfg').section('xrootd-transfers');
    // No CRIC source unless one is given (loadTopology reads these with optionalString).
    for (const key of ['topology_cric_sites', 'topology_cric_federations']) expect({ key, value: uncommented.optionalString(key) }).toEqual({ key, value: absent.optionalString(key) });
    expect(receiverName(uncommented, 9930)).toBe(receiverName(absent, 9930));
  });
});
