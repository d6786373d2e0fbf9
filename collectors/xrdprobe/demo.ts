import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defineDemo, isLoopback, type LocalContext } from '../../scripts/quickstart/components';

const XRD_ENVIRONMENT = { ...process.env, XRD_CONNECTIONRETRY: '1', XRD_REQUESTTIMEOUT: '10' };

/** The [xrdprobe] endpoints on this machine (root://127.0.0.1:PORT//path), whose test files the demo provides. */
function localEndpoints(context: LocalContext): URL[] {
  if (!context.config.hasSection('xrdprobe')) return [];
  return context.config
    .section('xrdprobe')
    .list('endpoints', [])
    .map((endpoint) => new URL(endpoint))
    .filter((url) => isLoopback(`http://${url.host}/`));
}

/** The test file xrdprobe reads, uploaded to each endpoint on this machine once its server runs. */
export default defineDemo({
  components: [
    {
      name: 'xrdprobe test files',
      phase: 'data',
      wanted: (context) => localEndpoints(context).length > 0,
      start: async (context) => {
        const local = path.join(context.varRoot, 'demo', 'xrdprobe-test.bin');
        mkdirSync(path.dirname(local), { recursive: true });
        writeFileSync(local, Buffer.alloc(5_000_000, 7));
        for (const url of localEndpoints(context)) {
          const file = url.pathname.replace(/^\/+/, '/');
          const present = spawnSync('timeout', ['30', 'xrdfs', url.host, 'stat', file], { env: XRD_ENVIRONMENT }).status === 0;
          if (!present) execFileSync('timeout', ['60', 'xrdcp', '-s', '--path', local, `root://${url.host}/${file}`], { env: XRD_ENVIRONMENT });
        }
      },
      stop: async () => undefined,
    },
  ],
});
