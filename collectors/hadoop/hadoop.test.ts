import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext } from '../../test/support/collectorContext';
import { freePort } from '../../test/support/ports';
import { readmeDisagreements } from '../../test/support/readme';
import { makeTestCa } from '../../test/support/testCa';
import collector from './collector';
import { fieldsOf, recordedServer } from './test/recordedServer';

const TESTDATA = path.join(__dirname, 'testdata');
type Behaviour = { fixture: string } | { status: number } | { body: string } | 'hang';

/** A stand-in NameNode web server: answers /jmx?qry=NAME from a recorded /jmx dump, like Hadoop's JMXJsonServlet. */
async function fakeNameNode(behaviour: Behaviour, tls?: https.ServerOptions): Promise<{ url: string; close(): Promise<void>; requests: string[] }> {
  const requests: string[] = [];
  const handle = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    requests.push(request.url ?? '');
    if (behaviour === 'hang') return; // accepts, never answers
    if ('status' in behaviour) {
      response.writeHead(behaviour.status).end('<html>Error 500 Server Error</html>');
      return;
    }
    if ('body' in behaviour) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(behaviour.body);
      return;
    }
    const url = new URL(request.url ?? '/', 'http://localhost');
    const dump = JSON.parse(readFileSync(path.join(TESTDATA, behaviour.fixture), 'utf8')) as { beans: Array<{ name: string }> };
    const query = url.searchParams.get('qry');
    const beans = url.pathname === '/jmx' ? dump.beans.filter((bean) => query === null || bean.name === query) : [];
    response.writeHead(url.pathname === '/jmx' ? 200 : 404, { 'content-type': 'application/json; charset=utf8' }).end(JSON.stringify({ beans }, null, 2));
  };
  const server = tls ? https.createServer(tls, handle) : http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}


describe.each(['healthy', 'safemode', 'deadnodes'])('the %s NameNode fixture', (name) => {
  test('maps to the expected fields', async () => {
    const nameNode = await fakeNameNode({ fixture: `${name}.jmx.json` });
    try {
      const context = collectorContext('hadoop', `[hadoop]\nnamenodes = ${nameNode.url}\n`);
      const documents = (await collector.collect(context)) as MonitDocument[];
      expect(context.problems).toEqual([]);
      expect(documents).toHaveLength(1);
      expect(documents[0]).toMatchObject({ producer: 'hadoop', type: 'namenode', idb_tags: ['namenode'], namenode: new URL(nameNode.url).host });
      expect(documents[0].duration_ms).toEqual(expect.any(Number));
      expect(fieldsOf(documents[0])).toEqual(JSON.parse(readFileSync(path.join(TESTDATA, `${name}.expected.json`), 'utf8')));
      expect(nameNode.requests.every((request) => request.startsWith('/jmx?qry=Hadoop%3Aservice%3DNameNode%2Cname%3D'))).toBe(true);
    } finally {
      await nameNode.close();
    }
  });
});

test('a NameNode that fails, answers garbage, lacks its beans or hangs gives up=0 with its class; the others are read', async () => {
  const healthy = await fakeNameNode({ fixture: 'healthy.jmx.json' });
  const failing = await fakeNameNode({ status: 500 });
  const garbage = await fakeNameNode({ body: '<html>login</html>' });
  const datanode = await fakeNameNode({ body: '{"beans":[]}' });
  const hanging = await fakeNameNode('hang');
  const closedPort = await freePort();
  try {
    const urls = [healthy.url, failing.url, garbage.url, datanode.url, hanging.url, `http://127.0.0.1:${closedPort}`];
    const context = collectorContext('hadoop', `[hadoop]\nnamenodes = ${urls.join(', ')}\ntimeout = 500ms\n`);
    const documents = (await collector.collect(context)) as MonitDocument[];
    const byHost = Object.fromEntries(documents.map((document) => [String(document.namenode), document]));
    const host = (url: string): string => new URL(url).host;
    expect(byHost[host(healthy.url)]).toMatchObject({ up: 1, datanodes_live: 12 });
    expect(byHost[host(failing.url)]).toMatchObject({ up: 0, error: 'status', message: expect.stringContaining('HTTP 500') });
    expect(byHost[host(garbage.url)]).toMatchObject({ up: 0, error: 'malformed', message: expect.stringContaining('did not answer JSON') });
    expect(byHost[host(datanode.url)]).toMatchObject({ up: 0, error: 'malformed', message: expect.stringContaining('no Hadoop:service=NameNode,name=FSNamesystemState bean') });
    expect(byHost[host(hanging.url)]).toMatchObject({ up: 0, error: 'timeout' });
    expect(byHost[`127.0.0.1:${closedPort}`]).toMatchObject({ up: 0, error: 'refused', message: expect.stringContaining('ECONNREFUSED') });
    for (const document of documents.filter((document) => document.up === 0)) {
      expect(document.idb_fields).toEqual(['up', 'error', 'message', 'duration_ms']);
    }
    expect(context.problems).toHaveLength(5);
  } finally {
    await Promise.all([healthy, failing, garbage, datanode, hanging].map((server) => server.close()));
  }
});

test('an https NameNode of the grid CA: up with [tls] ca_dir; a tls failure naming the URL and [tls.hadoop] without it', async () => {
  const ca = makeTestCa();
  const nameNode = await fakeNameNode({ fixture: 'healthy.jmx.json' }, { cert: readFileSync(ca.server.cert), key: readFileSync(ca.server.key) });
  try {
    const trusted = collectorContext('hadoop', `[hadoop]\nnamenodes = ${nameNode.url}\n[tls]\nca_dir = ${ca.caDir}\n`);
    expect(await collector.collect(trusted)).toEqual([expect.objectContaining({ up: 1, datanodes_live: 12 })]);
    const untrusted = collectorContext('hadoop', `[hadoop]\nnamenodes = ${nameNode.url}\n[tls]\nca_dir = ${ca.caDir}\n[tls.hadoop]\nca_dir = none\n`);
    expect(await collector.collect(untrusted)).toEqual([expect.objectContaining({ up: 0, error: 'tls' })]);
    expect(untrusted.problems).toEqual([expect.stringMatching(new RegExp(`NameNode ${nameNode.url}/jmx: .*UNABLE_TO_VERIFY_LEAF_SIGNATURE.*\\[tls\\.hadoop\\] ca_dir = none`))]);
  } finally {
    await nameNode.close();
  }
}, 600_000);

test("a NameNode URL's credentials are sent but never shown in its document or the run's problems", async () => {
  const server = await recordedServer({ routes: { '/jmx': { text: '<html>login</html>' } } });
  try {
    const context = collectorContext('hadoop', `[hadoop]\nnamenodes = ${server.url.replace('http://', 'http://monit:s3cret-word@')}\n`);
    const documents = (await collector.collect(context)) as MonitDocument[];
    expect(documents).toEqual([expect.objectContaining({ up: 0, error: 'malformed', message: expect.stringContaining(`${server.url}/jmx?qry=`) })]);
    expect(context.problems).toHaveLength(1);
    expect(JSON.stringify([documents, context.problems])).not.toContain('s3cret-word');
  } finally {
    await server.close();
  }
});

test('config mistakes are ConfigErrors', async () => {
  await expect(collector.collect(collectorContext('hadoop', '[hadoop]\n'))).rejects.toThrow(/\[hadoop\] needs at least one of namenodes, resourcemanagers, hbase_masters or webhdfs/);
  await expect(collector.collect(collectorContext('hadoop', '[hadoop]\nresourcemanagers = rm1:8088\n'))).rejects.toThrow(/resourcemanagers: item 1 must be an http\(s\) URL such as http:\/\/resourcemanager:8088/);
  await expect(collector.collect(collectorContext('hadoop', '[hadoop]\nhbase_masters = http://hm1:16010, http://hm1:16010/\n'))).rejects.toThrow(/hbase_masters: hm1:16010 is listed twice/);
  await expect(collector.collect(collectorContext('hadoop', '[hadoop]\nnamenodes = nn1:9870\n'))).rejects.toThrow(/item 1 must be an http\(s\) URL/);
  await expect(collector.collect(collectorContext('hadoop', '[hadoop]\nnamenodes = http://a:1, http://a:1/x\n'))).rejects.toThrow(/a:1 is listed twice/);
});

test('the README lists every tag and field of each hadoop type', () => {
  const types = ['namenode', 'resourcemanager', 'hbase_master', 'content_summary'].map((type) => ({ producer: 'hadoop', type }));
  expect(readmeDisagreements(path.join(__dirname, 'README.md'), types)).toEqual([]);
});
