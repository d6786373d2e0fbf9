/**
 * A grid-like test PKI made with the real tools: `openssl` (a root CA with a grid DN, its database and CRL,
 * installed as IGTF does, a hashed directory made by `openssl rehash`), server certificates for
 * 127.0.0.1/localhost (good, revoked, expired), a user certificate, and RFC 3820 proxies made from it by
 * `grid-proxy-init` (Debian's globus-proxy-utils, installed by scripts/servers/services.sh install grid_proxy).
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { freePort } from './ports';
import { testDir } from './services';

export interface CertificateFiles {
  cert: string;
  key: string;
}

export interface TestCa {
  dir: string;
  /** The hashed CA directory: the CA (`<hash>.0`) and its CRL (`<hash>.r0`), made by openssl rehash. */
  caDir: string;
  /** The CA certificate (PEM). */
  caCert: string;
  /** The CRL file in caDir (`<hash>.r0`). */
  crlFile: string;
  /** The same CA's CRL with its nextUpdate in 2020 (as when fetch-crl has not run for long). */
  expiredCrl: string;
  /** For 127.0.0.1 and localhost, signed by the CA. */
  server: CertificateFiles;
  /** Like server, revoked in the CRL. */
  revokedServer: CertificateFiles;
  /** Like server, expired (valid in 2020 only). */
  expiredServer: CertificateFiles;
  /** For the name "elsewhere.example" only (not 127.0.0.1). */
  wrongNameServer: CertificateFiles;
  /** A second CA, outside caDir, and a server certificate it signed. */
  otherCaCert: string;
  otherCrl: string;
  otherServer: CertificateFiles;
  /** The user's certificate and passphrase-less key (mode 600). */
  user: CertificateFiles;
  userSubject: string;
  /** An RFC 3820 proxy of the user, valid 12 h; and one valid 1 minute. */
  proxy: string;
  shortProxy: string;
}

const SERVICES = path.join(PROJECT_ROOT, 'scripts', 'servers', 'services.sh');

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

function caConfig(dir: string): string {
  return `[ca]
default_ca = test
[test]
dir = ${dir}
database = ${dir}/index.txt
new_certs_dir = ${dir}/issued
serial = ${dir}/serial
crlnumber = ${dir}/crlnumber
default_md = sha256
default_days = 30
default_crl_days = 30
policy = any
unique_subject = no
[any]
commonName = supplied
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
[wrong_name]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:elsewhere.example
[user]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
`;
}

/** A self-signed CA with its `openssl ca` database, in `dir`. */
function makeCa(dir: string, subject: string): { cert: string; key: string; config: string } {
  mkdirSync(path.join(dir, 'issued'), { recursive: true });
  writeFileSync(path.join(dir, 'index.txt'), '');
  writeFileSync(path.join(dir, 'serial'), '1000\n');
  writeFileSync(path.join(dir, 'crlnumber'), '1000\n');
  const config = path.join(dir, 'ca.cnf');
  writeFileSync(config, caConfig(dir));
  const cert = path.join(dir, 'ca.pem');
  const key = path.join(dir, 'ca.key');
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '60', '-subj', subject,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return { cert, key, config };
}

/** A key and a certificate signed by the CA of `ca`, with `extensions`; `dates` for an expired one. */
function issue(ca: { cert: string; key: string; config: string }, name: string, subject: string, extensions: string, dates?: { start: string; end: string }): CertificateFiles {
  const dir = path.dirname(ca.config);
  const key = path.join(dir, `${name}.key`);
  const request = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.pem`);
  run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', request, '-subj', subject]);
  run('openssl', ['ca', '-batch', '-notext', '-preserveDN', '-config', ca.config, '-cert', ca.cert, '-keyfile', ca.key, '-extensions', extensions, '-in', request, '-out', cert,
    ...(dates ? ['-startdate', dates.start, '-enddate', dates.end] : [])]);
  return { cert, key };
}

/** Installs openssl and grid-proxy-init when missing (a fresh machine), like every real tool of the tests. */
export function installGridTools(): void {
  execFileSync(SERVICES, ['install', 'grid_proxy'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
}

/** Makes the whole PKI under a fresh var/test folder. */
export function makeTestCa(): TestCa {
  installGridTools();
  const dir = testDir('tls-ca');
  const ca = makeCa(path.join(dir, 'ca'), '/DC=org/DC=example/CN=Example Grid Test CA');
  const server = issue(ca, 'server', '/DC=org/DC=example/OU=Services/CN=localhost', 'server');
  const revokedServer = issue(ca, 'revoked', '/DC=org/DC=example/OU=Services/CN=revoked.localhost', 'server');
  const expiredServer = issue(ca, 'expired', '/DC=org/DC=example/OU=Services/CN=expired.localhost', 'server', { start: '20200101000000Z', end: '20200201000000Z' });
  const wrongNameServer = issue(ca, 'wrong-name', '/DC=org/DC=example/OU=Services/CN=elsewhere.example', 'wrong_name');
  const userSubject = '/DC=org/DC=example/OU=People/CN=Test User';
  const user = issue(ca, 'user', userSubject, 'user');
  run('chmod', ['600', user.key]);
  run('openssl', ['ca', '-batch', '-config', ca.config, '-cert', ca.cert, '-keyfile', ca.key, '-revoke', revokedServer.cert]);
  const crl = path.join(dir, 'ca', 'crl.pem');
  run('openssl', ['ca', '-batch', '-config', ca.config, '-cert', ca.cert, '-keyfile', ca.key, '-gencrl', '-out', crl]);
  const expiredCrl = path.join(dir, 'ca', 'crl-expired.pem');
  run('openssl', ['ca', '-batch', '-config', ca.config, '-cert', ca.cert, '-keyfile', ca.key, '-gencrl', '-crl_lastupdate', '20200101000000Z', '-crl_nextupdate', '20200102000000Z', '-out', expiredCrl]);

  // Installed as IGTF does: the CA under its name, the CRL as fetch-crl leaves it, then the hash links.
  const caDir = path.join(dir, 'certificates');
  mkdirSync(caDir);
  copyFileSync(ca.cert, path.join(caDir, 'ExampleGridTestCA.pem'));
  copyFileSync(crl, path.join(caDir, 'ExampleGridTestCA.crl.pem'));
  run('openssl', ['rehash', caDir]);
  const hash = run('openssl', ['x509', '-hash', '-noout', '-in', ca.cert]).trim();

  const other = makeCa(path.join(dir, 'other-ca'), '/DC=org/DC=elsewhere/CN=Other Test CA');
  const otherServer = issue(other, 'server', '/DC=org/DC=elsewhere/CN=localhost', 'server');
  const otherCrl = path.join(dir, 'other-ca', 'crl.pem');
  run('openssl', ['ca', '-batch', '-config', other.config, '-cert', other.cert, '-keyfile', other.key, '-gencrl', '-out', otherCrl]);

  const proxy = path.join(dir, 'x509up_proxy');
  const shortProxy = path.join(dir, 'x509up_short');
  const proxyEnvironment = { ...process.env, X509_CERT_DIR: caDir };
  for (const [file, valid] of [[proxy, '12:00'], [shortProxy, '0:1']]) {
    run('grid-proxy-init', ['-cert', user.cert, '-key', user.key, '-out', file, '-valid', valid, '-bits', '2048', '-q'], { env: proxyEnvironment });
  }
  return {
    dir,
    caDir,
    caCert: ca.cert,
    crlFile: path.join(caDir, `${hash}.r0`),
    expiredCrl,
    server,
    revokedServer,
    expiredServer,
    wrongNameServer,
    otherCaCert: other.cert,
    otherCrl,
    otherServer,
    user,
    userSubject,
    proxy,
    shortProxy,
  };
}

/** notAfter of a certificate file's first certificate as openssl reads it (an independent check), UTC ms. */
export function opensslNotAfterMs(file: string): number {
  const line = run('openssl', ['x509', '-enddate', '-noout', '-in', file]).trim();
  return Date.parse(line.replace(/^notAfter=/, ''));
}

export interface HttpsTestServer {
  url: string;
  /** The Authorization header and the client certificate's subject of each request, in order. */
  received: Array<{ authorization?: string; clientSubject?: string }>;
  close(): Promise<void>;
}

/**
 * A Node https server on 127.0.0.1 presenting `identity`, answering {"ok":true} (or `status`) and
 * recording what each request presented. `clientCa`: require a client certificate signed by it.
 */
export async function serveHttps(identity: CertificateFiles, options: { clientCa?: string; status?: number } = {}): Promise<HttpsTestServer> {
  const received: HttpsTestServer['received'] = [];
  const server = https.createServer(
    {
      cert: readFileSync(identity.cert),
      key: readFileSync(identity.key),
      ...(options.clientCa ? { ca: readFileSync(options.clientCa), requestCert: true, rejectUnauthorized: true } : {}),
    },
    (request, response) => {
      const socket = request.socket as TLSSocket;
      const peer = options.clientCa ? socket.getPeerX509Certificate() : undefined;
      received.push({ authorization: request.headers.authorization, clientSubject: peer?.subject.replace(/\n/g, ',') });
      response.writeHead(options.status ?? 200, { 'content-type': 'application/json' });
      response.end(options.status && options.status >= 400 ? '{"error":"refused"}' : '{"ok":true}');
    },
  );
  // Sockets of refused handshakes raise here; the client's error is what the tests look at.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/data.json`,
    received,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export interface OpensslTestServer {
  url: string;
  close(): Promise<void>;
}

/**
 * `openssl s_server -WWW` (OpenSSL's own server) on 127.0.0.1, presenting `identity` and requiring a client
 * certificate that verifies against `caDir`; `allowProxies` adds -allow_proxy_certs (RFC 3820 proxies are
 * refused without it). It serves data.json from its folder.
 */
export async function serveOpenssl(identity: CertificateFiles, caDir: string, options: { allowProxies: boolean }): Promise<OpensslTestServer> {
  const root = mkdtempSync(path.join(path.dirname(caDir), 'www-'));
  writeFileSync(path.join(root, 'data.json'), '{"ok":true}\n');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', identity.cert, '-key', identity.key, '-Verify', '4', '-verify_return_error', '-CApath', caDir, '-WWW', '-quiet', '-naccept', '1000'];
    if (options.allowProxies) args.push('-allow_proxy_certs');
    const child = spawn('openssl', args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const listening = await waitForPort(port, exited);
    if (listening) {
      return {
        url: `https://127.0.0.1:${port}/data.json`,
        close: async () => {
          child.kill();
          await exited;
        },
      };
    }
    if (attempt >= 3 || !/in use/i.test(output)) throw new Error(`openssl s_server did not start: ${output}`);
  }
}

/** True once something accepts connections on `port`; false when `exited` settles first. */
async function waitForPort(port: number, exited: Promise<void>): Promise<boolean> {
  let gone = false;
  void exited.then(() => (gone = true));
  while (!gone) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
