import path from 'node:path';
import type { Config } from '../lib/config/config';
import { Logger } from '../lib/run/log';
import { schemaRegistry } from '../lib/documents/schemas';
import { pathsFrom } from '../lib/config/paths';
import { influxInstances } from '../lib/influx/instances';
import { gatewaySettings } from './settings';
import { ProducerSpellings } from './producerSpellings';
import { startGateway, type GatewayOptions, type RunningGateway } from './server';

/** Which producer spelling owns each database, kept across restarts. */
export function producerSpellingsFile(config: Config): string {
  return path.join(pathsFrom(config).state, 'gateway', 'producer-databases.json');
}

/** Starts the gateway as [gateway], [influxdb] and [influxdb.NAME] describe it. */
export async function startGatewayFromConfig(config: Config, options: { debug?: boolean; pages?: GatewayOptions['pages']; log?: Logger } = {}): Promise<RunningGateway> {
  const settings = gatewaySettings(config);
  const instances = influxInstances(config);
  // Echoed on a terminal or with --debug only, as every service (lib/run/service.ts): under cron or a
  // supervisor stderr is appended to the same log file, and each line would be there twice.
  const log = options.log ?? Logger.forJob('gateway', pathsFrom(config).log, { debug: options.debug, echo: options.debug === true || process.stderr.isTTY === true });
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
      registry: schemaRegistry(),
      producerSpellings: new ProducerSpellings(producerSpellingsFile(config)),
      log,
      pages: options.pages,
    },
    settings.listen.host,
    settings.listen.port,
  );
  const targets = instances.all.map((instance) => (instance.producers.length ? `${instance.settings.url} (${instance.producers.join(', ')})` : instance.settings.url));
  log.info(`listening on ${running.url}, writing to ${targets.join(', ')}`);
  return running;
}
