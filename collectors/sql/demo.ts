import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { defineDemo, packagedServer } from '../../scripts/quickstart/components';

const quoteLiteral = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** MariaDB ([demo] mariadb = true) with a small EventIndex-like table and a SELECT-only account. */
export default defineDemo({
  components: [
    packagedServer(
      'mariadb',
      'mariadb',
      (context) => (context.config.section('demo').bool('mariadb', false) && context.config.hasSection('sql') ? context.config.section('sql').int('port', 3306) : undefined),
      async (context) => {
        const sql = context.config.section('sql');
        const database = sql.string('database');
        const user = sql.string('user');
        const password = sql.secret('password');
        const statements = [
          `CREATE DATABASE IF NOT EXISTS \`${database}\``,
          `CREATE TABLE IF NOT EXISTS \`${database}\`.imports (id INT AUTO_INCREMENT PRIMARY KEY, site VARCHAR(64), state VARCHAR(16), bytes BIGINT, finished DATETIME)`,
          `INSERT INTO \`${database}\`.imports (site, state, bytes, finished) SELECT * FROM (SELECT 'CERN-PROD', 'done', 1500000, NOW() UNION ALL SELECT 'BNL-ATLAS', 'done', 900000, NOW() UNION ALL SELECT 'CERN-PROD', 'failed', 0, NOW()) AS first_rows WHERE NOT EXISTS (SELECT 1 FROM \`${database}\`.imports)`,
          `CREATE USER IF NOT EXISTS ${quoteLiteral(user)}@'127.0.0.1' IDENTIFIED BY ${quoteLiteral(password)}`,
          `ALTER USER ${quoteLiteral(user)}@'127.0.0.1' IDENTIFIED BY ${quoteLiteral(password)}`,
          `GRANT SELECT ON \`${database}\`.* TO ${quoteLiteral(user)}@'127.0.0.1'`,
        ];
        execFileSync('mariadb', ['--no-defaults', `--socket=${path.join(context.varRoot, 'mariadb', 'mysqld.sock')}`, '-uroot'], { input: statements.join(';\n') + ';\n' });
      },
    ),
  ],
});
