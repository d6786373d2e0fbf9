/**
 * Turns decoded monitoring packets, in the order received, into per-slot aggregates. Open files,
 * user sessions and sequence numbers live in AccountingState, which the collector keeps in a file
 * between runs. Bytes are attributed to the slot in which an xfr or close record reported them, as
 * the difference to what earlier records of the same file already reported: a file open across
 * slots counts in each, never twice.
 */
import { slotStart } from '../../lib/run/slot';
import { parsePacket, PacketError, sequenceStream, type ClientLogin, type FileRecord, type MonitoringPacket, type TransferTotals } from './protocol';
import type { QueuePosition } from '../../lib/queue/segments';
import type { QueuePlace } from '../../lib/stream/packetStreams';
import { UNKNOWN } from './sites';
import { RedirectionAccounting } from './redirections';
import { GStreamAccounting } from './gstream';

export interface UserSession {
  user: string;
  host: string;
  program: string;
  /** "user.pid:sid@host", how path-map packets name the session. */
  loginKey: string;
  lastSeenMs: number;
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
}

export interface ServerState {
  serverStart: number;
  /** Last pseq per sequence stream. */
  lastSequence: Partial<Record<'f' | 'other', number>>;
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
}

export interface AccountingState {
  version: 1;
  queue?: QueuePosition;
  /** queue = stream: per receiver subject, the place in its queue read up to (later messages only are read). */
  stream?: Record<string, QueuePlace>;
  servers: Record<string, ServerState>;
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
] as const;

export type Figures = Record<(typeof FIGURE_KEYS)[number], number>;

/** All figures at zero. */
export function emptyFigures(): Figures {
  return Object.fromEntries(FIGURE_KEYS.map((key) => [key, 0])) as Figures;
}

/** The figures of one (slot, server, client host, user) cell, rolled up into documents later. */
export interface Cell extends Figures {
  slotMs: number;
  server: string;
  serverSite: string | undefined;
  serverHost: string;
  clientHost: string;
  user: string;
}

export interface ServerSlot {
  slotMs: number;
  server: string;
  serverSite: string | undefined;
  serverHost: string;
  packets: number;
  packetsLost: number;
  packetsRejected: number;
  fileRecords: number;
  filesOpen: number;
  restarted: boolean;
}

export interface AccountingOptions {
  /** Client programs whose file accesses are copies, not remote I/O. */
  transferPrograms: Set<string>;
  /** Files and sessions without news for this long are forgotten. */
  idleTimeoutMs: number;
}

const NO_TOTALS: TransferTotals = { read: 0, readv: 0, write: 0 };

function loginKey(login: ClientLogin): string {
  return `${login.user}.${login.pid}:${login.sessionId}@${login.host}`;
}

function userName(login: ClientLogin): string {
  const name = login.info.n;
  return name && name !== 'nobody' ? name : login.user || UNKNOWN;
}

/** Accumulates one run's packets; `cells`, `servers` and `hostsSeen` are read when the run ends. */
export class Accounting {
  readonly cells = new Map<string, Cell>();
  readonly serverSlots = new Map<string, ServerSlot>();
  /** Client and server hosts met, for the site mapper. */
  readonly hostsSeen = new Set<string>();
  rejected = 0;
  readonly rejectReasons: string[] = [];
  readonly redirections = new RedirectionAccounting();
  readonly gstream = new GStreamAccounting(this.hostsSeen);

  constructor(
    readonly state: AccountingState,
    private readonly options: AccountingOptions,
  ) {}

  private serverSlot(slotMs: number, sender: string, server: ServerState | undefined): ServerSlot {
    const name = server?.name ?? sender;
    const key = `${slotMs}\u0000${sender}`;
    let entry = this.serverSlots.get(key);
    if (!entry) {
      entry = { slotMs, server: name, serverSite: server?.site, serverHost: server?.host ?? sender, packets: 0, packetsLost: 0, packetsRejected: 0, fileRecords: 0, filesOpen: 0, restarted: false };
      this.serverSlots.set(key, entry);
    }
    if (server) {
      entry.server = server.name;
      entry.serverSite = server.site;
      entry.serverHost = server.host;
      entry.filesOpen = Object.keys(server.files).length;
    }
    return entry;
  }

  private cell(slotMs: number, server: ServerState, clientHost: string, user: string): Cell {
    const key = [slotMs, server.name, clientHost, user].join('\u0000');
    let cell = this.cells.get(key);
    if (!cell) {
      cell = {
        slotMs, server: server.name, serverSite: server.site, serverHost: server.host, clientHost, user,
        ...emptyFigures(),
      };
      this.cells.set(key, cell);
      this.hostsSeen.add(clientHost);
    }
    return cell;
  }

  /** Decodes and applies one queued datagram; a malformed one is counted and skipped. */
  add(receivedMs: number, sender: string, datagram: Buffer): void {
    const slotMs = slotStart(receivedMs);
    let packet: MonitoringPacket;
    try {
      packet = parsePacket(datagram);
    } catch (error) {
      if (!(error instanceof PacketError)) throw error;
      this.rejected += 1;
      if (this.rejectReasons.length < 10) this.rejectReasons.push(`${sender}: ${error.message}`);
      this.serverSlot(slotMs, sender, this.state.servers[sender]).packetsRejected += 1;
      return;
    }
    const server = this.serverFor(sender, packet, slotMs);
    this.hostsSeen.add(server.host);
    const slot = this.serverSlot(slotMs, sender, server);
    slot.packets += 1;
    this.checkSequence(server, packet, slot);
    server.lastSeenMs = receivedMs;
    switch (packet.kind) {
      case 'server':
        server.name = `${packet.login.host}:${packet.login.info.port ?? ''}`.replace(/:$/, '');
        server.host = packet.login.host;
        if (packet.login.info.site) server.site = packet.login.info.site;
        this.hostsSeen.add(server.host);
        break;
      case 'user':
        server.users[packet.dictId] = {
          user: userName(packet.login),
          host: packet.login.host,
          program: packet.login.info.x ?? '',
          loginKey: loginKey(packet.login),
          lastSeenMs: receivedMs,
        };
        this.hostsSeen.add(packet.login.host);
        break;
      case 'path':
        server.paths[packet.dictId] = { loginKey: loginKey(packet.login), lastSeenMs: receivedMs };
        break;
      case 'files':
        slot.fileRecords += packet.records.length;
        for (const record of packet.records) this.applyFileRecord(server, record, slotMs, receivedMs);
        break;
      case 'redirects':
        this.redirections.add(server, packet, slotMs);
        break;
      case 'gstream':
        this.gstream.add(server, packet, slotMs);
        break;
      case 'other':
        break;
    }
    this.serverSlot(slotMs, sender, server);
  }

  /** The state of the sending server; a new server start time resets it. */
  private serverFor(sender: string, packet: MonitoringPacket, slotMs: number): ServerState {
    const existing = this.state.servers[sender];
    if (existing && existing.serverStart === packet.header.serverStart) return existing;
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
    if (existing) this.serverSlot(slotMs, sender, existing).restarted = true;
    this.state.servers[sender] = fresh;
    this.hostsSeen.add(fresh.host);
    return fresh;
  }

  private checkSequence(server: ServerState, packet: MonitoringPacket, slot: ServerSlot): void {
    const stream = sequenceStream(packet.header.code);
    const last = server.lastSequence[stream];
    if (last !== undefined) slot.packetsLost += (packet.header.sequence - last - 1 + 256) & 0xff;
    server.lastSequence[stream] = packet.header.sequence;
  }

  /** Who opened a file: the open record's user dictid, else the path map's session, else unknown. */
  private clientOf(server: ServerState, userId: number | undefined, fileId: number): { user: string; host: string; program: string } {
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

  private addBytes(cell: Cell, file: OpenFile, totals: TransferTotals): void {
    const read = Math.max(0, totals.read - file.accounted.read);
    const readv = Math.max(0, totals.readv - file.accounted.readv);
    const write = Math.max(0, totals.write - file.accounted.write);
    cell.bytesReadSingle += read;
    cell.bytesReadVector += readv;
    cell.bytesWritten += write;
    file.accounted = {
      read: Math.max(totals.read, file.accounted.read),
      readv: Math.max(totals.readv, file.accounted.readv),
      write: Math.max(totals.write, file.accounted.write),
    };
  }

  private applyFileRecord(server: ServerState, record: FileRecord, slotMs: number, receivedMs: number): void {
    switch (record.type) {
      case 'open': {
        const client = this.clientOf(server, record.userId, record.fileId);
        const file: OpenFile = { user: client.user, host: client.host, program: client.program, size: record.fileSize, readWrite: record.readWrite, lastSeenMs: receivedMs, accounted: { ...NO_TOTALS } };
        server.files[record.fileId] = file;
        const cell = this.cell(slotMs, server, file.host, file.user);
        cell.filesOpened += 1;
        if (this.options.transferPrograms.has(file.program)) cell.transfers += 1;
        else cell.remoteIo += 1;
        break;
      }
      case 'transfer': {
        const file = server.files[record.fileId] ?? this.adoptUnseenFile(server, record.fileId, receivedMs);
        file.lastSeenMs = receivedMs;
        this.addBytes(this.cell(slotMs, server, file.host, file.user), file, record.totals);
        break;
      }
      case 'close': {
        const file = server.files[record.fileId] ?? this.adoptUnseenFile(server, record.fileId, receivedMs);
        const cell = this.cell(slotMs, server, file.host, file.user);
        this.addBytes(cell, file, record.totals);
        cell.filesClosed += 1;
        if (record.forced) cell.filesClosedForced += 1;
        if (record.operations) {
          cell.readCalls += record.operations.read;
          cell.readvCalls += record.operations.readv;
        }
        if (file.size > 0) {
          cell.fractionSum += (record.totals.read + record.totals.readv) / file.size;
          cell.fractionCount += 1;
        }
        delete server.files[record.fileId];
        delete server.paths[record.fileId];
        break;
      }
      case 'disconnect':
        delete server.users[record.userId];
        break;
      case 'time':
        break;
    }
  }

  /** An xfr or close for a file whose open was lost or came before this collector started. */
  private adoptUnseenFile(server: ServerState, fileId: number, receivedMs: number): OpenFile {
    const client = this.clientOf(server, undefined, fileId);
    const file: OpenFile = { user: client.user, host: client.host, program: client.program, size: -1, readWrite: false, lastSeenMs: receivedMs, accounted: { ...NO_TOTALS } };
    server.files[fileId] = file;
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
          delete server.files[id];
          files += 1;
        }
      }
      for (const [id, session] of Object.entries(server.users)) if (session.lastSeenMs < limit) delete server.users[id];
      for (const [id, entry] of Object.entries(server.paths)) if (entry.lastSeenMs < limit) delete server.paths[id];
    }
    return files;
  }
}
