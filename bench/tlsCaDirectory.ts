import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { fetchBody } from '../lib/http/get';
import { loadClientTls, tlsSettings, type ClientTls } from '../lib/tls/clientTls';
import { makeTestCa, serveHttps } from '../test/support/testCa';
import { testDir } from '../test/support/services';
import { ratio } from './support';

/**
 * What a CA directory of IGTF size (about 150 CAs, each with its CRL) costs an https client against
 * one CA given as ca_file (the baseline), measured alternately in the same run: requests to a
 * loopback server of the test CA, each on a new connection as the sources make them.
 */
const EXTRA_CAS = Number(process.env.BENCH_CAS ?? 150);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 40);
const ROUNDS = 3;

function openssl(args: string[], cwd?: string): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], cwd });
}

/** `count` self-signed CAs, each with an empty CRL, installed in `caDir` beside what is there, then rehashed. */
function addCas(caDir: string, count: number): void {
  const work = testDir('bench-cas');
  for (let index = 0; index < count; index += 1) {
    const dir = path.join(work, `ca${index}`);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'index.txt'), '');
    writeFileSync(path.join(dir, 'crlnumber'), '01\n');
    writeFileSync(
      path.join(dir, 'ca.cnf'),
      `[ca]\ndefault_ca = bench\n[bench]\ndatabase = ${dir}/index.txt\ncrlnumber = ${dir}/crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n`,
    );
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '365', '-subj', `/DC=org/DC=bench/CN=Bench CA ${index}`], dir);
    openssl(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-gencrl', '-out', 'crl.pem'], dir);
    copyFileSync(path.join(dir, 'ca.pem'), path.join(caDir, `BenchCA${index}.pem`));
    copyFileSync(path.join(dir, 'crl.pem'), path.join(caDir, `BenchCA${index}.crl.pem`));
  }
  openssl(['rehash', caDir]);
}

async function timeRequests(url: string, tls: ClientTls): Promise<number> {
  const started = process.hrtime.bigint();
  for (let index = 0; index < REQUESTS; index += 1) await fetchBody(url, { source: 'bench', timeoutMs: 10_000, tls });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function main(): Promise<void> {
  const ca = makeTestCa();
  const bigDir = path.join(testDir('bench-ca-dir'), 'certificates');
  mkdirSync(bigDir);
  for (const name of readdirSync(ca.caDir)) if (!/^[0-9a-f]{8}\.r?\d+$/.test(name)) copyFileSync(path.join(ca.caDir, name), path.join(bigDir, name));
  addCas(bigDir, EXTRA_CAS);
  const cas = readdirSync(bigDir).filter((name) => /^[0-9a-f]{8}\.\d+$/.test(name)).length;
  const crls = readdirSync(bigDir).filter((name) => /^[0-9a-f]{8}\.r\d+$/.test(name)).length;
  const server = await serveHttps(ca.server);
  const load = (text: string): ClientTls => loadClientTls(tlsSettings(Config.parse(text, 'bench.cfg'), 'bench'));
  try {
    const oneCa = load(`[tls.bench]\nca_dir = none\nca_file = ${ca.caCert}\n`);
    const loadStarted = process.hrtime.bigint();
    const directory = load(`[tls.bench]\nca_dir = ${bigDir}\n`);
    const loadMs = Number(process.hrtime.bigint() - loadStarted) / 1e6;
    const baseline: number[] = [];
    const measured: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      baseline.push(await timeRequests(server.url, oneCa));
      measured.push(await timeRequests(server.url, directory));
    }
    const best = (values: number[]): number => Math.min(...values);
    console.log(`CA directory: ${cas} CAs, ${crls} CRLs; first load (read and parse): ${loadMs.toFixed(1)} ms`);
    console.log(`${REQUESTS} GETs, new connection each, best of ${ROUNDS}:`);
    console.log(`  ca_file with the one CA:   ${best(baseline).toFixed(0)} ms (baseline)`);
    console.log(`  ca_dir of ${cas} CAs + CRLs: ${best(measured).toFixed(0)} ms, ${(best(measured) / REQUESTS).toFixed(1)} ms per request`);
    console.log(`ratio: ${ratio(best(measured), best(baseline))}`);
  } finally {
    await server.close();
  }
}

void main();
