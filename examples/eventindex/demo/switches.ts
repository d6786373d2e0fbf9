/**
 * The demo's failure switches: one flag file per module under var/demo/eventindex/failing/. While a
 * module's file exists, its demo source behaves as the README says a broken one does (failed imports,
 * a lagging consumer, a web interface answering 503...), so its light turns red at the next runs.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../../lib/config/config';
import { pathsFrom } from '../../../lib/config/paths';

/** The ten modules, by the short name of their switch; the status module is `ei_<name>`. */
export const MODULES = ['production', 'consumer', 'import', 'hadoop', 'triggerdb', 'web', 'computers', 'nightly', 'picking', 'volumes'] as const;
export type ModuleName = (typeof MODULES)[number];

export function isModuleName(name: string): name is ModuleName {
  return (MODULES as readonly string[]).includes(name);
}

/** var/demo/eventindex under [paths] var: the demo's logs and switches. */
export function demoDirectory(config: Config): string {
  return path.join(pathsFrom(config).root, 'demo', 'eventindex');
}

function flagFile(config: Config, module: ModuleName): string {
  return path.join(demoDirectory(config), 'failing', module);
}

export function isFailing(config: Config, module: ModuleName): boolean {
  return existsSync(flagFile(config, module));
}

export function setFailing(config: Config, module: ModuleName, failing: boolean): void {
  const file = flagFile(config, module);
  if (!failing) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `set by examples/eventindex/demo/switch.js at ${new Date().toISOString()}\n`);
}
