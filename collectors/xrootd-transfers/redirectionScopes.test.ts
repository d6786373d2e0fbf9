import { DocumentFactory } from '../../lib/documents/document';
import { Accounting, emptyState } from './accounting';
import { redirectionDocuments } from './redirections';
import { UNKNOWN, type ClientPlace } from '../../lib/sites/siteTable';

// Crafted packets in 5.5.3's layout, fed to the accounting in chosen orders: which target a redirect
// resolves to, and what scope it gets, must not depend on the order the streams interleave.
const SLOT = Date.UTC(2026, 10, 22, 10, 0);
const RECEIVED = SLOT + 60_000;
const START = 1_795_000_000;
const REDIRECTOR = '127.0.0.1:40001';
const DATA_A = '127.0.0.1:40002';
const DATA_B = '127.0.0.1:40003';

let sequence = 0;
function packet(code: string, body: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.write(code, 0, 'latin1');
  header.writeUInt8(sequence++ & 0xff, 1);
  header.writeUInt16BE(8 + body.length, 2);
  header.writeInt32BE(START, 4);
  return Buffer.concat([header, body]);
}
const map = (code: string, dictId: number, text: string): Buffer => {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(dictId);
  return packet(code, Buffer.concat([id, Buffer.from(text, 'latin1')]));
};
const identification = (host: string, port: number, site: string): Buffer => map('=', 0, `/root.1:1@${host}\n&site=${site}&port=${port}&inst=x&pgm=xrootd&ver=v5.5.3`);
const login = (dictId: number, pid: number, host: string): Buffer => map('u', dictId, `xroot/alice.${pid}:7@${host}\n&x=xrdcp`);
const pathMap = (dictId: number, pid: number, host: string, file: string): Buffer => map('d', dictId, `xroot/alice.${pid}:9@${host}\n${file}`);
/** An f-stream packet holding the disconnect of user `userId`. */
function disconnect(userId: number): Buffer {
  const body = Buffer.alloc(24 + 8);
  body.writeUInt8(2, 0);
  body.writeUInt16BE(24, 2);
  body.writeInt16BE(1, 6);
  body.writeInt32BE(START + 60, 8);
  body.writeInt32BE(START + 61, 12);
  body.writeUInt8(4, 24);
  body.writeUInt16BE(8, 26);
  body.writeUInt32BE(userId, 28);
  return packet('f', body);
}
/** An 'r' packet: openr redirects of user `userId` to host:path, written with the redirector's own port as 5.5.3 does. */
function redirects(entries: Array<{ userId: number; target: string }>): Buffer {
  const parts = [Buffer.from('f000000000000001', 'hex'), Buffer.from([0, 0, 0, 1, 0x6a, 0xfd, 0x1b, 0x80])];
  for (const entry of entries) {
    const slots = Math.ceil((entry.target.length + 1) / 8);
    const head = Buffer.from([0x85, slots, 0x9c, 0x41, 0, 0, 0, 0]);
    head.writeUInt32BE(entry.userId, 4);
    const text = Buffer.alloc(slots * 8);
    text.write(entry.target, 'latin1');
    parts.push(head, text);
  }
  parts.push(Buffer.from([0, 0, 0, 1, 0x6a, 0xfd, 0x1b, 0x81]));
  return packet('r', Buffer.concat(parts));
}

/** Sites by host name, as the site table would say. */
const places = {
  place(host: string): ClientPlace {
    const site = host.endsWith('.site-a.example') ? 'SITE-A' : host.endsWith('.site-c.example') ? 'SITE-C' : UNKNOWN;
    return { hostName: host, domain: UNKNOWN, site };
  },
};

function scopes(order: Array<[string, Buffer]>, topology: Map<string, { cloud?: string }>): Record<string, number> {
  const accounting = new Accounting(emptyState(), { transferPrograms: new Set(['xrdcp']), idleTimeoutMs: 86_400_000 });
  accounting.redirections.useTopology(topology);
  for (const [sender, datagram] of order) accounting.add(RECEIVED, sender, datagram);
  expect(accounting.rejected).toBe(0);
  const documents = redirectionDocuments(accounting.redirections, places, new DocumentFactory({ slotMs: SLOT, host: 'test' }));
  for (const document of documents) expect(document).toMatchObject({ server: 'red.example:40001', server_site: 'REDIRECTOR-SITE', timestamp: SLOT });
  return Object.fromEntries(documents.map((document) => [document.scope as string, document.open_redirects as number]));
}

const CLIENT = 'worker.site-a.example';
const setup: Array<[string, Buffer]> = [
  [REDIRECTOR, identification('red.example', 40001, 'REDIRECTOR-SITE')],
  [DATA_A, identification('data.example', 40002, 'SITE-A')],
  [DATA_B, identification('data.example', 40003, 'SITE-B')],
];

test('each redirect goes to the site of the server where its client opened its path, whatever the order of the streams', () => {
  const logins: Array<[string, Buffer]> = [
    [REDIRECTOR, login(1, 4242, CLIENT)],
    [REDIRECTOR, login(2, 4343, CLIENT)],
  ];
  const opens: Array<[string, Buffer]> = [
    [DATA_A, pathMap(11, 4242, CLIENT, '/store/one')],
    [DATA_B, pathMap(12, 4343, CLIENT, '/store/two')],
  ];
  // Both data servers are on one host, and the records carry the redirector's port: only the opens tell them apart.
  const records: Array<[string, Buffer]> = [[REDIRECTOR, redirects([{ userId: 1, target: 'data.example:/store/one' }, { userId: 2, target: 'data.example:/store/two' }])]];
  const topology = new Map([['SITE-A', { cloud: 'EU' }], ['SITE-B', { cloud: 'US' }]]);
  const expected = { local: 1, other_cloud: 1 };
  expect(scopes([...setup, ...logins, ...opens, ...records], topology)).toEqual(expected);
  expect(scopes([...setup, ...logins, ...records, ...opens], topology)).toEqual(expected);
  // The client disconnected, and its disconnect was decoded before the redirect records of its session.
  expect(scopes([...setup, ...logins, ...opens, [REDIRECTOR, disconnect(1)], [REDIRECTOR, disconnect(2)], ...records], topology)).toEqual(expected);
});

test('without an open: the known servers of the target host when they share a site, else the site table, else unknown', () => {
  const topology = new Map([['SITE-A', { cloud: 'EU' }], ['SITE-C', { cloud: 'EU' }]]);
  const onlyA: Array<[string, Buffer]> = [
    [REDIRECTOR, identification('red.example', 40001, 'REDIRECTOR-SITE')],
    [DATA_A, identification('a.example', 40002, 'SITE-A')],
    [REDIRECTOR, login(1, 4242, CLIENT)],
    [REDIRECTOR, redirects([{ userId: 1, target: 'a.example:/x' }, { userId: 1, target: 'disk.site-c.example:/y' }, { userId: 1, target: 'nowhere.example:/z' }, { userId: 9, target: 'a.example:/x' }])],
  ];
  // a.example: SITE-A (local); disk.site-c.example: SITE-C by the table (same cloud); nowhere.example and an unknown user: unknown.
  expect(scopes(onlyA, topology)).toEqual({ local: 1, same_cloud: 1, unknown: 2 });
  // Two servers of two sites on the target host, and no open to tell: unknown.
  expect(scopes([...setup, [REDIRECTOR, login(1, 4242, CLIENT)], [REDIRECTOR, redirects([{ userId: 1, target: 'data.example:/x' }])]], topology)).toEqual({ unknown: 1 });
});
