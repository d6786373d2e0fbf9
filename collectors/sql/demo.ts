import { execFileSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { defineDemo, packagedServer, type LocalContext } from '../../scripts/quickstart/components';
import { queryDefinitions, type ConnectionSettings } from './queries';

const quoteLiteral = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The connections of the queries with engine = postgresql, when [demo] postgresql = true. */
function demoPostgresql(context: LocalContext): ConnectionSettings[] {
  if (!context.config.section('demo').bool('postgresql', false) || !context.config.hasSection('sql')) return [];
  return queryDefinitions(context.config)
    .map((query) => query.connection)
    .filter((connection) => connection.engine === 'postgresql');
}

/** The same demo table in PostgreSQL, for every database and account the postgresql queries use. */
async function fillPostgresql(context: LocalContext): Promise<void> {
  const connections = demoPostgresql(context);
  const port = connections[0].port;
  const socketDir = path.join(context.varRoot, 'postgresql');
  const superuser = async (database: string, work: (client: pg.Client) => Promise<void>): Promise<void> => {
    const client = new pg.Client({ host: socketDir, port, user: 'postgres', database });
    await client.connect();
    try {
      await work(client);
    } finally {
      await client.end();
    }
  };
  for (const connection of connections) {
    const database = connection.database ?? connection.user;
    await superuser('postgres', async (client) => {
      const role = client.escapeIdentifier(connection.user);
      const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [connection.user]);
      await client.query(`${exists.rowCount ? 'ALTER' : 'CREATE'} ROLE ${role} LOGIN PASSWORD ${client.escapeLiteral(connection.password ?? '')}`);
      const present = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (!present.rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    });
    await superuser(database, async (client) => {
      await client.query('CREATE TABLE IF NOT EXISTS imports (id SERIAL PRIMARY KEY, site VARCHAR(64), state VARCHAR(16), bytes BIGINT, finished TIMESTAMP)');
      await client.query(
        "INSERT INTO imports (site, state, bytes, finished) SELECT * FROM (VALUES ('CERN-PROD', 'done', 1500000, now()::timestamp), ('BNL-ATLAS', 'done', 900000, now()::timestamp), ('CERN-PROD', 'failed', 0, now()::timestamp)) AS first_rows WHERE NOT EXISTS (SELECT 1 FROM imports)",
      );
      await client.query(`GRANT SELECT ON imports TO ${client.escapeIdentifier(connection.user)}`);
    });
  }
}

/**
 * MariaDB ([demo] mariadb = true) with a small EventIndex-like table and a SELECT-only account; and
 * PostgreSQL ([demo] postgresql = true) with the same table, on the port of the queries with
 * engine = postgresql, for their databases and accounts.
 */
export default defineDemo({
  components: [
    packagedServer(
      'mariadb',
      'mariadb',
      (context) => {
        if (!context.config.section('demo').bool('mariadb', false) || !context.config.hasSection('sql')) return undefined;
        const sql = context.config.section('sql');
        return sql.string('engine', 'mysql') === 'mysql' ? sql.int('port', 3306) : undefined;
      },
      async (context) => {
        const sql = context.config.section('sql');
        const database = sql.string('database');
        const user = sql.string('user');
        const password = sql.secret('password');
        const statements = [
          `CREATE DATABASE IF NOT EXISTS \`${database}\``,
          `CREATE TABLE IF NOT EXISTS \`${database}\`.imports (id INT AUTO_INCREMENT PRIMARY KEY, site VARCHAR(64), state VARCHAR(16), bytes BIGINT, finished DATETIME)`,
          `INSERT INTO \`${database}\`.imports (site, state, bytes, finished) SELECT * FROM (SELECT 'CERN-PROD', 'done', 1500000, NOW() UNION ALL SELECT 'BNL-ATLAS', 'done', 900000, NOW() UNION ALL SELECT 'CERN-PROD', 'failed', 0, NOW()) AS first_rows WHERE NOT EXISTS (SELECT 1 FROM \`${database}\`.imports)`,
          `CREATE USER IF NOT EXISTS ${quoteLiteral(user)}@'127.0.0.1' IDENTIFIED BY ${quoteLiteral(password)}`,
          `ALTER USER ${quoteLiteral(user)}@'127.0.0.1' IDENTIFIED BY ${quoteLiteral(password)}`,
          `GRANT SELECT ON \`${database}\`.* TO ${quoteLiteral(user)}@'127.0.0.1'`,
        ];
        execFileSync('mariadb', ['--no-defaults', `--socket=${path.join(context.varRoot, 'mariadb', 'mysqld.sock')}`, '-uroot'], { input: statements.join(';\n') + ';\n' });
      },
    ),
    packagedServer('postgresql', 'postgresql', (context) => demoPostgresql(context)[0]?.port, fillPostgresql),
  ],
});
