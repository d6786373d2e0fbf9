/**
 * The generated blocks of each collector's README: its configuration (its sample.cfg) and its
 * Metrics tables (from schemas/, for the kinds its index.ts says it produces). A block stands between
 *   <!-- generated: NAME ... -->   and   <!-- end generated -->
 * and everything outside the blocks is written by hand.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Source } from '../../../collectors/source';
import { databaseFor } from '../../../lib/documents/interpret';
import type { SchemaRegistry } from '../../../lib/documents/schemas';
import type { FailureVocabulary } from './kinds';

const BLOCK = /(<!-- generated: ([a-z-]+)[^>]*-->\n)([\s\S]*?)(<!-- end generated -->)/g;

/** `text` with each generated block's content replaced; a block `blocks` names but the text lacks is an error. */
export function withGeneratedBlocks(text: string, blocks: Record<string, string>, file: string): string {
  const found = new Set<string>();
  const out = text.replace(BLOCK, (whole, start: string, name: string, _old: string, end: string) => {
    if (!(name in blocks)) throw new Error(`${file}: unknown generated block '${name}' (known: ${Object.keys(blocks).join(', ')})`);
    found.add(name);
    return `${start}${blocks[name]}${end}`;
  });
  const missing = Object.keys(blocks).filter((name) => !found.has(name));
  if (missing.length) throw new Error(`${file}: no generated block ${missing.map((name) => `'${name}'`).join(', ')}: add <!-- generated: ${missing[0]} --> and <!-- end generated --> lines where it belongs`);
  return out;
}

/** Text for Markdown: <name> is not an HTML tag. */
const escape = (text: string): string => text.replace(/</g, '&lt;').replace(/>/g, '&gt;');
const cell = (text: string): string => escape(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The Metrics tables of the kinds `source` produces. */
export function metricsBlock(source: Source, registry: SchemaRegistry): string {
  const kinds = source.definition.produces;
  const databases = [...new Set(kinds.map((kind) => databaseFor(kind.producer)))];
  const lines = [
    `Database ${databases.map((database) => `\`${database}\``).join(', ')}; the measurement is the type. Made by \`npm run generate\` from`,
    `${kinds.map((kind) => `\`schemas/${kind.producer}/${kind.type}.json\``).join(', ')}, where types, units and downsampling are defined.`,
    '',
  ];
  for (const kind of kinds) {
    const schema = registry.require(kind.producer, kind.type);
    lines.push(`### ${schema.producer}/${schema.type}`, '', escape(schema.description), '');
    if (Object.keys(schema.tags).length) {
      lines.push('| tag | description |', '|---|---|');
      for (const [name, tag] of Object.entries(schema.tags)) lines.push(`| \`${name}\` | ${cell(tag.description)} |`);
      lines.push('');
    }
    lines.push('| field | type | unit | 1h/1d | description |', '|---|---|---|---|---|');
    for (const [name, field] of Object.entries(schema.fields)) lines.push(`| \`${name}\` | ${field.type} | ${cell(field.unit)} | ${field.downsample} | ${cell(field.description)} |`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The configuration block: the source's sample.cfg. */
export function configBlock(source: Source): string {
  return ['```ini', readFileSync(path.join(source.folder, 'sample.cfg'), 'utf8').trimEnd(), '```', ''].join('\n');
}

/** Every collector README with its generated blocks up to date, by absolute path. */
export function generatedReadmes(sources: Source[], registry: SchemaRegistry): Map<string, string> {
  const files = new Map<string, string>();
  for (const source of sources) {
    const file = path.join(source.folder, 'README.md');
    if (!existsSync(file)) throw new Error(`collectors/${source.name}/README.md is missing: every source has one, with the generated blocks 'config' and 'metrics' (see collectors/README.md)`);
    const text = readFileSync(file, 'utf8');
    files.set(file, withGeneratedBlocks(text, { config: configBlock(source), metrics: metricsBlock(source, registry) }, path.relative(path.dirname(path.dirname(source.folder)), file)));
  }
  return files;
}

/** The table of schemas/README.md that lists the failure classes. */
export function failuresBlock(failures: FailureVocabulary): string {
  return ['| class | meaning |', '|---|---|', ...Object.entries(failures.classes).map(([name, meaning]) => `| \`${name}\` | ${cell(meaning)} |`), ''].join('\n');
}

/** The table of schemas/README.md that lists the units of schemas/units.json. */
export function unitsBlock(units: Record<string, { meaning: string; grafana: string; additive?: boolean }>): string {
  return [
    '| unit | meaning | Grafana | adds up across series |',
    '|---|---|---|---|',
    ...Object.entries(units).map(([unit, definition]) => `| \`${unit === '' ? '""' : cell(unit)}\` | ${cell(definition.meaning)} | \`${definition.grafana}\` | ${definition.additive ? 'yes' : 'no'} |`),
    '',
  ].join('\n');
}
