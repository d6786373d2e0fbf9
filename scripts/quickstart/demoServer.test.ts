import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { freePort } from '../../test/support/ports';
import { setFailing } from '../../examples/eventindex/demo/switches';
import { startDemoServer } from './demoServer';

/**
 * The demo server with an example in [demo] examples: the example's routes are served beside the
 * sources', with the status a route gives, and an example's override answers before any route.
 */
describe('the demo server with the eventindex example', () => {
  let server: Server;
  let base: string;
  let config: Config;

  beforeAll(async () => {
    mkdirSync(path.join(PROJECT_ROOT, 'var', 'test'), { recursive: true });
    const dir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'demo-server-'));
    const port = await freePort();
    const file = path.join(dir, 'config.cfg');
    // No PostgreSQL here: the example's ticks write their log lines and report the database as unreachable.
    writeFileSync(
      file,
      [
        `[paths]\nvar = ${dir}`,
        `[demo]\nlisten = 127.0.0.1:${port}\nexamples = eventindex\nlog_file = ${dir}/import.log`,
        `[sql.query.ei_production]\nport = 1\ndatabase = eventindex\nuser = reader\npassword = not-used`,
        `[logs.pattern.ei_consumer_batches]\nfiles = ${dir}/consumer.log`,
        `[logs.pattern.ei_import_failed]\nfiles = ${dir}/importer.log`,
      ].join('\n'),
    );
    config = Config.load(file);
    server = startDemoServer(config);
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  test("a route answers its own status, an override replaces another source's answer, a route of no demo is 404", async () => {
    expect((await fetch(`${base}/eventindex/web/ui`)).status).toBe(200);
    expect((await fetch(`${base}/jmx?qry=Hadoop:service=NameNode,name=FSNamesystem`)).status).toBe(200);
    setFailing(config, 'web', true);
    setFailing(config, 'hadoop', true);
    const ui = await fetch(`${base}/eventindex/web/ui`);
    expect({ status: ui.status, type: ui.headers.get('content-type') }).toEqual({ status: 503, type: 'text/html' });
    const jmx = await fetch(`${base}/jmx?qry=Hadoop:service=NameNode,name=FSNamesystem`);
    expect({ status: jmx.status, body: await jmx.text() }).toEqual({ status: 503, body: expect.stringContaining('the hadoop switch is on') });
    expect((await fetch(`${base}/no/such/route`)).status).toBe(404);
    setFailing(config, 'web', false);
    setFailing(config, 'hadoop', false);
    expect((await fetch(`${base}/eventindex/web/ui`)).status).toBe(200);
  });
});
