import type { RunArguments } from '../lib/run/registry';

export type Arguments = RunArguments;

const VALUE_OPTIONS = new Set(['--config', '--timestamp', '--from', '--to', '--output']);

export function parseArguments(argv: string[]): Arguments {
  const parsed: Arguments = { dryRun: false, debug: false, help: false, rest: [] };
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    const [flag, inline] = argument.startsWith('--') && argument.includes('=') ? [argument.slice(0, argument.indexOf('=')), argument.slice(argument.indexOf('=') + 1)] : [argument, undefined];
    if (VALUE_OPTIONS.has(flag)) {
      const value = inline ?? argv[++index];
      if (value === undefined) throw new Error(`${flag} needs a value`);
      if (flag === '--config') parsed.config = value;
      if (flag === '--timestamp') parsed.timestamp = value;
      if (flag === '--from') parsed.from = value;
      if (flag === '--to') parsed.to = value;
      if (flag === '--output') parsed.output = value;
    } else if (flag === '--dry-run') parsed.dryRun = true;
    else if (flag === '--debug') parsed.debug = true;
    else if (flag === '--user') parsed.user = true;
    else if (flag === '--help' || flag === '-h') parsed.help = true;
    else if (flag.startsWith('-')) throw new Error(`unknown option ${flag} (see ./run.sh --help)`);
    else if (!parsed.job) parsed.job = flag;
    else parsed.rest.push(flag);
  }
  return parsed;
}
