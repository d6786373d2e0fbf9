import type { RegistryEntry } from '../lib/run/registry';
import { registry } from './registry';

const KIND_HEADINGS: Array<[RegistryEntry['kind'], string]> = [
  ['collector', 'Collectors (every 10 minutes while config.cfg has their [<name>] section; each sends a heartbeat):'],
  ['job', 'Other periodic jobs (each sends a heartbeat):'],
  ['service', 'Services (long-running, in the foreground):'],
  ['command', 'Commands:'],
];

function line(entry: RegistryEntry): string {
  const name = entry.kind === 'command' && entry.usage ? entry.usage : entry.name;
  const where = entry.kind !== 'service' && entry.kind !== 'command' && entry.readme ? ` (${entry.readme})` : '';
  return `  ${name.padEnd(26)} ${entry.description}${where}`;
}

/** `./run.sh --help`: every entry of the registry, by kind. */
export function usage(): string {
  const entries = registry();
  return [
    'usage: ./run.sh <job> [--config FILE] [--dry-run] [--debug] [--timestamp "YYYY-MM-DD HH:MM"]',
    ...KIND_HEADINGS.flatMap(([kind, heading]) => ['', heading, ...entries.filter((entry) => entry.kind === kind).map(line)]),
    '',
    'Options:',
    '  --config FILE      ini config (default: config.cfg next to run.sh)',
    '  --dry-run          print the documents, send nothing',
    '  --debug            verbose log lines',
    '  --timestamp T      run a collector for the past slot containing T (UTC), for backfill',
    '  --from T --to T    downsampling: backfill this range',
    '  --output DIR       systemd-units: write the unit files into DIR instead of printing them',
    '  --user             systemd-units: units for a user manager (systemctl --user)',
    '',
    'Exit status: 0 on success; otherwise non-zero, with a one-line reason on stderr.',
  ].join('\n');
}
