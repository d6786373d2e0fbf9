import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext } from '../../test/support/collectorContext';
import collector from './collector';
import { readTestdata, TESTDATA, type JmxDump } from './recordings';
import { fieldsOf, recordedServer } from './test/recordedServer';


describe.each(['healthy', 'degraded', 'backup'])('the %s HBase master recording', (name) => {
  test('maps to the expected fields with one /jmx request', async () => {
    const master = await recordedServer({ jmx: readTestdata<JmxDump>(`hbase-${name}.jmx.json`) });
    try {
      const context = collectorContext('hadoop', `[hadoop]\nhbase_masters = ${master.url}\n`);
      const documents = (await collector.collect(context)) as MonitDocument[];
      expect(context.problems).toEqual([]);
      expect(documents).toHaveLength(1);
      expect(documents[0]).toMatchObject({ producer: 'hadoop', type: 'hbase_master', idb_tags: ['hbase_master'], hbase_master: new URL(master.url).host });
      expect(fieldsOf(documents[0])).toEqual(JSON.parse(readFileSync(path.join(TESTDATA, `hbase-${name}.expected.json`), 'utf8')));
      expect(master.requests).toEqual(['/jmx?qry=Hadoop%3Aservice%3DHBase%2Cname%3DMaster%2Csub%3D*']);
    } finally {
      await master.close();
    }
  });
});

test('the dead region servers and the average load agree with the Server bean', async () => {
  const dump = readTestdata<JmxDump>('hbase-degraded.jmx.json');
  const server = dump.beans.find((bean) => bean.name === 'Hadoop:service=HBase,name=Master,sub=Server') as unknown as Record<string, string | number>;
  const master = await recordedServer({ jmx: dump });
  try {
    const [document] = (await collector.collect(collectorContext('hadoop', `[hadoop]\nhbase_masters = ${master.url}\n`))) as MonitDocument[];
    const dead = String(server['tag.deadRegionServers']).split(';');
    expect(String(document.dead_region_servers).split(',')).toHaveLength(Number(server.numDeadRegionServers));
    expect(String(document.dead_region_servers).split(',').sort()).toEqual(dead.map((name) => name.split(',').slice(0, 2).join(':')).sort());
    // averageLoad is regions per live region server: the live names and the count agree too.
    expect(String(server['tag.liveRegionServers']).split(';')).toHaveLength(Number(document.region_servers_live));
    expect(document.average_load).toBe(server.averageLoad);
  } finally {
    await master.close();
  }
});

test('a master with a malformed or missing Server bean gives up=0 naming it; the healthy one is read', async () => {
  const healthy = await recordedServer({ jmx: readTestdata<JmxDump>('hbase-healthy.jmx.json') });
  const malformed = await recordedServer({ jmx: readTestdata<JmxDump>('hbase-malformed.jmx.json') });
  // A NameNode configured as an HBase master by mistake: no HBase beans at all.
  const nameNode = await recordedServer({ jmx: readTestdata<JmxDump>('healthy.jmx.json') });
  try {
    const context = collectorContext('hadoop', `[hadoop]\nhbase_masters = ${healthy.url}, ${malformed.url}, ${nameNode.url}\n`);
    const documents = (await collector.collect(context)) as MonitDocument[];
    const byHost = Object.fromEntries(documents.map((document) => [String(document.hbase_master), document]));
    expect(byHost[new URL(healthy.url).host]).toMatchObject({ up: 1, region_servers_live: 10 });
    expect(fieldsOf(byHost[new URL(malformed.url).host])).toEqual({
      up: 0,
      error: 'malformed',
      message: 'Hadoop:service=HBase,name=Master,sub=Server numDeadRegionServers is not a whole number: undefined',
    });
    expect(fieldsOf(byHost[new URL(nameNode.url).host])).toEqual({
      up: 0,
      error: 'malformed',
      message: 'the master has no Hadoop:service=HBase,name=Master,sub=Server bean (is this an HBase master?)',
    });
    expect(context.problems).toHaveLength(2);
  } finally {
    await Promise.all([healthy.close(), malformed.close(), nameNode.close()]);
  }
});
