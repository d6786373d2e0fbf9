/**
 * The dashboard files: dashboards/json/*.json from schemas/ and every source's dashboard.ts, and the
 * provisioning files. `npm run generate` writes them; a test fails when they differ.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { SchemaRegistry } from '../lib/documents/schemas';
import { generateDashboards } from './dashboard';
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

/** Every generated file of dashboards/ by absolute path: the JSON files and the provisioning files. */
export function generatedDashboardFiles(registry: SchemaRegistry): Map<string, string> {
  const files = new Map<string, string>();
  for (const [file, text] of dashboardFiles(registry)) files.set(path.join(DASHBOARDS_JSON_DIR, file), text);
  for (const [file, text] of provisioningFiles(ENVIRONMENT_VALUES)) files.set(path.join(PROVISIONING_DIR, file), text);
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
