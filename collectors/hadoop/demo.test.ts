import { readFileSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { MonitDocument } from '../../lib/documents/types';
import { demoRoutes } from '../../scripts/quickstart/demoServer';
import { sources } from '../source';
import { collectorContext } from '../../test/support/collectorContext';
import collector from './collector';
import demo from './demo';

test("quickstart.cfg's [hadoop] on the demo's routes: every part up, healthy, with no problem", async () => {
  // As the quickstart's demo server answers: an exact path, 200, else 404.
  const routes = demoRoutes([demo]);
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://demo');
    const route = routes.get(url.pathname);
    if (!route) response.writeHead(404).end();
    else response.writeHead(200, { 'content-type': route.contentType }).end(route.body(url, request as IncomingMessage));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const quickstart = readFileSync(path.join(__dirname, 'quickstart.cfg'), 'utf8').replaceAll('http://127.0.0.1:8191', base);
    const context = collectorContext('hadoop', quickstart);
    const documents = (await collector.collect(context)) as MonitDocument[];
    expect(context.problems).toEqual([]);
    expect(documents.map((document) => `${document.type} ${document.up}`).sort()).toEqual([
      'content_summary 1',
      'content_summary 1',
      'content_summary 1',
      'hbase_master 1',
      'namenode 1',
      'resourcemanager 1',
    ]);
    expect(documents.find((document) => document.type === 'resourcemanager')).toMatchObject({ ha_state: 'active', nodes_lost: 0 });
    expect(documents.find((document) => document.type === 'hbase_master')).toMatchObject({ ha_state: 'active', region_servers_dead: 0 });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test("the demo's routes do not collide with another source's", () => {
  const demos = sources().flatMap((source) => (source.definition.demo ? [source.definition.demo().default] : []));
  expect(() => demoRoutes(demos)).not.toThrow();
});
