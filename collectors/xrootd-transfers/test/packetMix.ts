/**
 * A deterministic stream of detailed-monitoring packets as a busy XRootD 5.x federation sends them,
 * built byte by byte to the layouts of XrdXrootdMonData.hh (v5.5.3) and to the way XrdXrootdMonitor,
 * XrdXrootdMonFile and XrdXrootdGSReal fill and flush their buffers. For the accounting benchmark
 * (bench/xrootd-accounting.ts) and tests that need volume.
 *
 * The simulated servers run `xrootd.monitor all auth flush 30s window 5s fstat 60 lfn ops xfr 5
 * ident 10m fbsz 8k mbuff 8k dest fstat files info user redir tpc pfc`: user sessions log in at a
 * redirector ('u', then one 'r' redirect record per open) and at a data server ('u', 'U' for
 * experiment/activity codes, 'T' for token logins of 5.6+, 'i' for appinfo), open files ('d' path
 * map, open/close/disconnect trace entries in 't', open, xfr, close with ops and disconnect records
 * in 'f'), and some copies are HTTP third-party copies or go through an XCache ('g' JSON records).
 */
import { randomGenerator } from '../../../test/support/random';
import { HEADER_BYTES } from '../protocol';

export interface PacketMixOptions {
  seed: number;
  /** Data servers; one redirector more sends the 'r' stream and its own logins. */
  dataServers: number;
  /** File opens per second on each data server. */
  opensPerSecond: number;
  /** Simulated seconds, from startMs. */
  seconds: number;
  startMs: number;
  /** fbsz, mbuff, rbuff and gbuff: the largest f, t, r and g packet. */
  fileBufferBytes: number;
  traceBufferBytes: number;
  redirectBufferBytes: number;
  gstreamBufferBytes: number;
}

export const DEFAULT_MIX: PacketMixOptions = {
  seed: 21,
  dataServers: 10,
  opensPerSecond: 8,
  seconds: 1800,
  startMs: Date.UTC(2026, 10, 22, 10, 0),
  fileBufferBytes: 8192,
  traceBufferBytes: 8192,
  // XRootD's defaults (rbuff 32k; gbuff 32k in XrdXrootdGSReal).
  redirectBufferBytes: 32768,
  gstreamBufferBytes: 32768,
};

/** One datagram as the receiver queues it. */
export interface MixPacket {
  receivedMs: number;
  /** "ip:port" of the sending server. */
  sender: string;
  packet: Buffer;
}

/** What the generator put into the packets, for checks against a decoder. */
export interface MixLedger {
  /** Packets by header code. */
  packets: Record<string, number>;
  /** f-stream records by type. */
  records: { open: number; close: number; transfer: number; disconnect: number; time: number };
  /** Byte totals of all close records. */
  closed: { read: number; readv: number; write: number };
  redirects: number;
  tpcTransfers: number;
  cacheCloses: number;
  /** Most files and sessions open at once, summed over the data servers. */
  peakOpenFiles: number;
  peakSessions: number;
}

export interface PacketMix {
  packets: MixPacket[];
  ledger: MixLedger;
}

// Field sizes of XrdXrootdMonData.hh.
const FILE_TIME_BYTES = 24;
const FILE_CLOSE_BYTES = 8 + 24 + 48;
const FILE_TRANSFER_BYTES = 8 + 24;
const FILE_DISCONNECT_BYTES = 8;
const TRACE_ENTRY_BYTES = 16;
const REDIRECT_ENTRY_BYTES = 8;
const GSTREAM_HEADER_BYTES = HEADER_BYTES + 16;

const FSTAT_SECONDS = 60;
const XFR_EVERY = 5;
const FLUSH_SECONDS = 30;
const WINDOW_SECONDS = 5;
const IDENT_SECONDS = 600;

const SITES: ReadonlyArray<{ site: string; domain: string; prefix?: string }> = [
  { site: 'CERN-PROD', domain: 'cern.ch' },
  { site: 'BNL-ATLAS', domain: 'bnl.gov' },
  { site: 'IN2P3-CC', domain: 'in2p3.fr', prefix: 'cc' },
  { site: 'DESY-HH', domain: 'desy.de' },
  { site: 'UKI-LT2-QMUL', domain: 'qmul.ac.uk' },
  { site: 'INFN-T1', domain: 'cnaf.infn.it' },
];
const CLIENT_PROGRAMS = ['xrdcp', 'xrdcp', 'python3', 'root.exe', 'athena.py', 'gfal-copy', 'fts_url_copy'];
/** The client programs of the mix that copy whole files (the collector's transfer_programs). */
export const COPY_PROGRAMS: ReadonlySet<string> = new Set(['xrdcp', 'gfal-copy', 'fts_url_copy']);

/**
 * The config sections a deployment would give this mix: [xrootd-transfers.sites] for its domains
 * (example.org stays unknown), [xrootd-transfers.vo] rules of each kind, [xrootd-transfers.topology].
 */
export function mixConfigText(): string {
  const sites = SITES.map(({ site, domain, prefix }) => `${domain} = ${prefix ? `${prefix}*:${site}` : site}`);
  const vos = VOS.map((vo) => `${vo} = issuer:https://${vo}-auth.cern.ch/, group:/${vo}*, dn:*/CN=${vo}*, path:/${vo}/`);
  const topology = SITES.map(({ site, domain }) => `${site} = cloud=${domain.split('.').pop()?.toUpperCase()}, country=${domain.split('.').pop()}`);
  return ['[xrootd-transfers.sites]', ...sites, '[xrootd-transfers.vo]', ...vos, '[xrootd-transfers.topology]', ...topology, ''].join('\n');
}
const VOS = ['atlas', 'cms', 'lhcb', 'dteam'];

interface Session {
  /** The data server's dictid of this user. */
  userId: number;
  /** The redirector's dictid of this user, which its redirect records carry. */
  redirectorUserId: number;
  identity: string;
  host: string;
  program: string;
  filesLeft: number;
  openFiles: number;
}

interface OpenFile {
  fileId: number;
  session: Session;
  path: string;
  size: number;
  readWrite: boolean;
  /** Bytes the file will have moved when closed. */
  read: number;
  readv: number;
  write: number;
  openedS: number;
  durationS: number;
  tpc: boolean;
}

/** Big-endian writes into a growing packet body. */
class Bytes {
  readonly buffer: Buffer;
  length = 0;
  constructor(capacity: number) {
    this.buffer = Buffer.alloc(capacity);
  }
  u8(value: number): void {
    this.buffer[this.length++] = value;
  }
  u16(value: number): void {
    this.buffer.writeUInt16BE(value, this.length);
    this.length += 2;
  }
  u32(value: number): void {
    this.buffer.writeUInt32BE(value >>> 0, this.length);
    this.length += 4;
  }
  u64(value: number | bigint): void {
    this.buffer.writeBigUInt64BE(BigInt(value), this.length);
    this.length += 8;
  }
  text(value: string, padTo = value.length): void {
    this.buffer.fill(0, this.length, this.length + padTo);
    this.buffer.write(value, this.length, 'latin1');
    this.length += padTo;
  }
  /** A copy of the bytes written, with the header's plen set. */
  packet(): Buffer {
    this.buffer.writeUInt16BE(this.length, 2);
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}

function header(bytes: Bytes, code: string, sequence: number, serverStart: number): void {
  bytes.u8(code.charCodeAt(0));
  bytes.u8(sequence & 0xff);
  bytes.u16(0);
  bytes.u32(serverStart);
}

/** One data server or the redirector, with its streams' buffers and sequence counters. */
class Server {
  private mainSequence = 0;
  private fileSequence = 0;
  private readonly gSequence = new Map<string, number>();
  private nextDictId = 1;
  private readonly files: Bytes;
  private fileRecords = 0;
  private transferRecords = 0;
  private fileBegin = 0;
  private readonly trace: Bytes;
  private traceWindow = 0;
  private readonly redirects: Bytes;
  private redirectSecond = 0;
  private readonly gstreams = new Map<string, { bytes: Bytes; begin: number; end: number }>();
  readonly sessions = new Map<number, Session>();
  readonly openFiles = new Map<number, OpenFile>();
  readonly serverId: bigint;

  constructor(
    readonly index: number,
    readonly host: string,
    readonly site: string,
    readonly sender: string,
    readonly serverStart: number,
    private readonly options: PacketMixOptions,
    private readonly emit: (server: Server, code: string, packet: Buffer) => void,
  ) {
    this.serverId = (BigInt(serverStart) << 16n) | BigInt(index + 1);
    this.files = new Bytes(options.fileBufferBytes);
    this.trace = new Bytes(options.traceBufferBytes);
    this.redirects = new Bytes(options.redirectBufferBytes);
  }

  dictId(): number {
    return this.nextDictId++;
  }

  private send(code: string, bytes: Bytes): void {
    this.emit(this, code, bytes.packet());
  }

  /** Writes the header over the first 8 bytes of a filled buffer, sends it and empties the buffer. */
  private sendBuffer(code: string, bytes: Bytes, sequence: number): void {
    const end = bytes.length;
    bytes.length = 0;
    header(bytes, code, sequence, this.serverStart);
    bytes.length = end;
    this.send(code, bytes);
    bytes.length = 0;
  }

  /** A map packet ('=', 'u', 'd', 'U', 'T', 'i'): dictid, then "identity[\ninfo]". */
  map(code: string, dictId: number, text: string): void {
    const bytes = new Bytes(HEADER_BYTES + 4 + text.length);
    header(bytes, code, this.mainSequence++, this.serverStart);
    bytes.u32(dictId);
    bytes.text(text);
    this.send(code, bytes);
  }

  ident(pid: number): void {
    this.map('=', 0, `=/xrootd.${pid}:${this.serverStart}@${this.host}\n&site=${this.site}&port=1094&inst=anon&pgm=xrootd&ver=v5.5.3`);
  }

  // f stream (XrdXrootdMonFile): a time record, then records until fbsz would overflow.
  private fileSlot(size: number, nowS: number): Bytes {
    if (this.fileRecords > 0 && this.files.length + size > this.options.fileBufferBytes - 1) this.flushFiles(nowS);
    if (this.fileRecords === 0) {
      this.fileBegin = nowS;
      this.files.length = HEADER_BYTES + FILE_TIME_BYTES;
    }
    this.fileRecords += 1;
    return this.files;
  }

  flushFiles(nowS: number): void {
    if (this.fileRecords === 0) return;
    const end = this.files.length;
    this.files.length = HEADER_BYTES;
    this.files.u8(2);
    this.files.u8(0x01);
    this.files.u16(FILE_TIME_BYTES);
    this.files.u16(this.transferRecords);
    this.files.u16(this.fileRecords);
    this.files.u32(this.fileBegin);
    this.files.u32(nowS);
    this.files.u64(this.serverId);
    this.files.length = end;
    this.sendBuffer('f', this.files, this.fileSequence++);
    this.fileRecords = 0;
    this.transferRecords = 0;
  }

  fileOpen(file: OpenFile, nowS: number): void {
    // XrdXrootdMonFile::Open: the lfn is NUL-padded to a 4-byte boundary with at least one NUL.
    const size = (8 + 8 + 4 + file.path.length + 8) & ~3;
    const bytes = this.fileSlot(size, nowS);
    bytes.u8(1);
    bytes.u8(0x01 | (file.readWrite ? 0x02 : 0));
    bytes.u16(size);
    bytes.u32(file.fileId);
    bytes.u64(file.size);
    bytes.u32(file.session.userId);
    bytes.text(file.path, size - 20);
  }

  fileTransfer(fileId: number, read: number, readv: number, write: number, nowS: number): void {
    const bytes = this.fileSlot(FILE_TRANSFER_BYTES, nowS);
    this.transferRecords += 1;
    bytes.u8(3);
    bytes.u8(0);
    bytes.u16(FILE_TRANSFER_BYTES);
    bytes.u32(fileId);
    bytes.u64(read);
    bytes.u64(readv);
    bytes.u64(write);
  }

  fileClose(file: OpenFile, forced: boolean, nowS: number, random: () => number): void {
    const bytes = this.fileSlot(FILE_CLOSE_BYTES, nowS);
    bytes.u8(0);
    bytes.u8(0x02 | (forced ? 0x01 : 0));
    bytes.u16(FILE_CLOSE_BYTES);
    bytes.u32(file.fileId);
    bytes.u64(file.read);
    bytes.u64(file.readv);
    bytes.u64(file.write);
    // XrdXrootdMonStatOPS: call counts, readv segment counts, request sizes.
    const readSize = 1 << (16 + Math.floor(random() * 5));
    const readCalls = Math.ceil(file.read / readSize);
    const readvCalls = Math.ceil(file.readv / (4 << 20));
    const segments = readvCalls * (8 + Math.floor(random() * 120));
    const writeCalls = Math.ceil(file.write / (4 << 20));
    bytes.u32(readCalls);
    bytes.u32(readvCalls);
    bytes.u32(writeCalls);
    bytes.u16(readvCalls ? 8 : 0);
    bytes.u16(readvCalls ? 127 : 0);
    bytes.u64(segments);
    bytes.u32(readCalls ? 4096 : 0);
    bytes.u32(readCalls ? readSize : 0);
    bytes.u32(readvCalls ? 65536 : 0);
    bytes.u32(readvCalls ? 4 << 20 : 0);
    bytes.u32(writeCalls ? 4096 : 0);
    bytes.u32(writeCalls ? 4 << 20 : 0);
  }

  fileDisconnect(userId: number, nowS: number): void {
    const bytes = this.fileSlot(FILE_DISCONNECT_BYTES, nowS);
    bytes.u8(4);
    bytes.u8(0);
    bytes.u16(FILE_DISCONNECT_BYTES);
    bytes.u32(userId);
  }

  // t stream (XrdXrootdMonitor's altMon with "files"): 16-byte entries between window marks.
  private windowMark(begin: number, end: number): void {
    this.trace.u64((0xe0n << 56n) | this.serverId);
    this.trace.u32(begin);
    this.trace.u32(end);
  }

  private traceSlot(nowS: number): Bytes {
    const window = nowS - (nowS % WINDOW_SECONDS);
    // Room for this entry, a window mark and the closing mark.
    if (this.trace.length > 0 && this.trace.length + 3 * TRACE_ENTRY_BYTES > this.options.traceBufferBytes) this.flushTrace(nowS);
    if (this.trace.length === 0) {
      this.trace.length = HEADER_BYTES;
      this.windowMark(window, window);
      this.traceWindow = window;
    } else if (window !== this.traceWindow) {
      this.windowMark(this.traceWindow + WINDOW_SECONDS, window);
      this.traceWindow = window;
    }
    return this.trace;
  }

  flushTrace(nowS: number): void {
    if (this.trace.length <= HEADER_BYTES + TRACE_ENTRY_BYTES) {
      this.trace.length = 0;
      return;
    }
    this.windowMark(this.traceWindow + WINDOW_SECONDS, nowS);
    this.sendBuffer('t', this.trace, this.mainSequence++);
  }

  traceOpen(file: OpenFile, nowS: number): void {
    const bytes = this.traceSlot(nowS);
    bytes.u64((0x80n << 56n) | BigInt(file.size));
    bytes.u32(0);
    bytes.u32(file.fileId);
  }

  traceClose(file: OpenFile, nowS: number): void {
    const bytes = this.traceSlot(nowS);
    // rTot and wTot in 32 bits, shifted right by the counts in bytes 1 and 2 (do_Shift).
    const shift = (value: number): [number, number] => {
      let shifted = value;
      let count = 0;
      while (shifted > 0x7fffffff) {
        shifted = Math.floor(shifted / 2);
        count += 1;
      }
      return [count, shifted];
    };
    const [readShift, read] = shift(file.read + file.readv);
    const [writeShift, write] = shift(file.write);
    bytes.u8(0xc0);
    bytes.u8(readShift);
    bytes.u8(writeShift);
    bytes.u8(0);
    bytes.u32(read);
    bytes.u32(write);
    bytes.u32(file.fileId);
  }

  traceDisconnect(userId: number, seconds: number, nowS: number): void {
    const bytes = this.traceSlot(nowS);
    bytes.u8(0xd0);
    bytes.text('', 7);
    bytes.u32(seconds);
    bytes.u32(userId);
  }

  // r stream (XrdXrootdMonitor::Redirect): sID, then timing marks and redirect entries.
  redirect(userId: number, target: string, path: string, writing: boolean, nowS: number): void {
    const text = `${target}:${path}`;
    const slots = Math.ceil((text.length + 1) / REDIRECT_ENTRY_BYTES);
    if (this.redirects.length > 0 && this.redirects.length + (slots + 3) * REDIRECT_ENTRY_BYTES > this.options.redirectBufferBytes) this.flushRedirects(nowS);
    if (this.redirects.length === 0) {
      this.redirects.length = HEADER_BYTES;
      this.redirects.u64((0xf0n << 56n) | this.serverId);
      this.redirectMark(nowS);
    } else if (nowS !== this.redirectSecond) {
      this.redirectMark(nowS);
    }
    this.redirects.u8(0x80 | (writing ? 0x06 : 0x05));
    this.redirects.u8(slots);
    this.redirects.u16(1094);
    this.redirects.u32(userId);
    this.redirects.text(text, slots * REDIRECT_ENTRY_BYTES);
  }

  /** A timing mark: type 0 (XROOTD_MON_REDTIME) in the window's top byte. */
  private redirectMark(nowS: number): void {
    this.redirectSecond = nowS;
    this.redirects.u32(WINDOW_SECONDS);
    this.redirects.u32(nowS);
  }

  flushRedirects(nowS: number): void {
    if (this.redirects.length === 0) return;
    this.redirectMark(nowS);
    this.sendBuffer('r', this.redirects, this.mainSequence++);
  }

  // g stream (XrdXrootdGSReal, binary header): one buffer and one sequence per provider.
  gstream(provider: 'P' | 'C', json: string, nowS: number): void {
    let stream = this.gstreams.get(provider);
    if (!stream) {
      stream = { bytes: new Bytes(this.options.gstreamBufferBytes), begin: 0, end: 0 };
      this.gstreams.set(provider, stream);
    }
    if (stream.bytes.length > 0 && stream.bytes.length + json.length + 1 >= this.options.gstreamBufferBytes) this.flushGstream(provider);
    if (stream.bytes.length === 0) {
      stream.bytes.length = GSTREAM_HEADER_BYTES;
      stream.begin = nowS;
    }
    stream.end = nowS;
    stream.bytes.text(`${json}\n`);
  }

  flushGstream(provider: string): void {
    const stream = this.gstreams.get(provider);
    if (!stream || stream.bytes.length === 0) return;
    const bytes = stream.bytes;
    bytes.buffer[bytes.length - 1] = 0; // the last newline becomes the closing NUL
    const end = bytes.length;
    bytes.length = HEADER_BYTES;
    bytes.u32(stream.begin);
    bytes.u32(stream.end);
    bytes.u64((BigInt(provider.charCodeAt(0)) << 56n) | this.serverId);
    bytes.length = end;
    const sequence = this.gSequence.get(provider) ?? 0;
    this.gSequence.set(provider, sequence + 1);
    this.sendBuffer('g', bytes, sequence);
  }

  flushAll(nowS: number): void {
    this.flushFiles(nowS);
    this.flushTrace(nowS);
    this.flushRedirects(nowS);
    for (const provider of this.gstreams.keys()) this.flushGstream(provider);
  }
}

/** A fixed number per account, as in a CERN DN's second CN. */
function personNumber(user: string): number {
  let number = 0;
  for (const char of user) number = (number * 31 + char.charCodeAt(0)) % 900_000;
  return 100_000 + number;
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** Generates the packets of `options.seconds` of a federation's traffic, in the order they are sent. */
export function generatePacketMix(overrides: Partial<PacketMixOptions> = {}): PacketMix {
  const options = { ...DEFAULT_MIX, ...overrides };
  const random = randomGenerator(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const startS = Math.floor(options.startMs / 1000);
  const packets: MixPacket[] = [];
  const ledger: MixLedger = {
    packets: {},
    records: { open: 0, close: 0, transfer: 0, disconnect: 0, time: 0 },
    closed: { read: 0, readv: 0, write: 0 },
    redirects: 0,
    tpcTransfers: 0,
    cacheCloses: 0,
    peakOpenFiles: 0,
    peakSessions: 0,
  };
  let nowS = startS;
  let tickPacket = 0;
  const emit = (server: Server, code: string, packet: Buffer): void => {
    ledger.packets[code] = (ledger.packets[code] ?? 0) + 1;
    if (code === 'f') ledger.records.time += 1;
    // Packets of one second arrive spread over it, in the order sent.
    packets.push({ receivedMs: nowS * 1000 + Math.min(999, tickPacket++), sender: server.sender, packet });
  };
  const serverAt = (index: number, name: string, siteIndex: number): Server => {
    const place = SITES[siteIndex % SITES.length];
    const host = `${name}.${place.domain}`;
    const serverStart = startS - 86_400 * (1 + Math.floor(random() * 30));
    return new Server(index, host, place.site, `10.${siteIndex % SITES.length}.0.${index + 1}:${40_000 + index}`, serverStart, options, emit);
  };
  const redirector = serverAt(options.dataServers, 'redirector', 0);
  const dataServers = Array.from({ length: options.dataServers }, (_, index) => serverAt(index, `xrd${String(index + 1).padStart(2, '0')}`, index % 3));
  const cacheServer = dataServers[dataServers.length - 1];
  const all = [...dataServers, redirector];

  // Clients: worker nodes at the sites, plus some outside any configured domain.
  const clientHost = (): string => {
    if (random() < 0.1) return `node${Math.floor(random() * 400)}.example.org`;
    const place = pick(SITES);
    const label = place.prefix ?? 'wn';
    return `${label}${Math.floor(random() * 2000)}.${place.domain}`;
  };

  const events = new Map<number, Array<() => void>>();
  const at = (second: number, event: () => void): void => {
    if (second >= startS + options.seconds) return; // still open when the run ends
    const list = events.get(second);
    if (list) list.push(event);
    else events.set(second, [event]);
  };

  let sessionCounter = 0;
  const openFile = (server: Server, session: Session): void => {
    if (!server.sessions.has(session.userId)) return;
    session.filesLeft -= 1;
    session.openFiles += 1;
    const copy = COPY_PROGRAMS.has(session.program);
    const readWrite = random() < 0.1;
    const size = Math.floor(Math.exp(16 + random() * 6)); // about 9 MB to 3.6 GB
    const fraction = copy ? 1 : 0.05 + random() * 0.6;
    const vectored = !copy && random() < 0.6;
    const moved = readWrite ? 0 : Math.floor(size * fraction);
    const file: OpenFile = {
      fileId: server.dictId(),
      session,
      path: `/${pick(VOS)}/rucio/data${20 + Math.floor(random() * 6)}/${Math.floor(random() * 256).toString(16)}/${Math.floor(random() * 256).toString(16)}/DAOD.${Math.floor(random() * 1e8)}._${String(Math.floor(random() * 9999)).padStart(6, '0')}.pool.root.1`,
      size: readWrite ? 0 : size,
      readWrite,
      read: vectored ? Math.floor(moved * 0.1) : moved,
      readv: vectored ? moved - Math.floor(moved * 0.1) : 0,
      write: readWrite ? size : 0,
      openedS: nowS,
      durationS: copy ? 5 + Math.floor(random() * 120) : 60 + Math.floor(random() * 900),
      tpc: session.program === 'fts_url_copy' && random() < 0.5,
    };
    redirector.redirect(session.redirectorUserId, server.host, file.path, readWrite, nowS);
    ledger.redirects += 1;
    server.map('d', file.fileId, `${session.identity}\n${file.path}`);
    server.traceOpen(file, nowS);
    server.fileOpen(file, nowS);
    ledger.records.open += 1;
    server.openFiles.set(file.fileId, file);
    at(nowS + file.durationS, () => closeFile(server, file, false));
  };
  const closeFile = (server: Server, file: OpenFile, forced: boolean): void => {
    if (!server.openFiles.delete(file.fileId)) return;
    server.traceClose(file, nowS);
    server.fileClose(file, forced, nowS, random);
    ledger.records.close += 1;
    ledger.closed.read += file.read;
    ledger.closed.readv += file.readv;
    ledger.closed.write += file.write;
    if (file.tpc) {
      const remote = pick(SITES);
      server.gstream(
        'P',
        JSON.stringify({
          TPC: 'https',
          Client: file.session.identity.slice(6),
          Xeq: { Beg: isoTime(file.openedS), End: isoTime(nowS), RC: random() < 0.05 ? 1 : 0, Strm: 1, Type: 'pull', IPv: 4 },
          Src: `https://eos.${remote.domain}:443${file.path}`,
          Dst: `https://${server.host}:1094${file.path}`,
          Size: file.size,
        }),
        nowS,
      );
      ledger.tpcTransfers += 1;
    }
    if (server === cacheServer) {
      const blocks = Math.ceil(file.size / 1048576);
      const hit = Math.floor((file.read + file.readv) * random());
      server.gstream(
        'C',
        JSON.stringify({
          event: 'file_close', lfn: file.path, size: file.size, blk_size: 1048576, n_blks: blocks, n_blks_done: blocks, access_cnt: 1 + Math.floor(random() * 5),
          attach_t: file.openedS, detach_t: nowS, remotes: [`eos.${pick(SITES).domain}:1094`], b_hit: hit, b_miss: file.read + file.readv - hit, b_bypass: 0, n_cks_errs: 0,
        }),
        nowS,
      );
      ledger.cacheCloses += 1;
    }
    const session = file.session;
    session.openFiles -= 1;
    if (forced) return;
    if (session.filesLeft > 0) at(nowS + 1 + Math.floor(random() * 20), () => openFile(server, session));
    else if (session.openFiles === 0) at(nowS + 1 + Math.floor(random() * 10), () => disconnect(server, session));
  };
  const disconnect = (server: Server, session: Session): void => {
    if (!server.sessions.delete(session.userId)) return;
    // A client that went away with files open: XRootD closes them, forced.
    if (session.openFiles > 0) for (const file of [...server.openFiles.values()]) if (file.session === session) closeFile(server, file, true);
    server.traceDisconnect(session.userId, 60, nowS);
    server.fileDisconnect(session.userId, nowS);
    ledger.records.disconnect += 1;
  };
  const login = (server: Server): void => {
    sessionCounter += 1;
    const host = clientHost();
    const program = pick(CLIENT_PROGRAMS);
    const vo = pick(VOS);
    // Most sessions are a VO's production and pilot accounts; the rest are analysis users.
    const user = random() < 0.7 ? `${vo}prd${Math.floor(random() * 5)}` : `${vo}${String(Math.floor(random() * 500)).padStart(3, '0')}`;
    const pid = 1000 + Math.floor(random() * 60_000);
    const identity = `xroot/${user}.${pid}:${sessionCounter}@${host}`;
    const token = random() < 0.2;
    const name = token ? `${user}` : `/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=${user}/CN=${personNumber(user)}/CN=${user} ${vo}`;
    const info = `&p=${token ? 'ztn' : 'gsi'}&n=${name}&h=${host}&o=${vo}&r=&g=/${vo}&m=&R=v5.5.3&x=${program}&y=&I=4`;
    // The redirector sees the login first; the client is then redirected to the data server.
    const redirectorUserId = redirector.dictId();
    redirector.map('u', redirectorUserId, `${identity}\n${info}`);
    const session: Session = { userId: server.dictId(), redirectorUserId, identity, host, program, filesLeft: 1 + Math.floor(random() * 7), openFiles: 0 };
    server.map('u', session.userId, `${identity}\n${info}`);
    server.sessions.set(session.userId, session);
    if (random() < 0.1) server.map('U', server.dictId(), `${identity}\n&Uc=${session.userId}&Ec=${1 + Math.floor(random() * 4)}&Ac=${Math.floor(random() * 16)}`);
    if (token) server.map('T', server.dictId(), `${identity}\n&Uc=${session.userId}&s=${user}&n=${user}&o=https://${vo}-auth.cern.ch/&r=&g=/${vo}`);
    if (random() < 0.05) server.map('i', server.dictId(), `${identity}\n${vo}.job.${Math.floor(random() * 1e9)}`);
    at(nowS + Math.floor(random() * 5), () => openFile(server, session));
    // Some clients drop the connection with files open.
    if (random() < 0.03) at(nowS + 30 + Math.floor(random() * 600), () => disconnect(server, session));
  };

  for (const server of all) server.ident(2000 + server.index);
  const sessionsPerSecond = options.opensPerSecond / 4; // a session opens 4 files on average
  for (; nowS < startS + options.seconds; nowS += 1) {
    tickPacket = 0;
    for (const server of dataServers) {
      const logins = Math.floor(sessionsPerSecond) + (random() < sessionsPerSecond % 1 ? 1 : 0);
      for (let count = 0; count < logins; count += 1) login(server);
    }
    for (const event of events.get(nowS) ?? []) event();
    events.delete(nowS);
    const elapsed = nowS - startS + 1;
    if (elapsed % (FSTAT_SECONDS * XFR_EVERY) === 0) {
      // DoXFR: cumulative totals of every open file, as far as it got.
      for (const server of dataServers) {
        for (const file of server.openFiles.values()) {
          const done = Math.min(1, (nowS - file.openedS) / file.durationS);
          server.fileTransfer(file.fileId, Math.floor(file.read * done), Math.floor(file.readv * done), Math.floor(file.write * done), nowS);
          ledger.records.transfer += 1;
        }
      }
    }
    if (elapsed % FSTAT_SECONDS === 0) for (const server of dataServers) server.flushFiles(nowS);
    if (elapsed % FLUSH_SECONDS === 0) for (const server of all) server.flushAll(nowS);
    if (elapsed % IDENT_SECONDS === 0) for (const server of all) server.ident(2000 + server.index);
    ledger.peakOpenFiles = Math.max(ledger.peakOpenFiles, dataServers.reduce((sum, server) => sum + server.openFiles.size, 0));
    ledger.peakSessions = Math.max(ledger.peakSessions, dataServers.reduce((sum, server) => sum + server.sessions.size, 0));
  }
  nowS -= 1;
  for (const server of all) server.flushAll(nowS);
  return { packets, ledger };
}
