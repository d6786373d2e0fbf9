import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

// One folder per source: what several sources use lives in lib/ once, so a collector folder never
// reaches into another one, and lib/ never into a collector.
const ROOT = path.resolve(__dirname, '..');
const COLLECTORS = path.join(ROOT, 'collectors');

/** The TypeScript files under a folder of the tree, as paths from the root. */
function typeScriptFiles(folder: string): string[] {
  return readdirSync(path.join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => path.join(folder, name));
}

/** Every relative import of a file's text (import, export from, import(), require()), with its line. */
function relativeImports(text: string): Array<{ specifier: string; line: number }> {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.filter((reference) => reference.fileName.startsWith('.'))
    .map((reference) => ({ specifier: reference.fileName, line: text.slice(0, reference.pos).split('\n').length }));
}

/** The collector folder a path from the root lies in, if any (collectors/source.ts lies in none). */
function collectorFolderOf(file: string): string | undefined {
  const inside = path.relative(COLLECTORS, path.resolve(ROOT, file));
  if (inside.startsWith('..')) return undefined;
  const folder = inside.split(path.sep)[0];
  try {
    return statSync(path.join(COLLECTORS, folder)).isDirectory() ? folder : undefined;
  } catch {
    // An import of a file that does not exist: the compiler says so, not this test.
    return undefined;
  }
}

/** Imports of a file (path from the root) that reach into a collector folder other than its own, as "file:line imports 'specifier'". */
function foreignCollectorImports(file: string, text: string): string[] {
  const own = collectorFolderOf(file);
  return relativeImports(text)
    .filter(({ specifier }) => {
      const target = collectorFolderOf(path.join(path.dirname(file), specifier));
      return target !== undefined && target !== own;
    })
    .map(({ specifier, line }) => `${file}:${line} imports '${specifier}'`);
}

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

describe('imports between source folders', () => {
  test('the check finds every form of import into another collector folder, and nothing else', () => {
    const text = [
      "import { UNKNOWN } from '../xrootd-transfers/sites';",
      "import type { CachedAnswer } from '../panda/cachedSource';",
      "export { parseTarget } from '../xrdprobe/probe';",
      "const panda = require('../panda') as typeof import('../panda/collector');",
      "import { defineSource } from '../source';",
      "import { slotStart } from '../../lib/run/slot';",
      "import { probeSettings } from './settings';",
      "import { startTestDns } from '../xrdprobe/test/../probe';",
      "// import { x } from '../panda/cric';",
    ].join('\n');
    expect(foreignCollectorImports('collectors/xrdprobe/collector.ts', text)).toEqual([
      "collectors/xrdprobe/collector.ts:1 imports '../xrootd-transfers/sites'",
      "collectors/xrdprobe/collector.ts:2 imports '../panda/cachedSource'",
      "collectors/xrdprobe/collector.ts:4 imports '../panda'",
      "collectors/xrdprobe/collector.ts:4 imports '../panda/collector'",
    ]);
    // From lib/, any collector folder is foreign.
    expect(foreignCollectorImports('lib/http/get.ts', "import { probe } from '../../collectors/web/probe';")).toEqual(["lib/http/get.ts:1 imports '../../collectors/web/probe'"]);
  });

  test('no collector folder imports from another collector folder (shared code belongs in lib/)', () => {
    const found = typeScriptFiles('collectors').flatMap((file) => foreignCollectorImports(file, read(file)));
    expect(found).toEqual([]);
  });

  test('lib/ imports from no collector folder, outside its tests', () => {
    // A lib test may drive its code through a collector (lib/tls/kerberos.test.ts probes with web's probe).
    const found = typeScriptFiles('lib')
      .filter((file) => !file.endsWith('.test.ts'))
      .flatMap((file) => foreignCollectorImports(file, read(file)));
    expect(found).toEqual([]);
  });
});
