import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileDurably } from '../../lib/state/durableFile';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { Config } from '../../lib/config/config';
import { parseSample, QUICKSTART_DIR } from '../../lib/config/sample';
import { sources } from '../../collectors/source';
import { missingSourceSections, renderConfigExample } from '../build/generators/configExample';
import { configuredExampleNames, exampleConfigFile, loadExample } from './examples';

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
 * are appended, so the new source runs too. `examples` (./run.sh quickstart --example NAME) are
 * appended once each (addExamples). Returns what it did, for the quickstart's output.
 */
export function generateConfig(target: string, portOffset = 0, examples: string[] = []): { created: boolean; added: string[]; examplesAdded: string[] } {
  for (const name of examples) loadExample(name); // an unknown name stops before anything is written
  if (!existsSync(target)) {
    const token = randomBytes(24).toString('hex');
    writeFileDurably(target, concrete(renderConfigExample().replace(/change-me/g, token), portOffset), 0o600);
    chmodSync(target, 0o600);
    return { created: true, added: [], examplesAdded: addExamples(target, examples, portOffset) };
  }
  chmodSync(target, 0o600);
  const config = Config.load(target);
  const missing = missingSourceSections((name) => config.hasSection(name));
  if (missing.length) {
    const text = readFileSync(target, 'utf8');
    const additions = missing.map((part) => `\n; Added by ./run.sh quickstart: collectors/${part.source} is newer than this file.\n${concrete(part.text, portOffset)}`);
    writeFileDurably(target, text.replace(/\n*$/, '\n') + additions.join(''), 0o600);
  }
  return { created: false, added: missing.map((part) => part.source), examplesAdded: addExamples(target, examples, portOffset) };
}

/**
 * Appends the config fragment of each example config.cfg does not hold yet, made concrete like the
 * rest, and the [demo] examples line naming every example it holds (the same section later in the
 * file wins key by key, so the fragment may also change keys written above it). Returns the ones added.
 */
function addExamples(target: string, examples: string[], portOffset: number): string[] {
  const held = configuredExampleNames(Config.load(target));
  const added = [...new Set(examples)].filter((name) => !held.includes(name));
  if (!added.length) return [];
  const parts = added.map(
    (name) => `\n; Added by ./run.sh quickstart --example ${name}: examples/${name}/${name}.cfg (see examples/${name}/README.md).\n${concrete(readFileSync(exampleConfigFile(name), 'utf8'), portOffset)}`,
  );
  const marker = `\n; The examples this file holds: their demo sources start with the quickstart and stop with ./run.sh stop.\n[demo]\nexamples = ${[...held, ...added].join(', ')}\n`;
  writeFileDurably(target, readFileSync(target, 'utf8').replace(/\n*$/, '\n') + parts.join('') + marker, 0o600);
  return added;
}

export const STREAM_CONFIG_FILE = path.join(QUICKSTART_DIR, 'stream.cfg');

/** A section header, `[name]`, or an example of one, `;[name]`: either ends the section before it. */
const ANY_HEADER = /^\s*[;#]?\s*\[([^\]]+)\]\s*$/;

/**
 * Sets `key = value` in the last `[section]` of `lines` (the one that wins), under a comment naming
 * `origin`: on its `key = ...` lines, else on its first `;key = ...` line (where the key is
 * documented), else as a new line at its end. `lines` must hold that section.
 */
function setKey(lines: string[], section: string, key: string, value: string, origin: string): void {
  const header = lines.map((line) => /^\s*\[([^\]]+)\]\s*$/.exec(line)?.[1].trim()).lastIndexOf(section);
  const next = lines.findIndex((line, index) => index > header && ANY_HEADER.test(line));
  const end = next < 0 ? lines.length : next;
  const keyLine = (commented: boolean): RegExp => new RegExp(`^\\s*${commented ? ';\\s*' : ''}${key.replace(/[.*]/g, '\\$&')}\\s*=`);
  const body = lines.slice(header + 1, end);
  const set = body.flatMap((line, index) => (keyLine(false).test(line) ? [header + 1 + index] : []));
  const documented = body.findIndex((line) => keyLine(true).test(line));
  let at = set.length ? set : documented >= 0 ? [header + 1 + documented] : [];
  if (!at.length) {
    at = [end];
    while (at[0] > header + 1 && lines[at[0] - 1].trim() === '') at[0] -= 1;
    lines.splice(at[0], 0, '');
  }
  for (const index of at) lines[index] = `${key} = ${value}`;
  lines.splice(at[0], 0, `; Set by ${origin}.`);
}

/**
 * ./run.sh quickstart --stream: adds the stream route (stream.cfg: [stream] of three local nodes,
 * replicas = 3, [gateway] route = stream, [writer]) made concrete like the rest, when config.cfg has
 * no [stream] yet; one it has, the quickstart's or the operator's, is kept as it is. A section
 * config.cfg has already gets the keys inside it (one [gateway], its `;route = direct` line now
 * `route = stream`), the others are appended. The collector of the stream's own state, when this
 * tree has it, gets its [jetstream] section (its keys default to [stream]'s). Returns the sections
 * added or changed.
 */
export function addStreamRoute(target: string, portOffset = 0): string[] {
  const config = Config.load(target);
  const added: string[] = [];
  const lines = readFileSync(target, 'utf8').replace(/\n*$/, '').split('\n');
  let appended = '';
  if (!config.hasSection('stream')) {
    const fragment = parseSample(concrete(readFileSync(STREAM_CONFIG_FILE, 'utf8'), portOffset), path.relative(PROJECT_ROOT, STREAM_CONFIG_FILE));
    const kept = fragment.sections.filter((section) => {
      added.push(section.name);
      if (!config.hasSection(section.name)) return true;
      for (const line of section.lines) if (line.kind === 'key' && !line.commented) setKey(lines, section.name, line.key, line.value, './run.sh quickstart --stream (scripts/quickstart/stream.cfg)');
      return false;
    });
    if (kept.length) {
      const sectionText = kept.map((section) => [...section.lead, `[${section.name}]`, ...section.lines.map((line) => (line.kind === 'comment' ? line.text : `${line.commented ? ';' : ''}${line.key} = ${line.value}`))].join('\n'));
      appended += `\n; Added by ./run.sh quickstart --stream: scripts/quickstart/stream.cfg.\n${[...fragment.preamble, ...sectionText].join('\n').replace(/\n*$/, '\n')}`;
    }
  }
  if (!config.hasSection('jetstream') && sources().some((source) => source.name === 'jetstream')) {
    appended += `\n; Added by ./run.sh quickstart --stream: the jetstream collector reads the stream of [stream].\n[jetstream]\n`;
    added.push('jetstream');
  }
  if (added.length) writeFileDurably(target, `${lines.join('\n')}\n${appended}`, 0o600);
  return added;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const examples: string[] = [];
  const stream = argv.includes('--stream');
  if (stream) argv.splice(argv.indexOf('--stream'), 1);
  for (let at = argv.indexOf('--example'); at >= 0; at = argv.indexOf('--example')) examples.push(...argv.splice(at, 2).slice(1));
  const target = path.resolve(argv[0] ?? path.join(PROJECT_ROOT, 'config.cfg'));
  const variable = Number(process.env.MONIT_QUICKSTART_PORT_OFFSET ?? 0);
  const offset = Number.isInteger(variable) ? variable : 0;
  try {
    const { created, added, examplesAdded } = generateConfig(target, offset, examples);
    process.stdout.write(created ? `  wrote ${target} (mode 600, fresh credentials)\n` : `  kept existing ${target}\n`);
    for (const source of added) process.stdout.write(`  added [${source}] to it (collectors/${source} is new)\n`);
    for (const name of examplesAdded) process.stdout.write(`  added the ${name} example to it (examples/${name}/${name}.cfg)\n`);
    if (stream) {
      const sections = addStreamRoute(target, offset);
      if (!sections.includes('stream')) process.stdout.write(`  kept its [stream] section (the gateway's route: ${Config.load(target).section('gateway').string('route', 'direct')})\n`);
      if (sections.length) process.stdout.write(`  added the stream route's ${sections.map((name) => `[${name}]`).join(', ')} to it\n`);
    }
  } catch (error) {
    process.stderr.write(`quickstart: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
