/**
 * What a keytab and a credential cache say about themselves, for clear errors before the first request:
 * the principals of a keytab, the principal of a ccache and the end time of its ticket-granting ticket.
 * Only names and times are read, never keys. The layouts are MIT's, documented in "Keytab file format"
 * and "Credential cache file format" (web.mit.edu/kerberos/krb5-latest/doc/formats/).
 */

/** A keytab or ccache that does not have the expected layout. */
export class KerberosFileError extends Error {
  override name = 'KerberosFileError';
}

class Reader {
  private at = 0;
  constructor(private readonly bytes: Buffer) {}

  get offset(): number {
    return this.at;
  }

  get left(): number {
    return this.bytes.length - this.at;
  }

  private need(count: number): void {
    if (count < 0 || this.at + count > this.bytes.length) throw new KerberosFileError(`cut short at byte ${this.at}`);
  }

  uint8(): number {
    this.need(1);
    return this.bytes.readUInt8(this.at++);
  }

  uint16(): number {
    this.need(2);
    const value = this.bytes.readUInt16BE(this.at);
    this.at += 2;
    return value;
  }

  uint32(): number {
    this.need(4);
    const value = this.bytes.readUInt32BE(this.at);
    this.at += 4;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.bytes.readInt32BE(this.at);
    this.at += 4;
    return value;
  }

  text(length: number): string {
    this.need(length);
    const value = this.bytes.toString('utf8', this.at, this.at + length);
    this.at += length;
    return value;
  }

  skip(length: number): void {
    this.need(length);
    this.at += length;
  }

  seek(offset: number): void {
    if (offset > this.bytes.length) throw new KerberosFileError(`cut short at byte ${this.at}`);
    this.at = offset;
  }
}

/** "HTTP/host@REALM" from components and realm. */
function principalName(components: string[], realm: string): string {
  return `${components.join('/')}@${realm}`;
}

/**
 * The distinct principals of a keytab, in file order. Version 2 (0x0502) is what MIT and Java's ktab
 * write; version 1 (native byte order) is refused.
 */
export function keytabPrincipals(bytes: Buffer): string[] {
  const reader = new Reader(bytes);
  if (reader.left < 2 || reader.uint8() !== 5) throw new KerberosFileError('not a keytab (it does not start with 0x05)');
  const version = reader.uint8();
  if (version !== 2) throw new KerberosFileError(`keytab version ${version}: only version 2 is read`);
  const principals: string[] = [];
  while (reader.left >= 4) {
    const size = reader.int32();
    // A negative size is a hole left by a removed entry.
    if (size <= 0) {
      reader.skip(-size);
      continue;
    }
    const end = reader.offset + size;
    const count = reader.uint16();
    const realm = reader.text(reader.uint16());
    const components: string[] = [];
    for (let index = 0; index < count; index++) components.push(reader.text(reader.uint16()));
    const name = principalName(components, realm);
    if (!principals.includes(name)) principals.push(name);
    reader.seek(end);
  }
  return principals;
}

/** What a credential cache holds, without its keys. */
export interface CcacheSummary {
  /** The default principal: whose tickets these are. */
  principal: string;
  /** The end time of the ticket-granting ticket of the principal's realm, UTC ms; undefined without one. */
  ticketEndMs?: number;
}

function ccachePrincipal(reader: Reader): { components: string[]; realm: string } {
  reader.uint32(); // name type
  const count = reader.uint32();
  const realm = reader.text(reader.uint32());
  const components: string[] = [];
  for (let index = 0; index < count; index++) components.push(reader.text(reader.uint32()));
  return { components, realm };
}

function skipCounted(reader: Reader): void {
  reader.skip(reader.uint32());
}

/** The principal and ticket-granting ticket end of a FILE credential cache, versions 3 and 4 (MIT's own). */
export function ccacheSummary(bytes: Buffer): CcacheSummary {
  const reader = new Reader(bytes);
  if (reader.left < 2 || reader.uint8() !== 5) throw new KerberosFileError('not a credential cache (it does not start with 0x05)');
  const version = reader.uint8();
  if (version !== 3 && version !== 4) throw new KerberosFileError(`credential cache version ${version}: only versions 3 and 4 are read`);
  if (version === 4) reader.skip(reader.uint16()); // header tags (clock offset)
  const owner = ccachePrincipal(reader);
  const summary: CcacheSummary = { principal: principalName(owner.components, owner.realm) };
  while (reader.left > 0) {
    ccachePrincipal(reader); // client
    const server = ccachePrincipal(reader);
    reader.uint16(); // key type
    if (version === 3) reader.uint16(); // repeated in version 3
    skipCounted(reader); // the key: skipped, never read
    reader.uint32(); // auth time
    reader.uint32(); // start time
    const endSeconds = reader.uint32();
    reader.uint32(); // renew until
    reader.uint8(); // is session key
    reader.uint32(); // flags
    for (let addresses = reader.uint32(); addresses > 0; addresses--) {
      reader.uint16();
      skipCounted(reader);
    }
    for (let data = reader.uint32(); data > 0; data--) {
      reader.uint16();
      skipCounted(reader);
    }
    skipCounted(reader); // ticket
    skipCounted(reader); // second ticket
    const isGrantingTicket = server.components.length === 2 && server.components[0] === 'krbtgt' && server.components[1] === owner.realm && server.realm === owner.realm;
    if (isGrantingTicket) summary.ticketEndMs = endSeconds * 1000;
  }
  return summary;
}
