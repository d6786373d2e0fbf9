/**
 * Decoding of XRootD detailed-monitoring UDP packets (XrdXrootdMonData.hh, network byte order).
 * Pure functions: a packet that does not follow the layout throws a PacketError, never a crash.
 */

import { parseGStreamPacket, rejectTextGStream, type GStreamEvents } from './gstream';
import { parseRedirectPacket, type RedirectRecords } from './redirections';

/** Why a datagram was rejected: a bounded set, counted per kind in the log. */
export const REJECTION_KINDS = ['truncated', 'length_mismatch', 'unknown_code', 'text_gstream', 'bad_record', 'bad_map', 'bad_value'] as const;
export type RejectionKind = (typeof REJECTION_KINDS)[number];

export class PacketError extends Error {
  override name = 'PacketError';

  constructor(
    message: string,
    readonly kind: RejectionKind = 'bad_record',
  ) {
    super(message);
  }
}

export const HEADER_BYTES = 8;
const FILE_RECORD_HEADER_BYTES = 8;
const TIME_RECORD_BYTES = 24;
const TRANSFER_TOTALS_BYTES = 24;
const OPERATION_COUNTS_BYTES = 48;

/** XrdXrootdMonHeader. */
export interface PacketHeader {
  code: string;
  /** Packet sequence, 0-255, wrapping. */
  sequence: number;
  length: number;
  /** Server start time (Unix s): a new value means the server restarted. */
  serverStart: number;
}

/** What "prot/user.pid:sid@host" plus the optional "\n&key=value..." login info say about a client. */
export interface ClientLogin {
  protocol: string;
  user: string;
  pid: number;
  sessionId: string;
  host: string;
  /** Login info key/values (e.g. x = the client program, n = the authenticated name). */
  info: Record<string, string>;
}

export interface TransferTotals {
  read: number;
  readv: number;
  write: number;
}

export interface OperationCounts {
  read: number;
  readv: number;
  write: number;
  readvSegments: number;
  /** Smallest and largest request sizes (readv segment counts for readvSegments*); meaningless while their count is 0. */
  readMin: number;
  readMax: number;
  readvMin: number;
  readvMax: number;
  readvSegmentsMin: number;
  readvSegmentsMax: number;
  writeMin: number;
  writeMax: number;
}

export type FileRecord =
  | { type: 'open'; fileId: number; fileSize: number; readWrite: boolean; userId?: number; path?: string }
  | { type: 'close'; fileId: number; forced: boolean; totals: TransferTotals; operations?: OperationCounts }
  | { type: 'transfer'; fileId: number; totals: TransferTotals }
  | { type: 'disconnect'; userId: number }
  | { type: 'time'; begin: number; end: number };

/** What a `T` packet (XROOTD_MON_MAPTOKN, 5.6 and later) says of a session's token. */
export interface TokenInfo {
  subject: string;
  /** The user name the token mapped to (`n=`). */
  userName: string;
  /** `o=`: the token's issuer, as the SciTokens plugin reports it (the entity's organisation). */
  issuer: string;
  role: string;
  groups: string[];
}

export type MonitoringPacket =
  | { kind: 'server'; header: PacketHeader; login: ClientLogin }
  | { kind: 'user'; header: PacketHeader; dictId: number; login: ClientLogin }
  /** `U`: the experiment and activity codes a client declared (scitags), for the session `userId`. */
  | { kind: 'activity'; header: PacketHeader; dictId: number; login: ClientLogin; userId: number; experiment: number; activity: number }
  /** `T`: the token a session authenticated with. */
  | { kind: 'token'; header: PacketHeader; dictId: number; login: ClientLogin; userId: number; token: TokenInfo }
  | { kind: 'path'; header: PacketHeader; dictId: number; login: ClientLogin; path: string }
  | { kind: 'files'; header: PacketHeader; begin: number; end: number; serverId: number; records: FileRecord[] }
  | ({ kind: 'redirects'; header: PacketHeader } & RedirectRecords)
  | ({ kind: 'gstream'; header: PacketHeader } & GStreamEvents)
  /** Codes decoded no further: `t` (I/O trace), `i` (info), `p` (purge), `x` (transfer), and the internal `m`, `s`. */
  | { kind: 'other'; header: PacketHeader };

/** f-stream record types (XrdXrootdMonFileHdr::recTval). */
const RECORD_CLOSE = 0;
const RECORD_OPEN = 1;
const RECORD_TIME = 2;
const RECORD_TRANSFER = 3;
const RECORD_DISCONNECT = 4;
const FLAG_FORCED = 0x01;
const FLAG_HAS_OPS = 0x02;
const FLAG_HAS_LFN = 0x01;
const FLAG_READ_WRITE = 0x02;

export function parseHeader(packet: Buffer): PacketHeader {
  if (packet.length < HEADER_BYTES) throw new PacketError(`packet of ${packet.length} bytes is shorter than the 8-byte header`, 'truncated');
  const header = {
    code: String.fromCharCode(packet[0]),
    sequence: packet[1],
    length: packet.readUInt16BE(2),
    serverStart: packet.readInt32BE(4),
  };
  if (header.length !== packet.length) throw new PacketError(`header says ${header.length} bytes, packet has ${packet.length}`, header.length > packet.length ? 'truncated' : 'length_mismatch');
  return header;
}

/** Parses "prot/user.pid:sid@host\n&k=v&k=v" (the protocol part is absent in some packets). */
export function parseLogin(text: string): ClientLogin {
  const newline = text.indexOf('\n');
  const identity = newline < 0 ? text : text.slice(0, newline);
  const fields = splitIdentity(identity);
  if (!fields) throw new PacketError(`malformed client identity "${identity.slice(0, 80)}"`, 'bad_map');
  const info: Record<string, string> = {};
  if (newline >= 0) {
    for (const pair of text.slice(newline + 1).split('&')) {
      const equals = pair.indexOf('=');
      if (equals > 0) info[pair.slice(0, equals)] = pair.slice(equals + 1);
    }
  }
  return { protocol: fields.protocol, user: fields.user, pid: fields.pid, sessionId: fields.sessionId, host: fields.host, info };
}

const IDENTITY = /^(?:([^/]*)\/)?(.*)\.(\d+):([^@]*)@(.+)$/s;

/**
 * "[protocol/]user.pid:sid@host" as IDENTITY reads it. The usual shape (one '@') is split by hand,
 * cheaper than the regular expression; any other goes through it.
 */
function splitIdentity(identity: string): Omit<ClientLogin, 'info'> | undefined {
  const at = identity.indexOf('@');
  if (at > 0 && at < identity.length - 1 && identity.indexOf('@', at + 1) < 0) {
    // The last ".digits:" before the '@' (IDENTITY's user is greedy).
    for (let colon = identity.lastIndexOf(':', at); colon > 0; colon = identity.lastIndexOf(':', colon - 1)) {
      let dot = colon - 1;
      while (dot >= 0 && isDigit(identity.charCodeAt(dot))) dot -= 1;
      if (dot < 0 || dot === colon - 1 || identity.charCodeAt(dot) !== DOT) continue;
      const slash = identity.indexOf('/');
      // A protocol prefix when the user part lies after the first '/'.
      const prefixed = slash >= 0 && slash < dot;
      return {
        protocol: prefixed ? identity.slice(0, slash) : '',
        user: identity.slice(prefixed ? slash + 1 : 0, dot),
        pid: Number(identity.slice(dot + 1, colon)),
        sessionId: identity.slice(colon + 1, at),
        host: identity.slice(at + 1),
      };
    }
  }
  const match = IDENTITY.exec(identity);
  return match ? { protocol: match[1] ?? '', user: match[2], pid: Number(match[3]), sessionId: match[4], host: match[5] } : undefined;
}

const DOT = 0x2e;

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** The text of a map packet after its dictid, without trailing NULs. */
function mapText(packet: Buffer): string {
  if (packet.length < HEADER_BYTES + 4) throw new PacketError('map packet without a dictionary id', 'truncated');
  const text = packet.toString('latin1', HEADER_BYTES + 4);
  const nul = text.indexOf('\0');
  return nul < 0 ? text : text.slice(0, nul);
}

/** The high word of the largest safe integer (2^53 - 1): 0x1fffff. */
const MAX_SAFE_HIGH_WORD = 0x1fffff;

/** A signed 64-bit count as two 32-bit reads: a BigInt per count cost half of an f packet's decoding. */
function readCount(packet: Buffer, offset: number): number {
  const high = packet.readUInt32BE(offset);
  // Negative (top bit set) or past Number.MAX_SAFE_INTEGER.
  if (high > MAX_SAFE_HIGH_WORD) throw new PacketError(`byte count ${packet.readBigInt64BE(offset)} out of range`, 'bad_value');
  return high * 0x1_0000_0000 + packet.readUInt32BE(offset + 4);
}

function readTotals(packet: Buffer, offset: number): TransferTotals {
  return { read: readCount(packet, offset), readv: readCount(packet, offset + 8), write: readCount(packet, offset + 16) };
}

function parseFileRecord(packet: Buffer, offset: number, type: number, flags: number, size: number): FileRecord | undefined {
  const id = packet.readUInt32BE(offset + 4);
  const body = offset + FILE_RECORD_HEADER_BYTES;
  const need = (bytes: number): void => {
    if (size < FILE_RECORD_HEADER_BYTES + bytes) throw new PacketError(`record type ${type} of ${size} bytes is too short`);
  };
  switch (type) {
    case RECORD_OPEN: {
      need(8);
      const record: FileRecord = { type: 'open', fileId: id, fileSize: readCount(packet, body), readWrite: (flags & FLAG_READ_WRITE) !== 0 };
      if (flags & FLAG_HAS_LFN) {
        need(12);
        record.userId = packet.readUInt32BE(body + 8);
        const name = packet.toString('latin1', body + 12, offset + size);
        const nul = name.indexOf('\0');
        record.path = nul < 0 ? name : name.slice(0, nul);
      }
      return record;
    }
    case RECORD_CLOSE: {
      need(TRANSFER_TOTALS_BYTES);
      const record: FileRecord = { type: 'close', fileId: id, forced: (flags & FLAG_FORCED) !== 0, totals: readTotals(packet, body) };
      if (flags & FLAG_HAS_OPS) {
        need(TRANSFER_TOTALS_BYTES + OPERATION_COUNTS_BYTES);
        const ops = body + TRANSFER_TOTALS_BYTES;
        record.operations = {
          read: packet.readInt32BE(ops),
          readv: packet.readInt32BE(ops + 4),
          write: packet.readInt32BE(ops + 8),
          readvSegments: readCount(packet, ops + 16),
          readvSegmentsMin: packet.readInt16BE(ops + 12),
          readvSegmentsMax: packet.readInt16BE(ops + 14),
          readMin: packet.readInt32BE(ops + 24),
          readMax: packet.readInt32BE(ops + 28),
          readvMin: packet.readInt32BE(ops + 32),
          readvMax: packet.readInt32BE(ops + 36),
          writeMin: packet.readInt32BE(ops + 40),
          writeMax: packet.readInt32BE(ops + 44),
        };
      }
      return record;
    }
    case RECORD_TRANSFER:
      need(TRANSFER_TOTALS_BYTES);
      return { type: 'transfer', fileId: id, totals: readTotals(packet, body) };
    case RECORD_DISCONNECT:
      return { type: 'disconnect', userId: id };
    case RECORD_TIME:
      need(TIME_RECORD_BYTES - FILE_RECORD_HEADER_BYTES);
      return { type: 'time', begin: packet.readInt32BE(body), end: packet.readInt32BE(body + 4) };
    default:
      return undefined; // a record type newer than this decoder: skipped by its size
  }
}

/** The f-stream: a time record, then variable-length records found by their recSize. */
function parseFileStream(packet: Buffer, header: PacketHeader): MonitoringPacket {
  if (packet.length < HEADER_BYTES + TIME_RECORD_BYTES) throw new PacketError('f-stream packet shorter than its time record', 'truncated');
  if (packet[HEADER_BYTES] !== RECORD_TIME) throw new PacketError(`f-stream packet starts with record type ${packet[HEADER_BYTES]}, not a time record`);
  const declaredRecords = packet.readInt16BE(HEADER_BYTES + 6);
  const begin = packet.readInt32BE(HEADER_BYTES + 8);
  const end = packet.readInt32BE(HEADER_BYTES + 12);
  const serverId = Number(packet.readBigUInt64BE(HEADER_BYTES + 16) & 0xffffffffffffn);
  const records: FileRecord[] = [];
  let offset = HEADER_BYTES + TIME_RECORD_BYTES;
  let recordCount = 0;
  while (offset < packet.length) {
    if (offset + FILE_RECORD_HEADER_BYTES > packet.length) throw new PacketError(`truncated record header at byte ${offset}`, 'truncated');
    const type = packet[offset];
    const flags = packet[offset + 1];
    const size = packet.readUInt16BE(offset + 2);
    if (size < FILE_RECORD_HEADER_BYTES) throw new PacketError(`record at byte ${offset} declares ${size} bytes`);
    if (offset + size > packet.length) throw new PacketError(`record at byte ${offset} runs past the packet end`, 'truncated');
    const record = parseFileRecord(packet, offset, type, flags, size);
    if (record) records.push(record);
    recordCount += 1;
    offset += size;
  }
  // Fewer records than announced means a cut packet; more can be mid-stream time marks.
  if (recordCount < declaredRecords) {
    throw new PacketError(`time record announces ${declaredRecords} records, packet holds ${recordCount}`, 'truncated');
  }
  return { kind: 'files', header, begin, end, serverId, records };
}

/** The key/values after the identity of a `U` or `T` packet, e.g. "&Uc=3&Ec=2&Ac=1". */
function mapPairs(text: string): { login: ClientLogin; userId: number } {
  const login = parseLogin(text);
  const userId = Number(login.info.Uc);
  if (!Number.isInteger(userId) || userId < 0) throw new PacketError(`map packet without a user dictid (Uc=${String(login.info.Uc).slice(0, 20)})`, 'bad_map');
  return { login, userId };
}

function integerValue(info: Record<string, string>, key: string): number {
  const value = Number(info[key]);
  if (info[key] === undefined || !Number.isInteger(value)) throw new PacketError(`map packet with ${key}=${String(info[key]).slice(0, 20)}, not an integer`, 'bad_map');
  return value;
}

/** Codes a 5.x server sends (XrdXrootdMonData.hh) that are counted but not decoded further. */
const OTHER_CODES = new Set(['t', 'i', 'p', 'x', 'm', 's']);

/** Decodes one datagram; throws PacketError when it does not follow the layout. */
export function parsePacket(packet: Buffer): MonitoringPacket {
  rejectTextGStream(packet);
  const header = parseHeader(packet);
  switch (header.code) {
    case '=':
      return { kind: 'server', header, login: parseLogin(mapText(packet)) };
    case 'u':
      return { kind: 'user', header, dictId: packet.readUInt32BE(HEADER_BYTES), login: parseLogin(mapText(packet)) };
    case 'U': {
      const { login, userId } = mapPairs(mapText(packet));
      return { kind: 'activity', header, dictId: packet.readUInt32BE(HEADER_BYTES), login, userId, experiment: integerValue(login.info, 'Ec'), activity: integerValue(login.info, 'Ac') };
    }
    case 'T': {
      const { login, userId } = mapPairs(mapText(packet));
      const info = login.info;
      const token: TokenInfo = { subject: info.s ?? '', userName: info.n ?? '', issuer: info.o ?? '', role: info.r ?? '', groups: (info.g ?? '').split(/[ ,]+/).filter(Boolean) };
      return { kind: 'token', header, dictId: packet.readUInt32BE(HEADER_BYTES), login, userId, token };
    }
    case 'd': {
      const text = mapText(packet);
      const newline = text.indexOf('\n');
      if (newline < 0) throw new PacketError('path map packet without a path', 'bad_map');
      return { kind: 'path', header, dictId: packet.readUInt32BE(HEADER_BYTES), login: parseLogin(text.slice(0, newline)), path: text.slice(newline + 1) };
    }
    case 'f':
      return parseFileStream(packet, header);
    case 'r':
      return { kind: 'redirects', header, ...parseRedirectPacket(packet) };
    case 'g':
      return { kind: 'gstream', header, ...parseGStreamPacket(packet) };
    default:
      if (!OTHER_CODES.has(header.code)) throw new PacketError(`unknown packet code 0x${packet[0].toString(16)}`, 'unknown_code');
      return { kind: 'other', header };
  }
}

/** Offset of the g-stream header's sID, whose top byte names the provider (XrdXrootdMonGS). */
const GSTREAM_SID_OFFSET = HEADER_BYTES + 8;

/**
 * Which pseq counter a packet belongs to, as a 5.x server numbers them: `XrdXrootdMonitor::Send`
 * numbers every packet it sends to one destination with one counter (`=`, `u`, `d`, `U`, `T`, `t`,
 * `r`, `i`, `p`, `x`); the f-stream (`XrdXrootdMonFile::Flush`) has a counter of its own; each
 * g-stream provider (`XrdXrootdGSReal`: pfc `C`, tpc `P`, tcp `T`...) has its own, its id in the top
 * byte of the packet's sID.
 */
export function sequenceStream(datagram: Buffer): string {
  const code = datagram[0];
  if (code === 0x66) return 'f';
  if (code === 0x67) return datagram.length > GSTREAM_SID_OFFSET ? `g${datagram[GSTREAM_SID_OFFSET]}` : 'g';
  return 'main';
}

/** Unix s of a packet's own time: the f-stream's tEnd (when it was sent), a g or r window's end; undefined for packets without one. */
export function ownTime(packet: MonitoringPacket): number | undefined {
  switch (packet.kind) {
    case 'files':
    case 'redirects':
    case 'gstream':
      return packet.end > 0 ? packet.end : undefined;
    default:
      return undefined;
  }
}
