/** Rolls the accounting cells up into the transfers, users and servers documents of each slot. */
import type { DocumentFactory } from '../../lib/documents/document';
import type { MonitDocument } from '../../lib/documents/types';
import { XROOTD_TRANSFERS_SERVERS, XROOTD_TRANSFERS_TRANSFERS, XROOTD_TRANSFERS_USERS } from '../../schemas/kinds';
import { type Accounting, type Cell, type Figures } from './accounting';
import { UNKNOWN, type ClientPlace } from '../../lib/sites/siteTable';
import { redirectionDocuments } from './redirections';
import { gstreamDocuments } from './gstream';
import { fileCloseDocuments } from './fileCloses';

export interface Places {
  place(host: string): ClientPlace;
}

function ratio(part: number, whole: number): number | undefined {
  return whole > 0 ? part / whole : undefined;
}

export interface Totals extends Figures {
  accessesLocal: number;
  accessesRemote: number;
}

export function emptyTotals(): Totals {
  // Written out, as the cells are (accounting.ts): one fast shape.
  return {
    bytesReadSingle: 0, bytesReadVector: 0, bytesWritten: 0, filesOpened: 0, filesClosed: 0, filesClosedForced: 0, readCalls: 0,
    readvCalls: 0, fractionSum: 0, fractionCount: 0, transfers: 0, remoteIo: 0, writeCalls: 0, accessesLocal: 0, accessesRemote: 0,
  };
}

/** Adds a cell's figures to a group's totals (exported for the test that it adds every figure). */
export function addCell(totals: Totals, cell: Cell, access: string): void {
  // Written out (keep in step with FIGURE_KEYS): a loop reads the properties by name, several times slower.
  totals.bytesReadSingle += cell.bytesReadSingle;
  totals.bytesReadVector += cell.bytesReadVector;
  totals.bytesWritten += cell.bytesWritten;
  totals.filesOpened += cell.filesOpened;
  totals.filesClosed += cell.filesClosed;
  totals.filesClosedForced += cell.filesClosedForced;
  totals.readCalls += cell.readCalls;
  totals.readvCalls += cell.readvCalls;
  totals.fractionSum += cell.fractionSum;
  totals.fractionCount += cell.fractionCount;
  totals.transfers += cell.transfers;
  totals.remoteIo += cell.remoteIo;
  totals.writeCalls += cell.writeCalls;
  if (access === 'local') totals.accessesLocal += cell.filesOpened;
  if (access === 'remote') totals.accessesRemote += cell.filesOpened;
}

function group<T>(map: Map<string, { tags: T; totals: Totals; slotMs: number }>, key: string, slotMs: number, tags: () => T): Totals {
  let entry = map.get(key);
  if (!entry) {
    entry = { tags: tags(), totals: emptyTotals(), slotMs };
    map.set(key, entry);
  }
  return entry.totals;
}

export interface Report {
  documents: MonitDocument[];
  /** Client hosts whose site is unknown, for the log. */
  unmappedClients: string[];
}

/** Places asked once per host: a report asks for the same few hosts for every cell. */
function memoized(places: Places): Places {
  const known = new Map<string, ClientPlace>();
  return {
    place(host: string): ClientPlace {
      let place = known.get(host);
      if (!place) {
        place = places.place(host);
        known.set(host, place);
      }
      return place;
    },
  };
}

export function buildReport(accounting: Accounting, anyPlaces: Places, documents: DocumentFactory): Report {
  const places = memoized(anyPlaces);
  const unmapped = new Set<string>();
  const serverSiteOf = (site: string | undefined, host: string): string => site ?? places.place(host).site;
  type TransferTags = { server: string; server_site: string; client_domain: string; client_site: string; access: string; access_mode: string; vo: string };
  const transferGroups = new Map<string, { tags: TransferTags; totals: Totals; slotMs: number }>();
  const userGroups = new Map<string, { tags: { user: string; vo: string }; totals: Totals; slotMs: number }>();
  for (const cell of accounting.cells) {
    const client = places.place(cell.clientHost);
    if (client.site === UNKNOWN) unmapped.add(client.hostName);
    const serverSite = serverSiteOf(cell.serverSite, cell.serverHost);
    const access = client.site === UNKNOWN || serverSite === UNKNOWN ? UNKNOWN : client.site === serverSite ? 'local' : 'remote';
    // Keys joined with NUL, as the cells' own keys are.
    const transferKey = `${cell.slotMs}\u0000${cell.server}\u0000${serverSite}\u0000${client.domain}\u0000${client.site}\u0000${access}\u0000${cell.accessMode}\u0000${cell.vo}`;
    const transferTags = (): TransferTags => ({ server: cell.server, server_site: serverSite, client_domain: client.domain, client_site: client.site, access, access_mode: cell.accessMode, vo: cell.vo });
    addCell(group(transferGroups, transferKey, cell.slotMs, transferTags), cell, access);
    addCell(group(userGroups, `${cell.slotMs}\u0000${cell.user}\u0000${cell.vo}`, cell.slotMs, () => ({ user: cell.user, vo: cell.vo })), cell, access);
  }
  const output: MonitDocument[] = [];
  for (const { tags, totals, slotMs } of transferGroups.values()) {
    output.push(
      documents.build(XROOTD_TRANSFERS_TRANSFERS, tags, {
        bytes_read: totals.bytesReadSingle + totals.bytesReadVector,
        bytes_read_single: totals.bytesReadSingle,
        bytes_read_vector: totals.bytesReadVector,
        bytes_written: totals.bytesWritten,
        files_opened: totals.filesOpened,
        files_closed: totals.filesClosed,
        files_closed_forced: totals.filesClosedForced,
        read_calls: totals.readCalls,
        readv_calls: totals.readvCalls,
        write_calls: totals.writeCalls,
        fraction_read_mean: ratio(totals.fractionSum, totals.fractionCount),
      }, slotMs),
    );
  }
  for (const { tags, totals, slotMs } of userGroups.values()) {
    const bytesRead = totals.bytesReadSingle + totals.bytesReadVector;
    output.push(
      documents.build(XROOTD_TRANSFERS_USERS, tags, {
        bytes_read: bytesRead,
        bytes_read_single: totals.bytesReadSingle,
        bytes_read_vector: totals.bytesReadVector,
        bytes_written: totals.bytesWritten,
        write_calls: totals.writeCalls,
        fraction_read_mean: ratio(totals.fractionSum, totals.fractionCount),
        vector_read_ratio: ratio(totals.bytesReadVector, bytesRead),
        accesses_local: totals.accessesLocal,
        accesses_remote: totals.accessesRemote,
        accesses_total: totals.filesOpened,
        local_access_ratio: ratio(totals.accessesLocal, totals.accessesLocal + totals.accessesRemote),
        transfers: totals.transfers,
        remote_io: totals.remoteIo,
        remote_io_ratio: ratio(totals.remoteIo, totals.transfers + totals.remoteIo),
      }, slotMs),
    );
  }
  // Several senders can share a name (a restarted server on a new port is a new sender): sum them.
  const serverGroups = new Map<string, { tags: { server: string; server_site: string }; slotMs: number; packets: number; lost: number; rejected: number; duplicate: number; logins: number; disconnects: number; records: number; open: number; restarted: boolean }>();
  for (const slot of accounting.serverSlots.values()) {
    const tags = { server: slot.server, server_site: serverSiteOf(slot.serverSite, slot.serverHost) };
    const key = `${slot.slotMs}\u0000${tags.server}\u0000${tags.server_site}`;
    const entry = serverGroups.get(key) ?? { tags, slotMs: slot.slotMs, packets: 0, lost: 0, rejected: 0, duplicate: 0, logins: 0, disconnects: 0, records: 0, open: 0, restarted: false };
    entry.packets += slot.packets;
    entry.lost += slot.packetsLost;
    entry.rejected += slot.packetsRejected;
    entry.duplicate += slot.packetsDuplicate;
    entry.logins += slot.logins;
    entry.disconnects += slot.disconnects;
    entry.records += slot.fileRecords;
    entry.open += slot.filesOpen;
    entry.restarted ||= slot.restarted;
    serverGroups.set(key, entry);
  }
  for (const entry of serverGroups.values()) {
    output.push(
      documents.build(XROOTD_TRANSFERS_SERVERS, entry.tags, {
        packets: entry.packets,
        packets_lost: entry.lost,
        packets_rejected: entry.rejected,
        packets_duplicate: entry.duplicate,
        logins: entry.logins,
        disconnects: entry.disconnects,
        file_records: entry.records,
        files_open: entry.open,
        restarted: entry.restarted,
      }, entry.slotMs),
    );
  }
  output.push(...redirectionDocuments(accounting.redirections, places, documents));
  output.push(...gstreamDocuments(accounting.gstream, places, documents));
  output.push(...fileCloseDocuments(accounting.closedFiles, places, documents));
  return { documents: output, unmappedClients: [...unmapped].sort() };
}
