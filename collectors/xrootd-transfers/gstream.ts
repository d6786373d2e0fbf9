/**
 * The g-stream ('g' packets, XrdXrootdMonGS): third-party-copy (tpc) and XCache (pfc) events and
 * their accounting. Skeleton: decoding, accounting and documents are filled in by the g-stream work.
 */
import type { DocumentFactory } from '../../lib/documents/document';
import type { MonitDocument } from '../../lib/documents/types';
import type { ServerState } from './accounting';
import type { PacketHeader } from './protocol';
import type { Places } from './report';

/** What a 'g' packet holds after its header. */
export interface GStreamEvents {
  /** Window covered by the packet (Unix s), for slotting by packet time. */
  begin: number;
  end: number;
}

/** Decodes the body of a 'g' packet; throws PacketError when it does not follow the layout. */
export function parseGStreamPacket(_packet: Buffer): GStreamEvents {
  return { begin: 0, end: 0 };
}

/** Per-slot TPC and cache figures of one run. */
export class GStreamAccounting {
  add(_server: ServerState, _packet: GStreamEvents & { header: PacketHeader }, _slotMs: number): void {}
}

export function gstreamDocuments(_gstream: GStreamAccounting, _places: Places, _documents: DocumentFactory): MonitDocument[] {
  return [];
}
