import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync } from 'node:fs';
import path from 'node:path';
import { writeFileDurably } from '../../lib/state/durableFile';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { renderConfigExample } from '../build/generators/configExample';

/**
 * Writes config.cfg for the quickstart from the text of config.cfg.example, made afresh from the
 * sample.cfg files: the placeholders `change-me` become one random token (the sender's and the
 * gateway's must match), `demo-password` a random password.
 * An existing file is kept as it is (only its mode is fixed to 600: it holds secrets).
 * MONIT_QUICKSTART_PORT_OFFSET shifts every 127.0.0.1 port, so a second setup can run beside the first.
 */
export function generateConfig(target: string, portOffset = 0): boolean {
  if (existsSync(target)) {
    chmodSync(target, 0o600);
    return false;
  }
  const token = randomBytes(24).toString('hex');
  const password = randomBytes(12).toString('hex');
  const text = renderConfigExample()
    .replace(/change-me/g, token)
    .replace(/demo-password/g, password)
    .replace(/127\.0\.0\.1:(\d+)/g, (_, port: string) => `127.0.0.1:${Number(port) + portOffset}`)
    .replace(/^port = (\d+)$/gm, (_, port: string) => `port = ${Number(port) + portOffset}`);
  writeFileDurably(target, text, 0o600);
  chmodSync(target, 0o600);
  return true;
}

if (require.main === module) {
  const target = path.resolve(process.argv[2] ?? path.join(PROJECT_ROOT, 'config.cfg'));
  const offset = Number(process.env.MONIT_QUICKSTART_PORT_OFFSET ?? 0);
  const created = generateConfig(target, Number.isInteger(offset) ? offset : 0);
  process.stdout.write(created ? `  wrote ${target} (mode 600, fresh credentials)\n` : `  kept existing ${target}\n`);
}
