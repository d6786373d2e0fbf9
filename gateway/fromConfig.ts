import path from 'node:path';
import type { Config } from '../lib/config/config';
import { Logger } from '../lib/run/log';
import { schemaRegistry } from '../lib/documents/schemas';
import { pathsFrom } from '../lib/config/paths';
import { influxInstances } from '../lib/influx/instances';
import { rawDurationWarnings } from '../lib/influx/settings';
import { gatewaySettings } from './settings';
import { ProducerSpellings } from './producerSpellings';
import { startGateway, type GatewayOptions, type RunningGateway } from './server';
import { GatewayStream } from './stream';
import { streamSettings } from '../lib/stream/settings';

/** Which producer spelling owns each database, kept across restarts. */
export function producerSpellingsFile(config: Config): string {
  return path.join(pathsFrom(config).state, 'gateway', 'producer-databases.json');
}

/**
 * Starts the gateway as [gateway], [influxdb] and [influxdb.NAME] describe it. `statusPages` makes the
 * pages once the settings are read: a config error then stops the start before the pages, which
 * would log that ingestion goes on, are made.
 */
export async function startGatewayFromConfig(
  config: Config,
  options: { debug?: boolean; pages?: GatewayOptions['pages']; statusPages?: (log: Logger) => GatewayOptions['pages']; log?: Logger } = {},
): Promise<RunningGateway> {
  const settings = gatewaySettings(config);
  const instances = influxInstances(config);
  // Echoed on a terminal or with --debug only, as every service (lib/run/service.ts): under cron or a
  // supervisor stderr is appended to the same log file, and each line would be there twice.
  const log = options.log ?? Logger.forJob('gateway', pathsFrom(config).log, { debug: options.debug, echo: options.debug === true || process.stderr.isTTY === true });
  // Read now, so that a bad [stream] key is a config error at start rather than a retried connection.
  const streamTarget = settings.route === 'stream' ? streamSettings(config) : undefined;
  const registry = schemaRegistry();
  for (const warning of rawDurationWarnings(config, registry)) log.warn(warning);
  const pages = options.pages ?? options.statusPages?.(log);
  const stream = streamTarget ? new GatewayStream(config, log) : undefined;
  const running = await startGateway(
    {
      influxdb: instances.default.client,
      instances,
      durations: instances.default.settings.durations,
      auth: { token: settings.token, producerPasswords: settings.producerPasswords },
      maxDocuments: settings.maxDocuments,
      maxBodyBytes: settings.maxBodyBytes,
      maxInflightBytes: settings.maxInflightBytes,
      partialSuccess200: settings.partialSuccess200,
      registry,
      producerSpellings: new ProducerSpellings(producerSpellingsFile(config)),
      log,
      pages,
      stream,
    },
    settings.listen.host,
    settings.listen.port,
  );
  if (stream && streamTarget) {
    stream.start();
    log.info(`listening on ${running.url}, publishing to stream ${streamTarget.name} on ${streamTarget.servers.join(', ')}`);
    return {
      ...running,
      close: async () => {
        await running.close();
        await stream.close();
      },
    };
  }
  const targets = instances.all.map((instance) => (instance.producers.length ? `${instance.settings.url} (${instance.producers.join(', ')})` : instance.settings.url));
  log.info(`listening on ${running.url}, writing to ${targets.join(', ')}`);
  return running;
}
