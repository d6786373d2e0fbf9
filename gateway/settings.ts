import { ConfigError, type Config } from '../lib/config/config';
import { spellingConflict } from '../lib/documents/schemas';

/** Where the quickstart's gateway listens; the dashboards' default gateway link. */
export const DEFAULT_GATEWAY_LISTEN = '127.0.0.1:8190';

export interface GatewaySettings {
  listen: { host: string; port: number };
  token?: string;
  producerPasswords: Map<string, string>;
  maxDocuments: number;
  maxBodyBytes: number;
  maxInflightBytes: number;
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
  return {
    listen: section.hostPort('listen'),
    token,
    producerPasswords,
    maxDocuments: section.int('max_documents', 10_000, { min: 1, max: 10_000 }),
    maxBodyBytes,
    maxInflightBytes,
  };
}
