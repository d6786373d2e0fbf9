/**
 * Every generated file of the project, made from schemas/ and the source folders:
 * - schemas/kinds.ts (typed names of every producer/type),
 * - config.cfg.example (every sample.cfg with the quickstart's values),
 * - the generated blocks of each collector's README (its configuration and Metrics tables) and the
 *   failure classes' table of schemas/README.md,
 * - dashboards/json/*.json and dashboards/provisioning/ (Grafana), and examples/<name>/dashboards/*.json.
 *
 *   npm run generate            writes them (scripts/build/generate.sh: schemas/kinds.ts first)
 *   npm run generate -- --check lists the stale ones and exits 1 (a test does the same)
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sources } from '../../collectors/source';
import { generatedDashboardDirectories, generatedDashboardFiles } from '../../dashboards/generate';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { SchemaRegistry } from '../../lib/documents/schemas';
import { CONFIG_EXAMPLE_FILE, renderConfigExample } from './generators/configExample';
import { KINDS_FILE, readFailures, renderKinds } from './generators/kinds';
import { failuresBlock, generatedReadmes, unitsBlock, withGeneratedBlocks } from './generators/readmes';
import { unitDefinitions } from '../../dashboards/units';

const SCHEMAS_README = path.join(PROJECT_ROOT, 'schemas', 'README.md');

/** Every generated file by absolute path, with the text it must have. */
export function generatedFiles(registry: SchemaRegistry = SchemaRegistry.load()): Map<string, string> {
  const failures = readFailures();
  return new Map([
    [KINDS_FILE, renderKinds(registry, failures)],
    [SCHEMAS_README, withGeneratedBlocks(readFileSync(SCHEMAS_README, 'utf8'), { failures: failuresBlock(failures), units: unitsBlock(unitDefinitions()) }, 'schemas/README.md')],
    [CONFIG_EXAMPLE_FILE, renderConfigExample()],
    ...generatedReadmes(sources(), registry),
    ...generatedDashboardFiles(registry),
  ]);
}

/** Files of the generated dashboards folders that nothing generates any more. */
function leftoverFiles(files: Map<string, string>): string[] {
  return generatedDashboardDirectories()
    .filter((directory) => existsSync(directory))
    .flatMap((directory) => readdirSync(directory).map((file) => path.join(directory, file)))
    .filter((file) => !files.has(file));
}

/** Generated files whose content on disk differs (or that are missing), and leftovers to delete. */
export function staleFiles(files: Map<string, string> = generatedFiles(), withLeftovers = true): string[] {
  const stale = [...files].filter(([file, text]) => !existsSync(file) || readFileSync(file, 'utf8') !== text).map(([file]) => file);
  return [...stale, ...(withLeftovers ? leftoverFiles(files) : [])].map((file) => path.relative(PROJECT_ROOT, file));
}

function main(argv: string[]): number {
  // --kinds: only schemas/kinds.ts, which the rest of the code (sources' index.ts) imports.
  const kindsOnly = argv.includes('--kinds');
  const files = kindsOnly ? new Map([[KINDS_FILE, renderKinds(SchemaRegistry.load())]]) : generatedFiles();
  if (argv.includes('--check')) {
    const stale = staleFiles(files, !kindsOnly);
    if (stale.length) {
      process.stderr.write(`stale generated files (run npm run generate):\n${stale.map((file) => `  ${file}`).join('\n')}\n`);
      return 1;
    }
    process.stdout.write(`${files.size} generated files up to date\n`);
    return 0;
  }
  let written = 0;
  for (const [file, text] of files) {
    if (existsSync(file) && readFileSync(file, 'utf8') === text) continue;
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    process.stdout.write(`wrote ${path.relative(PROJECT_ROOT, file)}\n`);
    written += 1;
  }
  for (const file of kindsOnly ? [] : leftoverFiles(files)) {
    rmSync(file);
    process.stdout.write(`removed ${path.relative(PROJECT_ROOT, file)}\n`);
  }
  process.stdout.write(`${files.size} generated files, ${written} rewritten\n`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`generate: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
