import { X509Certificate } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { collectedDocuments } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext } from '../../test/support/collectorContext';
import { startServer, testDir, type RunningServer } from '../../test/support/services';
import { makeTestCa, type TestCa } from '../../test/support/testCa';
import { Config } from '../../lib/config/config';
import { loadClientTls, tlsSettings } from '../../lib/tls/clientTls';
import collector, { sqlTls } from './collector';

const PASSWORD = 'tls-reader-pw-7c2';
let ca: TestCa;
/** MariaDB presenting a certificate of the test CA; its account `tls_reader` may connect over TLS only. */
let server: RunningServer;
/** The certificate and key files the server reads: a copy, so a test can swap them and FLUSH SSL. */
let served: { cert: string; key: string };

/** Makes the server present `identity` from its next connection on. */
async function present(identity: { cert: string; key: string }): Promise<void> {
  copyFileSync(identity.cert, served.cert);
  copyFileSync(identity.key, served.key);
  const root = await mysql.createConnection({ socketPath: path.join(server.dir, 'mysqld.sock'), user: 'root' });
  await root.query('FLUSH SSL');
  await root.end();
}

beforeAll(async () => {
  ca = makeTestCa();
  const folder = testDir('mariadb-tls-options');
  served = { cert: path.join(folder, 'server.pem'), key: path.join(folder, 'server.key') };
  copyFileSync(ca.server.cert, served.cert);
  copyFileSync(ca.server.key, served.key);
  const options = path.join(folder, 'options');
  writeFileSync(options, `--ssl-cert=${served.cert}\n--ssl-key=${served.key}\n--ssl-ca=${ca.caCert}\n`);
  server = await startServer('mariadb', { configExtra: options });
  const root = await mysql.createConnection({ socketPath: path.join(server.dir, 'mysqld.sock'), user: 'root', multipleStatements: true });
  await root.query(`CREATE USER 'tls_reader'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}' REQUIRE SSL;`);
  await root.end();
}, 600_000);
afterAll(async () => {
  await server?.stop();
});

/** One query that returns the cipher of its own session ('' when the connection is not encrypted), with the run's log. */
async function cipherRun(extra: string, host: string): Promise<{ documents: MonitDocument[]; log: string[] }> {
  const context = collectorContext(
    'sql',
    `[sql]\nhost = ${host}\nport = ${server.port}\nuser = tls_reader\npassword = ${PASSWORD}\n${extra}\n` +
      `[sql.query.session_tls]\nsql = "SELECT VARIABLE_VALUE AS cipher FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'"\nfields = cipher:string\n`,
  );
  return { documents: collectedDocuments(await collector.collect(context)), log: context.log.lines };
}

async function cipherQuery(extra: string, host = '127.0.0.1'): Promise<MonitDocument[]> {
  return (await cipherRun(extra, host)).documents;
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

describe("sql over TLS checks the server's name", () => {
  test('by host name: a certificate of the trusted CA that does not list the name is refused (tls, naming the cause); one that lists it is accepted', async () => {
    const settings = `tls = true\n[tls]\nca_dir = ${ca.caDir}\n`;
    // The test CA's server certificate lists DNS:localhost (and IP:127.0.0.1).
    expect(statusOf(await cipherQuery(settings, 'localhost'))).toMatchObject({ up: 1, rows: 1 });
    // Signed by the same trusted CA, for elsewhere.example only.
    await present(ca.wrongNameServer);
    try {
      const byName = statusOf(await cipherQuery(settings, 'localhost'));
      expect(byName).toMatchObject({ up: 0, error: 'tls' });
      // mysql2 reports Node's ERR_TLS_CERT_ALTNAME_INVALID as HANDSHAKE_SSL_ERROR, with Node's words.
      expect(String(byName?.message)).toMatch(/^HANDSHAKE_SSL_ERROR: Hostname\/IP does not match certificate's altnames: Host: localhost\. is not in the cert's altnames: DNS:elsewhere\.example; TLS settings \[tls\.sql\]/);

      // By address mysql2 cannot check the name (it would check "localhost"): the chain only, and a warning says so.
      const byAddress = await cipherRun(settings, '127.0.0.1');
      expect(statusOf(byAddress.documents)).toMatchObject({ up: 1, rows: 1 });
      expect(byAddress.log.filter((line) => line.includes('sql over TLS to the address'))).toEqual([
        expect.stringMatching(/^WARN .*sql over TLS to the address 127\.0\.0\.1: the server's certificate is checked against the CAs, but not against its name \(the MySQL client cannot check an address\): set host to a name the certificate lists$/),
      ]);
    } finally {
      await present(ca.server);
    }
  });
});

test("sqlTls hands mysql2 the PEM texts ClientTls loaded: the CAs of ca_dir, the client certificate and its key; the name is checked for host names only", () => {
  const tls = loadClientTls(
    tlsSettings(Config.parse(`[tls]\nca_dir = ${ca.caDir}\n[tls.sql]\nidentity = client_cert\nclient_cert = ${ca.user.cert}\nclient_key = ${ca.user.key}\n`, 'sql.cfg'), 'sql', {}),
  );
  const byName = sqlTls(tls, 'db.example.org');
  expect(byName).toEqual({ ca: tls.agentOptions?.ca, cert: tls.agentOptions?.cert, key: tls.agentOptions?.key, verifyIdentity: true });
  expect(byName.ca).toHaveLength(1);
  expect(new X509Certificate(String(byName.cert)).subject).toContain('CN=Test User');
  expect(sqlTls(tls, '10.0.0.7').verifyIdentity).toBe(false);
  // Without ca_dir or ca_file mysql2 keeps Node's public CAs.
  expect(sqlTls(loadClientTls(tlsSettings(Config.parse('[tls]\nca_dir = none\n'), 'sql', {})), 'db.example.org')).toEqual({ ca: undefined, cert: undefined, key: undefined, verifyIdentity: true });
});
