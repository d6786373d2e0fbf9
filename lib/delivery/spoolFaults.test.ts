import { readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Sender, type SenderOptions } from './sender';
import { Spool } from './spool';
import type { MonitDocument } from '../documents/types';
import { testDir } from '../../test/support/services';
import { fillDisk, freeBytesOn, mountTmpfs, unmountTmpfs } from '../../test/support/tmpfs';
import { testSender } from '../../test/support/gateway';
import { useInfluxAndGateway } from '../../test/support/fixtures';

const DATABASE = 'monit_production_test_producer';
const slot = Math.floor(Date.now() / 600_000) * 600_000 - 3_600_000;

const servers = useInfluxAndGateway();

/** Documents of distinct series (one node each) on `site`; without a timestamp unless one is given. */
function documents(site: string, count: number, timestamp?: number): MonitDocument[] {
  return Array.from({ length: count }, (_, index) => ({
    producer: 'test-producer',
    type: 'sample',
    ...(timestamp === undefined ? {} : { timestamp }),
    idb_tags: ['site', 'node'],
    idb_fields: ['count'],
    site,
    node: `n${index}`,
    count: index,
  }));
}

function sender(spool: Spool, overrides: Partial<SenderOptions> = {}): Sender {
  return testSender(servers.gateway.url, spool, overrides);
}

const deliver = (spool: Spool) => sender(spool).deliver({ deadlineMs: Date.now() + 30_000 });

/** The points stored for `site`: node → time (epoch ms). */
async function storedTimes(site: string): Promise<Map<string, number>> {
  const rows = await servers.influx.client.rows(`SELECT "count", "node" FROM "sample" WHERE "site" = '${site}'`, { database: DATABASE });
  return new Map(rows.map((row) => [row.node as string, row.time as number]));
}

async function storedPoints(site: string): Promise<number> {
  const rows = await servers.influx.client.rows(`SELECT "count" FROM "sample" WHERE "site" = '${site}'`, { database: DATABASE });
  return rows.length;
}

/** Requests the gateway answered on its ingest path, whatever the status. */
async function ingestRequests(): Promise<number> {
  const { values } = await servers.gateway.gateway.metrics.requests.get();
  return values.filter((value) => value.labels.path === 'ingest').reduce((sum, value) => sum + value.value, 0);
}

const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('documents without a timestamp', () => {
  it('are stamped once as they enter the spool, so a replay of the same file stores no second copy', async () => {
    const spool = new Spool(testDir('unstamped'));
    const unstamped = documents('unstamped', 5);
    const stamped = documents('unstamped', 1, slot).map((document) => ({ ...document, node: 'given' }));
    const before = Date.now();
    expect(sender(spool).enqueue([...unstamped, ...stamped])).toBe(6);
    const after = Date.now();
    const [entry, ...others] = spool.list();
    expect(others).toEqual([]);
    const spooledBytes = spool.readBytes(entry.name);

    expect(await deliver(spool)).toMatchObject({ documentsSent: 6, documentsRejected: 0, documentsSpooled: 0 });
    // The answer to the first send was lost: the same file is sent again (a later request, so a later arrival).
    while (Date.now() <= after + 1) await new Promise((resolve) => setTimeout(resolve, 2));
    writeFileSync(path.join(spool.dir, entry.name), spooledBytes);
    expect(await deliver(spool)).toMatchObject({ documentsSent: 6, documentsRejected: 0, documentsSpooled: 0 });

    const spooled = JSON.parse(spooledBytes.toString('utf8')) as MonitDocument[];
    const times = await storedTimes('unstamped');
    expect(times.size).toBe(6);
    expect(await storedPoints('unstamped')).toBe(6);
    expect(new Map(spooled.map((document) => [document.node as string, document.timestamp]))).toEqual(times);
    for (const document of spooled.slice(0, 5)) {
      expect(document.timestamp).toBeGreaterThanOrEqual(before);
      expect(document.timestamp).toBeLessThanOrEqual(after);
    }
    expect(times.get('given')).toBe(slot); // a timestamp given is kept
    // The stamp is on what was spooled, not on the caller's objects.
    expect(unstamped.filter((document) => 'timestamp' in document)).toEqual([]);
    expect(spooled.map(({ timestamp, ...rest }) => (timestamp === slot ? { timestamp, ...rest } : rest))).toEqual([...unstamped, ...stamped]);
  });
});

describe('a spool file that is not an array of documents', () => {
  const object = JSON.stringify(documents('misshapen', 1, slot)[0]);
  const array = JSON.stringify(documents('misshapen', 3, slot));
  const nestedEnd = array.indexOf(']') + 1; // just after the first document's idb_tags
  const cases: Array<{ what: string; name: string; content: string; rejected: number; posted: number; reason: RegExp }> = [
    { what: 'an object (named for 3 documents)', name: 'n3', content: object, rejected: 3, posted: 0, reason: /it does not start with \[ \(\d+ bytes\)/ },
    { what: 'an object (name without a count)', name: '', content: object, rejected: 1, posted: 0, reason: /holds a JSON object, not an array of documents/ },
    { what: 'a number', name: 'n3', content: '42\n', rejected: 3, posted: 0, reason: /it does not start with \[ \(3 bytes\)/ },
    { what: 'a number (name without a count)', name: '', content: '42', rejected: 1, posted: 0, reason: /holds a JSON number/ },
    { what: 'a string', name: 'n3', content: '"[]"', rejected: 3, posted: 0, reason: /it does not start with \[ \(4 bytes\)/ },
    { what: 'an array of numbers (name without a count)', name: '', content: '[1, 2]', rejected: 2, posted: 0, reason: /item 0 is not a document object/ },
    { what: 'an array truncated inside a document', name: 'n3', content: array.slice(0, array.length - 20), rejected: 3, posted: 0, reason: /it starts with \[ but does not end with \]: cut short\?/ },
    // Ends on a nested ]: the cheap check lets it through, the gateway refuses it as invalid JSON (HTTP 400).
    { what: 'an array truncated just after a nested ]', name: 'n3', content: array.slice(0, nestedEnd), rejected: 3, posted: 1, reason: /HTTP 400.*not valid JSON/ },
    { what: 'an empty file', name: 'n3', content: '', rejected: 3, posted: 0, reason: /it is empty \(0 bytes\)/ },
    { what: 'an empty file (name without a count)', name: '', content: '', rejected: 0, posted: 0, reason: /unreadable spool file: Unexpected end of JSON input/ },
  ];

  it.each(cases)('$what goes to rejected/ whole with its reason, counted as rejected, never as sent', async ({ name, content: template, rejected, posted, reason }) => {
    const spool = new Spool(testDir('misshapen'));
    const site = path.basename(spool.dir); // one site per case: nothing stored by one case hides in another's count
    const content = template.replaceAll('"misshapen"', JSON.stringify(site));
    const file = `000001795341600000-0000001-000001${name ? `-${name}` : ''}.json`;
    writeFileSync(path.join(spool.dir, file), content);
    const requestsBefore = await ingestRequests();
    const report = await deliver(spool);
    expect(report).toMatchObject({ documentsSent: 0, documentsRejected: rejected, documentsSpooled: 0 });
    expect(await ingestRequests()).toBe(requestsBefore + posted);
    expect(spool.list()).toEqual([]);
    expect(readdirSync(spool.rejectedDir).sort()).toEqual([file, `${file}.reason.txt`]);
    expect(readFileSync(path.join(spool.rejectedDir, file), 'utf8')).toBe(content);
    expect(readFileSync(path.join(spool.rejectedDir, `${file}.reason.txt`), 'utf8')).toMatch(reason);
    expect(await storedPoints(site)).toBe(0);
  });

  it('a batch holding fewer documents than its name says is counted by what the gateway accepted', async () => {
    const spool = new Spool(testDir('miscounted'));
    writeFileSync(path.join(spool.dir, '000001795341600000-0000001-000001-n5.json'), JSON.stringify(documents('miscounted', 3, slot)));
    expect(await deliver(spool)).toMatchObject({ documentsSent: 3, documentsRejected: 0, documentsSpooled: 0 });
    expect(await storedPoints('miscounted')).toBe(3);
  });
});

describe('a full disk', () => {
  let mountpoint: string;
  beforeAll(() => {
    mountpoint = testDir('disk-full');
    mountTmpfs(mountpoint, 'size=1m');
  });
  afterAll(unmountTmpfs);

  const spoolFolder = (spool: Spool): string[] => readdirSync(spool.dir).sort();

  it('an enqueue names the batch file and the free space, leaves no partial batch, and the spool works once space is freed', async () => {
    const spool = new Spool(path.join(mountpoint, 'spool', 'web'));
    sender(spool).enqueue(documents('disk-full', 10, slot)); // already waiting before the disk fills
    const waiting = spoolFolder(spool);
    const waitingBytes = spool.readBytes(spool.list()[0].name);
    const filler = fillDisk(mountpoint, 'filler');
    expect(freeBytesOn(spool.dir)).toBe(0);

    const more = documents('disk-full', 300, slot).slice(10);
    const attempt = (): number => sender(spool).enqueue(more);
    expect(attempt).toThrow(
      new RegExp(`^cannot write spool batch ${escaped(spool.dir)}/\\.staged-\\d+-\\d+-\\d+-s\\d+\\.json: no space left on device \\(ENOSPC\\), 0 bytes free on the file system of ${escaped(spool.dir)}$`),
    );
    expect(spoolFolder(spool)).toEqual(waiting);

    // Room for some batches but not all: those written are removed too (never a half batch in the spool).
    const room = 24 * 1024;
    truncateSync(filler, statSync(filler).size - room);
    expect(freeBytesOn(spool.dir)).toBe(room);
    let message = '';
    try {
      attempt();
    } catch (error) {
      message = (error as Error).message;
    }
    const figure = /^cannot write spool batch .*: no space left on device \(ENOSPC\), (\d+) bytes free on the file system of /.exec(message);
    expect(figure).not.toBeNull();
    expect(Number(figure?.[1])).toBeLessThan(room);
    expect(spoolFolder(spool)).toEqual(waiting);
    expect(freeBytesOn(spool.dir)).toBe(room); // what was staged is gone

    rmSync(filler);
    expect(spool.readBytes(spool.list()[0].name)).toEqual(waitingBytes);
    expect(attempt()).toBe(290);
    expect(await deliver(spool)).toMatchObject({ documentsSent: 300, documentsRejected: 0, documentsSpooled: 0 });
    expect(await storedPoints('disk-full')).toBe(300);
    expect(spoolFolder(spool)).toEqual(['rejected']);
  });
});
