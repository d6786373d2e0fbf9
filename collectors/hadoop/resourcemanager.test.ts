import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext } from '../../test/support/collectorContext';
import collector from './collector';
import { readTestdata, TESTDATA, type Recording } from './recordings';
import { fieldsOf, recordedServer } from './test/recordedServer';

const MEBIBYTE = 1024 * 1024;


async function collectFrom(config: string): Promise<{ documents: MonitDocument[]; problems: string[] }> {
  const context = collectorContext('hadoop', config);
  const documents = (await collector.collect(context)) as MonitDocument[];
  return { documents, problems: context.problems };
}

describe.each(['healthy', 'degraded'])('the %s ResourceManager recording', (name) => {
  const recording = readTestdata<Recording>(`resourcemanager-${name}.json`);
  const metrics = (recording['/ws/v1/cluster/metrics'].body as { clusterMetrics: Record<string, number> }).clusterMetrics;

  test('maps to the expected fields, from the REST routes only', async () => {
    const server = await recordedServer({ routes: recording });
    try {
      const { documents, problems } = await collectFrom(`[hadoop]\nresourcemanagers = ${server.url}\n`);
      expect(problems).toEqual([]);
      expect(documents).toHaveLength(1);
      expect(documents[0]).toMatchObject({ producer: 'hadoop', type: 'resourcemanager', idb_tags: ['resourcemanager'], resourcemanager: new URL(server.url).host });
      expect(fieldsOf(documents[0])).toEqual(JSON.parse(readFileSync(path.join(TESTDATA, `resourcemanager-${name}.expected.json`), 'utf8')));
      expect([...server.requests].sort()).toEqual(['/ws/v1/cluster/appstatistics', '/ws/v1/cluster/info', '/ws/v1/cluster/metrics']);
    } finally {
      await server.close();
    }
  });

  test('its derived figures agree with the recorded MB and vcores', async () => {
    const server = await recordedServer({ routes: recording });
    try {
      const [document] = (await collectFrom(`[hadoop]\nresourcemanagers = ${server.url}\n`)).documents;
      expect(document.memory_total_bytes).toBe(metrics.totalMB * MEBIBYTE);
      expect(document.memory_allocated_bytes).toBe(metrics.allocatedMB * MEBIBYTE);
      expect(document.memory_allocated_percent).toBeCloseTo((100 * metrics.allocatedMB) / metrics.totalMB, 3);
      expect(document.vcores_allocated_percent).toBeCloseTo((100 * metrics.allocatedVirtualCores) / metrics.totalVirtualCores, 3);
      // ClusterMetricsInfo's total is the sum of the states: a check on the recording itself.
      const states = ['activeNodes', 'lostNodes', 'unhealthyNodes', 'decommissioningNodes', 'decommissionedNodes', 'rebootedNodes', 'shutdownNodes'];
      expect(states.reduce((total, key) => total + metrics[key], 0)).toBe(document.nodes_total);
    } finally {
      await server.close();
    }
  });
});

test('a standby ResourceManager gives its state only, and its redirects to the active one are not followed', async () => {
  const active = await recordedServer({ routes: readTestdata<Recording>('resourcemanager-healthy.json') });
  const recording = readTestdata<Recording>('resourcemanager-standby.json');
  // The recorded Location names the real active ResourceManager; here it is the loopback one.
  for (const answer of Object.values(recording)) if (answer.location) answer.location = answer.location.replace('http://rm1.cern.example:8088', active.url);
  const standby = await recordedServer({ routes: recording });
  try {
    const { documents, problems } = await collectFrom(`[hadoop]\nresourcemanagers = ${active.url}, ${standby.url}\n`);
    expect(problems).toEqual([]);
    const byHost = Object.fromEntries(documents.map((document) => [String(document.resourcemanager), document]));
    expect(fieldsOf(byHost[new URL(standby.url).host])).toEqual(JSON.parse(readFileSync(path.join(TESTDATA, 'resourcemanager-standby.expected.json'), 'utf8')));
    expect(standby.requests).toEqual(['/ws/v1/cluster/info']);
    expect(byHost[new URL(active.url).host]).toMatchObject({ up: 1, ha_state: 'active', nodes_active: 24 });
    expect(active.requests).toHaveLength(3);
  } finally {
    await Promise.all([active.close(), standby.close()]);
  }
});

test('a malformed ResourceManager answer gives up=0 naming the key; a missing route gives the HTTP status; the others are read', async () => {
  const healthy = await recordedServer({ routes: readTestdata<Recording>('resourcemanager-healthy.json') });
  const malformed = await recordedServer({ routes: readTestdata<Recording>('resourcemanager-malformed.json') });
  // A NameNode's web server, configured as a ResourceManager by mistake: /ws/v1/cluster/info is a 404.
  const notResourceManager = await recordedServer({ jmx: readTestdata('healthy.jmx.json') });
  try {
    const { documents, problems } = await collectFrom(`[hadoop]\nresourcemanagers = ${healthy.url}, ${malformed.url}, ${notResourceManager.url}\n`);
    const byHost = Object.fromEntries(documents.map((document) => [String(document.resourcemanager), document]));
    expect(byHost[new URL(healthy.url).host]).toMatchObject({ up: 1, nodes_active: 24 });
    expect(fieldsOf(byHost[new URL(malformed.url).host])).toEqual({ up: 0, error: 'malformed', message: 'clusterMetrics activeNodes is not a whole number: null' });
    expect(byHost[new URL(notResourceManager.url).host]).toMatchObject({ up: 0, error: 'status', message: expect.stringContaining('/ws/v1/cluster/info: HTTP 404') });
    expect(problems).toHaveLength(2);
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^hadoop: ResourceManager http:\/\/127\.0\.0\.1:\d+ \(malformed\): clusterMetrics activeNodes/),
      expect.stringMatching(/^hadoop: ResourceManager http:\/\/127\.0\.0\.1:\d+ \(status\): ResourceManager http:\/\/127\.0\.0\.1:\d+\/ws\/v1\/cluster\/info: HTTP 404/),
    ]));
  } finally {
    await Promise.all([healthy.close(), malformed.close(), notResourceManager.close()]);
  }
});

test('credentials in a configured URL are sent but never shown in documents or problems', async () => {
  const recording = readTestdata<Recording>('resourcemanager-healthy.json');
  recording['/ws/v1/cluster/metrics'] = { body: { metrics: {} } };
  const server = await recordedServer({ routes: recording });
  try {
    const withCredentials = server.url.replace('http://', 'http://monit:s3cret-word@');
    const { documents, problems } = await collectFrom(`[hadoop]\nresourcemanagers = ${withCredentials}\n`);
    expect(fieldsOf(documents[0])).toEqual({ up: 0, error: 'malformed', message: `ResourceManager ${server.url}/ws/v1/cluster/metrics: the answer has no "clusterMetrics" object` });
    expect(problems).toEqual([expect.stringContaining(`hadoop: ResourceManager ${server.url}/ (malformed)`)]);
    expect(JSON.stringify([documents, problems])).not.toContain('s3cret-word');
  } finally {
    await server.close();
  }
});

test('every recording has its expected file', () => {
  for (const name of ['healthy', 'degraded', 'standby']) expect(existsSync(path.join(TESTDATA, `resourcemanager-${name}.expected.json`))).toBe(true);
});
