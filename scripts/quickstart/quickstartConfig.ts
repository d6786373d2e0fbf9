import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileDurably } from '../../lib/state/durableFile';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { Config } from '../../lib/config/config';
import { missingSourceSections, renderConfigExample } from '../build/generators/configExample';

/** The quickstart's values made concrete: fresh secrets for the placeholders, ports shifted by `portOffset`. */
function concrete(text: string, portOffset: number): string {
  return text
    .replace(/change-me/g, randomBytes(24).toString('hex'))
    .replace(/demo-password/g, randomBytes(12).toString('hex'))
    .replace(/127\.0\.0\.1:(\d+)/g, (_, port: string) => `127.0.0.1:${Number(port) + portOffset}`)
    .replace(/^port = (\d+)$/gm, (_, port: string) => `port = ${Number(port) + portOffset}`);
}

/**
 * Writes config.cfg for the quickstart from the text of config.cfg.example, made afresh from the
 * sample.cfg files: the placeholders `change-me` become one random token (the sender's and the
 * gateway's must match), `demo-password` a random password. MONIT_QUICKSTART_PORT_OFFSET shifts
 * every 127.0.0.1 port, so a second setup can run beside the first. An existing file keeps every
 * line (its mode is fixed to 600: it holds secrets); the quickstart values of a source added since
 * are appended, so the new source runs too. Returns what it did, for the quickstart's output.
 */
export function generateConfig(target: string, portOffset = 0): { created: boolean; added: string[] } {
  if (!existsSync(target)) {
    const token = randomBytes(24).toString('hex');
    writeFileDurably(target, concrete(renderConfigExample().replace(/change-me/g, token), portOffset), 0o600);
    chmodSync(target, 0o600);
    return { created: true, added: [] };
  }
  chmodSync(target, 0o600);
  const config = Config.load(target);
  const missing = missingSourceSections((name) => config.hasSection(name));
  if (missing.length) {
    const text = readFileSync(target, 'utf8');
    const additions = missing.map((part) => `\n; Added by ./run.sh quickstart: collectors/${part.source} is newer than this file.\n${concrete(part.text, portOffset)}`);
    writeFileDurably(target, text.replace(/\n*$/, '\n') + additions.join(''), 0o600);
  }
  return { created: false, added: missing.map((part) => part.source) };
}

if (require.main === module) {
  const target = path.resolve(process.argv[2] ?? path.join(PROJECT_ROOT, 'config.cfg'));
  const offset = Number(process.env.MONIT_QUICKSTART_PORT_OFFSET ?? 0);
  const { created, added } = generateConfig(target, Number.isInteger(offset) ? offset : 0);
  process.stdout.write(created ? `  wrote ${target} (mode 600, fresh credentials)\n` : `  kept existing ${target}\n`);
  for (const source of added) process.stdout.write(`  added [${source}] to it (collectors/${source} is new)\n`);
}
