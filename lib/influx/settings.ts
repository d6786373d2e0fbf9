import { ConfigError, type Config } from '../config/config';
import { databaseFor } from '../documents/interpret';
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
