/**
 * Writes dashboards/json/*.json from schemas/ and the module definitions, and the provisioning files:
 *
 *   npm run build && node dist/dashboards/generate.js
 *
 * The files are checked in; a test fails when they differ from what this writes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT, SCHEMAS_DIR } from '../lib/config/paths';
import { SchemaRegistry } from '../lib/documents/schemas';
import { generateDashboards } from './dashboard';
import type { Dashboard } from './grafana';
import { MODULE_DASHBOARDS } from './modules';
import { DASHBOARDS_JSON_DIR, ENVIRONMENT_VALUES, PROVISIONING_DIR, provisioningFiles } from './provisioning';

/**
 * Copies of schemas from branches not merged yet, so that every dashboard can be generated and tested
 * before they land. schemas/ always wins; once the branches are merged this folder is deleted.
 */
export const UNMERGED_SCHEMAS_DIR = path.join(PROJECT_ROOT, 'dashboards', 'unmerged-schemas');

export interface DashboardRegistry {
  registry: SchemaRegistry;
  /** Unmerged copies that schemas/ now holds too (to delete). */
  shadowed: string[];
}

/** schemas/, plus the unmerged copies of types schemas/ does not have. */
export function dashboardRegistry(schemasDir: string = SCHEMAS_DIR, unmergedDir: string = UNMERGED_SCHEMAS_DIR): DashboardRegistry {
  const main = SchemaRegistry.load(schemasDir);
  const unmerged = SchemaRegistry.load(unmergedDir).all();
  const shadowed = unmerged.filter((schema) => main.get(schema.producer, schema.type)).map((schema) => `${schema.producer}/${schema.type}`);
  const added = unmerged.filter((schema) => !main.get(schema.producer, schema.type));
  return { registry: new SchemaRegistry([...main.all(), ...added]), shadowed };
}

export function dashboardFileName(dashboard: Dashboard): string {
  return `${dashboard.uid}.json`;
}

export function renderDashboardFile(dashboard: Dashboard): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}

/** The files the generator writes, by name. */
export function dashboardFiles(registry: SchemaRegistry): Map<string, string> {
  return new Map(generateDashboards(MODULE_DASHBOARDS, registry).map((dashboard) => [dashboardFileName(dashboard), renderDashboardFile(dashboard)]));
}

/** The checked-in files, by name. */
export function checkedInDashboardFiles(dir: string = DASHBOARDS_JSON_DIR): Map<string, string> {
  if (!existsSync(dir)) return new Map();
  return new Map(
    readdirSync(dir)
      .filter((file) => file.endsWith('.json'))
      .sort()
      .map((file) => [file, readFileSync(path.join(dir, file), 'utf8')]),
  );
}

function main(): void {
  const { registry, shadowed } = dashboardRegistry();
  const files = dashboardFiles(registry);
  mkdirSync(DASHBOARDS_JSON_DIR, { recursive: true });
  for (const stale of checkedInDashboardFiles().keys()) {
    if (!files.has(stale)) rmSync(path.join(DASHBOARDS_JSON_DIR, stale));
  }
  for (const [file, text] of files) writeFileSync(path.join(DASHBOARDS_JSON_DIR, file), text);
  console.log(`wrote ${files.size} dashboards to ${path.relative(PROJECT_ROOT, DASHBOARDS_JSON_DIR)}/`);
  for (const [file, text] of provisioningFiles(ENVIRONMENT_VALUES)) {
    mkdirSync(path.dirname(path.join(PROVISIONING_DIR, file)), { recursive: true });
    writeFileSync(path.join(PROVISIONING_DIR, file), text);
  }
  console.log(`wrote the provisioning files to ${path.relative(PROJECT_ROOT, PROVISIONING_DIR)}/`);
  for (const name of shadowed) console.log(`note: dashboards/unmerged-schemas/${name}.json is shadowed by schemas/${name}.json: delete the copy`);
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
