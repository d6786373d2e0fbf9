/**
 * Per-file records (file_records = on): one xrootd-files/closes document per file close, with the
 * fields of OSG's xrootd-monitoring-collector record that the stream carries. File names, users and
 * DNs are fields, never tags. Each document is stamped with its close time, which the accounting
 * makes unique per server, so no record overwrites another in InfluxDB.
 */
import type { DocumentFactory } from '../../lib/documents/document';
import type { MonitDocument } from '../../lib/documents/types';
import { XROOTD_FILES_CLOSES } from '../../schemas/kinds';
import type { ClosedFile } from './accounting';
import { UNKNOWN, type ClientPlace } from '../../lib/sites/siteTable';

export interface FilePlaces {
  place(host: string): ClientPlace;
}

/**
 * A min/max pair of the close's ops, present only when the server filled it. XRootD 5.5 starts min
 * at 0x7fffffff and max at 0 (XrdXrootdFileStats::Init) and moves them only for plain read, readv
 * and write requests; page reads and writes (pgread/pgwrite, xrdcp's default) are added to the
 * counts at the close (XrdXrootdFile.cc), so a count above 0 can come with min > max.
 */
function extremes(count: number | undefined, min: number | undefined, max: number | undefined): [number | undefined, number | undefined] {
  return count && min !== undefined && max !== undefined && min <= max ? [min, max] : [undefined, undefined];
}

function operation(closed: ClosedFile): string {
  if (closed.totals.read + closed.totals.readv > 0) return 'read';
  return closed.totals.write > 0 ? 'write' : 'none';
}

export function fileCloseDocument(closed: ClosedFile, places: FilePlaces, documents: DocumentFactory): MonitDocument {
  const client = places.place(closed.clientHost);
  const serverSite = closed.serverSite ?? places.place(closed.serverHost).site;
  const access = client.site === UNKNOWN || serverSite === UNKNOWN ? UNKNOWN : client.site === serverSite ? 'local' : 'remote';
  const ops = closed.operations;
  const [readMin, readMax] = extremes(ops?.read, ops?.readMin, ops?.readMax);
  const [readvMin, readvMax] = extremes(ops?.readv, ops?.readvMin, ops?.readvMax);
  const [segmentsMin, segmentsMax] = extremes(ops?.readv, ops?.readvSegmentsMin, ops?.readvSegmentsMax);
  const [writeMin, writeMax] = extremes(ops?.write, ops?.writeMin, ops?.writeMax);
  const known = closed.size >= 0;
  const read = closed.totals.read + closed.totals.readv;
  return documents.build(
    XROOTD_FILES_CLOSES,
    {
      server: closed.server,
      server_site: serverSite,
      client_domain: client.domain,
      client_site: client.site,
      access,
      access_mode: closed.accessMode,
      vo: closed.vo,
      operation: operation(closed),
    },
    {
      file_name: closed.path,
      file_size: known ? closed.size : undefined,
      user: closed.user,
      user_dn: closed.dn,
      client_host: closed.clientHost,
      protocol: closed.protocol,
      app_name: closed.program || undefined,
      appinfo: closed.appinfo,
      read_bytes: read,
      read_single_bytes: closed.totals.read,
      read_vector_bytes: closed.totals.readv,
      write_bytes: closed.totals.write,
      read_single_operations: ops?.read,
      read_vector_operations: ops?.readv,
      read_vector_segments: ops?.readvSegments,
      write_operations: ops?.write,
      read_single_min: readMin,
      read_single_max: readMax,
      read_vector_min: readvMin,
      read_vector_max: readvMax,
      read_vector_count_min: segmentsMin,
      read_vector_count_max: segmentsMax,
      write_min: writeMin,
      write_max: writeMax,
      fraction_read: known && closed.size > 0 ? read / closed.size : undefined,
      read_write: closed.readWrite,
      forced: closed.forced,
      open_time: closed.openedMs,
      close_time: closed.closedMs,
      // From the close's own packet time: closedMs may be a few ms later, to keep record times apart.
      duration: closed.openedMs !== undefined ? closed.closePacketMs - closed.openedMs : undefined,
    },
    closed.closedMs,
  );
}

export function fileCloseDocuments(closes: readonly ClosedFile[], places: FilePlaces, documents: DocumentFactory): MonitDocument[] {
  return closes.map((closed) => fileCloseDocument(closed, places, documents));
}
