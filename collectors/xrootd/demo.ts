import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defineDemo, SERVICES_SCRIPT, type LocalContext } from '../../scripts/quickstart/components';

function endpoint(context: LocalContext): string | undefined {
  return context.config.section('demo').optionalString('xrootd');
}

const XRDCP_ENVIRONMENT = { ...process.env, XRD_CONNECTIONRETRY: '1', XRD_REQUESTTIMEOUT: '10' };

/**
 * A real XRootD server on loopback ([demo] xrootd = 127.0.0.1:PORT, data in var/xrootd) that sends its
 * summary reports to [xrootd-receiver] listen and, when [xrootd-transfers] is configured, its detailed
 * monitoring to that receiver; then a little traffic, so there is something to report.
 */
export default defineDemo({
  components: [
    {
      name: 'xrootd',
      wanted: (context) => endpoint(context) !== undefined,
      start: async (context) => {
        const address = endpoint(context) as string;
        const dir = path.join(context.varRoot, 'xrootd');
        const monitoring = path.join(context.varRoot, 'demo', 'xrootd-monitoring.cfg');
        mkdirSync(path.dirname(monitoring), { recursive: true });
        const lines = [];
        if (context.config.hasSection('xrootd-receiver')) lines.push(`xrd.report ${context.config.section('xrootd-receiver').string('listen')} every 60s all`);
        if (context.config.hasSection('xrootd-transfers')) {
          const detailed = context.config.section('xrootd-transfers').hostPort('receiver_listen', '127.0.0.1:9930');
          // Its site, as [xrootd] sites names it: the detailed stream's server documents carry it.
          lines.push('all.sitename DEMO-SITE');
          lines.push(`xrootd.monitor all auth flush 30s window 5s fstat 60s lfn ops xfr 5 ident 5m dest fstat files info user io redir ${detailed.host}:${detailed.port}`);
        }
        writeFileSync(monitoring, lines.join('\n') + '\n');
        execFileSync(SERVICES_SCRIPT, ['start', 'xrootd', '--port', address.split(':')[1], '--dir', dir, '--config-extra', monitoring], { stdio: 'inherit' });
        // Some traffic for the reports: a small file written and read back.
        const local = path.join(context.varRoot, 'demo', 'xrootd-traffic.bin');
        writeFileSync(local, Buffer.alloc(1_000_000, 7));
        execFileSync('timeout', ['30', 'xrdcp', '-f', '-s', '--path', local, `root://${address}//monit-demo/traffic.bin`], { env: XRDCP_ENVIRONMENT });
        execFileSync('timeout', ['30', 'xrdcp', '-f', '-s', `root://${address}//monit-demo/traffic.bin`, '/dev/null'], { env: XRDCP_ENVIRONMENT });
      },
      stop: async (context) => {
        execFileSync(SERVICES_SCRIPT, ['stop', path.join(context.varRoot, 'xrootd')], { stdio: 'inherit' });
      },
    },
  ],
});
