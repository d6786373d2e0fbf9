import { ConfigError, type Config, type ConfigSection } from '../../lib/config/config';
import { checkDeclaredAgainstSchema, checkDeclaredName, DECLARED_NAME, parseDeclaredFields, type DeclaredFields } from '../../lib/documents/declared';
import { schemaRegistry } from '../../lib/documents/schemas';
import { SQL_QUERY_STATUS } from '../../schemas/kinds';
import { oracleConnectString } from './oracleConnectString';


/** The database servers sql speaks: mysql covers MariaDB. */
export const ENGINES = ['mysql', 'postgresql', 'oracle'] as const;
export type Engine = (typeof ENGINES)[number];

/** Each engine's usual port, used when `port` is not set. */
export const DEFAULT_PORTS: Record<Engine, number> = { mysql: 3306, postgresql: 5432, oracle: 1521 };

export interface ConnectionSettings {
  engine: Engine;
  host: string;
  port: number;
  user: string;
  password: string | undefined;
  /** mysql and postgresql: the default database. Oracle has none (see serviceName). */
  database: string | undefined;
  /** Oracle: the service the listener connects to (host:port/service_name). */
  serviceName: string | undefined;
  /** Oracle: a full connect descriptor or Easy Connect string, instead of host, port and service_name. */
  connectString: string | undefined;
  connectTimeoutMs: number;
  /** Connect over TLS with the trust and identity of [tls.sql] (ca, client certificate and key). */
  tls: boolean;
}

/** One [sql.query.NAME] section, resolved against the [sql] defaults. */
export interface QueryDefinition {
  name: string;
  sql: string;
  /** InfluxDB measurement (document type) of the result rows. */
  measurement: string;
  tagColumns: string[];
  /** Field columns with their kind; undefined means every column that is not a tag. */
  fieldColumns: DeclaredFields | undefined;
  timeoutMs: number;
  maxRows: number;
  connection: ConnectionSettings;
}

/** The status documents' type: a query's results cannot use it as their measurement. */
export const STATUS_TYPE = SQL_QUERY_STATUS.type;
const NAME_PATTERN = DECLARED_NAME;

function checkColumnName(section: ConfigSection, key: string, column: string): void {
  checkDeclaredName(section, key, column, 'alias the column in the SQL');
}

/** The connection of a query: its own keys, else the [sql] section's. */
function connectionSettings(query: ConfigSection, defaults: ConfigSection): ConnectionSettings {
  const pick = (key: string): ConfigSection => (query.has(key) ? query : defaults);
  const engineSection = pick('engine');
  const engineName = engineSection.string('engine', 'mysql');
  if (!(ENGINES as readonly string[]).includes(engineName)) throw engineSection.invalid('engine', `must be one of ${ENGINES.join(', ')}, got "${engineName}"`);
  const engine = engineName as Engine;
  const settings: ConnectionSettings = {
    engine,
    host: pick('host').string('host', '127.0.0.1'),
    // [sql] port is the port of [sql]'s engine: a query of another engine has its own default.
    port: (query.has('port') || engine !== defaults.string('engine', 'mysql') ? query : defaults).int('port', DEFAULT_PORTS[engine], { min: 1, max: 65535 }),
    user: pick('user').string('user'),
    password: pick('password').optionalSecret('password'),
    database: pick('database').optionalString('database'),
    serviceName: pick('service_name').optionalString('service_name'),
    connectString: pick('connect_string').optionalString('connect_string'),
    connectTimeoutMs: pick('connect_timeout').duration('connect_timeout', '10s'),
    tls: pick('tls').bool('tls', false),
  };
  if (engine === 'oracle') {
    if (settings.database !== undefined) throw pick('database').invalid('database', 'is not used by engine = oracle: set service_name (or connect_string)');
    if (settings.serviceName === undefined && settings.connectString === undefined) throw query.invalid('service_name', 'is missing: engine = oracle needs service_name (or a full connect_string)');
    if (settings.serviceName !== undefined && settings.connectString !== undefined) throw query.invalid('connect_string', 'and service_name are both set: connect_string names the service itself');
  } else {
    for (const key of ['service_name', 'connect_string']) if (pick(key).has(key)) throw pick(key).invalid(key, `is for engine = oracle only (engine here: ${engine})`);
  }
  if (engine === 'oracle') {
    try {
      oracleConnectString(settings);
    } catch (error) {
      throw query.invalid(settings.connectString === undefined ? 'service_name' : 'connect_string', `(engine = oracle): ${(error as Error).message}`);
    }
  }
  return settings;
}

/** Every [sql.query.NAME] section of the config, checked; throws a ConfigError naming the key. */
export function queryDefinitions(config: Config): QueryDefinition[] {
  const defaults = config.section('sql');
  const sections = config.sectionsUnder('sql.query');
  if (sections.length === 0) throw new ConfigError(`${config.file}: no [sql.query.NAME] section: configure at least one query`);
  return sections.map((section) => {
    const name = section.name.slice('sql.query.'.length);
    if (!NAME_PATTERN.test(name)) throw new ConfigError(`${section.at()}: query names use letters, digits and _ only`);
    const measurement = section.string('measurement', name);
    if (!NAME_PATTERN.test(measurement)) throw new ConfigError(`${section.at()} measurement: '${measurement}' uses letters, digits and _ only`);
    if (measurement === STATUS_TYPE) throw new ConfigError(`${section.at()} measurement: '${STATUS_TYPE}' is reserved for the sql/${STATUS_TYPE} status documents`);
    const tagColumns = section.list('tags', []);
    for (const column of tagColumns) checkColumnName(section, 'tags', column);
    const fieldColumns = parseDeclaredFields(section, 'fields', 'alias the column in the SQL');
    const both = tagColumns.filter((column) => fieldColumns?.has(column));
    if (both.length) throw new ConfigError(`${section.at()}: '${both.join("', '")}' cannot be both a tag and a field`);
    checkDeclaredAgainstSchema(schemaRegistry(), SQL_QUERY_STATUS.producer, measurement, { section, tags: tagColumns, fields: fieldColumns });
    return {
      name,
      sql: section.string('sql'),
      measurement,
      tagColumns,
      fieldColumns,
      timeoutMs: (section.has('timeout') ? section : defaults).duration('timeout', '30s'),
      maxRows: (section.has('max_rows') ? section : defaults).int('max_rows', 1000, { min: 1 }),
      connection: connectionSettings(section, defaults),
    };
  });
}
