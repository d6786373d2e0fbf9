/** [tls] and [tls.<source>]: key-by-key overrides, the grid defaults, and the messages of bad settings. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../config/config';
import { PROJECT_ROOT } from '../config/paths';
import { redact } from '../run/log';
import { GRID_CA_DIR } from './settings';
import { configWarnings } from '../../cli/configCheck';
import { tlsConfigWarnings, tlsSettings } from './clientTls';

const uid = process.getuid?.() ?? 0;

test('[tls.<source>] overrides [tls] key by key, and other sources keep [tls]', () => {
  const config = Config.parse(
    '[tls]\nca_dir = /grid/certificates\ncrl = off\nx509_proxy = /proxies/x509up\nexpiry_warning = 2d\n[tls.panda]\nidentity = x509_proxy\n[tls.cric]\ncrl = auto\nidentity = bearer_token\nbearer_token_file = /tokens/cric\n',
    'site.cfg',
  );
  const cric = tlsSettings(config, 'cric', {});
  expect(cric).toMatchObject({ source: 'cric', caDir: '/grid/certificates', crl: 'auto', identity: 'bearer_token', bearerTokenFile: '/tokens/cric', x509Proxy: '/proxies/x509up', expiryWarningMs: 2 * 86_400_000, publicRoots: true });
  const panda = tlsSettings(config, 'panda', {});
  expect(panda).toMatchObject({ source: 'panda', caDir: '/grid/certificates', crl: 'off', identity: 'x509_proxy', bearerTokenFile: undefined });
  // The shared proxy location presents nothing by itself: a source without identity sends nothing.
  expect(tlsSettings(config, 'web', {})).toMatchObject({ identity: 'none', x509Proxy: '/proxies/x509up' });
  expect(cric.describe()).toBe('[tls.cric]: ca_dir /grid/certificates ([tls] ca_dir = /grid/certificates), crl auto, Node\'s public CAs as fallback, identity bearer_token from /tokens/cric ([tls.cric] bearer_token_file = /tokens/cric)');
  expect(panda.describe()).toBe("[tls.panda]: ca_dir /grid/certificates ([tls] ca_dir = /grid/certificates), crl off, Node's public CAs as fallback, identity x509_proxy /proxies/x509up ([tls] x509_proxy = /proxies/x509up)");
  // A route's source name has dots: its section is [tls.monit.route.<name>].
  const route = tlsSettings(Config.parse('[tls.monit.route.eventindex]\nidentity = client_cert\nclient_cert = /certs/host.pem\nclient_key = keys/host.key\n'), 'monit.route.eventindex', {});
  expect(route).toMatchObject({ identity: 'client_cert', clientCert: '/certs/host.pem', clientKey: path.join(PROJECT_ROOT, 'keys/host.key') });
});

test('the grid defaults: X509_CERT_DIR, else /etc/grid-security/certificates when it exists; X509_USER_PROXY, else /tmp/x509up_u<uid>', () => {
  const empty = Config.parse('');
  const fromEnvironment = tlsSettings(empty, 'web', { X509_CERT_DIR: '/cvmfs/grid/etc/grid-security/certificates', X509_USER_PROXY: '/home/op/proxy' });
  expect(fromEnvironment).toMatchObject({ caDir: '/cvmfs/grid/etc/grid-security/certificates', x509Proxy: '/home/op/proxy', identity: 'none', crl: 'auto', publicRoots: true, expiryWarningMs: 3 * 86_400_000 });
  expect(fromEnvironment.origin?.('ca_dir')).toBe('X509_CERT_DIR=/cvmfs/grid/etc/grid-security/certificates');
  expect(fromEnvironment.origin?.('x509_proxy')).toBe('X509_USER_PROXY=/home/op/proxy');
  const bare = tlsSettings(empty, 'web', {});
  expect(bare.x509Proxy).toBe(`/tmp/x509up_u${uid}`);
  // This machine has no IGTF bundle unless a test made one; the default follows what exists.
  expect(bare.caDir).toBe(existsSync(GRID_CA_DIR) ? GRID_CA_DIR : undefined);
  // ca_dir = none turns the CA directory off, even when X509_CERT_DIR is set.
  expect(tlsSettings(Config.parse('[tls]\nca_dir = none\n'), 'web', { X509_CERT_DIR: '/somewhere' }).caDir).toBeUndefined();
});

test('identity and bearer_token are per-source keys: in [tls] they are a ConfigError saying where and why, and the token is never shown', () => {
  for (const source of ['panda', 'web']) {
    expect(() => tlsSettings(Config.parse('[tls]\nca_dir = none\nidentity = x509_proxy\n', 'site.cfg'), source, {})).toThrow(
      `site.cfg: [tls] identity: set it per source, in [tls.<source>] (e.g. [tls.${source}]): in [tls] it would be presented to every source, web probes of third-party sites included, and any of them could replay it`,
    );
  }
  let refused: Error | undefined;
  try {
    tlsSettings(Config.parse('[tls]\nbearer_token = tls-wide-secret-token\n[tls.cric]\nidentity = bearer_token\n', 'site.cfg'), 'cric', {});
  } catch (error) {
    refused = error as Error;
  }
  expect(refused?.message).toBe(
    'site.cfg: [tls] bearer_token: set it per source, in [tls.<source>] (e.g. [tls.cric]): in [tls] it would be presented to every source, web probes of third-party sites included, and any of them could replay it',
  );
  expect(redact('tls-wide-secret-token')).toBe('***');
  // Locations may be shared; the identity that uses them is chosen per source.
  const shared = tlsSettings(Config.parse('[tls]\nbearer_token_file = /tokens/shared\nclient_cert = /certs/host.pem\n[tls.cric]\nidentity = bearer_token\n', 'site.cfg'), 'cric', {});
  expect(shared).toMatchObject({ identity: 'bearer_token', bearerTokenFile: '/tokens/shared', clientCert: '/certs/host.pem' });
});

test('relative paths are taken from the project root, like every path setting', () => {
  const settings = tlsSettings(Config.parse('[tls]\nca_dir = etc/certificates\nca_file = etc/extra-ca.pem\n'), 'web', {});
  expect(settings.caDir).toBe(path.join(PROJECT_ROOT, 'etc/certificates'));
  expect(settings.caFile).toBe(path.join(PROJECT_ROOT, 'etc/extra-ca.pem'));
});

test('a bad identity, crl or expiry_warning is a ConfigError naming file, section and key', () => {
  expect(() => tlsSettings(Config.parse('[tls.panda]\nidentity = proxy\n', 'site.cfg'), 'panda', {})).toThrow(
    'site.cfg: [tls.panda] identity must be one of none, client_cert, x509_proxy, bearer_token, kerberos, got "proxy"',
  );
  expect(() => tlsSettings(Config.parse('[tls]\ncrl = yes\n', 'site.cfg'), 'panda', {})).toThrow('site.cfg: [tls] crl must be auto or off, got "yes"');
  expect(() => tlsSettings(Config.parse('[tls]\nexpiry_warning = soon\n', 'site.cfg'), 'panda', {})).toThrow('site.cfg: [tls] expiry_warning: expected a duration');
});

test('unknown keys of [tls] and [tls.<source>] are reported as typos, and the known ones are read', () => {
  const config = Config.parse('[tls]\nca_dri = /x\ncrl = auto\n[tls.panda]\nidentity = none\nx509proxy = /p\n[tls.cric]\npublic_roots = no\n', 'site.cfg');
  expect(tlsConfigWarnings(config)).toEqual([
    `site.cfg: [tls] ca_dri is not a TLS setting (a typo? the keys are ca_dir, ca_file, public_roots, crl, identity, client_cert, client_key, x509_proxy, bearer_token, bearer_token_file, expiry_warning, kerberos_keytab, kerberos_principal, kerberos_ccache, kerberos_config, kerberos_preemptive)`,
    `site.cfg: [tls.panda] x509proxy is not a TLS setting (a typo? the keys are ca_dir, ca_file, public_roots, crl, identity, client_cert, client_key, x509_proxy, bearer_token, bearer_token_file, expiry_warning, kerberos_keytab, kerberos_principal, kerberos_ccache, kerberos_config, kerberos_preemptive)`,
  ]);
  tlsSettings(config, 'panda', {});
  expect(config.section('tls').unreadKeys()).toEqual(['ca_dri']);
  expect(config.section('tls.panda').unreadKeys()).toEqual(['x509proxy']);
});

test('a bearer_token in the config is a secret: never in describe() nor in logs', () => {
  const settings = tlsSettings(Config.parse('[tls.panda]\nca_dir = none\nidentity = bearer_token\nbearer_token = eyJ-config-token-value\n'), 'panda', {});
  expect(settings.bearerToken).toBe('eyJ-config-token-value');
  expect(settings.describe()).toBe("[tls.panda]: no ca_dir ([tls.panda] ca_dir = none), Node's public CAs, identity bearer_token ([tls.panda] bearer_token = ***)");
  expect(redact('token eyJ-config-token-value')).toBe('token ***');
});

test("a run's config check reports TLS typos once, and [tls] and [tls.<source>] are not unknown sections", () => {
  const config = Config.parse('[tls]\nca_dir = none\nca_dri = /x\n[tls.panda]\nidentity = none\n[tls.cric]\nidenity = x509_proxy\n', 'site.cfg');
  const warnings = configWarnings(config, 'web');
  expect(warnings.filter((warning) => warning.includes('[tls'))).toEqual([
    expect.stringMatching(/^site\.cfg: \[tls\] ca_dri is not a TLS setting \(a typo\?/),
    expect.stringMatching(/^site\.cfg: \[tls\.cric\] idenity is not a TLS setting \(a typo\?/),
  ]);
});
