/**
 * config.cfg.example, made from the sample.cfg files (every key, commented out at its default, with a
 * line saying what it does) and the quickstart's values (quickstart.cfg files). The quickstart writes
 * config.cfg from the same text, so the example and the quickstart can never disagree.
 *
 * A sample line is one of: `[section]` or `;[section]` (a section, or an example of one); `key = value`
 * (a required key, with an example value); `;key = value` (an optional key at its default); `; text`
 * (a comment). A quickstart.cfg sets keys: each must be documented in the sample's section, or in
 * the sample's example of a sibling section ([web.portal] documents [web.demo_portal]), unless the
 * section is an open map (its first comment starts "; Any key:"). Its [demo] keys, with their
 * comments, join the quickstart's [demo] section.
 */
import path from 'node:path';
import { sources, type Source } from '../../../collectors/source';
import { PROJECT_ROOT } from '../../../lib/config/paths';
import { CORE_SAMPLES, DOWNSTREAM_SAMPLES, type IniText, type Line, QUICKSTART_DIR, readSample, type Section } from '../../../lib/config/sample';


export const CONFIG_EXAMPLE_FILE = path.join(PROJECT_ROOT, 'config.cfg.example');

function read(file: string): IniText {
  return readSample(file);
}

/** Trailing blank lines of a section, dropped so that sections are separated by exactly one. */
function trimmed(lines: string[]): string[] {
  const out = [...lines];
  while (out.length && out[out.length - 1] === '') out.pop();
  return out;
}

function renderLine(line: Line): string {
  return line.kind === 'comment' ? line.text : `${line.commented ? ';' : ''}${line.key} =${line.value ? ` ${line.value}` : ''}`;
}

/**
 * The documented keys a quickstart section may set: its own section's, or those of an example
 * sibling; undefined when the sample has neither. An open map (a first comment "; Any key: ...")
 * takes any key.
 */
function documentedKeys(sample: IniText, name: string): { keys: Set<string>; anyKey: boolean } | undefined {
  const own = sample.sections.find((section) => section.name === name);
  const parent = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : undefined;
  const sibling = parent === undefined ? undefined : sample.sections.find((section) => section.commented && section.name.startsWith(`${parent}.`) && !section.name.slice(parent.length + 1).includes('.'));
  const template = own ?? sibling;
  if (!template) return undefined;
  return {
    keys: new Set(template.lines.flatMap((line) => (line.kind === 'key' ? [line.key] : []))),
    anyKey: template.lines.some((line) => line.kind === 'comment' && line.text.startsWith('; Any key:')),
  };
}

/**
 * One sample with the quickstart's values applied, as text. A source's [demo] lines are returned apart
 * (`demoApart`), for the quickstart's [demo] section.
 */
function applyQuickstart(sample: IniText, quickstart: IniText | undefined, demoApart = true): { text: string[]; demo: string[] } {
  const isDemo = (section: Section): boolean => demoApart && section.name === 'demo';
  const values = new Map((quickstart?.sections ?? []).filter((section) => !isDemo(section)).map((section) => [section.name, section]));
  for (const [name, section] of values) {
    const documented = documentedKeys(sample, name);
    if (!documented) throw new Error(`${quickstart?.file}: [${name}] is not a section of ${sample.file} (nor an example of one)`);
    for (const line of section.lines) {
      if (line.kind === 'key' && !documented.anyKey && !documented.keys.has(line.key)) throw new Error(`${quickstart?.file}: [${name}] ${line.key} is not documented in ${sample.file}`);
    }
  }
  const text: string[] = [];
  const used = new Set<string>();
  for (const section of sample.sections) {
    const set = values.get(section.name);
    if (!set) {
      text.push(...section.lead, `${section.commented ? ';' : ''}[${section.name}]`, ...trimmed(section.lines.map(renderLine)), '');
      continue;
    }
    used.add(section.name);
    const setKeys = new Map(set.lines.flatMap((line) => (line.kind === 'key' ? [[line.key, line.value] as const] : [])));
    const lines = section.lines.map((line) => (line.kind === 'key' && setKeys.has(line.key) ? { ...line, value: setKeys.get(line.key) as string, commented: false } : line));
    const documented = new Set(section.lines.flatMap((line) => (line.kind === 'key' ? [line.key] : [])));
    const extra = set.lines.filter((line) => line.kind === 'key' && !documented.has(line.key));
    text.push(...section.lead, `[${section.name}]`, ...trimmed([...lines, ...extra].map(renderLine)), '');
  }
  // Sections of the quickstart that the sample only shows as an example: after the sample's.
  for (const section of quickstart?.sections ?? []) {
    if (isDemo(section) || used.has(section.name)) continue;
    text.push(...section.lead, `[${section.name}]`, ...trimmed(section.lines.map(renderLine)), '');
  }
  const demo = (quickstart?.sections ?? []).filter(isDemo).flatMap((section) => trimmed(section.lines.map(renderLine)));
  return { text, demo };
}

const PREAMBLE = [
  '; monit-collectors configuration (ini). Copy to config.cfg (mode 600: it holds secrets), or let',
  '; `./run.sh quickstart` write one. Keys commented out (;key = value) are at their default; the others',
  "; are required or hold the quickstart's values. A missing or invalid key fails at start-up with a",
  '; message naming it. Durations: 30s, 10m, 1h, 7d. Values containing ; or # must be quoted.',
  ';',
  '; Generated by `npm run generate` from every sample.cfg and quickstart.cfg: do not edit by hand.',
  '',
];

const COLLECTORS_PREAMBLE = [
  '; ---------------------------------------------------------------------------------------------------',
  '; Collectors: one section per collector (its folder name). A collector without a section is not',
  '; scheduled; `enabled = false` turns one off. Every collector also takes `deadline` (default 8m).',
  '',
];


/** A source's part of config.cfg.example: its sample with its quickstart values, and its [demo] lines apart. */
function sourcePart(source: Source): { text: string[]; demo: string[]; hasQuickstart: boolean } {
  const sample = read(path.join(source.folder, 'sample.cfg'));
  let quickstart: IniText | undefined;
  try {
    quickstart = read(path.join(source.folder, 'quickstart.cfg'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return { ...applyQuickstart(sample, quickstart), hasQuickstart: quickstart !== undefined };
}

/**
 * The sections a config written earlier by the quickstart lacks for sources added since: each such
 * source's part (and its [demo] lines in a [demo] section of their own: ini merges them).
 */
export function missingSourceSections(hasSection: (name: string) => boolean): Array<{ source: string; text: string }> {
  return sources()
    .filter((source) => !hasSection(source.name))
    .map((source) => ({ source, part: sourcePart(source) }))
    .filter(({ part }) => part.hasQuickstart)
    .map(({ source, part }) => ({ source: source.name, text: [...trimmed(part.text), ...(part.demo.length ? ['', '[demo]', ...part.demo] : []), ''].join('\n') }));
}

/** The text of config.cfg.example. */
export function renderConfigExample(): string {
  const core = read(path.join(QUICKSTART_DIR, 'quickstart.cfg'));
  const coreFor = (sample: IniText): IniText => ({ ...core, sections: core.sections.filter((section) => sample.sections.some((one) => one.name === section.name)) });
  const out = [...PREAMBLE];
  for (const file of CORE_SAMPLES) {
    const sample = read(path.join(PROJECT_ROOT, file));
    out.push(...applyQuickstart(sample, coreFor(sample)).text);
  }
  const collectorParts = sources().map(sourcePart);
  const demoSample = read(path.join(QUICKSTART_DIR, 'sample.cfg'));
  const demo = applyQuickstart(demoSample, coreFor(demoSample), false).text;
  out.push(...trimmed(demo), ...collectorParts.flatMap((part) => part.demo), '');
  out.push(...COLLECTORS_PREAMBLE);
  for (const part of collectorParts) out.push(...part.text);
  for (const file of DOWNSTREAM_SAMPLES) {
    const sample = read(path.join(PROJECT_ROOT, file));
    out.push(...applyQuickstart(sample, coreFor(sample)).text);
  }
  return trimmed(out).join('\n') + '\n';
}
