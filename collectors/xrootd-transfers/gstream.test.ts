import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RunningReceiver } from '../../lib/queue/receiver';
import { readQueue } from '../../lib/queue/segments';
import type { MonitDocument } from '../../lib/documents/types';
import { readmeDisagreements } from '../../test/support/readme';
import { startServer, testDir, type RunningServer } from '../../test/support/services';
import { DocumentFactory } from '../../lib/documents/document';
import type { ServerState } from './accounting';
import { fileSize, GStreamAccounting, gstreamDocuments, parseGStreamPacket, tpcTime, urlHost, type GStreamEvents } from './gstream';
import { parsePacket, PacketError, parseHeader } from './protocol';
import { startTestDns, type TestDns } from './test/dnsServer';
import { CLIENT_ENV, collectFor, startTestReceiver } from './test/monitoredServer';

const run = promisify(execFile);
const MINUTE = 60_000;
const SLOT = 10 * MINUTE;
const SLOT_A = Date.UTC(2026, 10, 23, 10, 0);
const slot = (index: number): number => SLOT_A + index * SLOT;
const CLIENT_SITE = 'T2_CLIENTS';
const FILE_BYTES = 1_234_567;
/** A source address no server or client uses (TEST-NET-1), named by the test DNS server. */
const REMOTE_ADDRESS = '192.0.2.7';
/** 100 ms apiece: two periods of XrdPosix's delayed destroy (30 s) and some. */
const CACHE_RECORD_ATTEMPTS = 1200;

const recorded = JSON.parse(readFileSync(path.join(__dirname, 'testdata', 'xrootd-5.5.3-gstream-packets.json'), 'utf8')) as { packets: Array<{ hex: string }>; textPackets: Array<{ hex: string }> };
const recordedPackets = recorded.packets.map((packet) => Buffer.from(packet.hex, 'hex'));

/** The JSON text of a recorded packet's records, read without the decoder under test. */
function recordedLines(packet: Buffer): string[] {
  return packet.subarray(24).toString('utf8').split(/[\n\0]/).filter(Boolean);
}

/** Independent reading of "…T16:09:57.769546Z" in µs: whole seconds by Date.parse, the digits after the point as microseconds. */
function micro(text: string): number {
  return Date.parse(text.replace(/\.\d+Z$/, 'Z')) * 1000 + Number(/\.(\d+)Z$/.exec(text)?.[1]);
}

function rawTpc(packet: Buffer): Array<{ Xeq: { Beg: string; End: string; RC: number }; Size: number }> {
  return recordedLines(packet).map((line) => JSON.parse(line) as { Xeq: { Beg: string; End: string; RC: number }; Size: number });
}

describe('g-stream packets of a real 5.5.3 server', () => {
  test('TPC records decode to their protocol, result, times, hosts and size', () => {
    const [success, failure] = recordedPackets.slice(0, 2).map((packet) => parsePacket(packet));
    if (success.kind !== 'gstream' || failure.kind !== 'gstream') throw new Error('expected g-stream packets');
    const raw = rawTpc(recordedPackets[0])[0];
    expect(success).toMatchObject({ provider: 'tpc', cache: [], otherRecords: 0 });
    expect(success.begin).toBeLessThanOrEqual(success.end);
    expect(success.tpc).toEqual([
      { protocol: 'xroot', beginUs: micro(raw.Xeq.Beg), endUs: micro(raw.Xeq.End), returnCode: 0, streams: 1, direction: 'pull', sourceHost: '[::ffff:127.0.0.1]', destinationHost: 'vm', size: 1_000_000 },
    ]);
    expect(failure.tpc).toEqual([expect.objectContaining({ returnCode: 32, size: 0, direction: 'pull' })]);
  });

  test('XCache file_close records decode to hit, miss and bypass bytes', () => {
    const [first, second] = recordedPackets.slice(2, 4).map((packet) => parseGStreamPacket(packet));
    expect(first).toMatchObject({ provider: 'pfc', tpc: [], cache: [{ bytesHit: 0, bytesMiss: 1_000_000, bytesBypass: 0, checksumErrors: 0 }] });
    expect(second.cache).toEqual([{ bytesHit: 1_000_000, bytesMiss: 0, bytesBypass: 0, checksumErrors: 0 }]);
    // A 5.0-5.3 record, without n_cks_errs.
    const older = Buffer.from(recordedPackets[3].toString('latin1').replace(',"n_cks_errs":0', ''), 'latin1');
    older.writeUInt16BE(older.length, 2);
    expect(parseGStreamPacket(older).cache).toEqual([{ bytesHit: 1_000_000, bytesMiss: 0, bytesBypass: 0, checksumErrors: 0 }]);
  });

  test('a file name that breaks the JSON of a pfc record (XrdPfc does not escape it) still gives its bytes', () => {
    const packet = recordedPackets[2];
    const text = packet.subarray(24).toString('latin1').replace('"lfn":"/f"', '"lfn":"/a \\"quoted\\\\ name\\q"');
    const changed = Buffer.concat([packet.subarray(0, 24), Buffer.from(text, 'latin1')]);
    changed.writeUInt16BE(changed.length, 2);
    expect(() => JSON.parse(recordedLines(changed)[0])).toThrow();
    expect(parseGStreamPacket(changed).cache).toEqual([{ bytesHit: 0, bytesMiss: 1_000_000, bytesBypass: 0, checksumErrors: 0 }]);
  });

  test('malformed g-stream packets are PacketErrors that say what and where', () => {
    const packet = recordedPackets[0];
    const withBody = (body: string, header = packet): Buffer => {
      const changed = Buffer.concat([header.subarray(0, 24), Buffer.from(`${body}\0`)]);
      changed.writeUInt16BE(changed.length, 2);
      return changed;
    };
    expect(() => parseGStreamPacket(packet.subarray(0, 20))).toThrow(new PacketError('g-stream packet of 20 bytes is shorter than its 24-byte header'));
    const kindOf = (make: () => unknown): string | undefined => {
      try {
        make();
      } catch (error) {
        return (error as PacketError).kind;
      }
      return undefined;
    };
    expect(kindOf(() => parseGStreamPacket(packet.subarray(0, packet.length - 1)))).toBe('truncated');
    expect(kindOf(() => parseGStreamPacket(withBody('{"TPC":"xroot"')))).toBe('bad_record');
    expect(kindOf(() => parseGStreamPacket(withBody(recordedLines(packet)[0].replace('"Size":1000000', '"Size":1e300'))))).toBe('bad_value');
    expect(() => parseGStreamPacket(packet.subarray(0, packet.length - 1))).toThrow(/does not end with a NUL/);
    expect(() => parseGStreamPacket(withBody('{"TPC":"xroot"'))).toThrow(/g-stream tpc record at byte 24 is not JSON/);
    expect(() => parseGStreamPacket(withBody(`${recordedLines(packet)[0]}\n{"TPC":"xroot","Xeq":{"Type":"sideways"}}`))).toThrow(/record at byte \d+: "Type" is "sideways"/);
    expect(() => parseGStreamPacket(withBody(recordedLines(packet)[0].replace('"RC":0', '"RC":"zero"')))).toThrow(/"RC" is "zero", not an integer/);
    expect(() => parseGStreamPacket(withBody(recordedLines(packet)[0].replace(/"Beg":"[^"]*"/, '"Beg":"yesterday"')))).toThrow(/time "yesterday"/);
    // Numbers a document could not carry exactly stop at the decoder, not at the document's schema check.
    expect(() => parseGStreamPacket(withBody(recordedLines(packet)[0].replace('"Size":1000000', '"Size":1e300')))).toThrow(/"Size" is 1e\+300, not an integer/);
    expect(() => parseGStreamPacket(withBody(recordedLines(packet)[0].replace('"Size":1000000', '"Size":4294967296')))).toThrow(/"Size" 4294967296 is not a 32-bit number/);
    expect(() => parseGStreamPacket(withBody(recordedLines(recordedPackets[2])[0].replace('"b_hit":0', '"b_hit":1.5'), recordedPackets[2]))).toThrow(/g-stream pfc record at byte 24: "b_hit" is 1.5, not an integer/);
  });

  test('text g-stream packets (mongstream ... send json or cgi) are rejected, saying how to send them in binary', () => {
    const text = recorded.textPackets.map((packet) => Buffer.from(packet.hex, 'hex'));
    expect(text.map((packet) => packet.toString('latin1', 0, 11))).toEqual(['{"code":"="', 'code==&pseq', '{"code":"g"', 'code=g&pseq']);
    for (const packet of text) {
      expect(() => parsePacket(packet)).toThrow(new PacketError(`text g-stream packet (xrootd.mongstream ... send json/cgi/nohdr) "${packet.toString('latin1', 0, 16)}...": not decoded; send the g-stream in binary with "tpc pfc" in an xrootd.monitor dest`));
    }
    // nohdr: the records alone.
    expect(() => parsePacket(Buffer.from(recordedLines(recordedPackets[0])[0]))).toThrow(/^text g-stream packet/);
  });

  test('corrupted or cut g-stream packets are decoded or rejected as PacketErrors, never another error', () => {
    let seed = 11;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const outcomes = { decoded: 0, rejected: 0 };
    const attempt = (packet: Buffer): void => {
      try {
        parsePacket(packet);
        outcomes.decoded += 1;
      } catch (error) {
        expect(error).toBeInstanceOf(PacketError);
        outcomes.rejected += 1;
      }
    };
    for (let round = 0; round < 2000; round += 1) {
      // Code and length kept, so the g-stream decoder itself meets the damage.
      const copy = Buffer.from(recordedPackets[round % recordedPackets.length]);
      for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips -= 1) copy[8 + Math.floor(random() * (copy.length - 8))] = Math.floor(random() * 256);
      attempt(copy);
    }
    for (const packet of recordedPackets) {
      for (let length = 8; length < packet.length; length += 1) {
        const cut = Buffer.from(packet.subarray(0, length));
        cut.writeUInt16BE(length, 2);
        attempt(cut);
      }
    }
    expect(outcomes.rejected).toBeGreaterThan(0);
    expect(outcomes.decoded).toBeGreaterThan(0);
  });

  test('records of one packet are summed by remote site, failures apart; other providers are only counted', () => {
    const [line] = recordedLines(recordedPackets[0]);
    const withLines = (letter: string, lines: string[]): Buffer => {
      const packet = Buffer.concat([recordedPackets[0].subarray(0, 24), Buffer.from(`${lines.join('\n')}\0`)]);
      packet.writeUInt16BE(packet.length, 2);
      packet[16] = letter.charCodeAt(0);
      return packet;
    };
    const copies = [
      line,
      line.replace('xroot://[::ffff:127.0.0.1]', 'xroot://se1.far.example').replace('"Size":1000000', '"Size":-2147483648'),
      line.replace('xroot://[::ffff:127.0.0.1]', 'xroot://se2.far.example').replace('"Size":1000000', '"Size":5'),
      line.replace('xroot://[::ffff:127.0.0.1]', 'xroot://se2.far.example').replace('"RC":0', '"RC":3'),
    ];
    const packet = parsePacket(withLines('P', copies));
    if (packet.kind !== 'gstream') throw new Error('expected a g-stream packet');
    expect(packet.tpc.map((record) => record.sourceHost)).toEqual(['[::ffff:127.0.0.1]', 'se1.far.example', 'se2.far.example', 'se2.far.example']);
    expect(parseGStreamPacket(withLines('T', ['{"tcp":1}', 'anything at all']))).toMatchObject({ provider: 'tcpmon', tpc: [], cache: [], otherRecords: 2 });
    expect(parseGStreamPacket(withLines('C', ['{"event":"something_new"}']))).toMatchObject({ provider: 'pfc', cache: [], otherRecords: 1 });

    const accounting = new GStreamAccounting();
    // Only what the g-stream accounting reads of a server's state.
    const server = { name: 'dest:1094', site: 'T2_DEST', host: 'dest' } as ServerState;
    accounting.add(server, { ...packet, header: parseHeader(recordedPackets[0]) }, slot(0));
    const places = { place: (host: string) => ({ hostName: host, domain: 'example', site: host.endsWith('far.example') ? 'T1_FAR' : 'T2_NEAR' }) };
    const documents = gstreamDocuments(accounting, places, new DocumentFactory({ slotMs: slot(0), host: 'h' }));
    const expectedSeconds = (micro(rawTpc(recordedPackets[0])[0].Xeq.End) - micro(rawTpc(recordedPackets[0])[0].Xeq.Beg)) / 1e6;
    expect(documents).toEqual([
      expect.objectContaining({ type: 'tpc', remote_site: 'T2_NEAR', server: 'dest:1094', server_site: 'T2_DEST', transfers: 1, transfers_failed: 0, bytes: 1_000_000 }),
      // 2^31 printed with %d arrives as -2^31; the failed copy adds a transfer, no bytes and no time.
      expect.objectContaining({ type: 'tpc', remote_site: 'T1_FAR', transfers: 3, transfers_failed: 1, bytes: 2 ** 31 + 5 }),
    ]);
    expect(documents[1].transfer_seconds).toBeCloseTo(2 * expectedSeconds, 9);
  });

  test('the quirks of XrdXrootdTpcMon: microseconds after the point, sizes modulo 2^32, hosts of URLs', () => {
    expect(tpcTime('2026-12-06T16:00:00.5000Z', 'test')).toBe(Date.UTC(2026, 11, 6, 16) * 1000 + 5000); // 5 ms
    expect(tpcTime('2026-12-06T16:00:00.050Z', 'test')).toBe(Date.UTC(2026, 11, 6, 16) * 1000 + 50);
    expect(fileSize(-1)).toBe(4_294_967_295); // a 4 GiB - 1 byte file printed with %d
    expect(fileSize(1_000_000)).toBe(1_000_000);
    expect(urlHost('xroot://[::ffff:127.0.0.1]:23411//f')).toBe('[::ffff:127.0.0.1]');
    expect(urlHost('https://user@se.example.org:443/store/f?x=1')).toBe('se.example.org');
    expect(urlHost('/only/a/path')).toBe('');
  });
});

describe('third-party copies and an XCache proxy of real servers', () => {
  let clockMs = slot(0) + MINUTE;
  let receiver: RunningReceiver;
  let origin: RunningServer;
  let destination: RunningServer;
  let proxy: RunningServer;
  let dns: TestDns;
  let work: string;
  let queueDir: string;
  let stateDir: string;
  let configText: string;

  /** The decoded g-stream packets in the queue, with their sender. */
  function queuedGStream(): Array<GStreamEvents & { sender: string }> {
    const found: Array<GStreamEvents & { sender: string }> = [];
    for (const queued of readQueue(queueDir, undefined).packets) {
      if (queued.packet[0] !== 0x67) continue;
      const packet = parsePacket(queued.packet);
      if (packet.kind === 'gstream') found.push({ ...packet, sender: queued.sender });
    }
    return found;
  }

  async function waitFor(what: string, check: () => boolean, attempts = 300): Promise<void> {
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      await receiver.flushed();
      if (check()) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  const tpcRecords = (): number => queuedGStream().reduce((count, packet) => count + packet.tpc.length, 0);
  const cacheRecords = (): number => queuedGStream().reduce((count, packet) => count + packet.cache.length, 0);

  async function collectUpTo(cutoffMs: number): Promise<MonitDocument[]> {
    const { documents, context } = await collectFor(configText, stateDir, cutoffMs);
    expect(context.problems).toEqual([]);
    return documents;
  }

  const ofType = (documents: MonitDocument[], type: string, slotMs: number): MonitDocument[] =>
    documents.filter((document) => document.type === type && document.timestamp === slotMs);

  async function startXrootd(name: string, lines: string[]): Promise<RunningServer> {
    const extra = path.join(work, `${name}.cfg`);
    // tpc and pfc in the dest list make the g-stream of both providers go to the receiver, in binary form.
    const monitor = `xrootd.monitor all flush 1s window 1s fstat 1s lfn ops xfr 1 ident 1h dest fstat files info user io redir tpc pfc 127.0.0.1:${receiver.port}`;
    writeFileSync(extra, [...lines, monitor, ''].join('\n'));
    return startServer('xrootd', { configExtra: extra });
  }

  beforeAll(async () => {
    work = testDir('xrootd-gstream');
    queueDir = path.join(work, 'queue');
    stateDir = testDir('xrootd-gstream-state');
    receiver = await startTestReceiver(queueDir, () => clockMs);
    // ofs.tpc runs `xrdcp --server` for each copy it pulls (pgm needs the full path). The origin asks for an
    // adler32 checksum when it is the destination, which the other server does not serve: its pulls fail.
    origin = await startXrootd('origin', ['all.sitename T1_ORIGIN', 'ofs.tpc autorm cksum adler32 pgm /usr/bin/xrdcp --server']);
    // XRootD 5.5.3's ofs.tpc reports the copy's size by stat()ing the physical path through the oss,
    // which prefixes oss.localroot once more: only a server without a localroot reports the bytes.
    destination = await startXrootd('destination', ['all.sitename T2_DESTINATION', 'oss.localroot /', 'ofs.tpc autorm pgm /usr/bin/xrdcp --server']);
    proxy = await startXrootd('proxy', [
      'all.sitename T2_CACHE',
      'ofs.osslib libXrdPss.so',
      'pss.cachelib libXrdPfc.so',
      `pss.origin 127.0.0.1:${origin.port}`,
      // Without prefetching, a block is a miss only for the read that fetched it, so a first whole read is all miss.
      'pfc.prefetch 0',
    ]);
    dns = await startTestDns({ [REMOTE_ADDRESS]: 'se01.remote-site.example' });
    const resolver = new Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([dns.server]);
    const clientName = (await resolver.reverse('127.0.0.1'))[0];
    const [firstLabel, ...domain] = clientName.split('.');
    const siteEntry = domain.length > 0 ? `${domain.join('.')} = ${firstLabel.slice(0, 2)}*:${CLIENT_SITE}, OTHER-SITE` : `${clientName} = ${CLIENT_SITE}`;
    configText = `[xrootd-transfers]\nqueue_dir = ${queueDir}\ndns_servers = ${dns.server}\ndns_timeout = 500ms\ndns_budget = 5s\n\n[xrootd-transfers.sites]\n${siteEntry}\nremote-site.example = T1_REMOTE\n`;
    writeFileSync(path.join(work, 'source.bin'), randomBytes(FILE_BYTES));
    await run('timeout', ['30', 'xrdcp', '-f', '-s', path.join(work, 'source.bin'), `root://127.0.0.1:${origin.port}//source.bin`], { env: CLIENT_ENV });
  }, 180_000);

  afterAll(async () => {
    await proxy?.stop();
    await destination?.stop();
    await origin?.stop();
    await receiver?.stop();
    await dns?.close();
  });

  test('a copy pulled by one server from another is one transfer with the file bytes, from the source site', async () => {
    clockMs = slot(0) + MINUTE;
    const copy = path.join(destination.dir, 'data', 'copy.bin');
    await run('timeout', ['60', 'xrdcp', '-f', '-s', '--tpc', 'only', `root://127.0.0.1:${origin.port}//source.bin`, `root://127.0.0.1:${destination.port}/${copy}`], { env: CLIENT_ENV });
    expect(statSync(copy).size).toBe(FILE_BYTES);
    await waitFor('the TPC record of the copy', () => tpcRecords() === 1);
    const raw = [...readQueue(queueDir, undefined).packets].filter((queued) => queued.packet[0] === 0x67).flatMap((queued) => rawTpc(queued.packet));
    expect(raw).toHaveLength(1);
    expect(raw[0]).toMatchObject({ Xeq: { RC: 0 }, Size: FILE_BYTES });
    clockMs = slot(1) + MINUTE;

    const documents = await collectUpTo(slot(1));
    expect(ofType(documents, 'tpc', slot(0))).toEqual([
      expect.objectContaining({
        server: expect.stringMatching(new RegExp(`:${destination.port}$`)),
        server_site: 'T2_DESTINATION',
        protocol: 'xroot',
        direction: 'pull',
        // The source is 127.0.0.1, mapped like a client.
        remote_site: CLIENT_SITE,
        transfers: 1,
        transfers_failed: 0,
        bytes: FILE_BYTES,
        transfer_seconds: (micro(raw[0].Xeq.End) - micro(raw[0].Xeq.Beg)) / 1e6,
      }),
    ]);
    expect(micro(raw[0].Xeq.End)).toBeGreaterThan(micro(raw[0].Xeq.Beg));
  });

  test('a copy the puller could not complete is a failure, with no bytes', async () => {
    clockMs = slot(2) + MINUTE;
    const copy = path.join(destination.dir, 'data', 'copy.bin');
    const failed = run('timeout', ['60', 'xrdcp', '-f', '-s', '--tpc', 'only', `root://127.0.0.1:${destination.port}/${copy}`, `root://127.0.0.1:${origin.port}//back.bin`], { env: CLIENT_ENV });
    await expect(failed).rejects.toMatchObject({ stderr: expect.stringContaining('query chksum is not supported') });
    await waitFor('the TPC record of the failed copy', () => tpcRecords() === 2);
    clockMs = slot(3) + MINUTE;

    const documents = await collectUpTo(slot(3));
    expect(ofType(documents, 'tpc', slot(2))).toEqual([
      expect.objectContaining({
        server: expect.stringMatching(new RegExp(`:${origin.port}$`)),
        server_site: 'T1_ORIGIN',
        protocol: 'xroot',
        direction: 'pull',
        remote_site: CLIENT_SITE,
        transfers: 1,
        transfers_failed: 1,
        bytes: 0,
        transfer_seconds: 0,
      }),
    ]);
  });

  test('a file read twice through the XCache proxy: all miss, then all hit', async () => {
    // The proxy fetches from the origin while the client waits: more than the 5 s of CLIENT_ENV on a busy machine.
    const env = { ...CLIENT_ENV, XRD_REQUESTTIMEOUT: '60' };
    const cat = async (): Promise<Buffer> => (await run('timeout', ['90', 'xrdfs', `127.0.0.1:${proxy.port}`, 'cat', '/source.bin'], { env, encoding: 'buffer', maxBuffer: 4 << 20 })).stdout;
    const original = readFileSync(path.join(work, 'source.bin'));
    clockMs = slot(4) + MINUTE;
    expect((await cat()).equals(original)).toBe(true);
    // A cached file still busy (a block being written to disk) when its client closes it is released by
    // XrdPosix's delayed destroy, which looks again every 30 s: its record may come that late.
    await waitFor('the cache record of the first read', () => cacheRecords() === 1, CACHE_RECORD_ATTEMPTS);
    clockMs = slot(5) + MINUTE;
    expect((await cat()).equals(original)).toBe(true);
    await waitFor('the cache record of the second read', () => cacheRecords() === 2, CACHE_RECORD_ATTEMPTS);
    clockMs = slot(6) + MINUTE;

    const documents = await collectUpTo(slot(6));
    const cache = { server: expect.stringMatching(new RegExp(`:${proxy.port}$`)), server_site: 'T2_CACHE', bytes_bypass: 0, files_closed: 1, checksum_errors: 0 };
    expect(ofType(documents, 'cache', slot(4))).toEqual([expect.objectContaining({ ...cache, bytes_hit: 0, bytes_miss: original.length })]);
    expect(ofType(documents, 'cache', slot(5))).toEqual([expect.objectContaining({ ...cache, bytes_hit: original.length, bytes_miss: 0 })]);
    expect(ofType(documents, 'tpc', slot(4))).toEqual([]);
  }, 300_000);

  test('the source of a copy, a host that sent nothing else, is mapped to its site', async () => {
    clockMs = slot(7) + MINUTE;
    const recordedCopy = recordedPackets[0];
    const text = recordedCopy.subarray(24).toString('latin1').replace('[::ffff:127.0.0.1]:23411', `[::ffff:${REMOTE_ADDRESS}]:1094`);
    const copy = Buffer.concat([recordedCopy.subarray(0, 24), Buffer.from(text, 'latin1')]);
    copy.writeUInt16BE(copy.length, 2);
    const sender = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sender.bind(0, '127.0.0.1', resolve));
    const from = `127.0.0.1:${sender.address().port}`;
    await new Promise<void>((resolve, reject) => sender.send(copy, receiver.port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
    await waitFor('the datagram queued', () => [...readQueue(queueDir, undefined).packets].some((queued) => queued.sender === from));
    sender.close();
    clockMs = slot(8) + MINUTE;

    const documents = await collectUpTo(slot(8));
    expect(ofType(documents, 'tpc', slot(7))).toEqual([expect.objectContaining({ remote_site: 'T1_REMOTE', transfers: 1, bytes: 1_000_000 })]);
    expect(dns.queries).toContain('7.2.0.192.in-addr.arpa');
  });

  test('README lists every tag and field of the tpc and cache schemas', () => {
    const types = ['tpc', 'cache'].map((type) => ({ producer: 'xrootd-transfers', type }));
    expect(readmeDisagreements(path.join(__dirname, 'README.md'), types)).toEqual([]);
  });
});
