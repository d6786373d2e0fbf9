/**
 * A real MIT KDC for one test file (scripts/servers/services.sh start kerberos: krb5kdc -n on a free
 * loopback port, realm MONIT.TEST), and its principals and keytabs made with kadmin.local.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { useProcessEnvironment } from '../../lib/tls/kerberos';
import { type RunningServer, startServer } from './services';

/**
 * Jest gives a test file a copy of process.env, so what lib/tls/kerberos.ts sets there never reaches MIT.
 * Buffer is Node's own (not the test's sandbox), and its constructor's Function runs in Node's realm,
 * where process.env is the real one.
 */
const nodeEnvironment = (Buffer.constructor as FunctionConstructor)('return process.env')() as NodeJS.ProcessEnv;
useProcessEnvironment(nodeEnvironment);

export const TEST_REALM = 'MONIT.TEST';

export interface TestKdc extends RunningServer {
  /** The krb5.conf of clients of this KDC (kerberos_config, KRB5_CONFIG). */
  krb5Config: string;
  /** Adds principals with random keys ("monit", "HTTP/localhost"). */
  addPrincipals(...names: string[]): void;
  /** Writes the current keys of `names` to a keytab in the KDC's folder, and returns its path. */
  keytab(file: string, ...names: string[]): string;
  /** Removes a principal from the database (its keytabs stay). */
  deletePrincipal(name: string): void;
  /** New random keys for a principal: the keytabs written before are outdated. */
  newKeys(name: string): void;
  /** kinit -kt KEYTAB -c CCACHE [-l LIFETIME] PRINCIPAL: a ticket kept by "others", as k5start would. */
  kinit(options: { principal: string; keytab: string; ccache: string; lifetime?: string }): void;
  /** Whether `klist -s` finds a valid ticket in the ccache (MIT's own reading of it). */
  hasValidTicket(ccache: string): boolean;
  /** What `klist -k` lists, principal per line (MIT's own reading of a keytab). */
  listKeytab(file: string): string[];
}

export async function startKdc(): Promise<TestKdc> {
  const server = await startServer('kerberos');
  const krb5Config = path.join(server.dir, 'krb5.conf');
  const environment = { ...process.env, KRB5_CONFIG: krb5Config, KRB5_KDC_PROFILE: path.join(server.dir, 'kdc.conf') };
  const admin = (query: string): void => {
    const output = execFileSync('kadmin.local', ['-r', TEST_REALM, '-q', query], { env: environment, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (/error|not found|cannot/i.test(output)) throw new Error(`kadmin.local -q "${query}": ${output}`);
  };
  return {
    ...server,
    krb5Config,
    addPrincipals: (...names) => names.forEach((name) => admin(`addprinc -randkey ${name}`)),
    keytab: (file, ...names) => {
      const target = path.join(server.dir, file);
      // -norandkey: the keys stay as they are, so several keytabs of one principal all work.
      for (const name of names) admin(`ktadd -norandkey -k ${target} ${name}`);
      return target;
    },
    deletePrincipal: (name) => admin(`delprinc -force ${name}`),
    newKeys: (name) => admin(`cpw -randkey ${name}`),
    kinit: ({ principal, keytab, ccache, lifetime }) => {
      execFileSync('kinit', [...(lifetime ? ['-l', lifetime] : []), '-kt', keytab, '-c', ccache, principal], { env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    },
    hasValidTicket: (ccache) => {
      try {
        execFileSync('klist', ['-s', '-c', ccache], { env: environment, stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    },
    listKeytab: (file) => {
      const output = execFileSync('klist', ['-k', file], { env: environment, encoding: 'utf8' });
      // "   2 monit@MONIT.TEST" after two header lines and a rule.
      return [...new Set(output.split('\n').map((line) => /^\s*\d+\s+(\S+)/.exec(line)?.[1]).filter((name): name is string => name !== undefined))];
    },
  };
}
