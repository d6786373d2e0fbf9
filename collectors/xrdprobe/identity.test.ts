import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { collectedDocuments } from '../../lib/run/collector';
import { collectorContext } from '../../test/support/collectorContext';
import { testDir } from '../../test/support/services';
import { makeTestCa, type TestCa } from '../../test/support/testCa';
import collector from './collector';

/**
 * xrdcp's grid identity comes from [tls.xrdprobe], never from the environment the job was started in.
 * A stand-in xrdcp first in PATH writes the environment it was given and fails like a refused transfer:
 * what the child gets is exactly what can be checked.
 */
let ca: TestCa;
let standIn: string;
const saved = { PATH: process.env.PATH, X509_USER_PROXY: process.env.X509_USER_PROXY, X509_CERT_DIR: process.env.X509_CERT_DIR, BEARER_TOKEN: process.env.BEARER_TOKEN, ENVIRONMENT_DUMP: process.env.ENVIRONMENT_DUMP };
const LEFTOVER_TOKEN = 'leftover-cron-token-0123456789';

beforeAll(() => {
  ca = makeTestCa();
  standIn = testDir('xrdcp-stand-in');
  writeFileSync(path.join(standIn, 'xrdcp'), '#!/bin/sh\nenv > "$ENVIRONMENT_DUMP"\necho "[ERROR] Server responded with an error: [3010] Unable to open file; permission denied" >&2\nexit 54\n');
  chmodSync(path.join(standIn, 'xrdcp'), 0o755);
  process.env.PATH = `${standIn}:${process.env.PATH ?? ''}`;
  // What a login shell or cron might leave behind.
  process.env.X509_USER_PROXY = '/tmp/leftover/x509up';
  process.env.X509_CERT_DIR = '/tmp/leftover/certificates';
  process.env.BEARER_TOKEN = LEFTOVER_TOKEN;
}, 600_000);
afterAll(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

function childEnvironment(dump: string): Map<string, string> {
  return new Map(readFileSync(dump, 'utf8').split('\n').filter((line) => line.includes('=')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

async function probe(tls: string): Promise<{ environment: Map<string, string>; log: string[]; message: unknown }> {
  const dump = path.join(testDir('xrdcp-environment'), 'env.txt');
  process.env.ENVIRONMENT_DUMP = dump;
  const context = collectorContext('xrdprobe', `[xrdprobe]\nendpoints = root://127.0.0.1:1//store/test/file\ntimeout = 10s\n${tls}`, { stateDir: testDir('xrdprobe-identity-state') });
  const [document] = collectedDocuments(await collector.collect(context));
  return { environment: childEnvironment(dump), log: context.log.lines, message: document.error_message };
}

describe('xrdcp gets the identity of [tls.xrdprobe]', () => {
  test('identity = x509_proxy: X509_USER_PROXY and X509_CERT_DIR of the settings, none of the leftovers; nothing of it logged', async () => {
    const { environment, log, message } = await probe(`[tls]\nca_dir = ${ca.caDir}\n[tls.xrdprobe]\nidentity = x509_proxy\nx509_proxy = ${ca.proxy}\n`);
    expect(environment.get('X509_USER_PROXY')).toBe(ca.proxy);
    expect(environment.get('X509_CERT_DIR')).toBe(ca.caDir);
    expect(environment.has('BEARER_TOKEN')).toBe(false);
    // The runner's own XRootD client settings still reach it.
    expect(environment.get('XRD_CONNECTIONRETRY')).toBe('1');
    expect(message).toMatch(/\[3010\]/);
    expect(log.join('\n')).not.toMatch(/X509_USER_PROXY|X509_CERT_DIR|leftover/);
  });

  test('identity none and no CA dir: the child has no grid identity at all, whatever the caller had', async () => {
    const { environment, log } = await probe('[tls]\nca_dir = none\n');
    expect([...environment.keys()].filter((name) => /^(X509_|BEARER_TOKEN)/.test(name))).toEqual([]);
    expect(environment.get('PATH')?.startsWith(standIn)).toBe(true);
    expect(log.join('\n')).not.toContain(LEFTOVER_TOKEN);
  });
});
