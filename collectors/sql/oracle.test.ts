import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import oracledb from 'oracledb';
import { Config } from '../../lib/config/config';
import { DocumentFactory } from '../../lib/documents/document';
import { loadClientTls, tlsSettings } from '../../lib/tls/clientTls';
import { freePort } from '../../test/support/ports';
import { makeTestCa, type CertificateFiles, type TestCa } from '../../test/support/testCa';
import { mapRows } from './mapping';
import { classifyOracleError, oracleFetchType, oracleUtc, oracleWallet } from './oracle';
import { oracleConnectString } from './oracleConnectString';
import { queryDefinitions } from './queries';
import { collect, statusOf } from './test/collect';

/**
 * Oracle cannot run here: everything up to the connection, with node-oracledb's Thin mode against
 * loopback ports that are closed, silent, or served by something that is not Oracle.
 */

const PASSWORD = 'oracle-reader-pw-8d1';
let ca: TestCa;
beforeAll(() => {
  ca = makeTestCa();
}, 120_000);

const parse = (text: string): ReturnType<typeof queryDefinitions> => queryDefinitions(Config.parse(`[sql]\nuser = reader\n${text}`, 'sql.cfg'));

/** A loopback server for the duration of `work`. */
async function serving<Result>(server: net.Server, work: (port: number) => Promise<Result>): Promise<Result> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  server.on('secureConnection', (socket: net.Socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await work((server.address() as net.AddressInfo).port);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('config', () => {
  test('engine picks the default port; oracle takes service_name and builds a connect descriptor, TCPS with tls', () => {
    const [mysqlQuery, postgresqlQuery, oracleQuery, tcpsQuery] = parse(
      '[sql.query.a]\nsql = SELECT 1\n[sql.query.b]\nsql = SELECT 1\nengine = postgresql\n' +
        '[sql.query.c]\nsql = SELECT 1 FROM dual\nengine = oracle\nservice_name = TRIGGERDB\n[sql.query.d]\nsql = SELECT 1 FROM dual\nengine = oracle\nservice_name = TRIGGERDB\ntls = true\nport = 2484\nhost = db.example.org\n',
    );
    expect([mysqlQuery, postgresqlQuery, oracleQuery].map((query) => [query.connection.engine, query.connection.port])).toEqual([
      ['mysql', 3306],
      ['postgresql', 5432],
      ['oracle', 1521],
    ]);
    expect(oracleConnectString(oracleQuery.connection)).toBe('(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=127.0.0.1)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=TRIGGERDB)))');
    expect(oracleConnectString(tcpsQuery.connection)).toBe('(DESCRIPTION=(ADDRESS=(PROTOCOL=TCPS)(HOST=db.example.org)(PORT=2484))(CONNECT_DATA=(SERVICE_NAME=TRIGGERDB)))');
    const [given] = parse('engine = oracle\nconnect_string = tcps://db.example.org:2484/TRIGGERDB\ntls = true\n[sql.query.c]\nsql = SELECT 1 FROM dual\n');
    expect(oracleConnectString(given.connection)).toBe('tcps://db.example.org:2484/TRIGGERDB');
  });

  test('config mistakes of engines are ConfigErrors naming the file, section and key', () => {
    expect(() => parse('engine = sqlite\n[sql.query.a]\nsql = SELECT 1')).toThrow('sql.cfg: [sql] engine must be one of mysql, postgresql, oracle, got "sqlite"');
    expect(() => parse('[sql.query.a]\nsql = SELECT 1 FROM dual\nengine = oracle')).toThrow(/\[sql\.query\.a\] service_name is missing: engine = oracle needs service_name \(or a full connect_string\)/);
    expect(() => parse('database = eventindex\n[sql.query.a]\nsql = SELECT 1 FROM dual\nengine = oracle\nservice_name = X')).toThrow(/\[sql\] database is not used by engine = oracle/);
    expect(() => parse('[sql.query.a]\nsql = SELECT 1 FROM dual\nengine = oracle\nservice_name = X)(HOST=evil')).toThrow(/\[sql\.query\.a\] service_name \(engine = oracle\): service_name 'X\)\(HOST=evil' cannot be written into a connect descriptor/);
    expect(() => parse('[sql.query.a]\nsql = SELECT 1 FROM dual\nengine = oracle\nconnect_string = db:1521/X\ntls = true')).toThrow(/connect_string \(engine = oracle\): tls = true but connect_string does not use the TCPS protocol/);
    expect(() => parse('[sql.query.a]\nsql = SELECT 1 FROM dual\nengine = oracle\nconnect_string = db:1521/X\nservice_name = X')).toThrow(/connect_string and service_name are both set/);
    expect(() => parse('[sql.query.a]\nsql = SELECT 1\nengine = postgresql\nservice_name = X')).toThrow(/\[sql\.query\.a\] service_name is for engine = oracle only \(engine here: postgresql\)/);
  });
});

describe('Thin mode up to the connection', () => {
  const oracleConfig = (port: number, extra = ''): string =>
    `[sql]\nengine = oracle\nhost = 127.0.0.1\nport = ${port}\nservice_name = TRIGGERDB\nuser = reader\npassword = ${PASSWORD}\nconnect_timeout = 1s\n${extra}\n[sql.query.runs]\nsql = SELECT COUNT(*) AS runs FROM trigger_runs\n`;

  test('nothing on the port: refused, naming user, host, port and service, never the password', async () => {
    const port = await freePort();
    const { documents, context } = await collect(oracleConfig(port));
    expect(statusOf(documents, 'runs')).toMatchObject({ up: 0, error: 'refused', message: expect.stringMatching(new RegExp(`^NJS-503: connection to host 127\\.0\\.0\\.1 port ${port} could not be established\\. .*connect ECONNREFUSED 127\\.0\\.0\\.1:${port}`, 's')) });
    expect(context.problems).toEqual([expect.stringMatching(new RegExp(`^sql query 'runs' on reader@127\\.0\\.0\\.1:${port}/TRIGGERDB failed \\(refused\\)`))]);
    expect(JSON.stringify([documents, context.problems, context.log.lines])).not.toContain(PASSWORD);
  });

  test('a server that accepts and never answers: timeout after connect_timeout', async () => {
    const { documents } = await serving(net.createServer(() => undefined), (port) => collect(oracleConfig(port)));
    expect(statusOf(documents, 'runs')).toMatchObject({ up: 0, error: 'timeout', message: expect.stringMatching(/^NJS-510: .* timed out\. Request exceeded "connectTimeout" of 1 seconds/) });
  });

  test('a server that is not Oracle (HTTP): malformed, saying so', async () => {
    const { documents } = await serving(http.createServer((_request, response) => response.end('not oracle')), (port) => collect(oracleConfig(port)));
    expect(statusOf(documents, 'runs')).toMatchObject({ up: 0, error: 'malformed', message: expect.stringMatching(/NJS-521: .*received end-of-file .*\(the server hung up without an Oracle Net answer: is an Oracle listener on that port\?\)$/s) });
  });

  /** A TLS server presenting `identity` that hangs up once it receives anything (it is not Oracle). */
  const tlsServer = (identity: CertificateFiles): tls.Server =>
    tls.createServer({ cert: readFileSync(identity.cert), key: readFileSync(identity.key) }, (socket) => socket.on('data', () => socket.destroy()));

  test('tls = true (TCPS): with the CAs and identity of [tls.sql] as the wallet a trusted server gets past TLS; an untrusted or misnamed one is tls', async () => {
    const identity = `[tls.sql]\nidentity = client_cert\nclient_cert = ${ca.user.cert}\nclient_key = ${ca.user.key}\n`;
    const trusted = `tls = true\n[tls]\nca_dir = ${ca.caDir}\n${identity}`;
    const results = await serving(tlsServer(ca.server), async (port) => ({
      trusted: await collect(oracleConfig(port, trusted)),
      publicCas: await collect(oracleConfig(port, 'tls = true\n[tls]\nca_dir = none\n')),
      caWithoutIdentity: await collect(oracleConfig(port, `tls = true\n[tls]\nca_dir = ${ca.caDir}\n`)),
    }));
    // Past the handshake, the server is not Oracle: that is what fails.
    expect(statusOf(results.trusted.documents, 'runs')).toMatchObject({ up: 0, error: 'malformed' });
    expect(statusOf(results.publicCas.documents, 'runs')).toMatchObject({ up: 0, error: 'tls', message: expect.stringMatching(/^NJS-506: .*TLS handshake failure.*; TLS settings \[tls\.sql\]: no ca_dir/s) });
    expect(statusOf(results.caWithoutIdentity.documents, 'runs')).toMatchObject({
      up: 0,
      error: 'tls',
      message: expect.stringMatching(/^node-oracledb's Thin mode takes the CAs only in a wallet holding a client certificate and key: set client_cert and client_key in \[tls\.sql\]/),
    });
    const misnamed = await serving(tlsServer(ca.wrongNameServer), (port) => collect(oracleConfig(port, trusted)));
    // Thin mode checks the host (here an address) against the certificate's names itself.
    expect(statusOf(misnamed.documents, 'runs')).toMatchObject({ up: 0, error: 'tls', message: expect.stringMatching(/NJS-508: TLS detected an invalid certificate\. 127\.0\.0\.1 +not present in certificate/) });
  });
});

describe('Oracle-shaped answers', () => {
  test('NUMBER columns are fetched as exact text, DATE and TIMESTAMP in UTC, other types as the driver gives them', () => {
    expect(oracleFetchType({ name: 'RUNS', dbType: oracledb.DB_TYPE_NUMBER })).toEqual({ type: oracledb.STRING });
    expect(oracleFetchType({ name: 'FINISHED', dbType: oracledb.DB_TYPE_DATE })).toEqual({ converter: oracleUtc });
    expect(oracleFetchType({ name: 'FINISHED', dbType: oracledb.DB_TYPE_TIMESTAMP })).toEqual({ converter: oracleUtc });
    expect(oracleFetchType({ name: 'SITE', dbType: (oracledb as unknown as { DB_TYPE_VARCHAR: unknown }).DB_TYPE_VARCHAR })).toBeUndefined();
    // Thin mode builds a DATE from its fields in local time; the same wall clock in UTC is wanted.
    expect(oracleUtc(new Date(2026, 10, 22, 9, 30, 15, 250))).toEqual(new Date(Date.UTC(2026, 10, 22, 9, 30, 15, 250)));
    expect(oracleUtc(null)).toBeNull();
  });

  test('upper-case columns (Oracle folds unquoted aliases) give the documents the same rows give from MariaDB', () => {
    const factory = new DocumentFactory({ slotMs: Date.UTC(2026, 10, 22, 10), host: 'h' });
    const queries = `[sql.query.runs_by_stream]\nsql = SELECT stream, state, COUNT(*) AS runs, MAX(finished) AS last_finished FROM trigger_runs GROUP BY stream, state\ntags = stream, state\nfields = runs, last_finished\n[sql.query.totals]\nsql = SELECT COUNT(*) AS total, 1 AS "MixedCase" FROM trigger_runs\n`;
    const [oracleQuery, oracleTotals] = parse(`engine = oracle\nservice_name = X\n${queries}`);
    const [mysqlQuery, mysqlTotals] = parse(queries);
    const finished = Date.UTC(2026, 10, 22, 9, 30);
    const fromOracle = mapRows(oracleQuery, [{ STREAM: 'physics_Main', STATE: 'done', RUNS: '12', LAST_FINISHED: new Date(finished) }], factory);
    const fromMysql = mapRows(mysqlQuery, [{ stream: 'physics_Main', state: 'done', runs: 12, last_finished: new Date(finished) }], factory);
    expect(fromOracle).toEqual(fromMysql);
    expect(fromOracle.documents[0]).toMatchObject({ stream: 'physics_Main', state: 'done', runs: 12, last_finished: finished });
    // Without a fields key, Oracle's upper-case names are lower-cased; a quoted mixed-case alias is kept.
    const totals = mapRows(oracleTotals, [{ TOTAL: '40000000000000000001', MixedCase: '1' }], factory);
    expect(totals.documents[0]).toMatchObject({ total: 4e19, MixedCase: 1, idb_fields: ['total', 'MixedCase'] });
    // mysql2 gives an integer beyond 2^53 as text too.
    expect(mapRows(mysqlTotals, [{ total: '40000000000000000001', MixedCase: 1 }], factory)).toEqual(totals);
  });

  test('a configured name matching two columns that differ only in case fails the query (mapping)', () => {
    const factory = new DocumentFactory({ slotMs: Date.UTC(2026, 10, 22, 10), host: 'h' });
    const [query] = parse('engine = oracle\nservice_name = X\n[sql.query.a]\nsql = SELECT 1 AS "runs", 2 AS "RUNS" FROM dual\nfields = Runs');
    expect(() => mapRows(query, [{ runs: '1', RUNS: '2' }], factory)).toThrow("the result has several columns named 'Runs' in other cases ('runs', 'RUNS'): alias them apart in the SQL");
  });

  test("node-oracledb's errors are classified by their codes", () => {
    const classes = [
      ['ORA-01017: invalid credential or not authorized; logon denied', 'connect'],
      ['ORA-28000: The account is locked.', 'connect'],
      ['NJS-123: call timeout of 1000 ms exceeded', 'query'],
      ['ORA-01013: user requested cancel of current operation', 'query'],
      ['ORA-00942: table or view "READER"."TRIGGER_RUNS" does not exist', 'query'],
      ['NJS-518: cannot connect to Oracle Database. Service "X" is not registered with the listener at host 127.0.0.1 port 1521. (CONNECTION_ID=a)', 'connect'],
      ['NJS-509: internal error: invalid packet type or malformed packet received', 'connect'],
      ['NJS-503: connection to host db port 1521 could not be established. (CONNECTION_ID=a)\ngetaddrinfo ENOTFOUND db', 'connect'],
      ['NJS-500: connection to Oracle Database was closed or broken', 'query'],
    ].map(([message, stage]) => classifyOracleError(new Error(message), stage as 'connect' | 'query').failureClass);
    expect(classes).toEqual(['auth', 'auth', 'timeout', 'timeout', 'query', 'refused', 'malformed', 'dns', 'other']);
  });

  test('the wallet is the client certificate and key of [tls.sql], then its CAs; none without either; CAs alone are refused', () => {
    const withIdentity = loadClientTls(
      tlsSettings(Config.parse(`[tls]\nca_dir = ${ca.caDir}\n[tls.sql]\nidentity = client_cert\nclient_cert = ${ca.user.cert}\nclient_key = ${ca.user.key}\n`, 'sql.cfg'), 'sql', {}),
    );
    const wallet = oracleWallet(withIdentity) ?? '';
    const blocks = wallet.match(/-----BEGIN [A-Z ]+-----/g);
    expect(blocks).toEqual(['-----BEGIN CERTIFICATE-----', expect.stringMatching(/^-----BEGIN (RSA |EC )?PRIVATE KEY-----$/), '-----BEGIN CERTIFICATE-----']);
    expect(wallet.startsWith(readFileSync(ca.user.cert, 'utf8').trim())).toBe(true);
    expect(wallet.trim().endsWith(readFileSync(ca.caCert, 'utf8').trim())).toBe(true);
    expect(oracleWallet(loadClientTls(tlsSettings(Config.parse('[tls]\nca_dir = none\n'), 'sql', {})))).toBeUndefined();
    expect(() => oracleWallet(loadClientTls(tlsSettings(Config.parse(`[tls]\nca_dir = ${ca.caDir}\n`), 'sql', {})))).toThrow(/client certificate and key/);
  });
});
