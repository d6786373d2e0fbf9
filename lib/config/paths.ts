import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config';

/** The project's top folder: the nearest parent of this file holding package.json (works from lib/ and dist/lib/). */
function findProjectRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json')) || path.basename(dir) === 'dist') {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the project root above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

export const PROJECT_ROOT = findProjectRoot();
export const SCHEMAS_DIR = path.join(PROJECT_ROOT, 'schemas');
export const COLLECTORS_DIR = path.join(PROJECT_ROOT, 'collectors');

/** Where run-time data lives: spool, state, logs, locks. `[paths] var` in config may move it. */
export interface VarPaths {
  root: string;
  spool: string;
  rejected: string;
  state: string;
  log: string;
  lock: string;
}

export function varPaths(varRoot: string): VarPaths {
  const root = path.resolve(PROJECT_ROOT, varRoot);
  return {
    root,
    spool: path.join(root, 'spool'),
    rejected: path.join(root, 'spool', 'rejected'),
    state: path.join(root, 'state'),
    log: path.join(root, 'log'),
    lock: path.join(root, 'lock'),
  };
}

/** The [paths] section: where run-time data lives. */
export function pathsFrom(config: Config): VarPaths {
  return varPaths(config.section('paths').string('var', 'var'));
}
