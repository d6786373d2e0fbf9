/**
 * Golden tests of access mode, VO, write calls and per-file records: crafted packets (laid out from
 * XrdXrootdMonData.hh by test/packets.ts) go through the queue and the collector; the expected
 * documents are computed here from a table of what each file did, classified by hand.
 */
import path from 'node:path';
import { collectedDocuments } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext } from '../../test/support/collectorContext';
import { readmeDisagreements } from '../../test/support/readme';
import { queuePackets } from '../../test/support/packetQueue';
import { testDir } from '../../test/support/services';
import collector from './collector';
import { closeRecord, disconnectRecord, fileStream, mapPacket, openRecord, transferRecord, type Ops, type Totals } from './test/packets';

const SLOT_0 = Date.UTC(2026, 10, 22, 10, 0);
const SLOT_1 = SLOT_0 + 600_000;
const START = 1_795_000_000;
const SENDER = 'xrootd.example.org:1094';
const SITE = 'SITE_X';
const RULES = `[xrootd-transfers.vo]
atlas = issuer:https://atlas-auth.example/, dn:/DC=org/DC=example/CN=atlas*, path:/atlas/
cms = group:/cms*, appinfo:cmsRun*, path:/store/
`;

const NO_OPS: Ops = { read: 0, readv: 0, write: 0, readvSegments: 0, readMin: 0x7fffffff, readMax: 0, readvMin: 0x7fffffff, readvMax: 0, readvSegmentsMin: 0x7fff, readvSegmentsMax: 0, writeMin: 0x7fffffff, writeMax: 0 };

/** What one file did, and how it must be classified (decided by hand from RULES and the access-mode rule). */
interface Scenario {
  fileId: number;
  user: string;
  userId?: number;
  path?: string;
  size?: number;
  readWrite?: boolean;
  /** xfr totals reported in slot 0 before a close in slot 1. */
  xfr?: Totals;
  close: Totals;
  closeSlot: 0 | 1;
  ops: Ops;
  vo: string;
  provisional: string;
  final: string;
}

const SCENARIOS: Scenario[] = [
  // DN rules come before path rules: /store/ alone would say cms.
  { fileId: 10, user: 'alice', userId: 1, path: '/store/data/a.root', size: 1000, close: { read: 1000, readv: 0, write: 0 }, closeSlot: 0, ops: { ...NO_OPS, read: 2, readMin: 400, readMax: 600 }, vo: 'atlas', provisional: 'copy', final: 'copy' },
  // appinfo before path; a partial vector read.
  { fileId: 11, user: 'bob', userId: 2, path: '/atlas/b.root', size: 5000, close: { read: 0, readv: 3000, write: 0 }, closeSlot: 0, ops: { ...NO_OPS, readv: 3, readvSegments: 12, readvMin: 500, readvMax: 1500, readvSegmentsMin: 2, readvSegmentsMax: 6 }, vo: 'cms', provisional: 'remote_io', final: 'remote_io' },
  // A copy program reading part of a file across two slots: xfr bytes provisional copy, the rest remote_io.
  { fileId: 12, user: 'carol', userId: 3, path: '/atlas/c.root', size: 2000, xfr: { read: 300, readv: 0, write: 0 }, close: { read: 500, readv: 0, write: 0 }, closeSlot: 1, ops: { ...NO_OPS, read: 5, readMin: 100, readMax: 100 }, vo: 'atlas', provisional: 'copy', final: 'remote_io' },
  // A new file written whole.
  { fileId: 13, user: 'dave', userId: 4, path: '/other/d.root', size: 0, readWrite: true, close: { read: 0, readv: 0, write: 4096 }, closeSlot: 0, ops: { ...NO_OPS, write: 2, writeMin: 2048, writeMax: 2048 }, vo: 'unknown', provisional: 'remote_io', final: 'copy' },
  // An existing file updated with a page write: XRootD counts it at the close, min and max stay unset.
  { fileId: 14, user: 'dave', userId: 4, path: '/other/e.root', size: 100, readWrite: true, close: { read: 0, readv: 0, write: 50 }, closeSlot: 0, ops: { ...NO_OPS, write: 1 }, vo: 'unknown', provisional: 'remote_io', final: 'remote_io' },
  // A close whose open was never seen; a page read (xrdcp's default): counted, min and max unset.
  { fileId: 99, user: 'unknown', close: { read: 700, readv: 0, write: 0 }, closeSlot: 0, ops: { ...NO_OPS, read: 1 }, vo: 'unknown', provisional: 'unknown', final: 'unknown' },
];

const LOGINS = [
  { id: 1, text: 'xroot/alice.100:1@node1.example.org\n&p=gsi&n=alice&h=node1&o=&r=&g=&m=/DC=org/DC=example/CN=atlas alice::x&R=v5.5.3&x=xrdcp&y=&I=4' },
  { id: 2, text: 'xroot/bob.200:2@node2.example.org\n&R=v5.5.3&x=cmsRun&y=cmsRun job 7&I=4' },
  { id: 3, text: 'xroot/carol.300:3@node3.example.org\n&R=v5.5.3&x=xrdcp&y=&I=4' },
  { id: 4, text: 'xroot/dave.400:4@node4.example.org\n&R=v5.5.3&x=root.exe&y=&I=6' },
];

function packets(): Array<{ data: Buffer; receivedMs: number; sender: string }> {
  const at0 = SLOT_0 + 60_000;
  const at1 = SLOT_1 + 60_000;
  const seconds = (ms: number): number => Math.floor(ms / 1000);
  const list: Array<{ data: Buffer; receivedMs: number }> = [];
  let other = 0;
  let files = 0;
  list.push({ data: mapPacket('=', other++, START, 0, `xrootd/daemon.1:1@xrootd.example.org\n&site=${SITE}&port=1094&inst=x&pgm=xrootd&ver=v5.5.3`), receivedMs: at0 });
  for (const login of LOGINS) list.push({ data: mapPacket('u', other++, START, login.id, login.text), receivedMs: at0 });
  const opens = SCENARIOS.filter((scenario) => scenario.userId !== undefined).map((scenario) => openRecord(scenario.fileId, scenario.size ?? 0, scenario.readWrite ?? false, scenario.userId ?? 0, scenario.path ?? ''));
  const xfrs = SCENARIOS.filter((scenario) => scenario.xfr).map((scenario) => transferRecord(scenario.fileId, scenario.xfr as Totals));
  const closes0 = SCENARIOS.filter((scenario) => scenario.closeSlot === 0).map((scenario) => closeRecord(scenario.fileId, scenario.close, scenario.ops));
  const closes1 = SCENARIOS.filter((scenario) => scenario.closeSlot === 1).map((scenario) => closeRecord(scenario.fileId, scenario.close, scenario.ops));
  list.push({ data: fileStream(files++, START, seconds(at0) - 1, seconds(at0), [...opens, ...xfrs]), receivedMs: at0 });
  list.push({ data: fileStream(files++, START, seconds(at0) - 1, seconds(at0) + 1, closes0), receivedMs: at0 + 1000 });
  list.push({ data: fileStream(files++, START, seconds(at1) - 1, seconds(at1), [...closes1, ...LOGINS.map((login) => disconnectRecord(login.id))]), receivedMs: at1 });
  return list.map((entry) => ({ ...entry, sender: SENDER }));
}

async function collect(extraConfig: string): Promise<MonitDocument[]> {
  const work = testDir('xrootd-files');
  const queueDir = path.join(work, 'queue');
  await queuePackets(queueDir, packets());
  const config = `[xrootd-transfers]\nqueue_dir = ${queueDir}\n${extraConfig}\n[xrootd-transfers.sites]\nexample.org = ${SITE}\n${RULES}`;
  const context = collectorContext('xrootd-transfers', config, { slotMs: SLOT_1 + 600_000, stateDir: path.join(work, 'state') });
  const result = await collector.collect(context);
  expect(context.problems).toEqual([]);
  return collectedDocuments(result);
}

interface Expected {
  files_opened: number;
  files_closed: number;
  bytes_read: number;
  bytes_read_vector: number;
  bytes_written: number;
  read_calls: number;
  readv_calls: number;
  write_calls: number;
  fractions: number[];
}

/** The transfers figures per (slot, access_mode, vo), summed from the scenarios' own classification. */
function expectedTransfers(): Map<string, Expected> {
  const groups = new Map<string, Expected>();
  const at = (slot: number, mode: string, vo: string): Expected => {
    const key = `${slot} ${mode} ${vo}`;
    const entry = groups.get(key) ?? { files_opened: 0, files_closed: 0, bytes_read: 0, bytes_read_vector: 0, bytes_written: 0, read_calls: 0, readv_calls: 0, write_calls: 0, fractions: [] };
    groups.set(key, entry);
    return entry;
  };
  for (const scenario of SCENARIOS) {
    if (scenario.userId !== undefined) at(SLOT_0, scenario.provisional, scenario.vo).files_opened += 1;
    const before = scenario.xfr ?? { read: 0, readv: 0, write: 0 };
    if (scenario.xfr) {
      const early = at(SLOT_0, scenario.provisional, scenario.vo);
      early.bytes_read += before.read + before.readv;
      early.bytes_read_vector += before.readv;
      early.bytes_written += before.write;
    }
    const late = at(scenario.closeSlot === 0 ? SLOT_0 : SLOT_1, scenario.final, scenario.vo);
    late.files_closed += 1;
    late.bytes_read += scenario.close.read + scenario.close.readv - before.read - before.readv;
    late.bytes_read_vector += scenario.close.readv - before.readv;
    late.bytes_written += scenario.close.write - before.write;
    late.read_calls += scenario.ops.read;
    late.readv_calls += scenario.ops.readv;
    late.write_calls += scenario.ops.write;
    if (scenario.size) late.fractions.push((scenario.close.read + scenario.close.readv) / scenario.size);
  }
  return groups;
}

describe('access mode, VO and write calls (crafted packets, rules of [xrootd-transfers.vo])', () => {
  let documents: MonitDocument[];
  beforeAll(async () => {
    documents = await collect('');
  });

  test('transfers documents: bytes and counts by access_mode and vo as the rules say', () => {
    const transfers = documents.filter((document) => document.type === 'transfers');
    const got = new Map(transfers.map((document) => [`${document.timestamp} ${document.access_mode} ${document.vo}`, document]));
    const expected = expectedTransfers();
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, want] of expected) {
      const document = got.get(key) as MonitDocument;
      const { fractions, ...figures } = want;
      expect({ key, ...document }).toMatchObject({ key, ...figures });
      const mean = fractions.length ? fractions.reduce((sum, value) => sum + value, 0) / fractions.length : undefined;
      expect(document.fraction_read_mean).toBe(mean);
    }
    // The adopted close has no client: its site, and so its access, are unknown; the others are local.
    expect(transfers.filter((document) => document.access !== 'local').map((document) => [document.access_mode, document.client_site])).toEqual([['unknown', 'unknown']]);
    // Each byte once: the documents add up to the files' own totals.
    const sum = (field: string): number => transfers.reduce((total, document) => total + (document[field] as number), 0);
    expect(sum('bytes_read')).toBe(1000 + 3000 + 500 + 700);
    expect(sum('bytes_written')).toBe(4096 + 50);
  });

  test('users documents: write_calls, and transfers/remote_io are the files closed as copy/remote_io', () => {
    const users = documents.filter((document) => document.type === 'users');
    const pick = (document: MonitDocument): unknown[] => [document.timestamp === SLOT_0 ? 0 : 1, document.user, document.vo, document.bytes_read, document.bytes_written, document.write_calls, document.transfers, document.remote_io];
    expect(users.map(pick).sort()).toEqual(
      [
        [0, 'alice', 'atlas', 1000, 0, 0, 1, 0],
        [0, 'bob', 'cms', 3000, 0, 0, 0, 1],
        [0, 'carol', 'atlas', 300, 0, 0, 0, 0],
        [1, 'carol', 'atlas', 200, 0, 0, 0, 1],
        [0, 'dave', 'unknown', 0, 4146, 3, 1, 1],
        [0, 'unknown', 'unknown', 700, 0, 0, 0, 0],
      ].sort(),
    );
  });

  test('no per-file records unless file_records = on', () => {
    expect(documents.filter((document) => document.producer === 'xrootd-files')).toEqual([]);
  });
});

describe('per-file records (file_records = on)', () => {
  let closes: MonitDocument[];
  beforeAll(async () => {
    closes = (await collect('file_records = on')).filter((document) => document.producer === 'xrootd-files');
  });

  test('one document per close, with the file, the client and its statistics as fields', () => {
    expect(closes).toHaveLength(SCENARIOS.length);
    for (const scenario of SCENARIOS) {
      const document = closes.find((candidate) => candidate.file_name === scenario.path && candidate.read_bytes === scenario.close.read + scenario.close.readv && candidate.write_bytes === scenario.close.write);
      expect(document).toMatchObject({ type: 'closes', vo: scenario.vo, access_mode: scenario.final, user: scenario.user });
    }
    const alice = closes.find((document) => document.user === 'alice');
    expect(alice).toMatchObject({
      file_name: '/store/data/a.root', file_size: 1000, user_dn: '/DC=org/DC=example/CN=atlas alice', protocol: 'gsi', app_name: 'xrdcp',
      client_host: 'node1.example.org', server_site: SITE, client_site: SITE, access: 'local', operation: 'read',
      read_single_bytes: 1000, read_vector_bytes: 0, read_single_operations: 2, read_single_min: 400, read_single_max: 600, fraction_read: 1, read_write: false, forced: false,
    });
    expect(alice).not.toHaveProperty('read_vector_min');
    expect(closes.find((document) => document.user === 'bob')).toMatchObject({ appinfo: 'cmsRun job 7', read_vector_segments: 12, read_vector_count_min: 2, read_vector_count_max: 6, read_vector_min: 500, read_vector_max: 1500, fraction_read: 0.6 });
    expect(closes.find((document) => document.file_name === '/other/d.root')).toMatchObject({ operation: 'write', write_operations: 2, write_min: 2048, write_max: 2048, read_write: true });
    const adopted = closes.find((document) => document.file_name === undefined);
    expect(adopted).toMatchObject({ user: 'unknown', access_mode: 'unknown' });
    expect(adopted).not.toHaveProperty('file_size');
    expect(adopted).not.toHaveProperty('open_time');
  });

  test("XRootD's unset min and max (0x7fffffff and 0) are left out, the counts kept", () => {
    const pageWrite = closes.find((document) => document.file_name === '/other/e.root');
    expect(pageWrite).toMatchObject({ write_operations: 1, write_bytes: 50 });
    expect(pageWrite).not.toHaveProperty('write_min');
    expect(pageWrite).not.toHaveProperty('write_max');
    const pageRead = closes.find((document) => document.file_name === undefined);
    expect(pageRead).toMatchObject({ read_single_operations: 1, read_single_bytes: 700 });
    expect(pageRead).not.toHaveProperty('read_single_min');
    expect(pageRead).not.toHaveProperty('read_single_max');
    // No placeholder anywhere: every pair present is a real min <= max.
    const pairs = [['read_single_min', 'read_single_max'], ['read_vector_min', 'read_vector_max'], ['read_vector_count_min', 'read_vector_count_max'], ['write_min', 'write_max']];
    for (const document of closes) {
      for (const [min, max] of pairs) {
        expect([min in document, max in document]).toEqual([max in document, min in document]);
        if (min in document) expect(document[min] as number).toBeLessThanOrEqual(document[max] as number);
      }
    }
  });

  test('file names, users and DNs are never tags', () => {
    expect(closes.length).toBe(SCENARIOS.length);
    for (const document of closes) {
      expect(document.idb_tags).toEqual(expect.not.arrayContaining(['file_name', 'user', 'user_dn', 'client_host', 'appinfo']));
      expect(Object.values(document.idb_tags as string[]).join(' ')).not.toMatch(/root|alice/);
    }
  });

  test("stamped with the close's packet time, one millisecond apart when closes share it", () => {
    const closeSecond0 = Math.floor((SLOT_0 + 60_000) / 1000) + 1;
    const times = closes.map((document) => document.timestamp as number);
    const inSlot0 = times.filter((time) => time < SLOT_1).sort();
    expect(inSlot0).toEqual([0, 1, 2, 3, 4].map((index) => closeSecond0 * 1000 + index));
    const carol = closes.find((document) => document.user === 'carol') as MonitDocument;
    expect(carol.timestamp).toBe(Math.floor((SLOT_1 + 60_000) / 1000) * 1000);
    const opened = Math.floor((SLOT_0 + 60_000) / 1000) * 1000;
    expect(carol).toMatchObject({ close_time: carol.timestamp, open_time: opened, duration: (carol.timestamp as number) - opened });
    // The others opened in one packet and closed in the next, received 1 s later: the same duration
    // for each, whatever offset keeps their close times apart.
    const closesPacketMs = (SLOT_0 + 60_000) + 1000;
    const durations = closes.filter((document) => document.timestamp !== carol.timestamp && document.open_time !== undefined).map((document) => document.duration);
    expect(durations).toEqual([closesPacketMs - opened, closesPacketMs - opened, closesPacketMs - opened, closesPacketMs - opened]);
    expect(new Set(closes.map((document) => document._id)).size).toBe(closes.length);
  });
});

test('README lists every tag and field of the per-file records', () => {
  expect(readmeDisagreements(path.join(__dirname, 'README.md'), [{ producer: 'xrootd-files', type: 'closes' }])).toEqual([]);
});
