import type { ConnectionSettings } from './queries';

/** Characters that would end a value of a connect descriptor early. */
const DESCRIPTOR_SPECIAL = /[()=\s]/;

/**
 * The connect descriptor of a query: connect_string as given, else one built from host, port and
 * service_name, over TCPS when tls is set. Throws an Error naming the value that cannot be written
 * into a descriptor (the config check turns it into a ConfigError).
 */
export function oracleConnectString(connection: Pick<ConnectionSettings, 'host' | 'port' | 'serviceName' | 'connectString' | 'tls'>): string {
  if (connection.connectString !== undefined) {
    if (connection.tls && !/tcps/i.test(connection.connectString)) throw new Error('tls = true but connect_string does not use the TCPS protocol (tcps://host:port/service or (PROTOCOL=TCPS))');
    return connection.connectString;
  }
  for (const [key, value] of [['host', connection.host], ['service_name', connection.serviceName ?? '']]) {
    if (value === '' || DESCRIPTOR_SPECIAL.test(value)) throw new Error(`${key} '${value}' cannot be written into a connect descriptor (no spaces, parentheses or =): use connect_string`);
  }
  const protocol = connection.tls ? 'TCPS' : 'TCP';
  return `(DESCRIPTION=(ADDRESS=(PROTOCOL=${protocol})(HOST=${connection.host})(PORT=${connection.port}))(CONNECT_DATA=(SERVICE_NAME=${connection.serviceName})))`;
}
