import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../config/config';
import { CredentialError } from '../tls/clientTls';
import { makeTestCa, opensslNotAfterMs, type TestCa } from '../../test/support/testCa';
import { testDir } from '../../test/support/services';
import { MemoryLogger } from './log';
import { approximateDuration, RunCredentials } from './runCredentials';

let ca: TestCa;
/** A second proxy of the user, valid 6 hours: the 12-hour one renewed into a shorter one. */
let sixHourProxy: string;
beforeAll(() => {
  ca = makeTestCa();
  sixHourProxy = path.join(testDir('run-credentials'), 'x509up_6h');
  execFileSync('grid-proxy-init', ['-cert', ca.user.cert, '-key', ca.user.key, '-out', sixHourProxy, '-valid', '6:00', '-bits', '2048', '-q'], { env: { ...process.env, X509_CERT_DIR: ca.caDir }, stdio: 'ignore' });
}, 600_000);

/** The proxy's location is shared in [tls]; each source chooses its identity in [tls.<source>] (panda's proxy unless `sources` says otherwise). */
function config(proxy: string, sources = '[tls.panda]\nidentity = x509_proxy\n'): Config {
  return Config.parse(`[tls]\nca_dir = ${ca.caDir}\nx509_proxy = ${proxy}\n${sources}`, 'credentials.test.cfg');
}

describe('RunCredentials: one load per source per run', () => {
  test('a source is loaded once per run; the next run reads the renewed file', () => {
    const proxy = path.join(testDir('run-credentials'), 'x509up');
    copyFileSync(ca.proxy, proxy);
    const first = new RunCredentials(config(proxy), new MemoryLogger());
    const loaded = first.tls('panda');
    expect(loaded.credentialExpiresAtMs).toBe(opensslNotAfterMs(ca.proxy));
    // Renewed (here: replaced by a shorter one) while the run goes on: this run keeps what it loaded.
    copyFileSync(sixHourProxy, proxy);
    expect(first.tls('panda')).toBe(loaded);
    expect(opensslNotAfterMs(sixHourProxy)).not.toBe(opensslNotAfterMs(ca.proxy));
    expect(new RunCredentials(config(proxy), new MemoryLogger()).tls('panda').credentialExpiresAtMs).toBe(opensslNotAfterMs(sixHourProxy));
  });

  test('a credential that cannot be loaded throws the same CredentialError on every ask of the run; the next run loads it once it is there', () => {
    const proxy = path.join(testDir('run-credentials'), 'x509up');
    const run = new RunCredentials(config(proxy), new MemoryLogger());
    let first: unknown;
    try {
      run.tls('panda');
    } catch (error) {
      first = error;
    }
    expect(first).toBeInstanceOf(CredentialError);
    expect((first as Error).message).toContain(proxy);
    copyFileSync(ca.proxy, proxy);
    expect(() => run.tls('panda')).toThrow(first as Error);
    expect(new RunCredentials(config(proxy), new MemoryLogger()).tls('panda').credentialExpiresAtMs).toBe(opensslNotAfterMs(ca.proxy));
    rmSync(proxy);
  });

  test("the heartbeat's credential: of those within their warning the first to expire, else the first of all; the warning logged once per source", () => {
    const log = new MemoryLogger();
    // cric: the 12h proxy, with a warning of 1s (not within it); panda: the 30-day user certificate, within a 60-day warning.
    const run = new RunCredentials(
      config(ca.proxy, `[tls.cric]\nidentity = x509_proxy\nexpiry_warning = 1s\n[tls.panda]\nidentity = client_cert\nclient_cert = ${ca.user.cert}\nclient_key = ${ca.user.key}\nexpiry_warning = 60d\n`),
      log,
    );
    const nowMs = Date.now();
    run.tls('cric');
    expect(run.summary(nowMs)).toEqual({ credential: 'X.509 proxy of cric', expiring: false, expiresInSeconds: Math.floor((opensslNotAfterMs(ca.proxy) - nowMs) / 1000) });
    run.tls('panda');
    run.tls('panda');
    // The proxy expires first, but the certificate is the one within its warning.
    expect(opensslNotAfterMs(ca.proxy)).toBeLessThan(opensslNotAfterMs(ca.user.cert));
    expect(run.summary(nowMs)).toEqual({ credential: 'client certificate of panda', expiring: true, expiresInSeconds: Math.floor((opensslNotAfterMs(ca.user.cert) - nowMs) / 1000) });
    const warnings = log.lines.filter((line) => /^WARN .*expires at/.test(line));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('[tls.panda]');
    expect(warnings[0]).toContain(ca.user.cert);
    expect(log.lines.join('\n')).not.toContain('PRIVATE KEY');
    const anonymous = new RunCredentials(config(ca.proxy, '[tls.panda]\nidentity = none\n'), new MemoryLogger());
    anonymous.tls('panda');
    expect(anonymous.summary()).toBeUndefined();
  });

  test('approximateDuration rounds down to days, hours or minutes', () => {
    expect([approximateDuration(3 * 86_400_000 + 5), approximateDuration(2 * 86_400_000 - 1), approximateDuration(2 * 3_600_000), approximateDuration(2 * 3_600_000 - 1), approximateDuration(59_999), approximateDuration(-5)]).toEqual([
      '3d',
      '47h',
      '2h',
      '119m',
      '0m',
      '0m',
    ]);
  });
});
