import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/paths';
import { answers, backgroundJob, packagedServer, type LocalComponent, type LocalContext } from './local';

/**
 * The demo sources the shipped collectors read in the quickstart, driven by the [demo] section of
 * config.cfg (delete it, and these are not started). One entry per source.
 */

function demoListen(context: LocalContext): string | undefined {
  return context.config.section('demo').optionalString('listen');
}

const demoServer = backgroundJob(
  'demo-server',
  (context) => demoListen(context) !== undefined,
  (context) => answers(`http://${demoListen(context)}/web/ok`),
  (context) => [path.join(PROJECT_ROOT, 'dist', 'scripts', 'demoServer.js'), (demoListen(context) as string).split(':')[1], context.config.section('demo').path('log_file', 'var/demo/import.log')],
);

/** MariaDB with a small EventIndex-like table and a SELECT-only account, for the sql collector. */
const mariadb = packagedServer(
  'mariadb',
  'mariadb',
  (context) => (context.config.section('demo').bool('mariadb', false) && context.config.hasSection('sql') ? context.config.section('sql').int('port', 3306) : undefined),
  async (context) => {
    const sql = context.config.section('sql');
    const database = sql.string('database');
    const user = sql.string('user');
    const password = sql.secret('password');
    const quoteLiteral = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    const statements = [
      `CREATE DATABASE IF NOT EXISTS \`${database}\``,
      `CREATE TABLE IF NOT EXISTS \`${database}\`.imports (id INT AUTO_INCREMENT PRIMARY KEY, site VARCHAR(64), state VARCHAR(16), bytes BIGINT, finished DATETIME)`,
      `INSERT INTO \`${database}\`.imports (site, state, bytes, finished) SELECT * FROM (SELECT 'CERN-PROD', 'done', 1500000, NOW() UNION ALL SELECT 'BNL-ATLAS', 'done', 900000, NOW() UNION ALL SELECT 'CERN-PROD', 'failed', 0, NOW()) AS seed WHERE NOT EXISTS (SELECT 1 FROM \`${database}\`.imports)`,
      `CREATE USER IF NOT EXISTS ${quoteLiteral(user)}@'127.0.0.1' IDENTIFIED BY ${quoteLiteral(password)}`,
      `ALTER USER ${quoteLiteral(user)}@'127.0.0.1' IDENTIFIED BY ${quoteLiteral(password)}`,
      `GRANT SELECT ON \`${database}\`.* TO ${quoteLiteral(user)}@'127.0.0.1'`,
    ];
    execFileSync('mariadb', ['--no-defaults', `--socket=${path.join(context.varRoot, 'mariadb', 'mysqld.sock')}`, '-uroot'], { input: statements.join(';\n') + ';\n' });
  },
);

/** node_exporter at the first [host] endpoint, for the host collector. */
const nodeExporter = packagedServer('node_exporter', 'node_exporter', (context) => {
  if (!context.config.section('demo').bool('node_exporter', false) || !context.config.hasSection('host')) return undefined;
  const first = context.config.section('host').list('endpoints')[0]?.replace(/^[^=]+=/, '');
  return first ? Number(new URL(first).port) : undefined;
});

export function demoComponents(): LocalComponent[] {
  return [demoServer, mariadb, nodeExporter];
}
