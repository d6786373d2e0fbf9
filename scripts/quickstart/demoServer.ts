import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config/paths';

/**
 * The quickstart's stand-in for sources that cannot run here, serving recorded data on loopback:
 * a Hadoop NameNode's /jmx, PanDA's job statistics, CRIC's PanDA queues, and a web page to probe. It also appends lines to a demo log file so
 * the logs collector has something to count. Usage: node demoServer.js PORT LOGFILE
 */

interface Route {
  contentType: string;
  body(url: URL): string;
}

function recorded(relativePath: string): string {
  return readFileSync(path.join(PROJECT_ROOT, relativePath), 'utf8');
}

/** /jmx answers ?qry=NAME like Hadoop's JMXJsonServlet. */
function jmx(url: URL): string {
  const dump = JSON.parse(recorded('collectors/hadoop/testdata/healthy.jmx.json')) as { beans: Array<{ name: string }> };
  const query = url.searchParams.get('qry');
  return JSON.stringify({ beans: dump.beans.filter((bean) => !query || bean.name === query) });
}

export const DEMO_ROUTES: Record<string, Route> = {
  // Recorded-format PanDA job statistics and CRIC queue descriptions (collectors/panda/testdata).
  '/server/panda/get_job_statistics_per_site_label_resource': { contentType: 'application/json', body: () => recorded('collectors/panda/testdata/panda-small.json') },
  '/api/atlas/pandaqueue/query/': { contentType: 'application/json', body: () => recorded('collectors/panda/testdata/cric-sample.json') },
  '/jmx': { contentType: 'application/json', body: jmx },
  '/web/ok': { contentType: 'text/html', body: () => '<html><body><h1>EventIndex demo</h1><p>status: OK</p></body></html>' },
};

export function startDemoServer(port: number, logFile: string): http.Server {
  mkdirSync(path.dirname(logFile), { recursive: true });
  let sequence = 0;
  const writeLogLines = (): void => {
    sequence += 1;
    appendFileSync(logFile, `${new Date().toISOString()} INFO import started batch=${sequence}\n${new Date().toISOString()} INFO import finished batch=${sequence}\n`);
    if (sequence % 5 === 0) appendFileSync(logFile, `${new Date().toISOString()} ERROR import failed batch=${sequence}\n`);
  };
  writeLogLines();
  setInterval(writeLogLines, 30_000).unref();
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://demo');
    const route = DEMO_ROUTES[url.pathname];
    if (!route) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`no demo route ${url.pathname}\n`);
      return;
    }
    response.writeHead(200, { 'content-type': route.contentType }).end(route.body(url));
  });
  server.listen(port, '127.0.0.1');
  return server;
}

if (require.main === module) {
  const [port, logFile] = process.argv.slice(2);
  if (!port || !logFile) throw new Error('usage: demoServer.js PORT LOGFILE');
  const server = startDemoServer(Number(port), path.resolve(logFile));
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}
