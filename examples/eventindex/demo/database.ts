/**
 * The demo's PostgreSQL: the bookkeeping an EventIndex keeps (production datasets, imports, trigger
 * runs), filled a little more at every tick. The server runs from var/eventindex-postgresql; the demo
 * works as the superuser `postgres` on its Unix socket there, and the collector reads as the account
 * [sql.query.ei_production] names (SELECT only).
 */
import path from 'node:path';
import { Client } from 'pg';
import type { Config } from '../../../lib/config/config';
import { pathsFrom } from '../../../lib/config/paths';
import { isFailing } from './switches';

/** The var/ folder the server's data and socket are in (packagedServer's var/<name>). */
export const SERVER_NAME = 'eventindex-postgresql';
/** The section whose connection keys the demo creates (database, account, password). */
export const CONNECTION_SECTION = 'sql.query.ei_production';

export interface Connection {
  socketDirectory: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

export function connectionOf(config: Config): Connection {
  const section = config.section(CONNECTION_SECTION);
  return {
    socketDirectory: path.join(pathsFrom(config).root, SERVER_NAME),
    port: section.int('port', 5432),
    database: section.string('database'),
    user: section.string('user'),
    password: section.secret('password'),
  };
}

const quoteIdentifier = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;

async function withClient<T>(connection: Connection, database: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ host: connection.socketDirectory, port: connection.port, user: 'postgres', database });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const TABLES = [
  'CREATE TABLE IF NOT EXISTS production_datasets (id SERIAL PRIMARY KEY, project TEXT NOT NULL, data_format TEXT NOT NULL, state TEXT NOT NULL, updated TIMESTAMPTZ NOT NULL DEFAULT NOW())',
  'CREATE TABLE IF NOT EXISTS imports (id SERIAL PRIMARY KEY, dataset TEXT NOT NULL, state TEXT NOT NULL, events BIGINT NOT NULL DEFAULT 0, submitted TIMESTAMPTZ NOT NULL DEFAULT NOW(), finished TIMESTAMPTZ)',
  'CREATE TABLE IF NOT EXISTS trigger_runs (run_number INTEGER PRIMARY KEY, loaded TIMESTAMPTZ NOT NULL DEFAULT NOW(), lumiblocks INTEGER NOT NULL, complete BOOLEAN NOT NULL)',
];
const READ_TABLES = ['production_datasets', 'imports', 'trigger_runs'];

/** Creates (or finds) the database, its tables and the reading account with the config's password. Idempotent. */
export async function setUpDatabase(config: Config): Promise<void> {
  const connection = connectionOf(config);
  const reader = quoteIdentifier(connection.user);
  await withClient(connection, 'postgres', async (client) => {
    const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [connection.user]);
    // Utility statements take no parameters: the names and password are quoted here.
    await client.query(`${role.rowCount ? 'ALTER' : 'CREATE'} ROLE ${reader} LOGIN PASSWORD ${quoteLiteral(connection.password)}`);
    const database = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [connection.database]);
    if (!database.rowCount) await client.query(`CREATE DATABASE ${quoteIdentifier(connection.database)}`);
  });
  await withClient(connection, connection.database, async (client) => {
    for (const statement of TABLES) await client.query(statement);
    await client.query(`GRANT SELECT ON ${READ_TABLES.join(', ')} TO ${reader}`);
  });
}

const PROJECTS = ['data24_13p6TeV', 'mc23_13p6TeV'];
const FORMATS = ['AOD', 'DAOD_PHYS', 'DAOD_PHYSLITE'];
const NORMAL_STATES = ['found', 'scheduled', 'done', 'done', 'skipped'];

/**
 * One tick of the bookkeeping: a few datasets found and processed, imports submitted and finished, one
 * more trigger run loaded; rows older than two days go. A failing module's switch adds what breaks it:
 * failed datasets (production), failed imports (import), the reading account losing its SELECT on
 * trigger_runs (triggerdb, undone once the switch is off).
 */
export async function tickDatabase(config: Config, tick: number): Promise<void> {
  const connection = connectionOf(config);
  await withClient(connection, connection.database, async (client) => {
    const insertDataset = 'INSERT INTO production_datasets (project, data_format, state) VALUES ($1, $2, $3)';
    for (let index = 0; index < 3; index += 1) {
      const at = tick * 3 + index;
      await client.query(insertDataset, [PROJECTS[at % PROJECTS.length], FORMATS[at % FORMATS.length], NORMAL_STATES[at % NORMAL_STATES.length]]);
    }
    if (isFailing(config, 'production')) {
      for (let index = 0; index < 6; index += 1) await client.query(insertDataset, [PROJECTS[index % 2], FORMATS[index % 3], 'failed']);
    }

    await client.query("UPDATE imports SET state = 'done', finished = NOW(), events = 150000 + (id % 7) * 25000 WHERE state = 'pending' AND submitted < NOW() - INTERVAL '30 seconds'");
    for (let index = 0; index < 2; index += 1) await client.query("INSERT INTO imports (dataset, state) VALUES ($1, 'pending')", [`${PROJECTS[index]}.00${480000 + (tick % 20000)}.physics_Main.AOD`]);
    if (isFailing(config, 'import')) {
      for (let index = 0; index < 6; index += 1) await client.query("INSERT INTO imports (dataset, state, finished) VALUES ($1, 'failed', NOW())", [`${PROJECTS[index % 2]}.00${480000 + (tick % 20000)}.physics_Main.AOD`]);
    }

    const reader = quoteIdentifier(connection.user);
    if (isFailing(config, 'triggerdb')) {
      await client.query(`REVOKE SELECT ON trigger_runs FROM ${reader}`);
    } else {
      await client.query(`GRANT SELECT ON trigger_runs TO ${reader}`);
      await client.query('INSERT INTO trigger_runs (run_number, lumiblocks, complete) SELECT COALESCE(MAX(run_number), 480000) + 1, 300 + $1::int % 500, true FROM trigger_runs', [tick]);
    }

    await client.query("DELETE FROM production_datasets WHERE updated < NOW() - INTERVAL '2 days'");
    await client.query("DELETE FROM imports WHERE submitted < NOW() - INTERVAL '2 days'");
    await client.query("DELETE FROM trigger_runs WHERE loaded < NOW() - INTERVAL '2 days' AND run_number < (SELECT MAX(run_number) FROM trigger_runs)");
  });
}
