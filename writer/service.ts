import http from 'node:http';
import { connect } from 'nats';
import type { Config } from '../lib/config/config';
import { influxInstances } from '../lib/influx/instances';
import type { Logger } from '../lib/run/log';
import type { RunArguments } from '../lib/run/registry';
import { runService } from '../lib/run/service';
import { connectionOptions, streamSettings } from '../lib/stream/settings';
import { ackWaitWarning, writerSettings } from './settings';
import { retryUntilReady } from './startup';
import { Writer } from './writer';

/** Serves /metrics (the consumer's lag read at each scrape) until `signal` aborts. */
async function serveMetrics(writer: Writer, listen: { host: string; port: number }, log: Logger): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the writer serves /metrics\n');
      return;
    }
    writer
      .lag()
      .catch((error: Error) => log.debug(`stream lag unknown at this scrape: ${error.message}`))
      .then(() => writer.metrics.registry.metrics())
      .then((text) => response.writeHead(200, { 'content-type': writer.metrics.registry.contentType }).end(text))
      .catch((error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return server;
}

/** `./run.sh writer`: one writer in the foreground until SIGTERM or SIGINT, which finish the batch in hand. */
export function serve(config: Config, args: RunArguments): Promise<number> {
  return runService('writer', config, args, async (log, signal) => {
    const settings = writerSettings(config);
    const stream = streamSettings(config);
    const instances = influxInstances(config);
    const warning = ackWaitWarning(settings, Math.max(...instances.all.map((instance) => instance.settings.timeoutMs)));
    if (warning) log.warn(warning);
    // NATS may not listen yet (a host booting, a cluster starting): tried again until it does or SIGTERM.
    const connection = await retryUntilReady(`connecting to ${stream.servers.join(', ')}`, () => connect(connectionOptions(config, stream, `monit-writer ${process.pid}`)), { signal, log });
    if (!connection) return;
    let server: http.Server | undefined;
    try {
      const writer = new Writer({ connection, stream, settings, instances, log });
      if (!(await writer.prepare(signal))) return;
      if (settings.listen) server = await serveMetrics(writer, settings.listen, log);
      log.info(`consuming stream ${stream.name} as ${settings.consumer} from ${stream.servers.join(', ')}${settings.listen ? `, metrics on ${settings.listen.host}:${settings.listen.port}` : ''}`);
      await writer.run(signal);
    } finally {
      server?.close();
      await connection.drain();
    }
  });
}
