import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { parseArguments, type Arguments } from './arguments';
import { Config, ConfigError } from '../lib/config/config';
import { redact } from '../lib/run/log';
import { parseSlotTimestamp } from '../lib/run/slot';
import { missingNodeFlags } from './schedule';

/** Exit codes: 0 success, 1 the job failed, 2 bad usage or config. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

const SERVICES = ['gateway', 'scheduler', 'xrootd-receiver', 'xrootd-detailed-receiver'];


function usage(): string {
  const { collectorNames, builtInJobs } = require('./jobs') as typeof import('./jobs');
  return [
    'usage: ./run.sh <job> [--config FILE] [--dry-run] [--debug] [--timestamp "YYYY-MM-DD HH:MM"]',
    '',
    'Periodic jobs (run from crontab or the scheduler; each sends a heartbeat):',
    ...collectorNames().map((name) => `  ${name.padEnd(26)} collector (collectors/${name}/README.md)`),
    ...builtInJobs.map((job) => `  ${job.name.padEnd(26)} ${job.description}`),
    '',
    'Services (long-running, in the foreground):',
    '  gateway                    the MONIT-compatible HTTP endpoint in front of InfluxDB',
    '  scheduler                  runs the schedule table in-process (for hosts without cron)',
    '',
    'Commands:',
    '  replay                     deliver everything waiting in var/spool',
    '  send FILE                  validate a JSON document file and send it (through the spool)',
    '  validate FILE              only validate a JSON document file',
    '  crontab                    print crontab lines for the schedule table',
    '  quickstart                 set up everything on this machine and run every job once',
    '  stop                       stop what the quickstart started',
    '',
    'Options:',
    '  --config FILE      ini config (default: config.cfg next to run.sh)',
    '  --dry-run          print the documents, send nothing',
    '  --debug            verbose log lines',
    '  --timestamp T      run a collector for the past slot containing T (UTC), for backfill',
    '  --from T --to T    downsampling: backfill this range',
    '',
    'Exit status: 0 on success; otherwise non-zero, with a one-line reason on stderr.',
  ].join('\n');
}

function loadConfig(args: Arguments): Config {
  return Config.loadDefault(args.config);
}

async function runJob(args: Arguments, name: string): Promise<number> {
  const { findJob } = (require('./jobs') as typeof import('./jobs'));
  const definition = findJob(name);
  if (!definition) throw new UsageError(`unknown job '${name}' (see ./run.sh --help)`);
  if (args.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const timeMs = args.timestamp ? parseSlotTimestamp(args.timestamp) : undefined;
  const config = loadConfig(args);
  if (!config.section(name).bool('enabled', true)) {
    process.stderr.write(`${name}: disabled in ${config.file} ([${name}] enabled = false); nothing done\n`);
    return 0;
  }
  // A backfill (--from/--to) may take far longer than a periodic run.
  const periodicDeadlineMs = config.section(name).duration('deadline', definition.defaultDeadline);
  const backfillDeadlineMs = config.section(name).duration('backfill_deadline', '24h');
  const deadlineMs = args.from || args.to ? backfillDeadlineMs : periodicDeadlineMs;
  const { runPeriodicJob } = (require('../lib/run/jobRunner') as typeof import('../lib/run/jobRunner'));
  const job = await definition.periodic(config, args);
  const outcome = await runPeriodicJob(job, { config, dryRun: args.dryRun, debug: args.debug, timeMs, deadlineMs, echoLog: args.debug || process.stderr.isTTY });
  const { configWarnings } = require('./configCheck') as typeof import('./configCheck');
  const { collectorNames, builtInJobs } = require('./jobs') as typeof import('./jobs');
  for (const warning of configWarnings(config, name, [...collectorNames(), ...builtInJobs.map((one) => one.name), ...SERVICES])) process.stderr.write(`warning: ${warning}\n`);
  if (outcome.skipped) {
    process.stderr.write(`${name}: ${outcome.message}\n`);
    return 0;
  }
  if (!outcome.ok) {
    process.stderr.write(`${name}: failed: ${outcome.message}\n`);
    return outcome.configProblem ? EXIT_USAGE : EXIT_FAILED;
  }
  return 0;
}

function readDocumentFile(file: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${file}: ${(error as Error).message}`);
  }
  return Array.isArray(parsed) ? parsed : [parsed];
}

async function validateFile(file: string): Promise<{ documents: unknown[]; problems: string[] }> {
  const { interpretDocument } = (require('../lib/documents/interpret') as typeof import('../lib/documents/interpret'));
  const { schemaRegistry } = (require('../lib/documents/schemas') as typeof import('../lib/documents/schemas'));
  const documents = readDocumentFile(file);
  const problems: string[] = [];
  documents.forEach((document, index) => {
    const result = interpretDocument(document, schemaRegistry());
    if (!result.ok) problems.push(`document at index ${index} (counting from 0): ${result.reason}`);
  });
  return { documents, problems };
}

/** Delivers the spool of each job (or of `only`), taking each job's lock so a running job keeps its own. */
async function replay(config: Config, debug: boolean, only?: string): Promise<number> {
  const { Sender } = (require('../lib/delivery/sender') as typeof import('../lib/delivery/sender'));
  const { Spool } = (require('../lib/delivery/spool') as typeof import('../lib/delivery/spool'));
  const { acquireLock } = (require('../lib/run/lock') as typeof import('../lib/run/lock'));
  const { Logger } = (require('../lib/run/log') as typeof import('../lib/run/log'));
  const { monitSettings } = (require('../lib/delivery/settings') as typeof import('../lib/delivery/settings'));
  const { pathsFrom } = (require('../lib/config/paths') as typeof import('../lib/config/paths'));
  const paths = pathsFrom(config);
  const log = Logger.forJob('replay', paths.log, { debug, echo: debug || process.stderr.isTTY });
  const jobs = only ? [only] : existsSync(paths.spool) ? readdirSync(paths.spool).filter((name) => name !== 'rejected') : [];
  let failed = false;
  let delivered = 0;
  // Replay is also typed by hand: it retries for a short while, then leaves the rest for the next run.
  const deadlineMs = Date.now() + config.section('monit').duration('replay_deadline', '30s');
  for (const job of jobs) {
    const lock = acquireLock(path.join(paths.lock, `${job}.lock`));
    if (!lock.acquired) {
      log.info(`${job}: running now (pid ${lock.holderPid}); it replays its own spool`);
      continue;
    }
    try {
      const spool = new Spool(path.join(paths.spool, job));
      if (!spool.list().length) continue;
      const report = await new Sender({ ...monitSettings(config), spool, log }).deliver({ deadlineMs });
      delivered += 1;
      const where = report.documentsRejected ? ` (refused ones are in ${spool.rejectedDir} with the reason)` : '';
      log.info(`${job}: ${report.documentsSent} sent, ${report.documentsRejected} rejected, ${report.documentsSpooled} still spooled${where}`);
      if (report.credentialsRefused) throw new Error(report.credentialsRefused);
      if (report.documentsSpooled || report.documentsRejected) failed = true;
    } finally {
      lock.release();
    }
  }
  if (delivered === 0) log.info('nothing to replay: the spool is empty');
  return failed ? EXIT_FAILED : 0;
}

async function send(args: Arguments): Promise<number> {
  const file = args.rest[0];
  if (!file) throw new UsageError('send needs a FILE of JSON documents');
  const { documents, problems } = await validateFile(file);
  if (problems.length) {
    process.stderr.write(`${file}: not sent, ${problems.length} invalid documents:\n${problems.join('\n')}\n`);
    return EXIT_FAILED;
  }
  const config = loadConfig(args);
  const { Sender } = (require('../lib/delivery/sender') as typeof import('../lib/delivery/sender'));
  const { Spool } = (require('../lib/delivery/spool') as typeof import('../lib/delivery/spool'));
  const { Logger } = (require('../lib/run/log') as typeof import('../lib/run/log'));
  const { monitSettings } = (require('../lib/delivery/settings') as typeof import('../lib/delivery/settings'));
  const { pathsFrom } = (require('../lib/config/paths') as typeof import('../lib/config/paths'));
  const paths = pathsFrom(config);
  const log = Logger.forJob('send', paths.log, { debug: args.debug, echo: true });
  new Sender({ ...monitSettings(config), spool: new Spool(path.join(paths.spool, 'send')), log }).enqueue(documents as import('../lib/documents/types').MonitDocument[]);
  log.info(`${documents.length} documents from ${file} spooled`);
  return replay(config, args.debug, 'send');
}

async function gateway(args: Arguments): Promise<number> {
  const config = loadConfig(args);
  const { startGatewayFromConfig } = (require('../gateway/fromConfig') as typeof import('../gateway/fromConfig'));
  const { loadStatusSettings, statusPages } = require('../status') as typeof import('../status');
  const { influxClientFrom } = require('../lib/influx/settings') as typeof import('../lib/influx/settings');
  // Rules are loaded now, so a bad rule stops the gateway at start-up with its file and line.
  const pages = statusPages(influxClientFrom(config), loadStatusSettings(config));
  const running = await startGatewayFromConfig(config, { debug: args.debug, pages });
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      void running.close().then(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}

async function crontab(args: Arguments): Promise<number> {
  const config = loadConfig(args);
  const { crontabLines } = (require('./crontab') as typeof import('./crontab'));
  const { configuredSchedule } = (require('./configuredSchedule') as typeof import('./configuredSchedule'));
  const { pathsFrom } = (require('../lib/config/paths') as typeof import('../lib/config/paths'));
  const lines = crontabLines(configuredSchedule(config), { configFile: args.config, logDir: pathsFrom(config).log });
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

async function scheduler(args: Arguments): Promise<number> {
  const config = loadConfig(args);
  const { Scheduler } = (require('./scheduler') as typeof import('./scheduler'));
  const { configuredSchedule, deadlineOf } = (require('./configuredSchedule') as typeof import('./configuredSchedule'));
  const { Logger } = (require('../lib/run/log') as typeof import('../lib/run/log'));
  const { pathsFrom } = (require('../lib/config/paths') as typeof import('../lib/config/paths'));
  const log = Logger.forJob('scheduler', pathsFrom(config).log, { debug: args.debug, echo: true });
  const extraArguments = args.config ? ['--config', path.resolve(args.config)] : [];
  const instance = new Scheduler({ entries: configuredSchedule(config), command: [__filename], extraArguments, deadlineMs: (job: string) => deadlineOf(config, job), log });
  instance.start();
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      log.info('SIGTERM: stopping');
      void instance.stop().then(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const args = parseArguments(argv);
  const name = args.job;
  if (!name || (name === 'help' && !args.rest.length)) {
    process.stdout.write(`${usage()}\n`);
    return name || args.help ? 0 : EXIT_USAGE;
  }
  if (args.help && !['send', 'validate'].includes(name)) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  switch (name) {
    case 'replay':
      return replay(loadConfig(args), args.debug);
    case 'send':
      return send(args);
    case 'validate': {
      if (!args.rest[0]) throw new UsageError('validate needs a FILE of JSON documents');
      const { documents, problems } = await validateFile(args.rest[0]);
      if (problems.length) {
        process.stderr.write(`${problems.join('\n')}\n`);
        return EXIT_FAILED;
      }
      process.stdout.write(`${documents.length} documents valid\n`);
      return 0;
    }
    case 'gateway':
      return gateway(args);
    case 'crontab':
      return crontab(args);
    case 'scheduler':
      return scheduler(args);
    default:
      if (SERVICES.includes(name)) {
        const { runService } = (require('./services') as typeof import('./services'));
        return runService(name, loadConfig(args), args);
      }
      return runJob(args, name);
  }
}

/** Runs this command again in a node with `flags` (JOB_NODE_FLAGS), passing signals on and its exit status back. */
function runWithNodeFlags(flags: string[]): void {
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const child = spawn(process.execPath, [...process.execArgv, ...flags, __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : EXIT_FAILED)));
}

const missingFlags = require.main === module ? missingNodeFlags(process.argv[2], process.execArgv, process.env.NODE_OPTIONS) : [];
if (missingFlags.length > 0) {
  runWithNodeFlags(missingFlags);
} else if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // Jobs end the process: a collector's stray timer or socket must not keep cron's run alive.
      if (!SERVICES.includes(process.argv[2] ?? '')) setImmediate(() => process.exit(code));
    },
    (error: unknown) => {
      const usageProblem = error instanceof UsageError || error instanceof ConfigError || /--timestamp|needs a value|unknown option/.test((error as Error).message);
      process.stderr.write(`run.sh: ${redact((error as Error).message)}\n`);
      process.exit(usageProblem ? EXIT_USAGE : EXIT_FAILED);
    },
  );
}

export { main };
