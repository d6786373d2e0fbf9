/**
 * Examples (examples/<name>/): a config fragment (<name>.cfg) that `./run.sh quickstart --example NAME`
 * appends to config.cfg once, and the demo sources it needs, started and stopped with the sources' own demos.
 * config.cfg names the examples it holds in `[demo] examples`, so `./run.sh stop` and later
 * quickstarts find them without the flag.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { sources } from '../../collectors/source';
import type { Config } from '../../lib/config/config';
import { ConfigError } from '../../lib/config/config';
import { PROJECT_ROOT } from '../../lib/config/paths';
import type { DashboardDefinition } from '../../dashboards/module';
import type { DemoSource } from './components';

export interface ExampleDefinition {
  /** One line for the quickstart's output. */
  description: string;
  /** What the quickstart starts for it, beside the sources' demos. */
  demo?(): { default: DemoSource };
  /** One dashboard per status module; `npm run generate` writes them to examples/<name>/dashboards/. */
  dashboards?(): { default: readonly DashboardDefinition[] };
}

export function defineExample(definition: ExampleDefinition): ExampleDefinition {
  return definition;
}

export interface Example {
  name: string;
  /** examples/<name>: its <name>.cfg, README.md and dashboards/. */
  folder: string;
  definition: ExampleDefinition;
}

/** The folder of the examples' data files, and of their code (examples/ under jest, dist/examples once built). */
export const EXAMPLES_DIR = path.join(PROJECT_ROOT, 'examples');
const CODE_DIR = path.join(__dirname, '..', '..', 'examples');

/** The config fragment of an example, examples/<name>/<name>.cfg: the file the quickstart appends. */
export function exampleConfigFile(name: string): string {
  return path.join(EXAMPLES_DIR, name, `${name}.cfg`);
}

/** Names of the examples (folders with an index and a <name>.cfg), sorted. */
export function exampleNames(codeDir: string = CODE_DIR): string[] {
  if (!existsSync(codeDir)) return [];
  return readdirSync(codeDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && ['index.js', 'index.ts'].some((file) => existsSync(path.join(codeDir, entry.name, file))) && existsSync(exampleConfigFile(entry.name)))
    .map((entry) => entry.name)
    .sort();
}

export function loadExample(name: string): Example {
  const known = exampleNames();
  if (!known.includes(name)) throw new ConfigError(`no example '${name}' (examples: ${known.join(', ') || 'none'})`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module = require(path.join(CODE_DIR, name, 'index')) as { default?: ExampleDefinition };
  if (!module.default || typeof module.default.description !== 'string') throw new Error(`examples/${name}/index does not default-export defineExample({ description, ... })`);
  return { name, folder: path.join(EXAMPLES_DIR, name), definition: module.default };
}

/** The examples config.cfg holds ([demo] examples), loaded. */
export function configuredExamples(config: Config): Example[] {
  return configuredExampleNames(config).map(loadExample);
}

export function configuredExampleNames(config: Config): string[] {
  return config.section('demo').list('examples', []);
}

/** Every source's demo, then those of the examples config.cfg holds. */
export function demosFor(config: Config): DemoSource[] {
  const ofSources = sources().flatMap((source) => (source.definition.demo ? [source.definition.demo().default] : []));
  return [...ofSources, ...configuredExamples(config).flatMap((example) => (example.definition.demo ? [example.definition.demo().default] : []))];
}
