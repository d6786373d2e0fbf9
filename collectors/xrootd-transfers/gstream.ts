/**
 * The g-stream ('g' packets, XrdXrootdMonGS): third-party-copy (tpc) and XCache (pfc) events and
 * their accounting. XRootD 5.5 sends a provider's records in this binary form to the `xrootd.monitor`
 * destinations that list the provider (`dest ... tpc pfc HOST:PORT`): a 24-byte header (the common
 * header, tBeg, tEnd, the server id with the provider's letter in its top byte), then one line of
 * text per record, each ended by a newline and the last by a NUL. TPC and pfc lines are JSON.
 */
import type { DocumentFactory } from '../../lib/documents/document';
import type { MonitDocument } from '../../lib/documents/types';
import { XROOTD_TRANSFERS_CACHE, XROOTD_TRANSFERS_TPC } from '../../schemas/kinds';
import type { ServerState } from './accounting';
import { PacketError, type PacketHeader } from './protocol';
import type { Places } from './report';
import { UNKNOWN } from '../../lib/sites/siteTable';

// protocol.ts imports this module: its constants are not defined yet while this one loads.
const COMMON_HEADER_BYTES = 8;
/** XrdXrootdMonGS: the common header, tBeg, tEnd (int32), sID (int64). */
const GSTREAM_HEADER_BYTES = COMMON_HEADER_BYTES + 16;

/** The provider letters of XrdXrootdMonData.hh (XROOTD_MON_GS*). */
const PROVIDERS: Record<string, string> = { P: 'tpc', C: 'pfc', M: 'ccm', T: 'tcpmon' };

/** One finished third-party copy (XrdXrootdTpcMon). */
export interface TpcRecord {
  /** 'xroot' (ofs.tpc) or 'http' (XrdHttpTPC). */
  protocol: string;
  /** Unix µs (integers: exact, unlike fractional ms). */
  beginUs: number;
  endUs: number;
  /** 0 when the copy succeeded. */
  returnCode: number;
  streams: number;
  direction: 'pull' | 'push';
  /** Host of the source and destination URLs ('' when the URL names none). */
  sourceHost: string;
  destinationHost: string;
  /** Size of the destination file after the copy (see fileSize()). */
  size: number;
}

/** One file closed in the proxy file cache (XrdPfc "file_close"). */
export interface CacheRecord {
  bytesHit: number;
  bytesMiss: number;
  bytesBypass: number;
  checksumErrors: number;
}

/** What a 'g' packet holds after its header. */
export interface GStreamEvents {
  /** Window covered by the packet (Unix s), for slotting by packet time. */
  begin: number;
  end: number;
  /** 'tpc', 'pfc', 'ccm', 'tcpmon', or the letter of a provider this decoder does not know. */
  provider: string;
  /** Low 48 bits of sID, as in the f-stream. */
  serverId: number;
  tpc: TpcRecord[];
  cache: CacheRecord[];
  /** Records of providers (or pfc events) that are not accounted. */
  otherRecords: number;
}

/**
 * `xrootd.mongstream ... use send {json|cgi|nohdr} HOST:PORT` makes text packets, from another socket than
 * the monitoring's and with an identification of their own: they are not decoded, and say so plainly
 * rather than failing the binary header's length check.
 */
export function rejectTextGStream(packet: Buffer): void {
  const start = packet.toString('latin1', 0, 16);
  if (!/^(\{"code":"|code=)/.test(start) && !/^\{"(TPC|event)":"/.test(start)) return;
  throw new PacketError(
    `text g-stream packet (xrootd.mongstream ... send json/cgi/nohdr) "${start}...": not decoded; send the g-stream in binary with "tpc pfc" in an xrootd.monitor dest`,
    // A kind of its own, so that the run's problem line shows this hint as its example.
    'text_gstream',
  );
}

/** Decodes the body of a 'g' packet; throws PacketError when it does not follow the layout. */
export function parseGStreamPacket(packet: Buffer): GStreamEvents {
  if (packet.length < GSTREAM_HEADER_BYTES) throw new PacketError(`g-stream packet of ${packet.length} bytes is shorter than its ${GSTREAM_HEADER_BYTES}-byte header`, 'truncated');
  const letter = String.fromCharCode(packet[COMMON_HEADER_BYTES + 8]);
  const events: GStreamEvents = {
    begin: packet.readInt32BE(COMMON_HEADER_BYTES),
    end: packet.readInt32BE(COMMON_HEADER_BYTES + 4),
    provider: PROVIDERS[letter] ?? letter,
    serverId: Number(packet.readBigUInt64BE(COMMON_HEADER_BYTES + 8) & 0xffffffffffffn),
    tpc: [],
    cache: [],
    otherRecords: 0,
  };
  const body = packet.subarray(GSTREAM_HEADER_BYTES);
  if (body.length > 0 && body[body.length - 1] !== 0) throw new PacketError(`g-stream ${events.provider} packet does not end with a NUL (cut short?)`, 'truncated');
  let offset = GSTREAM_HEADER_BYTES;
  for (const line of body.toString('utf8').split(/[\n\0]/)) {
    const where = `g-stream ${events.provider} record at byte ${offset}`;
    offset += Buffer.byteLength(line) + 1;
    if (line === '') continue;
    if (events.provider === 'tpc') events.tpc.push(parseTpcRecord(line, where));
    else if (events.provider === 'pfc') {
      const record = parseCacheRecord(line, where);
      if (record) events.cache.push(record);
      else events.otherRecords += 1;
    } else events.otherRecords += 1;
  }
  return events;
}

function parseJson(line: string, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new PacketError(`${where} is not JSON (${(error as Error).message}): ${line.slice(0, 120)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PacketError(`${where} is not a JSON object: ${line.slice(0, 120)}`);
  return value as Record<string, unknown>;
}

/** An integer field; sums of them must stay exact, so nothing beyond 2^53 is taken. */
function integerOf(record: Record<string, unknown>, key: string, where: string): number {
  const value = record[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new PacketError(`${where}: "${key}" is ${JSON.stringify(value)}, not an integer`, 'bad_value');
  return value;
}

function textOf(record: Record<string, unknown>, key: string, where: string): string {
  const value = record[key];
  if (typeof value !== 'string') throw new PacketError(`${where}: "${key}" is ${JSON.stringify(value)}, not a string`);
  return value;
}

/**
 * XrdXrootdTpcMon writes the times as "%FT%T" then "." and tv_usec with "%03u": the digits after the
 * point are a count of microseconds, not a decimal fraction (".5000Z" is 5 ms). Returns Unix µs.
 */
export function tpcTime(text: string, where: string): number {
  const match = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{1,6})Z$/.exec(text);
  if (!match) throw new PacketError(`${where}: time "${text.slice(0, 40)}" is not YYYY-MM-DDTHH:MM:SS.uuuZ`);
  const [year, month, day, hour, minute, second, micro] = match.slice(1).map(Number);
  return Date.UTC(year, month - 1, day, hour, minute, second) * 1000 + micro;
}

/** XrdXrootdTpcMon prints the size_t file size with "%d": what arrives is the size modulo 2^32, signed. */
export function fileSize(reported: number, where = 'TPC record'): number {
  if (reported < -(2 ** 31) || reported >= 2 ** 32) throw new PacketError(`${where}: "Size" ${reported} is not a 32-bit number`, 'bad_value');
  return reported < 0 ? reported + 2 ** 32 : reported;
}

/** The host of "proto://[user@]host[:port]/path" (brackets kept for IPv6), '' when there is none. */
export function urlHost(url: string): string {
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^:/?]*)/.exec(url);
  return match ? match[1] : '';
}

function parseTpcRecord(line: string, where: string): TpcRecord {
  const record = parseJson(line, where);
  const execution = record.Xeq;
  if (typeof execution !== 'object' || execution === null) throw new PacketError(`${where}: no "Xeq" object`);
  const xeq = execution as Record<string, unknown>;
  const direction = textOf(xeq, 'Type', where);
  if (direction !== 'pull' && direction !== 'push') throw new PacketError(`${where}: "Type" is "${direction}", not pull or push`);
  return {
    protocol: textOf(record, 'TPC', where),
    beginUs: tpcTime(textOf(xeq, 'Beg', where), where),
    endUs: tpcTime(textOf(xeq, 'End', where), where),
    returnCode: integerOf(xeq, 'RC', where),
    streams: integerOf(xeq, 'Strm', where),
    direction,
    sourceHost: urlHost(textOf(record, 'Src', where)),
    destinationHost: urlHost(textOf(record, 'Dst', where)),
    size: fileSize(integerOf(record, 'Size', where), where),
  };
}

/**
 * XrdPfc writes the file name unescaped: a name with a quote or backslash is not JSON. The name is
 * never used, so it is cut out (up to the last `","size":`) before parsing again.
 */
function withoutFileName(line: string): string | undefined {
  const start = line.indexOf('"lfn":"');
  const end = line.lastIndexOf('","size":');
  return start >= 0 && end > start ? `${line.slice(0, start)}"lfn":"${line.slice(end)}` : undefined;
}

/** A "file_close" record, or undefined for another pfc event (none in 5.5). */
function parseCacheRecord(line: string, where: string): CacheRecord | undefined {
  let record: Record<string, unknown>;
  try {
    record = parseJson(line, where);
  } catch (error) {
    const repaired = withoutFileName(line);
    if (!repaired) throw error;
    record = parseJson(repaired, where);
  }
  if (record.event !== 'file_close') return undefined;
  const bytes = (key: string): number => {
    const value = integerOf(record, key, where);
    if (value < 0) throw new PacketError(`${where}: "${key}" is negative (${value})`, 'bad_value');
    return value;
  };
  // n_cks_errs came with 5.4; a 5.0-5.3 record has none.
  return { bytesHit: bytes('b_hit'), bytesMiss: bytes('b_miss'), bytesBypass: bytes('b_bypass'), checksumErrors: record.n_cks_errs === undefined ? 0 : bytes('n_cks_errs') };
}

interface ServerCell {
  slotMs: number;
  server: string;
  serverSite: string | undefined;
  serverHost: string;
}

interface TpcCell extends ServerCell {
  protocol: string;
  direction: string;
  remoteHost: string;
  transfers: number;
  failed: number;
  bytes: number;
  seconds: number;
}

interface CacheCell extends ServerCell {
  bytesHit: number;
  bytesMiss: number;
  bytesBypass: number;
  filesClosed: number;
  checksumErrors: number;
}

/** Per-slot TPC and cache figures of one run. */
export class GStreamAccounting {
  readonly tpc = new Map<string, TpcCell>();
  readonly cache = new Map<string, CacheCell>();

  /** @param hostsSeen where the remote hosts of copies go, for the site mapper. */
  constructor(private readonly hostsSeen: Set<string> = new Set()) {}

  add(server: ServerState, packet: GStreamEvents & { header: PacketHeader }, slotMs: number): void {
    const base = { slotMs, server: server.name, serverSite: server.site, serverHost: server.host };
    for (const record of packet.tpc) {
      const remoteHost = (record.direction === 'pull' ? record.sourceHost : record.destinationHost) || UNKNOWN;
      this.hostsSeen.add(remoteHost);
      const key = [slotMs, server.name, record.protocol, record.direction, remoteHost].join('\u0000');
      let cell = this.tpc.get(key);
      if (!cell) {
        cell = { ...base, protocol: record.protocol, direction: record.direction, remoteHost, transfers: 0, failed: 0, bytes: 0, seconds: 0 };
        this.tpc.set(key, cell);
      }
      cell.transfers += 1;
      if (record.returnCode !== 0) {
        cell.failed += 1;
        continue;
      }
      cell.bytes += record.size;
      cell.seconds += Math.max(0, record.endUs - record.beginUs) / 1e6;
    }
    if (packet.cache.length === 0) return;
    const key = `${slotMs}\u0000${server.name}`;
    let cell = this.cache.get(key);
    if (!cell) {
      cell = { ...base, bytesHit: 0, bytesMiss: 0, bytesBypass: 0, filesClosed: 0, checksumErrors: 0 };
      this.cache.set(key, cell);
    }
    for (const record of packet.cache) {
      cell.bytesHit += record.bytesHit;
      cell.bytesMiss += record.bytesMiss;
      cell.bytesBypass += record.bytesBypass;
      cell.checksumErrors += record.checksumErrors;
      cell.filesClosed += 1;
    }
  }
}

/** Adds the figures of cells that share a key once mapped to sites (several remote hosts of one site). */
function sumInto<T extends object>(groups: Map<string, { tags: T; slotMs: number; figures: Record<string, number> }>, slotMs: number, tags: T, figures: Record<string, number>): void {
  const key = `${slotMs}\u0000${JSON.stringify(tags)}`;
  const entry = groups.get(key);
  if (!entry) {
    groups.set(key, { tags, slotMs, figures: { ...figures } });
    return;
  }
  for (const [name, value] of Object.entries(figures)) entry.figures[name] = (entry.figures[name] ?? 0) + value;
}

export function gstreamDocuments(gstream: GStreamAccounting, places: Places, documents: DocumentFactory): MonitDocument[] {
  const serverSite = (cell: ServerCell): string => cell.serverSite ?? places.place(cell.serverHost).site;
  type TpcTags = { server: string; server_site: string; protocol: string; direction: string; remote_site: string };
  const tpcGroups = new Map<string, { tags: TpcTags; slotMs: number; figures: Record<string, number> }>();
  for (const cell of gstream.tpc.values()) {
    const remoteSite = cell.remoteHost === UNKNOWN ? UNKNOWN : places.place(cell.remoteHost).site;
    const tags = { server: cell.server, server_site: serverSite(cell), protocol: cell.protocol, direction: cell.direction, remote_site: remoteSite };
    sumInto(tpcGroups, cell.slotMs, tags, { transfers: cell.transfers, failed: cell.failed, bytes: cell.bytes, seconds: cell.seconds });
  }
  const output: MonitDocument[] = [];
  for (const { tags, slotMs, figures } of tpcGroups.values()) {
    output.push(
      documents.build(XROOTD_TRANSFERS_TPC, tags, {
        transfers: figures.transfers,
        transfers_failed: figures.failed,
        bytes: figures.bytes,
        transfer_seconds: figures.seconds,
      }, slotMs),
    );
  }
  // One cell per (slot, server name) already; a name shared by several senders is summed like servers documents.
  const cacheGroups = new Map<string, { tags: { server: string; server_site: string }; slotMs: number; figures: Record<string, number> }>();
  for (const cell of gstream.cache.values()) {
    sumInto(cacheGroups, cell.slotMs, { server: cell.server, server_site: serverSite(cell) }, {
      bytesHit: cell.bytesHit, bytesMiss: cell.bytesMiss, bytesBypass: cell.bytesBypass, filesClosed: cell.filesClosed, checksumErrors: cell.checksumErrors,
    });
  }
  for (const { tags, slotMs, figures } of cacheGroups.values()) {
    output.push(
      documents.build(XROOTD_TRANSFERS_CACHE, tags, {
        bytes_hit: figures.bytesHit,
        bytes_miss: figures.bytesMiss,
        bytes_bypass: figures.bytesBypass,
        files_closed: figures.filesClosed,
        checksum_errors: figures.checksumErrors,
      }, slotMs),
    );
  }
  return output;
}
