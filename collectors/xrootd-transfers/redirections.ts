/**
 * Redirect records of the detailed stream ('r' packets, XrdXrootdMonBurr/XrdXrootdMonRedir of
 * XrdXrootdMonData.hh) and their counts by scope: where the client was sent against where it is.
 */
import { slotStart } from '../../lib/run/slot';
import type { DocumentFactory } from '../../lib/documents/document';
import type { MonitDocument } from '../../lib/documents/types';
import { XROOTD_TRANSFERS_REDIRECTIONS } from '../../schemas/kinds';
import type { ServerState } from './accounting';
import { HEADER_BYTES, PacketError, type ClientLogin, type PacketHeader } from './protocol';
import type { Places } from './report';
import { normaliseHost, UNKNOWN } from '../../lib/sites/siteTable';
import { redirectionScope, type Topology } from './topology';

const ENTRY_BYTES = 8;
/** After the header: the server id, whose top byte is XROOTD_MON_REDSID. */
const SERVER_ID_BYTES = 8;
const SERVER_ID_MARK = 0xf0;
const TIME_MARK = 0x00;
const REDIRECT = 0x80;
const REDIRECT_LOCAL = 0x90;

/** The low 4 bits of a redirect entry's type: the request that was redirected (XROOTD_MON_CHMOD...). */
const OPERATIONS = ['', 'chmod', 'locate', 'opendir', 'openc', 'openr', 'openw', 'mkdir', 'mv', 'prep', 'query', 'rm', 'rmdir', 'stat', 'trunc'];
const OPENS = new Set(['openc', 'openr', 'openw']);

export interface RedirectRecord {
  /** The redirected request: openr, openw, stat, locate, ... */
  operation: string;
  /** Sent to a route of the server's own configuration (XROOTD_MON_REDLOCAL), not one its cmsd chose. */
  configuredRoute: boolean;
  /** The client session's user dictid at the redirecting server (0 without user monitoring). */
  userId: number;
  /** Where the client was sent, and the port XRootD wrote: 5.5 writes its own port on synchronous redirects. */
  host: string;
  port: number;
  path: string;
  /** Start of the window the redirect happened in (Unix s). */
  time: number;
}

/** What an 'r' packet holds after its header. */
export interface RedirectRecords {
  /** Window covered by the packet (Unix s), for slotting by packet time. */
  begin: number;
  end: number;
  redirects: RedirectRecord[];
}

/** "host:path" of a redirect entry; an IPv6 host is in brackets, a missing host is empty. */
function splitTarget(text: string): { host: string; path: string } {
  const hostEnd = text.startsWith('[') ? text.indexOf(']') + 1 : 0;
  const colon = text.indexOf(':', hostEnd);
  if (hostEnd < 0 || colon < 0) throw new PacketError(`redirect target "${text.slice(0, 80)}" is not host:path`);
  return { host: text.slice(0, colon), path: text.slice(colon + 1) };
}

/** Decodes the body of an 'r' packet; throws PacketError when it does not follow the layout. */
export function parseRedirectPacket(packet: Buffer): RedirectRecords {
  // Computed here, not at load: protocol.ts and this module import each other.
  const bodyOffset = HEADER_BYTES + SERVER_ID_BYTES;
  if (packet.length < bodyOffset + ENTRY_BYTES) throw new PacketError(`redirect packet of ${packet.length} bytes holds no entry`);
  if (packet[HEADER_BYTES] !== SERVER_ID_MARK) throw new PacketError(`redirect packet's server id starts with 0x${packet[HEADER_BYTES].toString(16)}, not 0xf0`);
  if ((packet.length - bodyOffset) % ENTRY_BYTES !== 0) throw new PacketError(`redirect packet of ${packet.length} bytes is not whole 8-byte entries`);
  const redirects: RedirectRecord[] = [];
  let begin: number | undefined;
  let time: number | undefined;
  let offset = bodyOffset;
  while (offset < packet.length) {
    const type = packet[offset];
    if (type === TIME_MARK) {
      time = packet.readInt32BE(offset + 4);
      begin ??= time;
      offset += ENTRY_BYTES;
      continue;
    }
    const kind = type & 0xf0;
    const operation = OPERATIONS[type & 0x0f];
    if ((kind !== REDIRECT && kind !== REDIRECT_LOCAL) || !operation) throw new PacketError(`redirect entry at byte ${offset} has unknown type 0x${type.toString(16)}`);
    if (time === undefined) throw new PacketError(`redirect entry at byte ${offset} comes before any time mark`);
    const slots = packet[offset + 1];
    const textEnd = offset + ENTRY_BYTES * (slots + 1);
    if (slots === 0 || textEnd > packet.length) throw new PacketError(`redirect entry at byte ${offset} declares ${slots} target slots, past the packet end`);
    const raw = packet.toString('latin1', offset + ENTRY_BYTES, textEnd);
    const nul = raw.indexOf('\0');
    const target = splitTarget(nul < 0 ? raw : raw.slice(0, nul));
    redirects.push({
      operation,
      configuredRoute: kind === REDIRECT_LOCAL,
      userId: packet.readUInt32BE(offset + 4),
      host: target.host,
      port: packet.readUInt16BE(offset + 2),
      path: target.path,
      time,
    });
    offset = textEnd;
  }
  if (begin === undefined || time === undefined) throw new PacketError('redirect packet without a time mark');
  return { begin, end: time, redirects };
}

/** One redirect as the redirecting server saw it, with its client as known when the packet came. */
interface RedirectEvent {
  slotMs: number;
  redirector: ServerState;
  /** The redirector's own port, which 5.5 writes into synchronous redirects. */
  redirectorPort: string;
  operation: string;
  clientHost: string | undefined;
  clientPid: number | undefined;
  targetHost: string;
  targetPort: number;
  path: string;
}

/** A client's open at a server, as its path map ('d' packet) tells it. */
interface ObservedOpen {
  server: ServerState;
  clientHost: string;
  clientPid: number;
  path: string;
  slotMs: number;
  claimed: boolean;
}

function openKey(path: string, clientPid: number, clientHost: string): string {
  return `${clientPid}\u0000${clientHost}\u0000${path}`;
}

/** The open a redirect caused comes in the same slot or the next (or the one before: redirect records are flushed later). */
const OPEN_MATCH_MS = 10 * 60_000;

/** Per-slot redirection counts of one run: events are kept and resolved when the run ends. */
export class RedirectionAccounting {
  private readonly events: RedirectEvent[] = [];
  /** Logins of this run by server and user dictid: a disconnect may be decoded before the redirect records of its session. */
  private readonly logins = new WeakMap<ServerState, Map<number, { host: string; pid: number }>>();
  /** Opens by path, client pid and client host, each list in the order observed (targetSite takes the first that fits). */
  private readonly opens = new Map<string, ObservedOpen[]>();
  /** @param knownServers every server of the accounting state, read when the run ends. */
  constructor(private readonly knownServers: () => ServerState[] = () => []) {}

  private topology: Topology = new Map();

  /** The site → cloud, country, federation table the scopes are computed with. */
  useTopology(topology: Topology): void {
    this.topology = topology;
  }

  /** Redirect hosts met, for the site mapper's reverse look-ups. */
  targetHosts(): string[] {
    return [...new Set(this.events.map((event) => event.targetHost).filter(Boolean))];
  }

  add(server: ServerState, packet: RedirectRecords & { header: PacketHeader }, slotMs: number): void {
    for (const redirect of packet.redirects) {
      const session = server.users[redirect.userId];
      const pid = session ? /\.(\d+):[^@]*@/.exec(session.loginKey) : null;
      const client = this.logins.get(server)?.get(redirect.userId) ?? (session ? { host: session.host, pid: pid ? Number(pid[1]) : undefined } : undefined);
      this.events.push({
        slotMs,
        redirector: server,
        redirectorPort: server.name.slice(server.name.lastIndexOf(':') + 1),
        operation: redirect.operation,
        clientHost: client?.host,
        clientPid: client?.pid,
        targetHost: normaliseHost(redirect.host),
        targetPort: redirect.port,
        path: redirect.path,
      });
    }
  }

  /** A user login ('u' packet): who the redirect records' user dictid names. */
  observeLogin(server: ServerState, dictId: number, login: ClientLogin): void {
    let logins = this.logins.get(server);
    if (!logins) {
      logins = new Map();
      this.logins.set(server, logins);
    }
    logins.set(dictId, { host: login.host, pid: login.pid });
  }

  /** A path map packet: which client opened which file at which server (the open a redirect led to). */
  observeOpen(server: ServerState, login: ClientLogin, path: string, receivedMs: number): void {
    const clientHost = normaliseHost(login.host);
    const key = openKey(path, login.pid, clientHost);
    const open: ObservedOpen = { server, clientHost, clientPid: login.pid, path, slotMs: slotStart(receivedMs), claimed: false };
    const list = this.opens.get(key);
    if (list) list.push(open);
    else this.opens.set(key, [open]);
  }

  /**
   * The server a redirect sent its client to: the server where that client (host and pid) opened that path
   * next, else the one known server of that host:port, else the servers of that host when they share a site.
   */
  private targetSite(event: RedirectEvent, places: Places): string {
    const siteOf = (server: ServerState): string => server.site ?? places.place(server.host).site;
    if (event.clientHost !== undefined && event.clientPid !== undefined && OPENS.has(event.operation)) {
      const clientHost = normaliseHost(event.clientHost);
      const open = this.opens.get(openKey(event.path, event.clientPid, clientHost))?.find(
        (candidate) => !candidate.claimed && candidate.server !== event.redirector && Math.abs(candidate.slotMs - event.slotMs) <= OPEN_MATCH_MS,
      );
      if (open) {
        open.claimed = true;
        return siteOf(open.server);
      }
    }
    const others = this.knownServers().filter((server) => server.name !== event.redirector.name);
    // 5.5 writes the redirector's own port on synchronous redirects: then only the host says anything.
    const portKnown = String(event.targetPort) !== event.redirectorPort;
    const exact = portKnown ? others.filter((server) => normaliseHost(server.name) === `${event.targetHost}:${event.targetPort}`) : [];
    const sameHost = exact.length > 0 ? exact : others.filter((server) => normaliseHost(server.host) === event.targetHost);
    const sites = new Set(sameHost.map(siteOf));
    if (sites.size === 1) return [...sites][0];
    if (sites.size > 1) return UNKNOWN;
    return event.targetHost ? places.place(event.targetHost).site : UNKNOWN;
  }

  /** The counts per (slot, redirector, its site, scope). */
  counts(places: Places): Array<{ slotMs: number; server: string; serverSite: string; scope: string; redirects: number; openRedirects: number }> {
    const groups = new Map<string, { slotMs: number; server: string; serverSite: string; scope: string; redirects: number; openRedirects: number }>();
    for (const event of this.events) {
      const clientSite = event.clientHost === undefined ? UNKNOWN : places.place(event.clientHost).site;
      const scope = redirectionScope(this.topology, clientSite, this.targetSite(event, places));
      const server = event.redirector.name;
      const serverSite = event.redirector.site ?? places.place(event.redirector.host).site;
      const key = [event.slotMs, server, serverSite, scope].join('\u0000');
      const group = groups.get(key) ?? { slotMs: event.slotMs, server, serverSite, scope, redirects: 0, openRedirects: 0 };
      group.redirects += 1;
      if (OPENS.has(event.operation)) group.openRedirects += 1;
      groups.set(key, group);
    }
    return [...groups.values()];
  }
}

export function redirectionDocuments(redirections: RedirectionAccounting, places: Places, documents: DocumentFactory): MonitDocument[] {
  return redirections.counts(places).map((group) =>
    documents.build(XROOTD_TRANSFERS_REDIRECTIONS, { server: group.server, server_site: group.serverSite, scope: group.scope }, { redirects: group.redirects, open_redirects: group.openRedirects }, group.slotMs),
  );
}
