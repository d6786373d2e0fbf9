import { ConfigError, type Config } from '../lib/config/config';
import { spellingConflict } from '../lib/documents/schemas';

/** Where the quickstart's gateway listens; the dashboards' default gateway link. */
export const DEFAULT_GATEWAY_LISTEN = '127.0.0.1:8190';

/** Where accepted documents go: InfluxDB itself, or the JetStream stream of [stream] (lib/stream). */
export type GatewayRoute = 'direct' | 'stream';

export interface GatewaySettings {
  listen: { host: string; port: number };
  route: GatewayRoute;
  token?: string;
  producerPasswords: Map<string, string>;
  maxDocuments: number;
  maxBodyBytes: number;
  maxInflightBytes: number;
  /** Producers whose batches with refused documents are answered 200 instead of 207 or 400 ([gateway.partial_success]). */
  partialSuccess200: Set<string>;
}

/** [gateway.partial_success] `<producer> = 200`: for senders that take anything but 200 for "send again". */
function partialSuccess200(config: Config): Set<string> {
  const section = config.section('gateway.partial_success');
  const producers = new Set<string>();
  for (const producer of section.keys()) {
    const status = section.int(producer);
    if (status !== 200 && status !== 207) {
      throw new ConfigError(`${config.file}: [gateway.partial_success] ${producer} must be 200 or 207 (the status of a batch with refused documents), got ${status}`);
    }
    if (status === 200) producers.add(producer);
  }
  return producers;
}

export function gatewaySettings(config: Config): GatewaySettings {
  const section = config.section('gateway');
  const producers = config.section('gateway.producers');
  const producerPasswords = new Map(producers.keys().map((producer) => [producer, producers.secret(producer)]));
  const conflict = spellingConflict(producerPasswords.keys());
  if (conflict) {
    throw new ConfigError(
      `${config.file}: [gateway.producers] '${conflict.earlier}' and '${conflict.later}' write the same database ${conflict.database} ('-' becomes '_'): ` +
        'one producer could overwrite the other\'s points; keep one spelling',
    );
  }
  const token = section.optionalSecret('token');
  if (!token && producerPasswords.size === 0) {
    throw new ConfigError(`${config.file}: [gateway] token is missing (or list producer passwords in [gateway.producers]): the gateway never runs without credentials`);
  }
  const maxBodyBytes = section.int('max_body_bytes', 31_457_280, { min: 1024 });
  const maxInflightBytes = section.int('max_inflight_bytes', 2 * maxBodyBytes, { min: 1 });
  if (maxInflightBytes < maxBodyBytes) {
    // A body at the limit would never fit: its sender would be told to retry forever.
    throw new ConfigError(`${config.file}: [gateway] max_inflight_bytes (${maxInflightBytes}) must be at least max_body_bytes (${maxBodyBytes})`);
  }
  const route = section.string('route', 'direct');
  if (route !== 'direct' && route !== 'stream') throw section.invalid('route', `must be direct (InfluxDB) or stream (the JetStream stream of [stream]), got "${route}"`);
  if (route === 'stream' && !config.hasSection('stream')) {
    throw new ConfigError(`${config.file}: [gateway] route = stream needs a [stream] section naming the JetStream servers (see lib/stream/sample.cfg)`);
  }
  return {
    listen: section.hostPort('listen'),
    route,
    token,
    producerPasswords,
    maxDocuments: section.int('max_documents', 10_000, { min: 1, max: 10_000 }),
    maxBodyBytes,
    maxInflightBytes,
    partialSuccess200: partialSuccess200(config),
  };
}
