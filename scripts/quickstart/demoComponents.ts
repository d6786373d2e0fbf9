import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { slotStart } from '../../lib/run/slot';
import { encodeRecord, QueueWriter } from '../../collectors/xrootd-transfers/queue';
import { receiverOptions } from '../../collectors/xrootd-transfers/receiver';
import { alivePid, answers, backgroundJob, packagedServer, type LocalComponent, type LocalContext } from './local';

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
  (context) => [path.join(PROJECT_ROOT, 'dist', 'scripts', 'quickstart', 'demoServer.js'), (demoListen(context) as string).split(':')[1], context.config.section('demo').path('log_file', 'var/demo/import.log')],
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

const sleep = (ms: number): Promise<boolean> => new Promise((resolve) => setTimeout(() => resolve(true), ms));

/** A UDP receiver of ours: ready once its process has stayed up a moment (it fails at once on a bad address). */
function receiver(job: string, section: string): LocalComponent {
  return backgroundJob(
    job,
    (context) => context.config.hasSection(section) && demoXrootd(context) !== undefined,
    async (context) => (await sleep(500)) && alivePid(path.join(context.runDir, `${job}.pid`)) !== undefined,
  );
}

function demoXrootd(context: LocalContext): string | undefined {
  return context.config.section('demo').optionalString('xrootd');
}

const XRDCP_ENVIRONMENT = { ...process.env, XRD_CONNECTIONRETRY: '1', XRD_REQUESTTIMEOUT: '10' };

/**
 * A real XRootD server with summary reports to [xrootd-receiver] and detailed monitoring to
 * [xrootd-transfers], a test file for xrdprobe, and a little traffic so there is something to report.
 */
const xrootdServer: LocalComponent = {
  name: 'xrootd',
  wanted: (context) => demoXrootd(context) !== undefined,
  start: async (context) => {
    const endpoint = demoXrootd(context) as string;
    const dir = path.join(context.varRoot, 'xrootd');
    const monitoring = path.join(context.varRoot, 'demo', 'xrootd-monitoring.cfg');
    mkdirSync(path.dirname(monitoring), { recursive: true });
    const lines = [];
    if (context.config.hasSection('xrootd-receiver')) lines.push(`xrd.report ${context.config.section('xrootd-receiver').string('listen')} every 60s all`);
    if (context.config.hasSection('xrootd-transfers')) {
      const detailed = receiverOptions(context.config);
      lines.push(`xrootd.monitor all auth flush 30s window 5s fstat 60s lfn ops xfr 5 ident 5m dest fstat files info user io redir ${detailed.host}:${detailed.port}`);
    }
    writeFileSync(monitoring, lines.join('\n') + '\n');
    execFileSync(path.join(PROJECT_ROOT, 'scripts', 'servers', 'services.sh'), ['start', 'xrootd', '--port', endpoint.split(':')[1], '--dir', dir, '--config-extra', monitoring], { stdio: 'inherit' });
    // The file xrdprobe reads, owned by the server's user.
    const probeDir = path.join(dir, 'data', 'monit-probe');
    const testFile = path.join(probeDir, 'test.bin');
    if (!existsSync(testFile)) {
      mkdirSync(probeDir, { recursive: true });
      writeFileSync(testFile, Buffer.alloc(5_000_000, 7));
      const { uid, gid } = os.userInfo({ encoding: 'utf8' }).username === 'root' ? userIds('xrootd') : { uid: -1, gid: -1 };
      if (uid >= 0) for (const entry of [probeDir, testFile]) chownSync(entry, uid, gid);
    }
    // Some traffic for the reports: a download of the test file.
    execFileSync('timeout', ['30', 'xrdcp', '-f', '-s', `root://${endpoint}//monit-probe/test.bin`, '/dev/null'], { env: XRDCP_ENVIRONMENT });
  },
  stop: async (context) => {
    execFileSync(path.join(PROJECT_ROOT, 'scripts', 'servers', 'services.sh'), ['stop', path.join(context.varRoot, 'xrootd')], { stdio: 'inherit' });
  },
};

function userIds(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.startsWith(`${name}:`));
  if (!line) return { uid: -1, gid: -1 };
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * A recorded detailed-monitoring capture of a real xrootd 5.5.3 (xrdcp up and down), queued once as
 * if received during the previous 10-minute slot: the aggregator reports a slot once it is complete,
 * so this gives the quickstart transfer documents at once; the live server's show up a slot later.
 */
const recordedTransfers: LocalComponent = {
  name: 'recorded-xrootd-transfers',
  wanted: (context) => context.config.hasSection('xrootd-transfers') && demoXrootd(context) !== undefined,
  start: async (context) => {
    const marker = path.join(context.varRoot, 'demo', 'recorded-transfers-queued');
    if (existsSync(marker)) return;
    const recorded = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'collectors', 'xrootd-transfers', 'testdata', 'xrootd-5.5.3-packets.json'), 'utf8')) as {
      packets: Array<{ receivedMs: number; hex: string }>;
    };
    const firstMs = recorded.packets[0].receivedMs;
    const previousSlot = slotStart(Date.now()) - 600_000;
    const options = receiverOptions(context.config);
    const writer = new QueueWriter(options.queueDir, options.segmentMs);
    const records = recorded.packets.map((packet) => encodeRecord(previousSlot + 60_000 + (packet.receivedMs - firstMs), '127.0.0.1:1094', Buffer.from(packet.hex, 'hex')));
    await writer.append(records, previousSlot + 60_000);
    await writer.closeCurrent();
    mkdirSync(path.dirname(marker), { recursive: true });
    writeFileSync(marker, `${new Date().toISOString()}\n`);
  },
  stop: async () => undefined,
};

export function demoComponents(): LocalComponent[] {
  return [
    demoServer,
    mariadb,
    nodeExporter,
    receiver('xrootd-receiver', 'xrootd-receiver'),
    receiver('xrootd-detailed-receiver', 'xrootd-transfers'),
    recordedTransfers,
    xrootdServer,
  ];
}
