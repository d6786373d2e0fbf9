/**
 * The quickstart's demo HTTP server, on loopback at [demo] listen: the routes of every source's
 * demo.ts (recorded answers of sources that cannot run here: PanDA, CRIC, Hadoop JMX, a web page),
 * the routes of the examples config.cfg holds ([demo] examples), and whatever those demos run at its start.
 *
 *   node dist/scripts/quickstart/demoServer.js --config FILE
 */
import http from 'node:http';
import { Config } from '../../lib/config/config';
import type { DemoRoute, DemoSource } from './components';
import { demosFor } from './examples';
import statusDemo from './statusDemo';

/** Every source's routes; two sources answering the same path is a mistake worth stopping for. */
export function demoRoutes(demos: DemoSource[]): Map<string, DemoRoute> {
  const routes = new Map<string, DemoRoute>();
  for (const demo of demos) {
    for (const [route, answer] of Object.entries(demo.routes ?? {})) {
      if (routes.has(route)) throw new Error(`two demo sources answer ${route}`);
      routes.set(route, answer);
    }
  }
  return routes;
}

export function startDemoServer(config: Config): http.Server {
  const demos = [...demosFor(config), statusDemo];
  const routes = demoRoutes(demos);
  const overrides = demos.flatMap((demo) => (demo.override ? [demo.override] : []));
  for (const demo of demos) demo.onServerStart?.(config);
  const { host, port } = config.section('demo').hostPort('listen');
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) throw new Error(`[demo] listen must be a loopback address (127.0.0.1:PORT): the demo sources are for this machine only, got ${host}`);
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://demo');
    const overridden = overrides.map((override) => override(url, request)).find((answer) => answer !== undefined);
    if (overridden) {
      response.writeHead(overridden.status, { 'content-type': overridden.contentType }).end(overridden.body);
      return;
    }
    const route = routes.get(url.pathname);
    if (!route) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`no demo route ${url.pathname}\n`);
      return;
    }
    response.writeHead(route.status?.(url, request) ?? 200, { 'content-type': route.contentType }).end(route.body(url, request));
  });
  server.listen(port, host);
  return server;
}

if (require.main === module) {
  const at = process.argv.indexOf('--config');
  if (at < 0 || !process.argv[at + 1]) throw new Error('usage: demoServer.js --config FILE');
  const server = startDemoServer(Config.load(process.argv[at + 1]));
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}
