/**
 * Turns decoded monitoring packets, in the order received, into per-slot aggregates. Open files,
 * user sessions and sequence numbers live in AccountingState, which the collector keeps in a file
 * between runs. Bytes are attributed to the slot in which an xfr or close record reported them, as
 * the difference to what earlier records of the same file already reported: a file open across
 * slots counts in each, never twice. A packet's slot comes from its own time (packetTime below).
 */
import { hash } from 'node:crypto';
import { slotStart } from '../../lib/run/slot';
import { ownTime, parsePacket, PacketError, sequenceStream, type ClientLogin, type FileRecord, type MonitoringPacket, type OperationCounts, type RejectionKind, type TransferTotals } from './protocol';
import type { QueuePosition } from '../../lib/queue/segments';
import type { QueuePlace } from '../../lib/stream/packetStreams';
import { UNKNOWN } from '../../lib/sites/siteTable';
import { RedirectionAccounting } from './redirections';
import { GStreamAccounting } from './gstream';
import type { VoRules } from './vo';

/** How a file's bytes were accessed: read or written whole in one open (a copy), or in parts. */
export type AccessMode = 'copy' | 'remote_io' | typeof UNKNOWN;

export interface UserSession {
  user: string;
  host: string;
  program: string;
  /** "user.pid:sid@host", how path-map packets name the session. */
  loginKey: string;
  lastSeenMs: number;
  /** The certificate DN (login `m=`, else an `n=` that is a DN). */
  dn?: string;
  /** What the client said of itself (XRD_MONINFO, login `y=`). */
  appinfo?: string;
  /** The authentication protocol (login `p=`), else the connection's ("xroot"). */
  protocol?: string;
  /** From a `T` packet (XRootD 5.6 and later): the token the session authenticated with. */
  token?: { subject: string; issuer: string; groups: string[] };
  /** From a `U` packet: the experiment and activity codes the client declared (scitags). */
  experiment?: number;
  activity?: number;
}

/** The DN, appinfo and protocol a login packet reports, for the VO rules and per-file records. */
export function loginDetails(login: ClientLogin): Pick<UserSession, 'dn' | 'appinfo' | 'protocol'> {
  // gsi puts the DN in m= (followed by "::" extras with some authorization plug-ins).
  const m = login.info.m;
  const separator = m === undefined ? -1 : m.indexOf('::');
  const fromM = separator < 0 ? m : m?.slice(0, separator);
  const dn = isDn(fromM) ? fromM : isDn(login.info.n) ? login.info.n : undefined;
  return { dn, appinfo: login.info.y || undefined, protocol: login.info.p || login.protocol || undefined };
}

function isDn(value: string | undefined): value is string {
  return value !== undefined && value.startsWith('/') && value.includes('=');
}

export interface OpenFile {
  user: string;
  host: string;
  program: string;
  /** Size at open; -1 when the open record was not seen. */
  size: number;
  readWrite: boolean;
  lastSeenMs: number;
  /** What earlier records of this file already put into some slot. */
  accounted: TransferTotals;
  /** The VO, decided at open. */
  vo?: string;
  /** The access mode of what is counted before the close (the open, xfr bytes): by client program. */
  provisionalMode?: AccessMode;
  /** The logical file name, from the open record (monitor option `lfn`). */
  path?: string;
  /** The open's packet time (Unix ms); absent when the open was not seen. */
  openedMs?: number;
  /** Login details kept for the per-file record: the session may be gone at the close. */
  dn?: string;
  appinfo?: string;
  protocol?: string;
}

export interface ServerState {
  serverStart: number;
  /** Last pseq per sequence stream (protocol.ts sequenceStream: main, f, g<provider>). */
  lastSequence: Record<string, number>;
  /**
   * Per sequence stream, a digest of the last packet seen with each pseq (index 0-255): the last 256
   * packets of the stream, against which duplicates are recognised.
   */
  recent?: Record<string, Array<string | null>>;
  /** Own time minus receive time of the server's last packet with a plausible time of its own (ms). */
  clockOffsetMs?: number;
  /** host:port from the '=' packet; the sender address until one arrives. */
  name: string;
  site?: string;
  /** The server's host, for site mapping when it reports no site. */
  host: string;
  lastSeenMs: number;
  users: Record<string, UserSession>;
  /** File dictid → login key, from 'd' packets. */
  paths: Record<string, { loginKey: string; lastSeenMs: number }>;
  files: Record<string, OpenFile>;
  /** Time of the last per-file record (Unix ms): each next one is later, so none overwrites another. */
  lastFileRecordMs?: number;
}

export interface AccountingState {
  version: 1;
  queue?: QueuePosition;
  /** queue = stream: per receiver subject, the place in its queue read up to (later messages only are read). */
  stream?: Record<string, QueuePlace>;
  servers: Record<string, ServerState>;
  /** Slots before this one were reported by an earlier regular run (see collector.ts). */
  reportedBefore?: number;
}

export function emptyState(): AccountingState {
  return { version: 1, servers: {} };
}

/** The additive figures of a cell, summed again when cells are rolled up into documents. */
export const FIGURE_KEYS = [
  'bytesReadSingle',
  'bytesReadVector',
  'bytesWritten',
  'filesOpened',
  'filesClosed',
  'filesClosedForced',
  'readCalls',
  'readvCalls',
  'fractionSum',
  'fractionCount',
  'transfers',
  'remoteIo',
  'writeCalls',
] as const;

export type Figures = Record<(typeof FIGURE_KEYS)[number], number>;

/** All figures at zero. */
export function emptyFigures(): Figures {
  // A literal (the type checks it has every key): built from FIGURE_KEYS it cost ~1 µs per cell.
  return {
    bytesReadSingle: 0, bytesReadVector: 0, bytesWritten: 0, filesOpened: 0, filesClosed: 0, filesClosedForced: 0, readCalls: 0,
    readvCalls: 0, fractionSum: 0, fractionCount: 0, transfers: 0, remoteIo: 0, writeCalls: 0,
  };
}

/** The figures of one (slot, server, client host, user) cell, rolled up into documents later. */
export interface Cell extends Figures {
  slotMs: number;
  server: string;
  serverSite: string | undefined;
  serverHost: string;
  clientHost: string;
  user: string;
  accessMode: AccessMode;
  vo: string;
}

/** One closed file, for the per-file records (fileCloses.ts). */
export interface ClosedFile {
  /** The close's packet time, made later than the server's previous record when equal (Unix ms). */
  closedMs: number;
  /** The close's packet time as it came (Unix ms), for the duration. */
  closePacketMs: number;
  openedMs?: number;
  server: string;
  serverSite: string | undefined;
  serverHost: string;
  clientHost: string;
  user: string;
  program: string;
  dn?: string;
  appinfo?: string;
  protocol?: string;
  path?: string;
  /** Size at open; -1 when the open was not seen. */
  size: number;
  readWrite: boolean;
  forced: boolean;
  totals: TransferTotals;
  operations?: OperationCounts;
  accessMode: AccessMode;
  vo: string;
}

export interface ServerSlot {
  slotMs: number;
  server: string;
  serverSite: string | undefined;
  serverHost: string;
  packets: number;
  packetsLost: number;
  packetsRejected: number;
  packetsDuplicate: number;
  logins: number;
  disconnects: number;
  fileRecords: number;
  filesOpen: number;
  restarted: boolean;
}

export interface AccountingOptions {
  /** Client programs whose file accesses are copies, not remote I/O. */
  transferPrograms: Set<string>;
  /** Files and sessions without news for this long are forgotten. */
  idleTimeoutMs: number;
  /** [xrootd-transfers.vo]; without, every access is of VO 'unknown'. */
  voRules?: VoRules;
  /** Keep one ClosedFile per close in `closedFiles` (file_records = on). */
  fileRecords?: boolean;
  /** Slots before this were reported by earlier runs: packets for them are counted in lateSlots. */
  reportedBefore?: number;
}

/** A packet's own time further ahead of its receive time than this is not believed. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;
/**
 * A packet received at most this long after its own time counts in its receive slot: it was sent just
 * before a slot boundary, or its server's clock is a little off. Only packets older than this on
 * arrival (held up, or replayed) go to the slot of their own time.
 */
export const LATE_TOLERANCE_MS = 5 * 60_000;

/**
 * The time whose slot a packet counts in: its own time (f-stream tEnd, g or r window end; for a
 * packet without one, the receive time shifted by the server's last clock offset) when that is
 * plausible (not before the server started, at most FUTURE_TOLERANCE_MS ahead) and more than
 * LATE_TOLERANCE_MS before the receive time; otherwise the receive time.
 */
export function packetTime(ownMs: number | undefined, receivedMs: number, serverStartMs: number): number {
  if (ownMs === undefined || !plausible(ownMs, receivedMs, serverStartMs)) return receivedMs;
  return receivedMs - ownMs <= LATE_TOLERANCE_MS ? receivedMs : ownMs;
}

/** Whether a packet's own time can be believed: not before its server started, not far ahead of its arrival. */
function plausible(ownMs: number, receivedMs: number, serverStartMs: number): boolean {
  return ownMs <= receivedMs + FUTURE_TOLERANCE_MS && ownMs >= serverStartMs - FUTURE_TOLERANCE_MS;
}

/** How many packets each rejection kind took, and from which senders (at most MAX_EXAMPLE_SENDERS). */
export interface Rejections {
  count: number;
  /** Sender → packets. */
  senders: Map<string, number>;
  example: string;
}
const MAX_EXAMPLE_SENDERS = 20;
/**
 * The servers document of the rejected packets of senders that never sent a valid one: a port scan
 * or stray source ports make no series of their own (the problem line names the senders).
 */
export const UNIDENTIFIED_SERVER = 'unidentified';

/** Counters of one packet, added to its server's slot once the slot is known. */
interface Tally {
  receivedMs: number;
  packets: number;
  lost: number;
  /** The slot the counters went to, once known. */
  slot?: ServerSlot;
  duplicate: number;
  logins: number;
  restarted: boolean;
}

function digest(datagram: Buffer): string {
  // The one-shot hash: the same digest as a Hash object's, without building one per packet.
  return hash('sha1', datagram, 'base64').slice(0, 12);
}

/** How far behind the last pseq a packet may be to count as late rather than as the start of a gap. */
const LATE_SEQUENCES = 64;

/** Who opened a file, as far as the stream says. */
type Client = Pick<UserSession, 'user' | 'host' | 'program' | 'dn' | 'appinfo' | 'protocol' | 'token'>;

function loginKey(login: ClientLogin): string {
  return `${login.user}.${login.pid}:${login.sessionId}@${login.host}`;
}

/**
 * The final access mode, at the close: a copy when the file was read whole (read + readv bytes at
 * least its size at open) or, opened for writing with size 0 at open, written without reading (a
 * new file written whole); remote I/O otherwise; unknown without a size at open.
 */
export function finalAccessMode(file: Pick<OpenFile, 'size' | 'readWrite'>, totals: TransferTotals): AccessMode {
  if (file.size < 0) return UNKNOWN;
  const read = totals.read + totals.readv;
  if (file.readWrite && file.size === 0) return read === 0 ? 'copy' : 'remote_io';
  if (file.readWrite && totals.write > 0) return 'remote_io';
  return read >= file.size ? 'copy' : 'remote_io';
}

function userName(login: ClientLogin): string {
  const name = login.info.n;
  return name && name !== 'nobody' ? name : login.user || UNKNOWN;
}

/** The inner map under a key, made when missing. */
function branch<K, V>(map: Map<K, Map<string, V>>, key: K): Map<string, V> {
  let inner = map.get(key);
  if (!inner) {
    inner = new Map();
    map.set(key, inner);
  }
  return inner;
}

/** Accumulates one run's packets; `cells`, `servers` and `hostsSeen` are read when the run ends. */
export class Accounting {
  /** In the order first met. */
  readonly cells: Cell[] = [];
  /**
   * Cells by slot, server, client host and user, then a short list (access mode, VO): nested maps of
   * strings the records already hold cost less than building and hashing a new key string.
   */
  private readonly cellIndex = new Map<number, Map<string, Map<string, Map<string, Cell[]>>>>();
  readonly serverSlots = new Map<string, ServerSlot>();
  /** Client and server hosts met, for the site mapper. */
  readonly hostsSeen = new Set<string>();
  /** One per close when `fileRecords` is on, in the order of the stream. */
  readonly closedFiles: ClosedFile[] = [];
  rejected = 0;
  /** Per rejection kind: count, senders and the first message. */
  readonly rejections = new Map<RejectionKind, Rejections>();
  /** Packets whose slot was before options.reportedBefore, per slot. */
  readonly lateSlots = new Map<number, number>();
  /** The senders of those packets (at most 20), with their clock offset then (a server whose clock is slow shows here). */
  readonly lateSenders = new Map<string, number | undefined>();
  /** Per sender and stream, the pseqs a gap skipped in this run, with the packet that counted them lost. */
  private readonly missing = new Map<string, Map<number, Tally>>();
  /** Counters of packets without a time of their own from servers whose clock offset is not known yet. */
  private readonly pending = new Map<string, Tally[]>();
  readonly redirections = new RedirectionAccounting(() => Object.values(this.state.servers));
  readonly gstream = new GStreamAccounting(this.hostsSeen);
  /** Open files per server, kept as files come and go: counting the keys of `files` on every packet costs too much. */
  private readonly openFiles = new WeakMap<ServerState, number>();
  /** The cell each open file's (and each session's) last record went to. */
  private readonly lastCells = new WeakMap<OpenFile | Client, Cell>();

  constructor(
    readonly state: AccountingState,
    private readonly options: AccountingOptions,
  ) {}

  /** A sender without state (it never sent a valid packet) counts as UNIDENTIFIED_SERVER until it does. */
  private serverSlot(slotMs: number, sender: string, server: ServerState | undefined): ServerSlot {
    const key = `${slotMs}\u0000${sender}`;
    let entry = this.serverSlots.get(key);
    if (!entry) {
      entry = { slotMs, server: server?.name ?? UNIDENTIFIED_SERVER, serverSite: server ? server.site : UNKNOWN, serverHost: server?.host ?? sender, packets: 0, packetsLost: 0, packetsRejected: 0, packetsDuplicate: 0, logins: 0, disconnects: 0, fileRecords: 0, filesOpen: 0, restarted: false };
      this.serverSlots.set(key, entry);
    }
    if (server) {
      entry.server = server.name;
      entry.serverSite = server.site;
      entry.serverHost = server.host;
      entry.filesOpen = this.openFileCount(server);
    }
    return entry;
  }

  private openFileCount(server: ServerState): number {
    let count = this.openFiles.get(server);
    if (count === undefined) {
      count = Object.keys(server.files).length;
      this.openFiles.set(server, count);
    }
    return count;
  }

  /** Puts a file into `server.files`, keeping the open-file count. */
  private keepFile(server: ServerState, fileId: number | string, file: OpenFile): void {
    const count = this.openFileCount(server);
    if (server.files[fileId] === undefined) this.openFiles.set(server, count + 1);
    server.files[fileId] = file;
  }

  /** Removes a file from `server.files`, keeping the open-file count. */
  private dropFile(server: ServerState, fileId: number | string): void {
    const count = this.openFileCount(server);
    if (server.files[fileId] === undefined) return;
    this.openFiles.set(server, count - 1);
    delete server.files[fileId];
  }

  private cell(slotMs: number, server: ServerState, file: OpenFile, accessMode: AccessMode, client?: Client): Cell {
    // A file's records mostly fall in the cell of its previous record, a new file's in that of its
    // session's previous open: skip building the key then.
    const vo = file.vo ?? UNKNOWN;
    const last = this.lastCells.get(file);
    if (last && last.slotMs === slotMs && last.accessMode === accessMode && last.server === server.name && last.clientHost === file.host && last.user === file.user && last.vo === vo) return last;
    const sessionLast = client && this.lastCells.get(client);
    if (sessionLast && sessionLast.slotMs === slotMs && sessionLast.accessMode === accessMode && sessionLast.server === server.name && sessionLast.clientHost === file.host && sessionLast.user === file.user && sessionLast.vo === vo) {
      this.lastCells.set(file, sessionLast);
      return sessionLast;
    }
    const clientHost = file.host;
    const user = file.user;
    const users = branch(branch(branch(this.cellIndex, slotMs), server.name), clientHost);
    const list = users.get(user);
    let cell = list?.find((candidate) => candidate.accessMode === accessMode && candidate.vo === vo);
    if (!cell) {
      // Figures written out, not spread from emptyFigures(): every cell gets one fast shape.
      cell = {
        slotMs, server: server.name, serverSite: server.site, serverHost: server.host, clientHost, user, accessMode, vo,
        bytesReadSingle: 0, bytesReadVector: 0, bytesWritten: 0, filesOpened: 0, filesClosed: 0, filesClosedForced: 0, readCalls: 0,
        readvCalls: 0, fractionSum: 0, fractionCount: 0, transfers: 0, remoteIo: 0, writeCalls: 0,
      };
      if (list) list.push(cell);
      else users.set(user, [cell]);
      this.cells.push(cell);
      this.hostsSeen.add(clientHost);
    }
    this.lastCells.set(file, cell);
    if (client) this.lastCells.set(client, cell);
    return cell;
  }

  /** Decodes and applies one queued datagram; a malformed one is counted and skipped, a duplicate only counted. */
  add(receivedMs: number, sender: string, datagram: Buffer): void {
    let packet: MonitoringPacket;
    try {
      packet = parsePacket(datagram);
    } catch (error) {
      if (!(error instanceof PacketError)) throw error;
      this.reject(error, sender);
      this.serverSlot(slotStart(receivedMs), sender, this.state.servers[sender]).packetsRejected += 1;
      return;
    }
    const { server, restarted } = this.serverFor(sender, packet);
    this.hostsSeen.add(server.host);
    const tally: Tally = { receivedMs, packets: 1, lost: 0, duplicate: 0, logins: 0, restarted };
    const own = ownTime(packet);
    const serverStartMs = packet.header.serverStart * 1000;
    if (own !== undefined && plausible(own * 1000, receivedMs, serverStartMs)) {
      server.clockOffsetMs = own * 1000 - receivedMs;
      this.flushPending(sender, server);
    }
    const timeMs = packetTime(own !== undefined ? own * 1000 : server.clockOffsetMs !== undefined ? receivedMs + server.clockOffsetMs : undefined, receivedMs, serverStartMs);
    const stream = sequenceStream(datagram);
    if (this.isDuplicate(server, stream, datagram, packet.header.sequence)) {
      tally.packets = 0;
      tally.duplicate = 1;
      this.count(sender, server, tally, own === undefined && server.clockOffsetMs === undefined ? undefined : timeMs);
      return;
    }
    tally.lost = this.checkSequence(server, stream, packet.header.sequence, sender, tally);
    server.lastSeenMs = receivedMs;
    const slotMs = slotStart(timeMs);
    switch (packet.kind) {
      case 'server':
        server.name = `${packet.login.host}:${packet.login.info.port ?? ''}`.replace(/:$/, '');
        server.host = packet.login.host;
        if (packet.login.info.site) server.site = packet.login.info.site;
        this.hostsSeen.add(server.host);
        break;
      case 'user':
        server.users[packet.dictId] = this.session(packet.login, receivedMs);
        tally.logins = 1;
        this.redirections.observeLogin(server, packet.dictId, packet.login);
        break;
      case 'activity': {
        const session = (server.users[packet.userId] ??= this.session(packet.login, receivedMs));
        session.experiment = packet.experiment;
        session.activity = packet.activity;
        break;
      }
      case 'token': {
        const session = (server.users[packet.userId] ??= this.session(packet.login, receivedMs));
        session.token = { subject: packet.token.subject, issuer: packet.token.issuer, groups: packet.token.groups };
        break;
      }
      case 'path':
        server.paths[packet.dictId] = { loginKey: loginKey(packet.login), lastSeenMs: receivedMs };
        this.redirections.observeOpen(server, packet.login, packet.path, receivedMs);
        break;
      case 'files': {
        const slot = this.serverSlot(slotMs, sender, server);
        slot.fileRecords += packet.records.length;
        for (const record of packet.records) {
          if (record.type === 'disconnect') slot.disconnects += 1;
          this.applyFileRecord(server, record, slotMs, receivedMs, timeMs);
        }
        break;
      }
      case 'redirects':
        this.redirections.add(server, packet, slotMs);
        break;
      case 'gstream':
        this.gstream.add(server, packet, slotMs);
        break;
      case 'other':
        break;
    }
    this.count(sender, server, tally, own === undefined && server.clockOffsetMs === undefined ? undefined : timeMs);
  }

  private session(login: ClientLogin, receivedMs: number): UserSession {
    this.hostsSeen.add(login.host);
    // Without a spread: copying loginDetails' object into the literal cost more than the rest.
    const details = loginDetails(login);
    return { user: userName(login), host: login.host, program: login.info.x ?? '', loginKey: loginKey(login), lastSeenMs: receivedMs, dn: details.dn, appinfo: details.appinfo, protocol: details.protocol };
  }

  private reject(error: PacketError, sender: string): void {
    this.rejected += 1;
    let entry = this.rejections.get(error.kind);
    if (!entry) {
      entry = { count: 0, senders: new Map(), example: `${sender}: ${error.message}` };
      this.rejections.set(error.kind, entry);
    }
    entry.count += 1;
    const known = entry.senders.get(sender);
    if (known !== undefined || entry.senders.size < MAX_EXAMPLE_SENDERS) entry.senders.set(sender, (known ?? 0) + 1);
  }

  /** Adds a packet's counters to its server's slot; without a time (undefined), once the server's clock offset is known. */
  private count(sender: string, server: ServerState, tally: Tally, timeMs: number | undefined): void {
    if (timeMs === undefined) {
      const list = this.pending.get(sender) ?? [];
      list.push(tally);
      this.pending.set(sender, list);
      return;
    }
    const slotMs = slotStart(timeMs);
    const slot = this.serverSlot(slotMs, sender, server);
    tally.slot = slot;
    slot.packets += tally.packets;
    slot.packetsLost += tally.lost;
    slot.packetsDuplicate += tally.duplicate;
    slot.logins += tally.logins;
    slot.restarted ||= tally.restarted;
    if (this.options.reportedBefore !== undefined && slotMs < this.options.reportedBefore) {
      this.lateSlots.set(slotMs, (this.lateSlots.get(slotMs) ?? 0) + tally.packets);
      if (this.lateSenders.size < 20 || this.lateSenders.has(sender)) this.lateSenders.set(sender, server.clockOffsetMs);
    }
  }

  private flushPending(sender: string, server: ServerState): void {
    const list = this.pending.get(sender);
    if (!list) return;
    this.pending.delete(sender);
    for (const tally of list) {
      const timeMs = packetTime(server.clockOffsetMs === undefined ? undefined : tally.receivedMs + server.clockOffsetMs, tally.receivedMs, server.serverStart * 1000);
      this.count(sender, server, tally, timeMs);
    }
  }

  /** Counts what waits for a clock offset that never came, at its receive time. Call once all packets are added. */
  finish(): void {
    for (const [sender, list] of this.pending) {
      this.pending.delete(sender);
      const server = this.state.servers[sender];
      for (const tally of list) this.count(sender, server, tally, tally.receivedMs);
    }
  }

  /** The state of the sending server; a new server start time resets it. */
  private serverFor(sender: string, packet: MonitoringPacket): { server: ServerState; restarted: boolean } {
    const existing = this.state.servers[sender];
    if (existing && existing.serverStart === packet.header.serverStart) {
      // State of the version that numbered all non-f packets as one 'other' stream.
      if ('other' in existing.lastSequence) {
        existing.lastSequence.main = existing.lastSequence.other;
        delete existing.lastSequence.other;
      }
      return { server: existing, restarted: false };
    }
    const fresh: ServerState = {
      serverStart: packet.header.serverStart,
      lastSequence: {},
      name: existing?.name ?? sender,
      site: existing?.site,
      host: existing?.host ?? sender.replace(/:\d+$/, ''),
      lastSeenMs: 0,
      users: {},
      paths: {},
      files: {},
    };
    this.state.servers[sender] = fresh;
    this.hostsSeen.add(fresh.host);
    return { server: fresh, restarted: existing !== undefined };
  }

  /** Whether the last packet of this stream with this pseq had the same content; remembers this one otherwise. */
  private isDuplicate(server: ServerState, stream: string, datagram: Buffer, sequence: number): boolean {
    const recent = ((server.recent ??= {})[stream] ??= new Array<string | null>(256).fill(null));
    const seen = digest(datagram);
    if (recent[sequence] === seen) return true;
    recent[sequence] = seen;
    return false;
  }

  /**
   * Packets missing before this one in its sequence stream. A pseq up to LATE_SEQUENCES behind the
   * last one is a packet that arrived late (UDP reorders): no loss, and when a gap of this run had
   * counted it lost, that count is taken back (a gap counted by an earlier run stays).
   */
  private checkSequence(server: ServerState, stream: string, sequence: number, sender: string, tally: Tally): number {
    const last = server.lastSequence[stream];
    if (last === undefined) {
      server.lastSequence[stream] = sequence;
      return 0;
    }
    const ahead = (sequence - last + 256) & 0xff;
    if (ahead === 0 || ahead > 256 - LATE_SEQUENCES) {
      // The key is built only here and for a gap: a packet in order (the usual case) needs none.
      const key = `${sender}\u0000${stream}`;
      const counted = this.missing.get(key)?.get(sequence);
      if (counted) {
        this.missing.get(key)?.delete(sequence);
        if (counted.slot) counted.slot.packetsLost -= 1;
        else counted.lost -= 1;
      }
      return 0;
    }
    server.lastSequence[stream] = sequence;
    if (ahead > 1) {
      const key = `${sender}\u0000${stream}`;
      let skipped = this.missing.get(key);
      if (!skipped) this.missing.set(key, (skipped = new Map()));
      // The pseqs skipped now replace those of a gap a lap of the counter earlier.
      for (let step = 1; step < ahead && step <= LATE_SEQUENCES; step += 1) skipped.set((last + step) & 0xff, tally);
    }
    return ahead - 1;
  }

  /** Who opened a file: the open record's user dictid, else the path map's session, else unknown. */
  private clientOf(server: ServerState, userId: number | undefined, fileId: number): Client {
    const session = userId ? server.users[userId] : undefined;
    if (session) {
      session.lastSeenMs = Math.max(session.lastSeenMs, server.lastSeenMs);
      return session;
    }
    const mapped = server.paths[fileId];
    const byKey = mapped ? Object.values(server.users).find((candidate) => candidate.loginKey === mapped.loginKey) : undefined;
    if (byKey) return byKey;
    if (mapped) {
      const match = /^(.*)\.\d+:[^@]*@(.+)$/.exec(mapped.loginKey);
      if (match) return { user: match[1] || UNKNOWN, host: match[2], program: '' };
    }
    return { user: UNKNOWN, host: UNKNOWN, program: '' };
  }

  /** A file as its client and this collector's rules see it at open (or at its first record, when the open was missed). */
  private newFile(client: Client, details: { size: number; readWrite: boolean; path?: string; openedMs?: number; lastSeenMs: number }): OpenFile {
    const provisionalMode: AccessMode = client.program ? (this.options.transferPrograms.has(client.program) ? 'copy' : 'remote_io') : UNKNOWN;
    const vo = this.options.voRules?.voOf({ token: client.token, dn: client.dn, appinfo: client.appinfo, path: details.path }) ?? UNKNOWN;
    // Properties named, not spread: one hidden class for every open file, and no copy loop.
    const file: OpenFile = {
      user: client.user, host: client.host, program: client.program, size: details.size, readWrite: details.readWrite, path: details.path,
      openedMs: details.openedMs, lastSeenMs: details.lastSeenMs, accounted: { read: 0, readv: 0, write: 0 }, vo, provisionalMode,
    };
    if (client.dn) file.dn = client.dn;
    if (client.appinfo) file.appinfo = client.appinfo;
    if (client.protocol) file.protocol = client.protocol;
    return file;
  }

  private addBytes(cell: Cell, file: OpenFile, totals: TransferTotals): void {
    const read = Math.max(0, totals.read - file.accounted.read);
    const readv = Math.max(0, totals.readv - file.accounted.readv);
    const write = Math.max(0, totals.write - file.accounted.write);
    cell.bytesReadSingle += read;
    cell.bytesReadVector += readv;
    cell.bytesWritten += write;
    // In place: a new object per record was a large part of the garbage collector's work.
    const accounted = file.accounted;
    accounted.read += read;
    accounted.readv += readv;
    accounted.write += write;
  }

  /**
   * Opens and xfr bytes count under the file's provisional access mode, the close and the bytes it
   * adds under the final one (finalAccessMode): each byte counts once, under the mode known when it
   * was reported.
   */
  private applyFileRecord(server: ServerState, record: FileRecord, slotMs: number, receivedMs: number, timeMs: number): void {
    switch (record.type) {
      case 'open': {
        const client = this.clientOf(server, record.userId, record.fileId);
        const file = this.newFile(client, { size: record.fileSize, readWrite: record.readWrite, path: record.path, openedMs: timeMs, lastSeenMs: receivedMs });
        this.keepFile(server, record.fileId, file);
        this.cell(slotMs, server, file, file.provisionalMode ?? UNKNOWN, client).filesOpened += 1;
        break;
      }
      case 'transfer': {
        const file = server.files[record.fileId] ?? this.adoptUnseenFile(server, record.fileId, receivedMs);
        file.lastSeenMs = receivedMs;
        this.addBytes(this.cell(slotMs, server, file, file.provisionalMode ?? UNKNOWN), file, record.totals);
        break;
      }
      case 'close': {
        const file = server.files[record.fileId] ?? this.adoptUnseenFile(server, record.fileId, receivedMs);
        const accessMode = finalAccessMode(file, record.totals);
        const cell = this.cell(slotMs, server, file, accessMode);
        this.addBytes(cell, file, record.totals);
        cell.filesClosed += 1;
        if (record.forced) cell.filesClosedForced += 1;
        if (accessMode === 'copy') cell.transfers += 1;
        if (accessMode === 'remote_io') cell.remoteIo += 1;
        if (record.operations) {
          cell.readCalls += record.operations.read;
          cell.readvCalls += record.operations.readv;
          cell.writeCalls += record.operations.write;
        }
        if (file.size > 0) {
          cell.fractionSum += (record.totals.read + record.totals.readv) / file.size;
          cell.fractionCount += 1;
        }
        const closedMs = Math.max(timeMs, (server.lastFileRecordMs ?? 0) + 1);
        server.lastFileRecordMs = closedMs;
        if (this.options.fileRecords) this.closedFiles.push(this.closedFile(server, file, record, { closedMs, closePacketMs: timeMs }, accessMode));
        this.dropFile(server, record.fileId);
        delete server.paths[record.fileId];
        break;
      }
      case 'disconnect':
        // Counted in add() (disconnects).
        delete server.users[record.userId];
        break;
      case 'time':
        break;
    }
  }

  private closedFile(server: ServerState, file: OpenFile, record: Extract<FileRecord, { type: 'close' }>, times: Pick<ClosedFile, 'closedMs' | 'closePacketMs'>, accessMode: AccessMode): ClosedFile {
    return {
      ...times,
      openedMs: file.openedMs,
      server: server.name,
      serverSite: server.site,
      serverHost: server.host,
      clientHost: file.host,
      user: file.user,
      program: file.program,
      dn: file.dn,
      appinfo: file.appinfo,
      protocol: file.protocol,
      path: file.path,
      size: file.size,
      readWrite: file.readWrite,
      forced: record.forced,
      totals: record.totals,
      operations: record.operations,
      accessMode,
      vo: file.vo ?? UNKNOWN,
    };
  }

  /** An xfr or close for a file whose open was lost or came before this collector started. */
  private adoptUnseenFile(server: ServerState, fileId: number, receivedMs: number): OpenFile {
    const file = this.newFile(this.clientOf(server, undefined, fileId), { size: -1, readWrite: false, lastSeenMs: receivedMs });
    this.keepFile(server, fileId, file);
    return file;
  }

  /** Forgets files, sessions and path maps without news for the idle timeout; returns how many files. */
  expire(nowMs: number): number {
    const limit = nowMs - this.options.idleTimeoutMs;
    let files = 0;
    for (const [sender, server] of Object.entries(this.state.servers)) {
      if (server.lastSeenMs < limit) {
        delete this.state.servers[sender];
        continue;
      }
      for (const [id, file] of Object.entries(server.files)) {
        if (file.lastSeenMs < limit) {
          this.dropFile(server, id);
          files += 1;
        }
      }
      for (const [id, session] of Object.entries(server.users)) if (session.lastSeenMs < limit) delete server.users[id];
      for (const [id, entry] of Object.entries(server.paths)) if (entry.lastSeenMs < limit) delete server.paths[id];
    }
    return files;
  }
}
