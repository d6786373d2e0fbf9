/**
 * Turns the demo's failure switches on or off, then adds one tick of data, so that the next runs of
 * the collectors and of the status job see the module broken (or repaired):
 *
 *   node dist/examples/eventindex/demo/switch.js fail|repair MODULE... [--config FILE]
 *
 * MODULE is one of production, consumer, import, hadoop, triggerdb, web, computers, nightly, picking,
 * volumes, or all.
 */
import path from 'node:path';
import { Config } from '../../../lib/config/config';
import { PROJECT_ROOT } from '../../../lib/config/paths';
import { isModuleName, MODULES, setFailing, type ModuleName } from './switches';
import { tick } from './tick';

const USAGE = `usage: switch.js fail|repair MODULE... [--config FILE] (MODULE: ${MODULES.join(', ')}, all)`;

export async function main(argv: string[]): Promise<void> {
  const at = argv.indexOf('--config');
  const configFile = path.resolve(at >= 0 && argv[at + 1] ? argv[at + 1] : path.join(PROJECT_ROOT, 'config.cfg'));
  const words = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 2)] : argv;
  const [action, ...names] = words;
  if ((action !== 'fail' && action !== 'repair') || names.length === 0) throw new Error(USAGE);
  const modules: ModuleName[] = [];
  for (const name of names) {
    if (name === 'all') modules.push(...MODULES);
    else if (isModuleName(name)) modules.push(name);
    else throw new Error(`unknown module '${name}'; ${USAGE}`);
  }
  const config = Config.load(configFile);
  for (const module of modules) setFailing(config, module, action === 'fail');
  const withRows = await tick(config);
  process.stdout.write(`${action === 'fail' ? 'failing' : 'repaired'}: ${modules.join(', ')}\n`);
  if (!withRows) process.stdout.write('the demo PostgreSQL does not run (./run.sh quickstart --example eventindex starts it): only the log lines and answers changed\n');
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`switch: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
