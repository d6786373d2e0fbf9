/**
 * Several InfluxDB instances, one per group of producers (MONIT's one instance per tenant): [influxdb]
 * holds every producer no [influxdb.NAME] section lists. The one place that answers "which instance
 * holds producer P (or database D)" and "every instance", for the gateway and the downstream jobs.
 */
import { ConfigError, type Config, type ConfigSection } from '../config/config';
import { databaseFor } from '../documents/interpret';
import { InfluxClient } from './influxdb';
import { influxSettings, type InfluxSettings } from './settings';

/** The name of the [influxdb] instance. */
export const DEFAULT_INSTANCE = 'default';
const PREFIX = 'influxdb';
const INSTANCE_KEYS = ['url', 'username', 'password', 'timeout', 'producers'];
/** An instance name: it names a Grafana datasource uid and a state folder. */
const INSTANCE_NAME = /^[a-z0-9][a-z0-9_-]*$/;
/** A producer name as the envelope allows it (schemas/envelope.schema.json). */
const PRODUCER = /^[A-Za-z0-9_.-]+$/;

export interface InfluxInstance {
  /** `default` for [influxdb], NAME for [influxdb.NAME]. */
  name: string;
  /** `influxdb` or `influxdb.NAME`: the section to fix, named in messages. */
  section: string;
  settings: InfluxSettings;
  /** The producers its section lists; empty for the default instance, which holds every other. */
  producers: string[];
  /** Its client (made on first use, with `timeoutMs` if given). */
  client: InfluxClient;
}

/** One InfluxDB for every producer, or the instances of config: what a reader of several producers takes. */
export type InfluxSource = InfluxClient | InfluxInstances;

export class InfluxInstances {
  private readonly byDatabase = new Map<string, InfluxInstance>();

  /** `all[0]` is the default instance, then the [influxdb.NAME] sections in the order of the file. */
  constructor(readonly all: readonly InfluxInstance[]) {
    for (const instance of all) for (const producer of instance.producers) this.byDatabase.set(databaseFor(producer), instance);
  }

  get default(): InfluxInstance {
    return this.all[0];
  }

  /** The instance holding `database` (monit_production_<producer>). */
  forDatabase(database: string): InfluxInstance {
    return this.byDatabase.get(database) ?? this.default;
  }

  /** The instance holding `producer`'s database. */
  forProducer(producer: string): InfluxInstance {
    return this.forDatabase(databaseFor(producer));
  }

  byName(name: string): InfluxInstance | undefined {
    return this.all.find((instance) => instance.name === name);
  }
}

/** The client holding `producer`'s data: the lone client, or the producer's instance. */
export function clientOfProducer(source: InfluxSource, producer: string): InfluxClient {
  return source instanceof InfluxClient ? source : source.forProducer(producer).client;
}

/** The client holding `database`: the lone client, or the database's instance. */
export function clientOfDatabase(source: InfluxSource, database: string): InfluxClient {
  return source instanceof InfluxClient ? source : source.forDatabase(database).client;
}

function instance(name: string, section: string, settings: InfluxSettings, producers: string[], timeoutMs: number | undefined): InfluxInstance {
  let client: InfluxClient | undefined;
  return {
    name,
    section,
    settings,
    producers,
    get client(): InfluxClient {
      client ??= new InfluxClient(settings.url, { username: settings.username, password: settings.password, timeoutMs: timeoutMs ?? settings.timeoutMs });
      return client;
    },
  };
}

function namedSettings(config: Config, section: ConfigSection, defaults: InfluxSettings): { settings: InfluxSettings; producers: string[] } {
  const where = (key: string): string => `${config.file}: [${section.name}] ${key}`;
  const unknown = section.keys().filter((key) => !INSTANCE_KEYS.includes(key));
  if (unknown.length) throw new ConfigError(`${where(unknown[0])} is not a setting of an InfluxDB instance (known: ${INSTANCE_KEYS.join(', ')})`);
  if (!section.has('url')) throw new ConfigError(`${where('url')} is missing: the URL of this InfluxDB instance`);
  const producers = section.list('producers', []);
  if (!producers.length) throw new ConfigError(`${where('producers')} is missing: list the producers whose data this instance holds`);
  const bad = producers.find((producer) => !PRODUCER.test(producer));
  if (bad !== undefined) throw new ConfigError(`${where('producers')}: "${bad}" is not a producer name (letters, digits, _ . -)`);
  return {
    settings: {
      url: section.url('url'),
      username: section.optionalString('username'),
      password: section.optionalSecret('password'),
      // Like a route's limits: unset, the default instance's.
      timeoutMs: section.has('timeout') ? section.duration('timeout') : defaults.timeoutMs,
      durations: defaults.durations,
    },
    producers,
  };
}

/**
 * [influxdb] and its [influxdb.NAME] sections. A producer (or a database: `my-app` and `my_app` share
 * one) listed by two instances, an unknown key, a section without url or producers: a ConfigError
 * naming the section and key. `timeoutMs` replaces every instance's timeout (a job's longer statements).
 */
export function influxInstances(config: Config, overrides: { timeoutMs?: number } = {}): InfluxInstances {
  const defaults = influxSettings(config);
  const all = [instance(DEFAULT_INSTANCE, PREFIX, defaults, [], overrides.timeoutMs)];
  const owners = new Map<string, { producer: string; section: string }>();
  // ini makes [influxdb.x] of [influxdb.x.y]: only a section with keys of its own is an instance.
  for (const section of config.sectionsUnder(PREFIX).filter((one) => config.sectionKeys(one.name).length > 0)) {
    const name = section.name.slice(PREFIX.length + 1);
    if (!INSTANCE_NAME.test(name) || name === DEFAULT_INSTANCE) {
      throw new ConfigError(`${config.file}: [${section.name}]: an instance name is lower-case letters, digits, - and _ (it names its Grafana datasource), and not "${DEFAULT_INSTANCE}"`);
    }
    const { settings, producers } = namedSettings(config, section, defaults);
    for (const producer of producers) {
      const database = databaseFor(producer);
      const owner = owners.get(database);
      if (owner) {
        const same = owner.producer === producer ? `producer "${producer}"` : `producers "${owner.producer}" and "${producer}" (one database, ${database})`;
        const sections = owner.section === section.name ? `[${section.name}] producers lists` : `[${owner.section}] producers and [${section.name}] producers both list`;
        throw new ConfigError(`${config.file}: ${sections} ${same}: a producer's data lives on one instance`);
      }
      owners.set(database, { producer, section: section.name });
    }
    all.push(instance(name, section.name, settings, producers, overrides.timeoutMs));
  }
  return new InfluxInstances(all);
}
