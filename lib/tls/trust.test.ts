/**
 * Trust against real TLS servers on loopback: a grid-style hashed CA directory with its CRL (made by
 * openssl), Node's public CAs as the fallback, and the messages of each refusal.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Config } from '../config/config';
import { PROJECT_ROOT } from '../config/paths';
import { SourceFailure } from '../documents/failures';
import { fetchJson } from '../http/get';
import { makeTestCa, serveHttps, type HttpsTestServer, type TestCa } from '../../test/support/testCa';
import { loadClientTls, tlsSettings, type ClientTls } from './clientTls';

const run = promisify(execFile);
let ca: TestCa;
const servers: HttpsTestServer[] = [];

beforeAll(() => {
  ca = makeTestCa();
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function serve(identity: { cert: string; key: string }): Promise<HttpsTestServer> {
  const server = await serveHttps(identity);
  servers.push(server);
  return server;
}

/** The ClientTls of `ini` for source "web", with an empty environment (no X509_CERT_DIR of this machine). */
function clientTls(ini: string): ClientTls {
  return loadClientTls(tlsSettings(Config.parse(ini, 'test.cfg'), 'web', {}));
}

/** The SourceFailure of a GET that must fail. */
async function failure(url: string, tls: ClientTls | undefined): Promise<SourceFailure> {
  const error = await fetchJson(url, { source: 'Web', timeoutMs: 20_000, tls }).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SourceFailure);
  return error as SourceFailure;
}

/** A hashed CA directory made with openssl rehash from `files` (copied in under their own names). */
async function hashedDir(name: string, files: Array<[string, string]>): Promise<string> {
  const dir = path.join(ca.dir, name);
  mkdirSync(dir);
  for (const [source, target] of files) copyFileSync(source, path.join(dir, target));
  await run('openssl', ['rehash', dir]);
  return dir;
}

test('the test CA directory is installed as IGTF does: <hash>.0 for the CA, <hash>.r0 for its CRL', () => {
  const names = readdirSync(ca.caDir).filter((name) => /^[0-9a-f]{8}\.r?\d$/.test(name)).sort();
  expect(names).toEqual([path.basename(ca.crlFile).replace('.r0', '.0'), path.basename(ca.crlFile)]);
});

test('with ca_dir a GET of a server signed by the CA succeeds; without it, it fails naming the endpoint and the cause', async () => {
  const server = await serve(ca.server);
  await expect(fetchJson(server.url, { source: 'Web', timeoutMs: 20_000, tls: clientTls(`[tls]\nca_dir = ${ca.caDir}\n`) })).resolves.toEqual({ ok: true });

  const refused = await failure(server.url, clientTls('[tls]\nca_dir = none\n'));
  expect(refused.failureClass).toBe('tls');
  expect(refused.message).toContain(`Web ${server.url}: the server's CA is not among Node's public CAs: set ca_dir (a grid CA directory) or ca_file (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`);
  expect(refused.message).toContain('TLS settings [tls.web]: no ca_dir ([tls] ca_dir = none)');
});

test('a server certificate revoked in the CRL is refused, naming the CRL file', async () => {
  const server = await serve(ca.revokedServer);
  const refused = await failure(server.url, clientTls(`[tls]\nca_dir = ${ca.caDir}\n`));
  expect(refused.failureClass).toBe('tls');
  expect(refused.message).toContain(`Web ${server.url}: the server's certificate is revoked in ${ca.crlFile} (CERT_REVOKED)`);
  expect(server.received).toEqual([]);
  // crl = off: the same certificate is taken (the operator chose not to check revocation).
  await expect(fetchJson(server.url, { source: 'Web', timeoutMs: 20_000, tls: clientTls(`[tls]\nca_dir = ${ca.caDir}\ncrl = off\n`) })).resolves.toEqual({ ok: true });
});

test('an expired server certificate and a certificate for another name are refused with their cause', async () => {
  const expired = await serve(ca.expiredServer);
  const tls = clientTls(`[tls]\nca_dir = ${ca.caDir}\n`);
  expect((await failure(expired.url, tls)).message).toContain("the server's certificate (or one of its CAs) has expired: the server must renew it (CERT_HAS_EXPIRED)");
  const wrongName = await serve(ca.wrongNameServer);
  const misnamed = await failure(wrongName.url, tls);
  expect(misnamed.failureClass).toBe('tls');
  expect(misnamed.message).toContain("the server's certificate is not for this host name: use a name its certificate lists (ERR_TLS_CERT_ALTNAME_INVALID)");
});

test('a CA directory with CRLs but none for the server CA refuses it (run fetch-crl), and does not fall back to public CAs', async () => {
  const dir = await hashedDir('ca-dir-missing-crl', [
    [ca.caCert, 'ExampleGridTestCA.pem'],
    [ca.otherCaCert, 'OtherTestCA.pem'],
    [ca.otherCrl, 'OtherTestCA.crl.pem'],
  ]);
  const server = await serve(ca.server);
  const refused = await failure(server.url, clientTls(`[tls]\nca_dir = ${dir}\npublic_roots = yes\n`));
  expect(refused.message).toContain(`no CRL for the issuer in ca_dir ${dir}: run fetch-crl, or crl = off (UNABLE_TO_GET_CRL)`);
});

test('an expired CRL refuses the server (run fetch-crl)', async () => {
  const dir = await hashedDir('ca-dir-expired-crl', [
    [ca.caCert, 'ExampleGridTestCA.pem'],
    [ca.expiredCrl, 'ExampleGridTestCA.crl.pem'],
  ]);
  const server = await serve(ca.server);
  const refused = await failure(server.url, clientTls(`[tls]\nca_dir = ${dir}\n`));
  expect(refused.message).toMatch(/a CRL in \S+\.r0 has expired \(its nextUpdate passed\): run fetch-crl \(CRL_HAS_EXPIRED\)/);
});

test('the CA directory is read again when a CRL appears in it (fetch-crl ran)', async () => {
  const dir = await hashedDir('ca-dir-crl-later', [[ca.caCert, 'ExampleGridTestCA.pem']]);
  const server = await serve(ca.revokedServer);
  const before = clientTls(`[tls]\nca_dir = ${dir}\n`);
  expect(before.crlFiles).toEqual([]);
  expect(before.warnings).toEqual([`[tls.web]: ca_dir ${dir} holds no CRL (<hash>.rN): revocation is not checked (run fetch-crl, or set crl = off to say so)`]);
  await expect(fetchJson(server.url, { source: 'Web', timeoutMs: 20_000, tls: before })).resolves.toEqual({ ok: true });
  copyFileSync(ca.crlFile, path.join(dir, path.basename(ca.crlFile)));
  const after = clientTls(`[tls]\nca_dir = ${dir}\n`);
  expect(after.crlFiles).toEqual([path.join(dir, path.basename(ca.crlFile))]);
  expect(after.warnings).toEqual([]);
  expect((await failure(server.url, after)).message).toContain('(CERT_REVOKED)');
});

test('ca_file adds its CA beside ca_dir; while the CRLs of ca_dir are checked, its CA needs a CRL there too', async () => {
  const other = await serve(ca.otherServer);
  const checked = await failure(other.url, clientTls(`[tls]\nca_dir = ${ca.caDir}\nca_file = ${ca.otherCaCert}\n`));
  expect(checked.message).toContain('run fetch-crl, or crl = off (UNABLE_TO_GET_CRL)');
  const tls = clientTls(`[tls]\nca_dir = ${ca.caDir}\nca_file = ${ca.otherCaCert}\ncrl = off\n`);
  await expect(fetchJson(other.url, { source: 'Web', timeoutMs: 20_000, tls })).resolves.toEqual({ ok: true });
  await expect(fetchJson(other.url, { source: 'Web', timeoutMs: 20_000, tls: clientTls(`[tls]\nca_dir = none\nca_file = ${ca.otherCaCert}\n`) })).resolves.toEqual({ ok: true });
});

test('with public_roots the fallback to public CAs never trusts a CA that is in neither ca_dir nor the public CAs', async () => {
  const other = await serve(ca.otherServer);
  const refused = await failure(other.url, clientTls(`[tls]\nca_dir = ${ca.caDir}\npublic_roots = yes\n`));
  expect(refused.failureClass).toBe('tls');
  expect(refused.message).toContain(
    `Web ${other.url}: the server's CA is not in ca_dir ${ca.caDir}, and Node's public CAs do not trust it either: add its CA to ca_dir or ca_file (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`,
  );
  const withoutPublic = await failure(other.url, clientTls(`[tls]\nca_dir = ${ca.caDir}\npublic_roots = no\n`));
  expect(withoutPublic.message).toContain(`the server's CA is not in ca_dir ${ca.caDir} (public_roots = no)`);
});

// A child node with NODE_EXTRA_CA_CERTS (read at start-up only) runs the built dist/: build first (npx tsc -p tsconfig.build.json).
describe("the fallback to Node's public CAs, in a node process whose public CAs include a test CA (NODE_EXTRA_CA_CERTS)", () => {
  /** Runs a GET with [tls] ca_dir = the test CA dir in a child node (the built dist/), with `publicCa` added to Node's public CAs. */
  async function childGet(url: string, publicCa: string, publicRoots: boolean): Promise<{ ok: boolean; text: string }> {
    const script = `
      const { Config } = require('./dist/lib/config/config');
      const { loadClientTls, tlsSettings } = require('./dist/lib/tls/clientTls');
      const { fetchJson } = require('./dist/lib/http/get');
      const tls = loadClientTls(tlsSettings(Config.parse(process.argv[1], 'child.cfg'), 'web', {}));
      fetchJson(process.argv[2], { source: 'Web', timeoutMs: 20000, tls }).then(
        (body) => console.log('OK ' + JSON.stringify(body)),
        (error) => console.log('FAILED ' + error.failureClass + ' ' + error.message),
      );`;
    const ini = `[tls]\nca_dir = ${ca.caDir}\npublic_roots = ${publicRoots ? 'yes' : 'no'}\n`;
    const { stdout } = await run(process.execPath, ['-e', script, ini, url], { cwd: PROJECT_ROOT, env: { ...process.env, NODE_EXTRA_CA_CERTS: publicCa } });
    return { ok: stdout.startsWith('OK '), text: stdout.trim() };
  }

  test('a server whose CA is only among the public CAs is reached through the fallback, and not with public_roots = no', async () => {
    const other = await serve(ca.otherServer);
    const before = other.received.length;
    expect(await childGet(other.url, ca.otherCaCert, true)).toEqual({ ok: true, text: 'OK {"ok":true}' });
    expect(other.received.length).toBe(before + 1);
    const refused = await childGet(other.url, ca.otherCaCert, false);
    expect(refused.text).toContain('FAILED tls Web');
    expect(refused.text).toContain('(public_roots = no)');
  });

  test('a revoked server whose CA is in ca_dir is refused even when the public CAs would take it', async () => {
    const revoked = await serve(ca.revokedServer);
    const result = await childGet(revoked.url, ca.caCert, true);
    expect(result.text).toContain(`FAILED tls Web ${revoked.url}: the server's certificate is revoked in ${ca.crlFile} (CERT_REVOKED)`);
    expect(revoked.received).toEqual([]);
  });
});

test('a CA directory without CA certificates is a clear error naming the setting', () => {
  const empty = path.join(ca.dir, 'empty-ca-dir');
  mkdirSync(empty);
  writeFileSync(path.join(empty, 'README'), 'nothing\n');
  expect(() => clientTls(`[tls.web]\nca_dir = ${empty}\n`)).toThrow(
    `[tls.web] ca_dir = ${empty}: the CA directory ${empty} holds no CA certificates (<hash>.N files): run openssl rehash ${empty}, or set ca_dir`,
  );
  expect(() => loadClientTls(tlsSettings(Config.parse(''), 'web', { X509_CERT_DIR: path.join(ca.dir, 'missing') }))).toThrow(
    `X509_CERT_DIR=${path.join(ca.dir, 'missing')}: the CA directory ${path.join(ca.dir, 'missing')} does not exist`,
  );
});
