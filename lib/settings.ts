import { ConfigError, type Config } from './config';
import { InfluxClient, type RetentionPolicyDurations } from './influxdb';
import { varPaths, type VarPaths } from './paths';

/** The core sections every part relies on: [paths], [monit], [gateway], [influxdb]. Defaults are the quickstart's. */

export const DEFAULT_GATEWAY_LISTEN = '127.0.0.1:8190';
export const DEFAULT_INFLUXDB_URL = 'http://127.0.0.1:8186';

export function pathsFrom(config: Config): VarPaths {
  return varPaths(config.section('paths').string('var', 'var'));
}

/** Where and how documents are sent: the [monit] section. */
export interface MonitSettings {
  url: string;
  token?: string;
  username?: string;
  password?: string;
  /** Per-request timeout. */
  timeoutMs: number;
  /** Requests in flight at once. */
  concurrency: number;
  maxBatchDocuments: number;
  maxBatchBytes: number;
  /** Spool size bound: beyond it the oldest batches are dropped (and counted). */
  spoolMaxBytes: number;
}

export function monitSettings(config: Config): MonitSettings {
  const section = config.section('monit');
  return {
    url: section.url('url'),
    token: section.optionalSecret('token'),
    username: section.optionalString('username'),
    password: section.optionalSecret('password'),
    timeoutMs: section.duration('timeout', '30s'),
    concurrency: section.int('concurrency', 2, { min: 1, max: 64 }),
    maxBatchDocuments: section.int('max_batch_documents', 5000, { min: 1, max: 10_000 }),
    maxBatchBytes: section.int('max_batch_bytes', 8_000_000, { min: 1000 }),
    spoolMaxBytes: section.int('spool_max_bytes', 500_000_000, { min: 1000 }),
  };
}

export interface InfluxSettings {
  url: string;
  username?: string;
  password?: string;
  timeoutMs: number;
  durations: RetentionPolicyDurations;
}

const INFLUX_DURATION = /^(INF|\d+[mhdw])$/;

export function influxSettings(config: Config): InfluxSettings {
  const section = config.section('influxdb');
  const duration = (key: string, fallback: string): string => {
    const value = section.string(key, fallback);
    if (!INFLUX_DURATION.test(value)) throw new ConfigError(`${config.file}: [influxdb] ${key} must be an InfluxDB duration such as 30d, 52w or INF, got "${value}"`);
    return value;
  };
  return {
    url: section.url('url'),
    username: section.optionalString('username'),
    password: section.optionalSecret('password'),
    timeoutMs: section.duration('timeout', '30s'),
    durations: { raw: duration('raw_duration', '30d'), '1h': duration('1h_duration', '400d'), '1d': duration('1d_duration', 'INF') },
  };
}

export function influxClientFrom(config: Config, overrides: { timeoutMs?: number } = {}): InfluxClient {
  const settings = influxSettings(config);
  return new InfluxClient(settings.url, { username: settings.username, password: settings.password, timeoutMs: overrides.timeoutMs ?? settings.timeoutMs });
}

export interface GatewaySettings {
  listen: { host: string; port: number };
  token?: string;
  producerPasswords: Map<string, string>;
  maxDocuments: number;
  maxBodyBytes: number;
}

export function gatewaySettings(config: Config): GatewaySettings {
  const section = config.section('gateway');
  const producers = config.section('gateway.producers');
  const producerPasswords = new Map(producers.keys().map((producer) => [producer, producers.secret(producer)]));
  const token = section.optionalSecret('token');
  if (!token && producerPasswords.size === 0) {
    throw new ConfigError(`${config.file}: [gateway] token is missing (or list producer passwords in [gateway.producers]): the gateway never runs without credentials`);
  }
  return {
    listen: section.hostPort('listen'),
    token,
    producerPasswords,
    maxDocuments: section.int('max_documents', 10_000, { min: 1, max: 10_000 }),
    maxBodyBytes: section.int('max_body_bytes', 31_457_280, { min: 1024 }),
  };
}
