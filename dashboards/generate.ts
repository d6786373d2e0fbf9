/**
 * The dashboard files: dashboards/json/*.json from schemas/ and every source's dashboard.ts, and the
 * provisioning files. `npm run generate` writes them; a test fails when they differ.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SchemaRegistry } from '../lib/documents/schemas';
import { EXAMPLES_DIR, exampleNames, loadExample } from '../scripts/quickstart/examples';
import { generateDashboards, moduleDashboard } from './dashboard';
import type { Dashboard } from './grafana';
import { moduleDashboards } from './modules';
import { DASHBOARDS_JSON_DIR, ENVIRONMENT_VALUES, PROVISIONING_DIR, provisioningFiles } from './provisioning';

export function dashboardFileName(dashboard: Dashboard): string {
  return `${dashboard.uid}.json`;
}

export function renderDashboardFile(dashboard: Dashboard): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}

/** The dashboard JSON files, by name. */
export function dashboardFiles(registry: SchemaRegistry): Map<string, string> {
  return new Map(generateDashboards(moduleDashboards(), registry).map((dashboard) => [dashboardFileName(dashboard), renderDashboardFile(dashboard)]));
}

/** The dashboards of the examples (examples/<name>/dashboards.ts) by absolute path, in examples/<name>/dashboards/. */
export function exampleDashboardFiles(registry: SchemaRegistry): Map<string, string> {
  const files = new Map<string, string>();
  for (const example of exampleNames().map(loadExample)) {
    const definitions = example.definition.dashboards?.().default ?? [];
    for (const definition of definitions) {
      const dashboard = moduleDashboard({ ...definition, statusModules: definition.statusModules ?? [], kinds: definition.kinds ?? [] }, registry);
      files.set(path.join(example.folder, 'dashboards', dashboardFileName(dashboard)), renderDashboardFile(dashboard));
    }
  }
  return files;
}

/** Folders of generated dashboard JSON files: a file there that nothing generates any more is removed. */
export function generatedDashboardDirectories(): string[] {
  return [DASHBOARDS_JSON_DIR, ...exampleNames().map((name) => path.join(EXAMPLES_DIR, name, 'dashboards'))];
}

/** Every generated file of dashboards/ by absolute path: the JSON files and the provisioning files, and the examples' dashboards. */
export function generatedDashboardFiles(registry: SchemaRegistry): Map<string, string> {
  const files = new Map<string, string>();
  for (const [file, text] of dashboardFiles(registry)) files.set(path.join(DASHBOARDS_JSON_DIR, file), text);
  for (const [file, text] of provisioningFiles(ENVIRONMENT_VALUES)) files.set(path.join(PROVISIONING_DIR, file), text);
  for (const [file, text] of exampleDashboardFiles(registry)) files.set(file, text);
  return files;
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
