import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { Config } from '../../lib/config/config';
import { DocumentFactory } from '../../lib/documents/document';
import { SchemaRegistry, schemaRegistry } from '../../lib/documents/schemas';
import type { MonitDocument, TypeSchema } from '../../lib/documents/types';
import { collectorContext } from '../../test/support/collectorContext';
import { freePort } from '../../test/support/ports';
import { readmeDisagreements } from '../../test/support/readme';
import { startServer, type RunningServer } from '../../test/support/services';
import collector from './collector';
import { mapRows } from './mapping';
import { queryDefinitions } from './queries';
import { readOnlyViolation } from './statement';
import { statusOf } from './test/collect';

const PASSWORD = 'reader-pw-5e1';
let server: RunningServer;
let root: mysql.Connection;

beforeAll(async () => {
  server = await startServer('mariadb');
  root = await mysql.createConnection({ socketPath: path.join(server.dir, 'mysqld.sock'), user: 'root', multipleStatements: true });
  await root.query(`
    CREATE DATABASE eventindex;
    CREATE TABLE eventindex.imports (site VARCHAR(32), state VARCHAR(16), bytes BIGINT, finished DATETIME, ratio DECIMAL(5,2), note VARCHAR(64));
    INSERT INTO eventindex.imports VALUES
      ('CERN', 'done', 1000, '2026-11-22 09:00:00', 0.50, 'a'),
      ('CERN', 'done', 3000, '2026-11-22 09:30:00', 1.50, 'b'),
      ('BNL', 'done', 500, '2026-11-22 08:00:00', 0.25, NULL),
      ('BNL', 'failed', 7, NULL, NULL, 'disk full');
    CREATE USER 'reader'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}';
    GRANT SELECT ON eventindex.* TO 'reader'@'127.0.0.1';
  `);
});

afterAll(async () => {
  await root?.end();
  await server?.stop();
});

function configText(queries: string, extra = ''): string {
  return `[sql]\nhost = 127.0.0.1\nport = ${server.port}\nuser = reader\npassword = ${PASSWORD}\ndatabase = eventindex\n${extra}\n${queries}`;
}

test('tag and field columns become the tags and fields of sql/<query> documents', async () => {
  const context = collectorContext(
    'sql',
    configText(`
[sql.query.imports_by_site]
sql = SELECT site, state, COUNT(*) AS imports, SUM(bytes) AS bytes, MAX(finished) AS last_finished, AVG(ratio) AS ratio, MAX(note) AS note FROM imports GROUP BY site, state ORDER BY site, state
tags = site, state
fields = imports, bytes, last_finished, ratio, note:string
`),
  );
  const documents = (await collector.collect(context)) as MonitDocument[];
  expect(context.problems).toEqual([]);
  expect(statusOf(documents, 'imports_by_site')).toMatchObject({ producer: 'sql', up: 1, rows: 3, idb_tags: ['query_name'] });
  const rows = documents.filter((document) => document.type === 'imports_by_site');
  const summary = rows.map((document) => ({
    tags: document.idb_tags,
    fields: document.idb_fields,
    values: Object.fromEntries([...(document.idb_tags ?? []), ...(document.idb_fields ?? [])].map((key) => [key, document[key]])),
  }));
  expect(summary).toEqual([
    {
      tags: ['site', 'state'],
      fields: ['imports', 'bytes', 'last_finished', 'ratio'], // note is NULL for BNL/done: left out
      values: { site: 'BNL', state: 'done', imports: 1, bytes: 500, last_finished: Date.UTC(2026, 10, 22, 8), ratio: 0.25 },
    },
    {
      tags: ['site', 'state'],
      fields: ['imports', 'bytes', 'note'],
      values: { site: 'BNL', state: 'failed', imports: 1, bytes: 7, note: 'disk full' },
    },
    {
      tags: ['site', 'state'],
      fields: ['imports', 'bytes', 'last_finished', 'ratio', 'note'],
      values: { site: 'CERN', state: 'done', imports: 2, bytes: 4000, last_finished: Date.UTC(2026, 10, 22, 9, 30), ratio: 1, note: 'b' },
    },
  ]);
  for (const document of rows) expect(document).toMatchObject({ producer: 'sql', timestamp: context.slotMs, host: 'test-host' });
});

test('without a fields key every non-tag column is a numeric field, and the session is read-only', async () => {
  const context = collectorContext('sql', configText(`[sql.query.session]\nsql = SELECT @@tx_read_only AS read_only, 'x' AS label\ntags = label\n`));
  const documents = (await collector.collect(context)) as MonitDocument[];
  expect(context.problems).toEqual([]);
  const [row] = documents.filter((document) => document.type === 'session');
  expect(row).toMatchObject({ label: 'x', read_only: 1, idb_tags: ['label'], idb_fields: ['read_only'] });
});

test('a failing query gives up=0 with a clear error, and the other queries still run', async () => {
  const context = collectorContext(
    'sql',
    configText(`
[sql.query.broken]
sql = SELECT site, COUNT(*) AS n FROM no_such_table GROUP BY site
tags = site
[sql.query.total]
sql = SELECT COUNT(*) AS imports FROM imports
`),
  );
  const documents = (await collector.collect(context)) as MonitDocument[];
  expect(statusOf(documents, 'broken')).toMatchObject({ up: 0, error: 'query' });
  expect(String(statusOf(documents, 'broken').message)).toContain("no_such_table' doesn't exist");
  expect(documents.some((document) => document.type === 'broken')).toBe(false);
  expect(context.problems).toHaveLength(1);
  expect(context.problems[0]).toMatch(/sql query 'broken' on reader@127\.0\.0\.1:\d+\/eventindex failed \(query\)/);
  expect(statusOf(documents, 'total')).toMatchObject({ up: 1, rows: 1 });
  expect(documents.find((document) => document.type === 'total')).toMatchObject({ imports: 4 });
});

test('a slow query is stopped at its timeout and reported as timeout', async () => {
  const context = collectorContext(
    'sql',
    configText(`
[sql.query.slow]
sql = SELECT SLEEP(30) AS slept
timeout = 1s
[sql.query.fast]
sql = SELECT 1 AS one
`),
  );
  const documents = (await collector.collect(context)) as MonitDocument[];
  expect(statusOf(documents, 'slow')).toMatchObject({ up: 0, error: 'timeout' });
  expect(documents.some((document) => document.type === 'slow')).toBe(false);
  expect(statusOf(documents, 'fast')).toMatchObject({ up: 1 });
  expect(context.problems).toEqual([expect.stringContaining("sql query 'slow'")]);
});

test('an unreachable server and a wrong password give up=0 with refused and auth, never showing the password', async () => {
  const closedPort = await freePort();
  const context = collectorContext(
    'sql',
    configText(`
[sql.query.unreachable]
sql = SELECT 1 AS one
port = ${closedPort}
[sql.query.wrong_password]
sql = SELECT 1 AS one
password = not-the-${PASSWORD}
`),
  );
  const documents = (await collector.collect(context)) as MonitDocument[];
  expect(statusOf(documents, 'unreachable')).toMatchObject({ up: 0, error: 'refused' });
  expect(statusOf(documents, 'wrong_password')).toMatchObject({ up: 0, error: 'auth' });
  expect(context.problems).toHaveLength(2);
  expect(JSON.stringify([documents, context.problems])).not.toContain(PASSWORD);
});

test('a server that accepts the connection but never answers is given up after connect_timeout', async () => {
  const silent = net.createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const sockets: net.Socket[] = [];
  silent.on('connection', (socket) => sockets.push(socket));
  try {
    const port = (silent.address() as net.AddressInfo).port;
    const context = collectorContext('sql', configText(`[sql.query.hanging]\nsql = SELECT 1 AS one\nport = ${port}\nconnect_timeout = 500ms\n[sql.query.fine]\nsql = SELECT 1 AS one\n`));
    const documents = (await collector.collect(context)) as MonitDocument[];
    expect(statusOf(documents, 'hanging')).toMatchObject({ up: 0, error: 'timeout' });
    expect(statusOf(documents, 'fine')).toMatchObject({ up: 1 });
  } finally {
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
});

test('a statement that is not a read-only SELECT is refused before it reaches the server', async () => {
  const context = collectorContext('sql', configText(`[sql.query.delete]\nsql = DELETE FROM imports\n[sql.query.outfile]\nsql = SELECT * FROM imports INTO OUTFILE '/tmp/x'\n`, 'user = root'));
  const documents = (await collector.collect(context)) as MonitDocument[];
  expect(statusOf(documents, 'delete')).toMatchObject({ up: 0, error: 'forbidden' });
  expect(statusOf(documents, 'outfile')).toMatchObject({ up: 0, error: 'forbidden' });
  const [count] = await root.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM eventindex.imports');
  expect(count[0].n).toBe(4);
});

test('the read-only guard accepts SELECT and WITH, and refuses writes, locking reads and several statements', () => {
  expect(readOnlyViolation('SELECT 1')).toBeUndefined();
  expect(readOnlyViolation('  select replace(name, "a", "b") from t; ')).toBeUndefined();
  expect(readOnlyViolation('WITH x AS (SELECT 1 AS a) SELECT a FROM x')).toBeUndefined();
  expect(readOnlyViolation("SELECT 'DELETE FROM t; INTO' AS text -- INTO")).toBeUndefined();
  expect(readOnlyViolation('SELECT `into` FROM t')).toBeUndefined();
  expect(readOnlyViolation('UPDATE t SET a = 1')).toMatch(/only SELECT/);
  expect(readOnlyViolation('/* SELECT */ DROP TABLE t')).toMatch(/only SELECT/);
  expect(readOnlyViolation('SELECT 1; DROP TABLE t')).toMatch(/one statement/);
  expect(readOnlyViolation('SELECT a FROM t FOR UPDATE')).toMatch(/FOR UPDATE/);
  expect(readOnlyViolation('SELECT a FROM t LOCK IN SHARE MODE')).toMatch(/LOCK IN SHARE MODE/);
  expect(readOnlyViolation('SELECT a INTO @v FROM t')).toMatch(/INTO/);
  expect(readOnlyViolation('SELECT 1 /*!50000 ; DROP TABLE t */')).toMatch(/executable comments/);
});

test('config mistakes are ConfigErrors naming the section and key', () => {
  const parse = (text: string): unknown => queryDefinitions(Config.parse(`[sql]\nuser = u\n${text}`));
  expect(() => parse('')).toThrow(/no \[sql\.query\.NAME\] section/);
  expect(() => parse('[sql.query.a]\nsql = SELECT 1\ntags = host')).toThrow(/\[sql\.query\.a\] tags: 'host' is a reserved MONIT key/);
  expect(() => parse('[sql.query.a]\nsql = SELECT 1\ntags = x\nfields = x')).toThrow(/'x' cannot be both a tag and a field/);
  expect(() => parse('[sql.query.a]\nsql = SELECT 1\nfields = x:date')).toThrow(/unknown kind 'date'/);
  expect(() => parse('[sql.query.query_status]\nsql = SELECT 1')).toThrow(/measurement: 'query_status' is reserved/);
  expect(() => parse('[sql.query.a]\ntags = x')).toThrow(/\[sql\.query\.a\] sql is missing/);
});

test("[sql] port is the port of [sql]'s engine: a query of another engine without its own port takes that engine's default", () => {
  const ports = (text: string): number[] => queryDefinitions(Config.parse(`[sql]\nuser = u\nport = 3316\n${text}`)).map((query) => query.connection.port);
  expect(ports('[sql.query.a]\nsql = SELECT 1\n')).toEqual([3316]);
  expect(ports('[sql.query.a]\nsql = SELECT 1\nengine = postgresql\n')).toEqual([5432]);
  expect(ports('[sql.query.a]\nsql = SELECT 1\nengine = postgresql\nport = 5499\n')).toEqual([5499]);
  expect(ports('[sql.query.a]\nsql = SELECT 1\nengine = mysql\n')).toEqual([3316]);
});

test('a measurement with a schema file gets the schema types; rows with the same tags are not sent twice', () => {
  const typed: TypeSchema = {
    producer: 'sql',
    type: 'typed_rows',
    description: 'test',
    tags: { site: { description: 'site' } },
    fields: { jobs: { type: 'int', unit: 'count', description: 'jobs', downsample: 'mean' } },
  };
  const registry = new SchemaRegistry([...schemaRegistry().all(), typed]);
  const factory = new DocumentFactory({ slotMs: Date.UTC(2026, 10, 22, 10), host: 'h', registry });
  const [query] = queryDefinitions(Config.parse('[sql]\nuser = u\n[sql.query.typed_rows]\nsql = SELECT 1\ntags = site\nfields = jobs'));
  const mapped = mapRows(query, [{ site: 'CERN', jobs: '12' }, { site: 'BNL', jobs: 2.5 }, { site: 'CERN', jobs: 3 }], factory, registry);
  expect(mapped.documents.map((document) => [document.site, document.jobs])).toEqual([['CERN', 12]]);
  expect(mapped.problems).toEqual([
    "row 2 column 'jobs': 2.5 is not an integer",
    'row 2 has no field value (all NULL): left out',
    'row 3 has the same tags as row 1 ({"site":"CERN"}): left out, it would overwrite it',
  ]);
});

test('the README lists every tag and field of sql/query_status', () => {
  expect(readmeDisagreements(path.join(__dirname, 'README.md'), [{ producer: 'sql', type: 'query_status' }])).toEqual([]);
});

test('sample.cfg, uncommented, is a working config', () => {
  const sample = readFileSync(path.join(__dirname, 'sample.cfg'), 'utf8').replace(/^;(?=\[|\w+ =)/gm, '');
  const [query] = queryDefinitions(Config.parse(sample, 'sample.cfg'));
  expect(query).toMatchObject({ name: 'imports_by_site', measurement: 'imports_by_site', tagColumns: ['site', 'state'], timeoutMs: 30_000, maxRows: 1000 });
  expect(query.connection).toMatchObject({ host: '127.0.0.1', port: 3306, user: 'monit_reader', database: 'eventindex', connectTimeoutMs: 10_000 });
  expect([...(query.fieldColumns ?? [])]).toEqual([['imports', 'number'], ['bytes', 'number'], ['last_finished', 'number']]);
  expect(readOnlyViolation(query.sql)).toBeUndefined();
});
