/**
 * The sample.cfg format every part documents its keys in: `[section]` or `;[section]` (a section, or an
 * example of one); `key = value` (a required key, with an example value); `;key = value` (an optional
 * key at its default); `; text` (a comment). config.cfg.example is made from these files, and runs
 * warn about keys of shared sections that no sample documents (usually typos).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './paths';

export type Line = { kind: 'comment'; text: string } | { kind: 'key'; key: string; value: string; commented: boolean };

export interface Section {
  name: string;
  /** Comment lines right above the header, which belong to it. */
  lead: string[];
  /** An example section (`;[name]`), shown commented out unless the quickstart sets it. */
  commented: boolean;
  lines: Line[];
}

export interface IniText {
  file: string;
  /** Comment lines before the first section. */
  preamble: string[];
  sections: Section[];
}

const HEADER = /^(;?)\s*\[([^\]]+)\]\s*$/;
const KEY = /^(;?)([A-Za-z0-9_.*-]+)\s*=\s?(.*)$/;

/** Parses a sample.cfg or quickstart.cfg in the format above; anything else is an error naming the line. */
export function parseSample(text: string, file: string): IniText {
  const parsed: IniText = { file, preamble: [], sections: [] };
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    const current = parsed.sections[parsed.sections.length - 1];
    const header = HEADER.exec(line);
    if (header) {
      // The comment lines just above a header (after a blank line) speak of it, not of the section before.
      const lead: string[] = [];
      while (current && current.lines.length > 1 && current.lines[current.lines.length - 1].kind === 'comment' && (current.lines[current.lines.length - 1] as { text: string }).text !== '') {
        lead.unshift((current.lines.pop() as { text: string }).text);
      }
      if (current && lead.length && (current.lines[current.lines.length - 1] as { text?: string } | undefined)?.text !== '') {
        current.lines.push(...lead.map((text): Line => ({ kind: 'comment', text })));
        lead.length = 0;
      }
      parsed.sections.push({ name: header[2].trim(), lead, commented: header[1] === ';', lines: [] });
      return;
    }
    const key = KEY.exec(line);
    if (key && current) {
      current.lines.push({ kind: 'key', key: key[2], value: key[3], commented: key[1] === ';' });
      return;
    }
    if (line === '' || line === ';' || line.startsWith('; ')) {
      if (current) current.lines.push({ kind: 'comment', text: line });
      else parsed.preamble.push(line);
      return;
    }
    throw new Error(`${file}:${index + 1}: not a section, a key, a commented key (;key = value) or a comment (; text): "${line}"`);
  });
  return parsed;
}

/** Reads and parses a sample file, named relative to the project in messages. */
export function readSample(file: string): IniText {
  return parseSample(readFileSync(file, 'utf8'), path.relative(PROJECT_ROOT, file));
}

/** The samples of the parts that are not sources, in the order config.cfg.example shows them. */
export const CORE_SAMPLES = ['lib/config/sample.cfg', 'lib/tls/sample.cfg', 'lib/delivery/sample.cfg', 'gateway/sample.cfg', 'lib/influx/sample.cfg', 'lib/stream/sample.cfg', 'writer/sample.cfg', 'cli/sample.cfg'];
export const DOWNSTREAM_SAMPLES = ['downsample/sample.cfg', 'dashboards/sample.cfg', 'status/sample.cfg'];
/** The quickstart's own sample ([demo]) and values (quickstart.cfg). */
export const QUICKSTART_DIR = path.join(PROJECT_ROOT, 'scripts', 'quickstart');

/**
 * The keys each section of `files` documents (commented or not). Examples of sections (`;[x.y]`) and
 * open maps (a comment "; Any key: ...": any key is right) are left out.
 */
export function documentedSectionKeys(files: string[]): Map<string, Set<string>> {
  const keys = new Map<string, Set<string>>();
  for (const file of files) {
    for (const section of readSample(file).sections) {
      if (section.commented || section.lines.some((line) => line.kind === 'comment' && line.text.startsWith('; Any key:'))) continue;
      const known = keys.get(section.name) ?? new Set<string>();
      for (const line of section.lines) if (line.kind === 'key') known.add(line.key);
      keys.set(section.name, known);
    }
  }
  return keys;
}
