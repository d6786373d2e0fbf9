import { execFileSync } from 'node:child_process';
import { chownSync, chmodSync, copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { Config } from '../../lib/config/config';
import type { MonitDocument } from '../../lib/documents/types';
import { collectedDocuments } from '../../lib/run/collector';
import { collectorContext } from '../../test/support/collectorContext';
import { freePort } from '../../test/support/ports';
import { startServer, testDir, type RunningServer } from '../../test/support/services';
import { makeTestCa, type TestCa } from '../../test/support/testCa';
import type { LocalComponent, LocalContext } from '../../scripts/quickstart/components';
import collector from './collector';
import demo from './demo';
import { collect, statusOf } from './test/collect';

/**
 * The same configured queries against a real PostgreSQL and a real MariaDB holding the same rows give
 * the same documents; PostgreSQL's own failures (timeout, auth, refused, TLS) are classified as
 * MariaDB's are.
 */

const PASSWORD = 'pg-reader-pw-3f9';

/** The table of both servers, as the test knows it (the expected values are computed from these). */
interface ImportRow {
  site: string;
  state: string;
  bytes: number | null;
  finished: string | null; // UTC wall clock, as stored in DATETIME / timestamp
  ratio: string | null; // DECIMAL(5,2) / numeric(5,2)
  note: string | null;
  ok: boolean | null;
  day: string | null;
}
const ROWS: ImportRow[] = [
  { site: 'CERN', state: 'done', bytes: 1000, finished: '2026-11-22 09:00:00', ratio: '0.50', note: 'a', ok: true, day: '2026-11-20' },
  { site: 'CERN', state: 'done', bytes: 5_000_000_000_000, finished: '2026-11-22 09:30:00.250', ratio: '1.50', note: 'b', ok: false, day: '2026-11-21' },
  { site: 'BNL', state: 'done', bytes: 500, finished: '2026-11-22 08:00:00', ratio: '0.25', note: null, ok: null, day: '2026-11-19' },
  { site: 'BNL', state: 'failed', bytes: 7, finished: null, ratio: null, note: 'disk full', ok: false, day: null },
  { site: 'BNL', state: 'failed', bytes: null, finished: null, ratio: null, note: null, ok: null, day: null },
];

const literal = (value: string | number | boolean | null): string => (value === null ? 'NULL' : typeof value === 'string' ? `'${value}'` : String(value));
const insertStatement = `INSERT INTO imports VALUES ${ROWS.map((row) => `(${[row.site, row.state, row.bytes, row.finished, row.ratio, row.note, row.ok, row.day].map(literal).join(', ')})`).join(', ')}`;
const utc = (wallClock: string): number => Date.parse(`${wallClock.replace(' ', 'T')}Z`);

let ca: TestCa;
let postgresql: RunningServer;
let mariadb: RunningServer;
/** The certificate and key PostgreSQL serves (a copy, so a test can swap them and reload). */
let served: { cert: string; key: string };

/** postgres runs as the user postgres when the tests run as root: the files it reads must be its own. */
function ownedByServer(folder: string): void {
  if (process.getuid?.() !== 0) return;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(folder, uid, gid);
  for (const file of readdirSync(folder)) chownSync(path.join(folder, file), uid, gid);
}

async function asSuperuser<Result>(work: (client: pg.Client) => Promise<Result>): Promise<Result> {
  const client = new pg.Client({ host: postgresql.dir, port: postgresql.port, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Makes PostgreSQL present `identity` to its next connections. */
async function present(identity: { cert: string; key: string }): Promise<void> {
  copyFileSync(identity.cert, served.cert);
  copyFileSync(identity.key, served.key);
  await asSuperuser((client) => client.query('SELECT pg_reload_conf()'));
  // The postmaster reloads on SIGHUP, after pg_reload_conf returns: wait until a new session sees the file.
  const wanted = execFileSync('openssl', ['x509', '-noout', '-serial', '-in', identity.cert], { encoding: 'utf8' }).trim().replace(/^serial=/, '');
  for (let attempt = 0; attempt < 100; attempt++) {
    const serial = await new Promise<string>((resolve) => {
      const socket = net.connect(postgresql.port, '127.0.0.1');
      // An SSLRequest, then the handshake by Node's tls on the same socket.
      socket.once('connect', () => socket.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])));
      socket.once('data', () => {
        const secure = tls.connect({ socket, rejectUnauthorized: false }, () => {
          resolve(secure.getPeerCertificate().serialNumber ?? '');
          secure.destroy();
        });
        secure.on('error', () => resolve(''));
      });
      socket.on('error', () => resolve(''));
    });
    if (serial.toUpperCase() === wanted.toUpperCase()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`PostgreSQL did not take the certificate ${identity.cert}`);
}

beforeAll(async () => {
  ca = makeTestCa();
  const folder = testDir('postgresql-tls-files');
  served = { cert: path.join(folder, 'server.pem'), key: path.join(folder, 'server.key') };
  copyFileSync(ca.server.cert, served.cert);
  copyFileSync(ca.server.key, served.key);
  chmodSync(served.key, 0o600);
  ownedByServer(folder);
  const options = path.join(testDir('postgresql-options'), 'postgresql.conf');
  writeFileSync(options, `ssl = on\nssl_cert_file = '${served.cert}'\nssl_key_file = '${served.key}'\n`);
  [postgresql, mariadb] = await Promise.all([startServer('postgresql', { configExtra: options }), startServer('mariadb')]);
  await asSuperuser(async (client) => {
    await client.query('CREATE DATABASE eventindex');
    await client.query(`CREATE ROLE reader LOGIN PASSWORD '${PASSWORD}'`);
  });
  const setup = new pg.Client({ host: postgresql.dir, port: postgresql.port, user: 'postgres', database: 'eventindex' });
  await setup.connect();
  await setup.query('CREATE TABLE imports (site VARCHAR(32), state VARCHAR(16), bytes BIGINT, finished TIMESTAMP, ratio NUMERIC(5,2), note VARCHAR(64), ok BOOLEAN, day DATE)');
  await setup.query(insertStatement);
  await setup.query('CREATE SEQUENCE counter');
  await setup.query('GRANT SELECT ON imports TO reader');
  await setup.query('GRANT USAGE, SELECT ON SEQUENCE counter TO reader');
  await setup.end();
  const root = await mysql.createConnection({ socketPath: path.join(mariadb.dir, 'mysqld.sock'), user: 'root', multipleStatements: true });
  await root.query(`
    CREATE DATABASE eventindex;
    CREATE TABLE eventindex.imports (site VARCHAR(32), state VARCHAR(16), bytes BIGINT, finished DATETIME(3), ratio DECIMAL(5,2), note VARCHAR(64), ok BOOLEAN, day DATE);
    USE eventindex;
    ${insertStatement};
    CREATE USER 'reader'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}';
    GRANT SELECT ON eventindex.* TO 'reader'@'127.0.0.1';
  `);
  await root.end();
}, 600_000);

afterAll(async () => {
  await Promise.all([postgresql?.stop(), mariadb?.stop()]);
});

/** The queries every engine is given, word for word. */
const SHARED_QUERIES = `
[sql.query.imports_by_site]
sql = SELECT site, state, COUNT(*) AS imports, SUM(bytes) AS bytes, MAX(finished) AS last_finished, MIN(day) AS first_day, AVG(ratio) AS ratio, MAX(note) AS note FROM imports GROUP BY site, state ORDER BY site, state
tags = site, state
fields = imports, bytes, last_finished, first_day, ratio, note:string

[sql.query.import_rows]
sql = SELECT site, note AS label, ok, finished, finished AS finished_text, day, bytes, ratio FROM imports WHERE note IS NOT NULL ORDER BY note
tags = site, label
fields = ok:bool, finished, finished_text:string, day, bytes, ratio

[sql.query.by_state]
sql = SELECT state, COUNT(*) AS total, SUM(CASE WHEN ok THEN 1 ELSE 0 END) AS ok_count FROM imports GROUP BY state ORDER BY state
tags = state

[sql.query.done_count]
sql = SELECT COUNT(*) AS doneCount FROM imports WHERE state = 'done'
fields = doneCount
`;

function connection(engine: 'postgresql' | 'mysql', extra = ''): string {
  const server = engine === 'postgresql' ? postgresql : mariadb;
  return `[sql]\nengine = ${engine}\nhost = 127.0.0.1\nport = ${server.port}\nuser = reader\npassword = ${PASSWORD}\ndatabase = eventindex\n${extra}\n`;
}

/** A document without the one field that must differ between two servers: how long the query took. */
function comparable(document: MonitDocument): MonitDocument {
  if (document.type !== 'query_status') return document;
  const rest = { ...document };
  delete rest.duration_ms;
  return { ...rest, idb_fields: (document.idb_fields ?? []).filter((field) => field !== 'duration_ms') };
}

describe('the same configured queries over the same rows', () => {
  let fromPostgresql: MonitDocument[];
  let fromMariadb: MonitDocument[];
  beforeAll(async () => {
    const [postgresqlRun, mariadbRun] = await Promise.all([collect(connection('postgresql') + SHARED_QUERIES), collect(connection('mysql') + SHARED_QUERIES)]);
    expect(postgresqlRun.context.problems).toEqual([]);
    expect(mariadbRun.context.problems).toEqual([]);
    fromPostgresql = postgresqlRun.documents;
    fromMariadb = mariadbRun.documents;
  });

  test('give the same documents on PostgreSQL and MariaDB (all but duration_ms)', () => {
    expect(fromPostgresql.length).toBeGreaterThan(4);
    expect(fromPostgresql.map(comparable)).toEqual(fromMariadb.map(comparable));
    for (const query of ['imports_by_site', 'import_rows', 'by_state', 'done_count']) expect(statusOf(fromPostgresql, query)).toMatchObject({ up: 1 });
  });

  test('grouped values: counts, bigint sums, numeric means, latest timestamps, earliest dates, NULLs left out', () => {
    const groups = new Map<string, ImportRow[]>();
    for (const row of ROWS) groups.set(`${row.site}/${row.state}`, [...(groups.get(`${row.site}/${row.state}`) ?? []), row]);
    const expected = [...groups.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, rows]) => {
        const present = <Value>(values: Array<Value | null>): Value[] => values.filter((value): value is Value => value !== null);
        const bytes = present(rows.map((row) => row.bytes));
        const ratios = present(rows.map((row) => row.ratio)).map(Number);
        const finished = present(rows.map((row) => row.finished)).map(utc);
        const days = present(rows.map((row) => row.day)).map((day) => utc(`${day} 00:00:00`));
        const notes = present(rows.map((row) => row.note)).sort();
        const fields: Record<string, number | string> = { imports: rows.length };
        if (bytes.length) fields.bytes = bytes.reduce((sum, value) => sum + value, 0);
        if (finished.length) fields.last_finished = Math.max(...finished);
        if (days.length) fields.first_day = Math.min(...days);
        if (ratios.length) fields.ratio = ratios.reduce((sum, value) => sum + value, 0) / ratios.length;
        if (notes.length) fields.note = notes[notes.length - 1];
        return { site: rows[0].site, state: rows[0].state, ...fields };
      });
    const rows = fromPostgresql.filter((document) => document.type === 'imports_by_site');
    expect(rows.map((document) => Object.fromEntries([...(document.idb_tags ?? []), ...(document.idb_fields ?? [])].map((key) => [key, document[key]])))).toEqual(expected);
    // The bigint sum is beyond 32 bits and exact.
    expect(rows.find((document) => document.site === 'CERN')?.bytes).toBe(5_000_000_001_000);
  });

  test('row values: booleans, timestamps as UTC ms and ISO text, dates, numerics; a NULL boolean is left out', () => {
    const rows = fromPostgresql.filter((document) => document.type === 'import_rows');
    const expected = ROWS.filter((row) => row.note !== null)
      .sort((a, b) => ((a.note as string) < (b.note as string) ? -1 : 1))
      .map((row) => {
        const fields: Record<string, unknown> = { site: row.site, label: row.note };
        if (row.ok !== null) fields.ok = row.ok;
        if (row.finished !== null) {
          fields.finished = utc(row.finished);
          fields.finished_text = new Date(utc(row.finished)).toISOString();
        }
        if (row.day !== null) fields.day = utc(`${row.day} 00:00:00`);
        if (row.bytes !== null) fields.bytes = row.bytes;
        if (row.ratio !== null) fields.ratio = Number(row.ratio);
        return fields;
      });
    expect(rows.map((document) => Object.fromEntries([...(document.idb_tags ?? []), ...(document.idb_fields ?? [])].map((key) => [key, document[key]])))).toEqual(expected);
    expect(rows.find((document) => document.label === 'b')).toMatchObject({ ok: false, finished_text: '2026-11-22T09:30:00.250Z' });
  });

  test('without a fields key every other column is a number; an alias PostgreSQL folds to lower case keeps the configured name', () => {
    const byState = fromPostgresql.filter((document) => document.type === 'by_state');
    const expected = ['done', 'failed'].map((state) => ({
      state,
      total: ROWS.filter((row) => row.state === state).length,
      ok_count: ROWS.filter((row) => row.state === state && row.ok === true).length,
    }));
    expect(byState.map((document) => ({ state: document.state, total: document.total, ok_count: document.ok_count }))).toEqual(expected);
    expect(byState[0].idb_fields).toEqual(['total', 'ok_count']);
    const [done] = fromPostgresql.filter((document) => document.type === 'done_count');
    expect(done).toMatchObject({ doneCount: ROWS.filter((row) => row.state === 'done').length, idb_fields: ['doneCount'] });
  });
});

test('PostgreSQL: the session is read-only, and a function that writes is refused by the server', async () => {
  const { documents, context } = await collect(
    connection('postgresql') +
      `[sql.query.session]\nsql = SELECT current_setting('transaction_read_only') AS read_only, current_setting('TimeZone') AS zone\nfields = read_only:string, zone:string\n` +
      `[sql.query.writes]\nsql = SELECT nextval('counter') AS next\n`,
  );
  expect(documents.find((document) => document.type === 'session')).toMatchObject({ read_only: 'on', zone: 'UTC' });
  expect(statusOf(documents, 'writes')).toMatchObject({ up: 0, error: 'query' });
  expect(String(statusOf(documents, 'writes').message)).toMatch(/^25006: cannot execute nextval\(\) in a read-only transaction/);
  expect(context.problems).toEqual([expect.stringMatching(/^sql query 'writes' on reader@127\.0\.0\.1:\d+\/eventindex failed \(query\)/)]);
  const next = await asSuperuser(async () => {
    const client = new pg.Client({ host: postgresql.dir, port: postgresql.port, user: 'postgres', database: 'eventindex' });
    await client.connect();
    const result = await client.query<{ last_value: string; is_called: boolean }>('SELECT last_value, is_called FROM counter');
    await client.end();
    return result.rows[0];
  });
  expect(next).toEqual({ last_value: '1', is_called: false }); // never advanced
});

test('PostgreSQL: several statements in one query are refused, so none can end the read-only transaction', async () => {
  // '#' is an operator in PostgreSQL, not a comment as in MySQL; the statement guard alone lets this through.
  const { documents } = await collect(connection('postgresql') + `[sql.query.escape]\nsql = "SELECT 1 # 2 AS x; COMMIT; BEGIN READ WRITE; SELECT nextval('counter') AS next"\n`);
  expect(statusOf(documents, 'escape')).toMatchObject({ up: 0, error: 'query' });
  expect(String(statusOf(documents, 'escape').message)).toMatch(/cannot insert multiple commands into a prepared statement/);
  const next = await asSuperuser(async () => {
    const client = new pg.Client({ host: postgresql.dir, port: postgresql.port, user: 'postgres', database: 'eventindex' });
    await client.connect();
    const result = await client.query<{ is_called: boolean }>('SELECT is_called FROM counter');
    await client.end();
    return result.rows[0];
  });
  expect(next).toEqual({ is_called: false });
});

test('PostgreSQL: at most max_rows + 1 rows are computed and fetched (a cursor), so a huge result never reaches the collector', async () => {
  // Row 50 divides by zero: a query computed to its end fails with 22012; fetched through a cursor of 11
  // rows, it never gets there and is refused for its row count alone.
  const { documents } = await collect(connection('postgresql') + `[sql.query.huge]\nsql = SELECT i, 1 / (50 - i) AS inverse FROM generate_series(1, 100000) AS i;\nmax_rows = 10\n`);
  expect(statusOf(documents, 'huge')).toMatchObject({ up: 0, error: 'mapping', message: 'returned 11 rows, more than max_rows = 10' });
});

test('PostgreSQL: a slow query is cancelled by the server at its timeout (statement_timeout); the others still run', async () => {
  const { documents } = await collect(connection('postgresql') + `[sql.query.slow]\nsql = SELECT pg_sleep(30) AS slept\ntimeout = 1s\n[sql.query.fast]\nsql = SELECT 1 AS one\n`);
  expect(statusOf(documents, 'slow')).toMatchObject({ up: 0, error: 'timeout' });
  expect(String(statusOf(documents, 'slow').message)).toMatch(/^57014: canceling statement due to statement timeout/);
  expect(statusOf(documents, 'fast')).toMatchObject({ up: 1, rows: 1 });
});

test('PostgreSQL: a wrong password and an unknown database are auth, a closed port refused, a silent server timeout; the password appears nowhere', async () => {
  const closedPort = await freePort();
  const silent = net.createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const sockets: net.Socket[] = [];
  silent.on('connection', (socket) => sockets.push(socket));
  try {
    const { documents, context } = await collect(
      connection('postgresql') +
        `[sql.query.wrong_password]\nsql = SELECT 1 AS one\npassword = not-the-${PASSWORD}\n` +
        `[sql.query.no_database]\nsql = SELECT 1 AS one\ndatabase = nowhere\n` +
        `[sql.query.unreachable]\nsql = SELECT 1 AS one\nport = ${closedPort}\n` +
        `[sql.query.hanging]\nsql = SELECT 1 AS one\nport = ${(silent.address() as net.AddressInfo).port}\nconnect_timeout = 500ms\n`,
    );
    expect(statusOf(documents, 'wrong_password')).toMatchObject({ up: 0, error: 'auth', message: '28P01: password authentication failed for user "reader"' });
    expect(statusOf(documents, 'no_database')).toMatchObject({ up: 0, error: 'auth', message: '3D000: database "nowhere" does not exist' });
    expect(statusOf(documents, 'unreachable')).toMatchObject({ up: 0, error: 'refused' });
    expect(statusOf(documents, 'hanging')).toMatchObject({ up: 0, error: 'timeout' });
    expect(context.problems).toHaveLength(4);
    expect(JSON.stringify([documents, context.problems, context.log.lines])).not.toContain(PASSWORD);
  } finally {
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
});

test("PostgreSQL: a query still running at the job's deadline is stopped and reported as aborted", async () => {
  const deadline = new AbortController();
  const context = collectorContext('sql', connection('postgresql') + `[sql.query.long]\nsql = SELECT pg_sleep(30) AS slept\n`, { signal: deadline.signal });
  const running = collector.collect(context);
  // Abort once the statement runs on the server (pg_stat_activity shows it).
  for (let attempt = 0; attempt < 200; attempt++) {
    const active = await asSuperuser((client) => client.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'"));
    if (active.rowCount) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  deadline.abort();
  const documents = collectedDocuments(await running);
  expect(statusOf(documents, 'long')).toMatchObject({ up: 0, error: 'aborted', message: 'stopped at the job deadline' });
});

describe('PostgreSQL over TLS with [tls.sql]', () => {
  const sessionTls = `[sql.query.session_tls]\nsql = SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()\nfields = ssl:bool, version:string\n`;

  test('tls = true with the test CA: the session is encrypted; without tls it is not', async () => {
    const encrypted = await collect(connection('postgresql', 'tls = true') + `[tls]\nca_dir = ${ca.caDir}\n` + sessionTls);
    expect(encrypted.context.problems).toEqual([]);
    // Unlike MySQL's, the address is checked: no warning.
    expect(encrypted.context.log.lines.filter((line) => line.includes('sql over TLS to the address'))).toEqual([]);
    expect(encrypted.documents.find((document) => document.type === 'session_tls')).toMatchObject({ ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/) });
    const plain = await collect(connection('postgresql') + sessionTls);
    expect(plain.documents.find((document) => document.type === 'session_tls')).toMatchObject({ ssl: false });
  });

  test("tls = true without the CA is tls (naming the settings); a certificate of the trusted CA for another name is tls, by address too", async () => {
    const untrusted = statusOf((await collect(connection('postgresql', 'tls = true') + `[tls]\nca_dir = none\n` + sessionTls)).documents, 'session_tls');
    expect(untrusted).toMatchObject({ up: 0, error: 'tls' });
    expect(String(untrusted.message)).toMatch(/^unable to verify the first certificate; TLS settings \[tls.sql\]: no ca_dir/);
    await present(ca.wrongNameServer);
    try {
      for (const host of ['127.0.0.1', 'localhost']) {
        const config = connection('postgresql', 'tls = true').replace('host = 127.0.0.1', `host = ${host}`) + `[tls]\nca_dir = ${ca.caDir}\n` + sessionTls;
        const wrongName = statusOf((await collect(config)).documents, 'session_tls');
        expect(wrongName).toMatchObject({ up: 0, error: 'tls' });
        // Node's words; unlike mysql2, pg hands an address to Node's check too.
        const reason = host === 'localhost' ? "Host: localhost. is not in the cert's altnames: DNS:elsewhere.example" : "IP: 127.0.0.1 is not in the cert's list: ";
        expect(String(wrongName.message)).toMatch(new RegExp(`^Hostname/IP does not match certificate's altnames: ${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; TLS settings \\[tls\\.sql\\]`));
      }
    } finally {
      await present(ca.server);
    }
    const trusted = await collect(connection('postgresql', 'tls = true') + `[tls]\nca_dir = ${ca.caDir}\n` + sessionTls);
    expect(statusOf(trusted.documents, 'session_tls')).toMatchObject({ up: 1 });
  });
});

test('the quickstart demo ([demo] postgresql = true) starts PostgreSQL with the demo table for the postgresql queries, twice without duplicates', async () => {
  const port = await freePort();
  const config = Config.parse(
    `[sql]\nuser = monit_reader\npassword = demo-${PASSWORD}\ndatabase = eventindex_demo\n` +
      `[sql.query.pg_imports]\nengine = postgresql\nport = ${port}\nsql = SELECT site, state, COUNT(*) AS imports, SUM(bytes) AS bytes FROM imports GROUP BY site, state ORDER BY site, state\ntags = site, state\n` +
      `[demo]\npostgresql = true\nmariadb = true\n`,
    'demo.cfg',
  );
  const varRoot = testDir('sql-demo');
  chmodSync(varRoot, 0o755); // as the quickstart's var/ is: postgres must reach var/postgresql
  const context: LocalContext = { config, configFile: path.join(varRoot, 'demo.cfg'), varRoot, runDir: path.join(varRoot, 'run') };
  const components = demo.components ?? [];
  // [sql] has no engine (mysql) but no query of it: MariaDB is wanted on [sql]'s port, PostgreSQL on the query's.
  expect(components.filter((component) => component.wanted(context)).map((component) => component.name)).toEqual(['mariadb', 'postgresql']);
  const postgresqlDemo = components.find((component) => component.name === 'postgresql') as LocalComponent;
  try {
    await postgresqlDemo.start(context);
    await postgresqlDemo.start(context);
    const { documents, context: run } = await collect(`[sql]\nuser = monit_reader\npassword = demo-${PASSWORD}\ndatabase = eventindex_demo\n[sql.query.pg_imports]\nengine = postgresql\nhost = 127.0.0.1\nport = ${port}\nsql = SELECT site, state, COUNT(*) AS imports FROM imports GROUP BY site, state ORDER BY site, state\ntags = site, state\n`);
    expect(run.problems).toEqual([]);
    expect(documents.filter((document) => document.type === 'pg_imports').map((document) => [document.site, document.state, document.imports])).toEqual([
      ['BNL-ATLAS', 'done', 1],
      ['CERN-PROD', 'done', 1],
      ['CERN-PROD', 'failed', 1],
    ]);
  } finally {
    await postgresqlDemo.stop(context);
  }
});
