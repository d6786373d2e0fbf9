/**
 * `./run.sh <job>`: a small dispatcher over the job registry (cli/registry.ts). Periodic jobs run
 * through lib/run/jobRunner.ts, services and commands through their own entry.
 */
import os from 'node:os';
import { UsageError } from '../lib/run/usageError';
import { Config, ConfigError } from '../lib/config/config';
import { pathsFrom } from '../lib/config/paths';
import { redact } from '../lib/run/log';
import type { PeriodicEntry, RunArguments } from '../lib/run/registry';
import { futureSlotProblem, parseSlotTimestamp } from '../lib/run/slot';
import { parseArguments } from './arguments';
import { configWarnings } from './configCheck';
import { usage } from './help';
import { findEntry, missingNodeFlags } from './registry';

/** Exit codes: 0 success, 1 the job failed, 2 bad usage or config. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

async function runPeriodic(entry: PeriodicEntry, args: RunArguments): Promise<number> {
  const timeMs = args.timestamp ? parseSlotTimestamp(args.timestamp) : undefined;
  const config = Config.loadDefault(args.config);
  if (entry.needsSection && !config.hasSection(entry.needsSection)) {
    const where = entry.readme ? ` (see ${entry.readme.replace(/README\.md$/, 'sample.cfg')})` : '';
    throw new ConfigError(`${config.file} has no [${entry.needsSection}] section: ${entry.name} is configured there${where}`);
  }
  if (!config.section(entry.name).bool('enabled', true)) {
    process.stderr.write(`${entry.name}: disabled in ${config.file} ([${entry.name}] enabled = false); nothing done\n`);
    return 0;
  }
  // A backfill (--from/--to) may take far longer than a periodic run.
  const section = config.section(entry.name);
  const deadlineMs = args.from || args.to ? section.duration('backfill_deadline', '24h') : section.duration('deadline', entry.defaultDeadline);
  const { runPeriodicJob } = require('../lib/run/jobRunner') as typeof import('../lib/run/jobRunner');
  const job = await entry.load(args);
  const future = timeMs === undefined ? undefined : futureSlotProblem(timeMs, job.periodMs, Date.now());
  if (future) throw new UsageError(future);
  // Log lines go to var/log/<job>.log; they are echoed on a terminal only (cron appends stderr to that log).
  const outcome = await runPeriodicJob(job, { config, dryRun: args.dryRun, debug: args.debug, timeMs, deadlineMs, echoLog: args.debug || process.stderr.isTTY === true });
  for (const warning of configWarnings(config, entry.name, outcome.ok && !outcome.skipped)) process.stderr.write(`warning: ${warning}\n`);
  if (outcome.skipped) {
    process.stderr.write(`${entry.name}: ${outcome.message}\n`);
    return 0;
  }
  if (!outcome.ok) {
    process.stderr.write(`${entry.name}: failed: ${outcome.message}\n`);
    return outcome.configProblem ? EXIT_USAGE : EXIT_FAILED;
  }
  if (entry.requiresDelivery && !args.dryRun && (outcome.report?.documentsSpooled ?? 0) > 0) {
    process.stderr.write(`${entry.name}: failed: the gateway did not take the heartbeat; it waits in the spool (see ${pathsFrom(config).log}/${entry.name}.log)\n`);
    return EXIT_FAILED;
  }
  // One line for whoever started it (the quickstart shows it): the run went on despite problems.
  if (outcome.problems > 0) process.stderr.write(`${entry.name}: ok, ${outcome.problems} problem${outcome.problems === 1 ? '' : 's'} (see ${pathsFrom(config).log}/${entry.name}.log)\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const args = parseArguments(argv);
  const name = args.job;
  if (!name || (name === 'help' && !args.rest.length)) {
    process.stdout.write(`${usage()}\n`);
    return name || args.help ? 0 : EXIT_USAGE;
  }
  const entry = findEntry(name);
  if (!entry) throw new UsageError(`unknown job '${name}' (see ./run.sh --help)`);
  if (args.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  switch (entry.kind) {
    case 'collector':
    case 'job':
      return runPeriodic(entry, args);
    case 'service':
      return entry.serve(Config.loadDefault(args.config), args);
    case 'command':
      if (!entry.run) throw new UsageError(`${name} is run by run.sh (${entry.script}), not by node`);
      return entry.run(args);
  }
}

/** Runs this command again in a node with the job's flags, passing signals on and its exit status back. */
function runWithNodeFlags(flags: string[]): void {
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const child = spawn(process.execPath, [...process.execArgv, ...flags, __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : EXIT_FAILED)));
}

function isService(name: string | undefined): boolean {
  return name !== undefined && findEntry(name)?.kind === 'service';
}

if (require.main === module) {
  const missingFlags = missingNodeFlags(process.argv[2], process.execArgv, process.env.NODE_OPTIONS);
  if (missingFlags.length > 0) {
    runWithNodeFlags(missingFlags);
  } else {
    main(process.argv.slice(2)).then(
      (code) => {
        process.exitCode = code;
        // Jobs end the process: a collector's stray timer or socket must not keep cron's run alive.
        if (!isService(process.argv[2])) setImmediate(() => process.exit(code));
      },
      (error: unknown) => {
        const usageProblem = error instanceof UsageError || error instanceof ConfigError || /--timestamp|needs a value|unknown option/.test((error as Error).message);
        process.stderr.write(`run.sh: ${redact((error as Error).message)}\n`);
        process.exit(usageProblem ? EXIT_USAGE : EXIT_FAILED);
      },
    );
  }
}

export { main };
