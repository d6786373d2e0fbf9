import { ConfigError, type Config } from '../config/config';
import { databaseFor } from '../documents/interpret';
import type { SchemaRegistry } from '../documents/schemas';
import { InfluxClient, type RetentionPolicyDurations } from './influxdb';

/** The [influxdb] section: the InfluxDB 1.x of every producer no [influxdb.NAME] lists (instances.ts). */
export interface InfluxSettings {
  url: string;
  username?: string;
  password?: string;
  timeoutMs: number;
  durations: RetentionPolicyDurations;
}

const INFLUX_DURATION = /^(INF|\d+[mhdw])$/;

/** [influxdb] raw_duration, 1h_duration, 1d_duration: readable without a url (the status pages need only these). */
export function retentionDurations(config: Config): RetentionPolicyDurations {
  const section = config.section('influxdb');
  const duration = (key: string, fallback: string): string => {
    const value = section.string(key, fallback);
    if (!INFLUX_DURATION.test(value)) throw new ConfigError(`${config.file}: [influxdb] ${key} must be an InfluxDB duration such as 30d, 52w or INF, got "${value}"`);
    return value;
  };
  const rawByDatabase: Record<string, string> = {};
  for (const [producer, value] of section.pairs('producer_raw_duration', 'producer=DURATION')) {
    if (!INFLUX_DURATION.test(value)) throw new ConfigError(`${config.file}: [influxdb] producer_raw_duration: ${producer} must have an InfluxDB duration such as 7d, got "${value}"`);
    rawByDatabase[databaseFor(producer)] = value;
  }
  return { raw: duration('raw_duration', '30d'), '1h': duration('1h_duration', '400d'), '1d': duration('1d_duration', 'INF'), rawByDatabase };
}

/**
 * The producers of [influxdb] producer_raw_duration that no schema describes, as warnings naming the
 * known ones: likely typos (the producer meant keeps raw_duration). Not errors: the gateway also takes
 * documents of producers without schemas (any POST /<producer>), whose databases may want a duration.
 */
export function rawDurationWarnings(config: Config, registry: SchemaRegistry): string[] {
  const known = [...new Set(registry.all().map((schema) => schema.producer))].sort();
  // Compared by database: other spellings of a producer (xrootd_files) write to the same one.
  const databases = new Set(known.map(databaseFor));
  return [...config.section('influxdb').pairs('producer_raw_duration', 'producer=DURATION').keys()]
    .filter((producer) => !databases.has(databaseFor(producer)))
    .map((producer) => `${config.file}: [influxdb] producer_raw_duration: no schema has producer '${producer}' (a typo? producers with schemas: ${known.join(', ')}); its database gets this duration if such documents come`);
}

export function influxSettings(config: Config): InfluxSettings {
  const section = config.section('influxdb');
  return {
    url: section.url('url'),
    username: section.optionalString('username'),
    password: section.optionalSecret('password'),
    timeoutMs: section.duration('timeout', '30s'),
    durations: retentionDurations(config),
  };
}

export function influxClientFrom(config: Config, overrides: { timeoutMs?: number } = {}): InfluxClient {
  const settings = influxSettings(config);
  return new InfluxClient(settings.url, { username: settings.username, password: settings.password, timeoutMs: overrides.timeoutMs ?? settings.timeoutMs });
}
