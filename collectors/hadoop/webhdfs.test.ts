import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext } from '../../test/support/collectorContext';
import { freePort } from '../../test/support/ports';
import collector from './collector';
import { readTestdata, TESTDATA, type JmxDump, type Recording } from './recordings';
import { fieldsOf, recordedServer } from './test/recordedServer';

const PATHS = ['/eventindex/data', '/eventindex/tmp', '/user/atlevind', '/eventindex/missing', '/eventindex/private', '/eventindex/broken'];


function byPath(documents: MonitDocument[]): Record<string, MonitDocument> {
  return Object.fromEntries(documents.map((document) => [String(document.path), document]));
}

test('content summaries map to the expected fields; a missing, refused or malformed path fails alone', async () => {
  const nameNode = await recordedServer({ routes: readTestdata<Recording>('webhdfs.json') });
  try {
    const context = collectorContext('hadoop', `[hadoop]\nwebhdfs = ${nameNode.url}\nwebhdfs_paths = ${PATHS.join(', ')}\nwebhdfs_user = monit\n`);
    const documents = byPath((await collector.collect(context)) as MonitDocument[]);
    const expected = JSON.parse(readFileSync(path.join(TESTDATA, 'webhdfs.expected.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.fromEntries(PATHS.map((hdfsPath) => [hdfsPath, fieldsOf(documents[hdfsPath], ['message', 'namenode'])]))).toEqual(expected);
    for (const document of Object.values(documents)) {
      expect(document).toMatchObject({ producer: 'hadoop', type: 'content_summary', idb_tags: ['path'], namenode: new URL(nameNode.url).host });
    }
    expect(documents['/eventindex/missing'].message).toMatch(/^WebHDFS 127\.0\.0\.1:\d+: \/eventindex\/missing does not exist \(HTTP 404, FileNotFoundException\)$/);
    expect(documents['/eventindex/private'].message).toMatch(/reading \/eventindex\/private refused \(HTTP 403/);
    expect(documents['/eventindex/broken'].message).toBe('WebHDFS ContentSummary of /eventindex/broken: length is not a whole number: "8123"');
    expect(context.problems).toHaveLength(3);
    expect(context.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^hadoop: WebHDFS \/eventindex\/missing \(not_found\): /)]));
    expect([...nameNode.requests].sort()).toEqual(PATHS.map((hdfsPath) => `/webhdfs/v1${hdfsPath}?op=GETCONTENTSUMMARY&user.name=monit`).sort());
  } finally {
    await nameNode.close();
  }
});

test('quota percentages agree with the recorded counts, and an unset quota (-1) is left out, not stored', async () => {
  const recording = readTestdata<Recording>('webhdfs.json');
  const nameNode = await recordedServer({ routes: recording });
  try {
    const documents = byPath((await collector.collect(collectorContext('hadoop', `[hadoop]\nwebhdfs = ${nameNode.url}\nwebhdfs_paths = /eventindex/data, /eventindex/tmp/\n`))) as MonitDocument[]);
    const data = (recording['/webhdfs/v1/eventindex/data'].body as { ContentSummary: Record<string, number> }).ContentSummary;
    expect(documents['/eventindex/data'].namespace_quota_used_percent).toBeCloseTo(((data.fileCount + data.directoryCount) / data.quota) * 100, 3);
    expect(documents['/eventindex/data'].space_quota_used_percent).toBeCloseTo((data.spaceConsumed / data.spaceQuota) * 100, 3);
    // The trailing / of the configured path is dropped: the tag is the path.
    const unset = documents['/eventindex/tmp'];
    expect(unset.up).toBe(1);
    for (const field of ['namespace_quota', 'namespace_quota_used_percent', 'space_quota_bytes', 'space_quota_used_percent']) expect(unset.idb_fields).not.toContain(field);
    expect(Object.values(unset).filter((value) => value === -1)).toEqual([]);
    expect(nameNode.requests.every((request) => !request.includes('user.name'))).toBe(true);
  } finally {
    await nameNode.close();
  }
});

test('with an HA pair, the active NameNode is asked and the standby only for its state', async () => {
  const standby = await recordedServer({ jmx: readTestdata<JmxDump>('deadnodes.jmx.json'), routes: readTestdata<Recording>('webhdfs-standby.json') });
  const active = await recordedServer({ jmx: readTestdata<JmxDump>('healthy.jmx.json'), routes: readTestdata<Recording>('webhdfs.json') });
  try {
    const context = collectorContext('hadoop', `[hadoop]\nwebhdfs = ${standby.url}, ${active.url}\nwebhdfs_paths = /eventindex/data\n`);
    const documents = (await collector.collect(context)) as MonitDocument[];
    expect(context.problems).toEqual([]);
    expect(documents).toEqual([expect.objectContaining({ path: '/eventindex/data', up: 1, files: 1203311, namenode: new URL(active.url).host })]);
    expect(standby.requests).toEqual(['/jmx?qry=Hadoop%3Aservice%3DNameNode%2Cname%3DNameNodeStatus']);
  } finally {
    await Promise.all([standby.close(), active.close()]);
  }
});

test('without an active NameNode every path is up=0 with the reason, in one problem', async () => {
  const standby = await recordedServer({ jmx: readTestdata<JmxDump>('deadnodes.jmx.json') });
  const closedPort = await freePort();
  try {
    const context = collectorContext('hadoop', `[hadoop]\nwebhdfs = ${standby.url}, http://127.0.0.1:${closedPort}\nwebhdfs_paths = /eventindex/data, /eventindex/tmp\n`);
    const documents = (await collector.collect(context)) as MonitDocument[];
    expect(documents.map((document) => fieldsOf(document, ['message']))).toEqual([
      { up: 0, error: 'refused' },
      { up: 0, error: 'refused' },
    ]);
    expect(documents[0].message).toMatch(new RegExp(`^WebHDFS: no active NameNode: ${new URL(standby.url).host} is standby; 127\\.0\\.0\\.1:${closedPort} cannot be read: .*ECONNREFUSED`));
    expect(context.problems).toHaveLength(1);
  } finally {
    await standby.close();
  }
});

test('webhdfs config mistakes are ConfigErrors naming the key', async () => {
  const collect = (text: string): Promise<unknown> => collector.collect(collectorContext('hadoop', `[hadoop]\nwebhdfs = http://nn1:9870\n${text}`));
  await expect(collect('')).rejects.toThrow(/\[hadoop\] webhdfs_paths is missing/);
  await expect(collect('webhdfs_paths = eventindex/data\n')).rejects.toThrow(/webhdfs_paths: item 1 must be an absolute HDFS path/);
  await expect(collect('webhdfs_paths = /a, /eventindex/../etc\n')).rejects.toThrow(/webhdfs_paths: item 2 must be an absolute HDFS path .*got "\/eventindex\/\.\.\/etc"/);
  await expect(collect('webhdfs_paths = /a, /a/\n')).rejects.toThrow(/webhdfs_paths: \/a is listed twice/);
  const many = Array.from({ length: 101 }, (_, index) => `/p${index}`).join(',');
  await expect(collect(`webhdfs_paths = ${many}\n`)).rejects.toThrow(/101 paths, at most 100/);
});

test('a 404 without a FileNotFoundException (a NameNode without WebHDFS) is an HTTP status failure, not a missing path', async () => {
  // No route for WebHDFS: the server's 404 page is HTML, as a web server in front of a NameNode with dfs.webhdfs.enabled=false answers.
  const nameNode = await recordedServer({ routes: {} });
  try {
    const context = collectorContext('hadoop', `[hadoop]\nwebhdfs = ${nameNode.url}\nwebhdfs_paths = /eventindex/data\n`);
    const [document] = (await collector.collect(context)) as MonitDocument[];
    expect(document).toMatchObject({ path: '/eventindex/data', up: 0, error: 'status' });
    expect(String(document.message)).toMatch(/HTTP 404/);
  } finally {
    await nameNode.close();
  }
});
