import { writeFileSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { collectedDocuments } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext } from '../../test/support/collectorContext';
import { startServer, testDir, type RunningServer } from '../../test/support/services';
import { makeTestCa, type TestCa } from '../../test/support/testCa';
import collector from './collector';

const PASSWORD = 'tls-reader-pw-7c2';
let ca: TestCa;
/** MariaDB presenting a certificate of the test CA; its account `tls_reader` may connect over TLS only. */
let server: RunningServer;

beforeAll(async () => {
  ca = makeTestCa();
  const options = path.join(testDir('mariadb-tls-options'), 'options');
  writeFileSync(options, `--ssl-cert=${ca.server.cert}\n--ssl-key=${ca.server.key}\n--ssl-ca=${ca.caCert}\n`);
  server = await startServer('mariadb', { configExtra: options });
  const root = await mysql.createConnection({ socketPath: path.join(server.dir, 'mysqld.sock'), user: 'root', multipleStatements: true });
  await root.query(`CREATE USER 'tls_reader'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}' REQUIRE SSL;`);
  await root.end();
}, 600_000);
afterAll(async () => {
  await server?.stop();
});

/** One query that returns the cipher of its own session ('' when the connection is not encrypted). */
async function cipherQuery(extra: string): Promise<MonitDocument[]> {
  const context = collectorContext(
    'sql',
    `[sql]\nhost = 127.0.0.1\nport = ${server.port}\nuser = tls_reader\npassword = ${PASSWORD}\n${extra}\n` +
      `[sql.query.session_tls]\nsql = "SELECT VARIABLE_VALUE AS cipher FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'"\nfields = cipher:string\n`,
  );
  return collectedDocuments(await collector.collect(context));
}

const statusOf = (documents: MonitDocument[]): MonitDocument | undefined => documents.find((document) => document.type === 'query_status');

describe('sql over TLS with [tls.sql]', () => {
  test('tls = true with the grid CA dir: the session is encrypted', async () => {
    const documents = await cipherQuery(`tls = true\n[tls]\nca_dir = ${ca.caDir}\n`);
    expect(statusOf(documents)).toMatchObject({ up: 1, rows: 1 });
    const row = documents.find((document) => document.type === 'session_tls');
    expect(row?.cipher).toMatch(/^(TLS_|ECDHE|AES)/);
  });

  test('tls = true without the CA: the server is not trusted (tls); without tls the account that requires it is refused (auth)', async () => {
    const untrusted = statusOf(await cipherQuery(`tls = true\n[tls]\nca_dir = none\n`));
    expect(untrusted).toMatchObject({ up: 0, error: 'tls' });
    expect(String(untrusted?.message)).toMatch(/self-signed certificate in certificate chain; TLS settings \[tls.sql\]: no ca_dir/);
    const plain = statusOf(await cipherQuery(`[tls]\nca_dir = ${ca.caDir}\n`));
    expect(plain).toMatchObject({ up: 0, error: 'auth' });
    expect(String(plain?.message)).toMatch(/Access denied/);
  });
});
