/**
 * Redirect records of the detailed stream ('r' packets, XrdXrootdMonRedir) and their accounting by
 * scope. Skeleton: decoding, accounting and documents are filled in by the redirections work.
 */
import type { DocumentFactory } from '../../lib/documents/document';
import type { MonitDocument } from '../../lib/documents/types';
import type { ServerState } from './accounting';
import type { PacketHeader } from './protocol';
import type { Places } from './report';

/** What an 'r' packet holds after its header. */
export interface RedirectRecords {
  /** Window covered by the packet (Unix s), for slotting by packet time. */
  begin: number;
  end: number;
}

/** Decodes the body of an 'r' packet; throws PacketError when it does not follow the layout. */
export function parseRedirectPacket(_packet: Buffer): RedirectRecords {
  return { begin: 0, end: 0 };
}

/** Per-slot redirection counts of one run. */
export class RedirectionAccounting {
  add(_server: ServerState, _packet: RedirectRecords & { header: PacketHeader }, _slotMs: number): void {}
}

export function redirectionDocuments(_redirections: RedirectionAccounting, _places: Places, _documents: DocumentFactory): MonitDocument[] {
  return [];
}
