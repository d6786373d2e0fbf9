/**
 * Crafted detailed-monitoring packets, laid out as XrdXrootdMonData.hh says (network byte order),
 * for golden tests. The encoding is written from the header file, not from the decoder (only the types are shared).
 */

import type { OperationCounts, TransferTotals } from '../protocol';

export type Totals = TransferTotals;
export type Ops = OperationCounts;

/** XrdXrootdMonHeader (8 bytes) before `body`. */
export function packet(code: string, sequence: number, serverStart: number, body: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.write(code, 0, 'latin1');
  header[1] = sequence & 0xff;
  header.writeUInt16BE(8 + body.length, 2);
  header.writeInt32BE(serverStart, 4);
  return Buffer.concat([header, body]);
}

/** XrdXrootdMonMap: a dictid, then text. */
export function mapPacket(code: '=' | 'u' | 'd', sequence: number, serverStart: number, dictId: number, text: string): Buffer {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(dictId, 0);
  return packet(code, sequence, serverStart, Buffer.concat([id, Buffer.from(text, 'latin1')]));
}

function recordHeader(type: number, flags: number, size: number, id: number): Buffer {
  const header = Buffer.alloc(8);
  header[0] = type;
  header[1] = flags;
  header.writeUInt16BE(size, 2);
  header.writeUInt32BE(id, 4);
  return header;
}

function totals(values: Totals): Buffer {
  const body = Buffer.alloc(24);
  body.writeBigInt64BE(BigInt(values.read), 0);
  body.writeBigInt64BE(BigInt(values.readv), 8);
  body.writeBigInt64BE(BigInt(values.write), 16);
  return body;
}

/** XrdXrootdMonFileOPN with hasLFN (and hasRW when readWrite): size, user dictid, NUL-padded LFN. */
export function openRecord(fileId: number, size: number, readWrite: boolean, userId: number, path: string): Buffer {
  const name = Buffer.from(`${path}\0`, 'latin1');
  const padded = Buffer.concat([name, Buffer.alloc((8 - ((20 + name.length) % 8)) % 8)]);
  const body = Buffer.alloc(12);
  body.writeBigInt64BE(BigInt(size), 0);
  body.writeUInt32BE(userId, 8);
  return Buffer.concat([recordHeader(1, 0x01 | (readWrite ? 0x02 : 0), 8 + 12 + padded.length, fileId), body, padded]);
}

/** XrdXrootdMonFileCLS: XFR totals, and XrdXrootdMonStatOPS when `ops` is given (hasOPS). */
export function closeRecord(fileId: number, values: Totals, ops?: Ops, forced = false): Buffer {
  const parts = [totals(values)];
  if (ops) {
    const body = Buffer.alloc(48);
    body.writeInt32BE(ops.read, 0);
    body.writeInt32BE(ops.readv, 4);
    body.writeInt32BE(ops.write, 8);
    body.writeInt16BE(ops.readvSegmentsMin, 12);
    body.writeInt16BE(ops.readvSegmentsMax, 14);
    body.writeBigInt64BE(BigInt(ops.readvSegments), 16);
    body.writeInt32BE(ops.readMin, 24);
    body.writeInt32BE(ops.readMax, 28);
    body.writeInt32BE(ops.readvMin, 32);
    body.writeInt32BE(ops.readvMax, 36);
    body.writeInt32BE(ops.writeMin, 40);
    body.writeInt32BE(ops.writeMax, 44);
    parts.push(body);
  }
  const size = 8 + parts.reduce((sum, part) => sum + part.length, 0);
  return Buffer.concat([recordHeader(0, (forced ? 0x01 : 0) | (ops ? 0x02 : 0), size, fileId), ...parts]);
}

/** XrdXrootdMonFileXFR: bytes so far of an open file. */
export function transferRecord(fileId: number, values: Totals): Buffer {
  return Buffer.concat([recordHeader(3, 0, 32, fileId), totals(values)]);
}

/** XrdXrootdMonFileDSC: a user's disconnect. */
export function disconnectRecord(userId: number): Buffer {
  return recordHeader(4, 0, 8, userId);
}

/** An f-stream packet: the XrdXrootdMonFileTOD time record (begin, end in Unix s), then `records`. */
export function fileStream(sequence: number, serverStart: number, beginS: number, endS: number, records: Buffer[]): Buffer {
  const time = Buffer.alloc(24);
  time[0] = 2;
  time.writeUInt16BE(24, 2);
  time.writeInt16BE(0, 4);
  time.writeInt16BE(records.length, 6);
  time.writeInt32BE(beginS, 8);
  time.writeInt32BE(endS, 12);
  time.writeBigInt64BE(0x1234n, 16);
  return packet('f', sequence, serverStart, Buffer.concat([time, ...records]));
}
