/**
 * What a source folder brings to the project. Each collectors/<name>/index.ts default-exports
 * defineSource({...}); the job registry (cli/registry.ts), the dashboards, the quickstart and the
 * generated files find every folder's definition here. index.ts stays light: the collector, its
 * dashboard and its demo are loaded only when they are needed (hence `require` in the loaders).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { COLLECTORS_DIR } from '../lib/config/paths';
import type { DashboardDefinition } from '../dashboards/module';
import type { DocumentKind } from '../lib/documents/kinds';
import type { Collector } from '../lib/run/collector';
import type { PeriodicEntry, ServiceEntry } from '../lib/run/registry';
import type { DemoSource } from '../scripts/quickstart/components';

export interface SourceDefinition {
  /** One line for `./run.sh --help`. */
  description: string;
  /** The document kinds its jobs send (schemas/kinds.ts): its README's Metrics table and its dashboard's regular panels. */
  produces: readonly DocumentKind[];
  /** The collector, run as `./run.sh <name>` every 10 minutes while config.cfg has a [<name>] section. */
  collector(): { default: Collector };
  /** The collector's deadline unless `[<name>] deadline` says otherwise (default 8m, shorter than the period). */
  deadline?: string;
  /** Node flags the collector runs with, however it is started (e.g. a heap cap). */
  nodeFlags?: readonly string[];
  /** Further periodic jobs of this source, e.g. derived quantities computed after the collector. */
  jobs?: ReadonlyArray<Omit<PeriodicEntry, 'kind'>>;
  /** Long-running services of this source, e.g. a UDP receiver the collector drains. */
  services?: ReadonlyArray<Omit<ServiceEntry, 'kind'>>;
  /** Its Grafana dashboard, or several (the first is its main one); dashboards/ turns each into JSON. */
  dashboard?(): { default: DashboardDefinition | readonly DashboardDefinition[] };
  /** [tls.<name>] sections its jobs read besides [tls.<its own name>] (panda's CRIC: 'cric'); others are reported as typos. */
  tlsSources?: readonly string[];
  /** What the quickstart starts so that the collector has something to read. */
  demo?(): { default: DemoSource };
}

/** Each collectors/<name>/index.ts default-exports one of these. */
export function defineSource(definition: SourceDefinition): SourceDefinition {
  return definition;
}

/** A source folder: its name is its job name and its config section. */
export interface Source {
  name: string;
  /** The folder of its data files (sample.cfg, quickstart.cfg, status.cfg, README.md, testdata/). */
  folder: string;
  definition: SourceDefinition;
}

/** The folder of the code: collectors/ under jest, dist/collectors once built. */
const CODE_DIR = __dirname;

/** Names of the source folders (those with an index), sorted. */
export function sourceNames(codeDir: string = CODE_DIR): string[] {
  if (!existsSync(codeDir)) return [];
  return readdirSync(codeDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && ['index.js', 'index.ts'].some((file) => existsSync(path.join(codeDir, entry.name, file))))
    .map((entry) => entry.name)
    .sort();
}

let loaded: Source[] | undefined;

/** Every source folder with its definition, in name order. */
export function sources(): Source[] {
  loaded ??= sourceNames().map((name) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const module = require(path.join(CODE_DIR, name, 'index')) as { default?: SourceDefinition };
    const definition = module.default;
    if (!definition || typeof definition.collector !== 'function' || !Array.isArray(definition.produces)) {
      throw new Error(`collectors/${name}/index does not default-export defineSource({ description, produces, collector })`);
    }
    if (definition.produces.some((kind) => !kind?.producer)) {
      throw new Error(`collectors/${name}/index: produces names a kind schemas/kinds.ts lacks (run npm run generate after adding a schema)`);
    }
    return { name, folder: path.join(COLLECTORS_DIR, name), definition };
  });
  return loaded;
}
