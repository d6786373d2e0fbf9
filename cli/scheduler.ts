import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Config } from '../lib/config/config';
import { pathsFrom } from '../lib/config/paths';
import { UsageError } from '../lib/run/usageError';
import { Logger } from '../lib/run/log';
import { formatIdentity, isRunning, ownIdentity, readIdentityFile } from '../lib/run/processIdentity';
import { writeFileDurably } from '../lib/state/durableFile';
import type { RunArguments } from '../lib/run/registry';
import { acquireLock } from '../lib/run/lock';
import { DEFAULT_RESTART_POLICY, outliveOrphan, recordChildIn, stopChild, SupervisedProcess, supervisorFilesIn } from '../lib/run/service';
import { findEntry, missingNodeFlags, registry } from './registry';
import { configuredSchedule, deadlineOf, enabled, type ScheduleEntry } from './schedule';
import cron, { type ScheduledTask } from 'node-cron';

/** Starts `node <command> <job> <extraArguments>`; stderr is shared, stdout `'ignore'`d or shared. */
function spawnRun(command: string[], job: string, extraArguments: string[], stdout: 'ignore' | 'inherit'): ChildProcess {
  const [script, ...scriptArguments] = command;
  // The job's node flags given here, so that it does not start itself again: the pid killed (or watched) is the job's.
  const flags = missingNodeFlags(job, [], process.env.NODE_OPTIONS);
  return spawn(process.execPath, [...flags, script, ...scriptArguments, job, ...extraArguments], { stdio: ['ignore', stdout, 'inherit'] });
}

export interface SchedulerOptions {
  entries: ScheduleEntry[];
  /** Arguments that start a job: [script, ...] run with node; the job name and extra args are appended. */
  command: string[];
  extraArguments: string[];
  /** Per-job deadline in ms; the child is killed a little after it if it is still running. */
  deadlineMs(job: string): number;
  log: Logger;
  /** Where the services' run locks are ([paths] lock): a service is started only by the holder of `supervise-<service>.lock`. */
  lockDirectory: string;
  /** Where `./run.sh supervise` notes its child ([paths] var/run): a child left by a killed supervisor is waited for. */
  runDirectory: string;
  /** How often a service supervised elsewhere is checked again; default a minute. */
  recheckMs?: number;
}

/**
 * Runs the schedule (the job registry's, with [schedule] overrides) in-process with node-cron. Every
 * run is a child process of its own, so a crash or hang stays in it; '@reboot' services are started at
 * once and restarted when they exit.
 */
export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly running = new Map<string, ChildProcess>();
  private readonly services = new Map<string, SupervisedProcess>();
  private readonly locks: Array<{ release(): void }> = [];
  private readonly stopped = new AbortController();
  private stopping = false;

  constructor(private readonly options: SchedulerOptions) {}

  private spawnJob(job: string): ChildProcess {
    return spawnRun(this.options.command, job, this.options.extraArguments, 'ignore');
  }

  private runOnce(job: string): void {
    if (this.stopping) return;
    if (this.running.has(job)) {
      this.options.log.warn(`${job}: previous run still going, not started again`);
      return;
    }
    const child = this.spawnJob(job);
    this.running.set(job, child);
    const backstop = setTimeout(() => {
      this.options.log.error(`${job}: still running 30s past its deadline; killing pid ${child.pid}`);
      child.kill('SIGKILL');
    }, this.options.deadlineMs(job) + 30_000);
    child.on('exit', (code, signal) => {
      clearTimeout(backstop);
      this.running.delete(job);
      const how = signal ? `signal ${signal}` : `exit ${code}`;
      if (code === 0) this.options.log.info(`${job}: finished (${how})`);
      else this.options.log.error(`${job}: failed (${how})`);
    });
  }

  /** Waits `ms`; false when the scheduler stops meanwhile. */
  private async pause(ms: number): Promise<boolean> {
    await delay(ms, undefined, { signal: this.stopped.signal }).catch(() => undefined);
    return !this.stopping;
  }

  /**
   * Starts a service once this scheduler holds its run lock, the one `./run.sh supervise` takes: a
   * service supervised elsewhere (cron's supervisor, the quickstart's) is not started twice, which would
   * only loop on a taken port. It is checked again every `recheckMs`, and taken over when the lock frees.
   */
  private async superviseService(job: string): Promise<void> {
    const log = this.options.log;
    const lockFile = path.join(this.options.lockDirectory, `supervise-${job}.lock`);
    let toldHolder: number | undefined;
    for (;;) {
      if (this.stopping) return;
      const lock = acquireLock(lockFile);
      if (lock.acquired) {
        this.locks.push(lock);
        break;
      }
      if (toldHolder !== lock.holderPid) log.warn(`${job} is already supervised by pid ${lock.holderPid}; not started here`);
      toldHolder = lock.holderPid;
      if (!(await this.pause(this.options.recheckMs ?? 60_000))) return;
    }
    if (toldHolder !== undefined) log.info(`${job}: its supervisor (pid ${toldHolder}) is gone; supervised here now`);
    // Its child is recorded as `supervise` records it, so that whoever supervises next knows it.
    const childFile = supervisorFilesIn(this.options.runDirectory, job).child;
    if (!(await outliveOrphan(childFile, job, log, (ms) => this.pause(ms))) || this.stopping) return;
    const service = new SupervisedProcess(job, () => this.spawnJob(job), log, { ...DEFAULT_RESTART_POLICY, onStart: recordChildIn(childFile) });
    this.services.set(job, service);
    service.start();
  }

  start(): void {
    for (const entry of this.options.entries) {
      if (entry.cron === '@reboot') {
        void this.superviseService(entry.job).catch((error: unknown) => this.options.log.error(`${entry.job}: not supervised: ${(error as Error).message}`));
        continue;
      }
      if (!cron.validate(entry.cron)) throw new Error(`schedule for ${entry.job}: invalid cron expression "${entry.cron}"`);
      this.tasks.push(cron.schedule(entry.cron, () => this.runOnce(entry.job), { name: entry.job, noOverlap: false }));
    }
    this.options.log.info(`scheduler started: ${this.options.entries.map((entry) => `${entry.job} (${entry.cron})`).join(', ')}`);
  }

  /** Stops scheduling, asks every child to stop, and waits for them (killing them after `graceMs`). */
  async stop(graceMs = 20_000): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    for (const task of this.tasks) await task.stop();
    await Promise.all([...[...this.running.values()].map((child) => stopChild(child, graceMs)), ...[...this.services.values()].map((service) => service.stop(graceMs))]);
    for (const lock of this.locks) lock.release();
    this.options.log.info('scheduler stopped');
  }
}

/** `./run.sh scheduler`: the schedule of this config, in the foreground until SIGTERM or SIGINT. */
export async function serve(config: Config, args: RunArguments): Promise<number> {
  const log = Logger.forJob('scheduler', pathsFrom(config).log, { debug: args.debug, echo: args.debug || process.stderr.isTTY === true });
  const extraArguments = args.config ? ['--config', path.resolve(args.config)] : [];
  const main = path.join(__dirname, 'main.js');
  const paths = pathsFrom(config);
  const instance = new Scheduler({
    entries: configuredSchedule(config),
    command: [main],
    extraArguments,
    deadlineMs: (job: string) => deadlineOf(config, job),
    log,
    lockDirectory: paths.lock,
    runDirectory: path.join(paths.root, 'run'),
  });
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

/** Resolves on the first SIGTERM or SIGINT, with its name; later ones are ignored (the stop is under way). */
function termination(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => resolve(signal);
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

/** Where `./run.sh supervise <service>` keeps its own identity and its child's. */
export function supervisorFiles(config: Config, service: string): { supervisor: string; child: string } {
  return supervisorFilesIn(path.join(pathsFrom(config).root, 'run'), service);
}

/**
 * `./run.sh supervise SERVICE`: runs the service and starts it again whenever it exits, until SIGTERM
 * or SIGINT. One supervisor per service and var/ (its run lock; a pid file names it): started again
 * while it runs, it exits at once, so cron may start it every few minutes. Its lines go to the
 * service's own log.
 */
export async function supervise(args: RunArguments): Promise<number> {
  const name = args.rest[0];
  const services = registry().filter((entry) => entry.kind === 'service').map((entry) => entry.name);
  if (name === undefined || findEntry(name)?.kind !== 'service') throw new UsageError(`supervise needs a service: one of ${services.join(', ')}`);
  const config = Config.loadDefault(args.config);
  if (!enabled(config, name)) {
    process.stderr.write(`supervise: ${name} is not configured in ${config.file} (its section is missing, or enabled = false); nothing started\n`);
    return 0;
  }
  const files = supervisorFiles(config, name);
  // The run lock keeps one supervisor per service; the pid file only tells operators which one it is.
  const lock = acquireLock(path.join(pathsFrom(config).lock, `supervise-${name}.lock`));
  if (!lock.acquired) return 0; // the usual case under cron: it runs already
  writeFileDurably(files.supervisor, `${formatIdentity(ownIdentity())}\n`, 0o644, 'supervisor pid file');
  const log = new Logger('supervisor', path.join(pathsFrom(config).log, `${name}.log`), args.debug, args.debug || process.stderr.isTTY === true);
  const stopped = termination();
  let stopping = false;
  void stopped.then(() => (stopping = true));
  // A child left by a supervisor that was killed still serves: it is left alone until it ends, then replaced.
  const outlived = await outliveOrphan(files.child, name, log, async (ms) => {
    await delay(ms);
    return !stopping;
  });
  const orphan = readIdentityFile(files.child);
  if (!outlived && orphan && isRunning(orphan)) process.kill(orphan.pid, 'SIGTERM');
  const extraArguments = args.config ? ['--config', path.resolve(args.config)] : [];
  const service = new SupervisedProcess(name, () => spawnRun([path.join(__dirname, 'main.js')], name, extraArguments, 'inherit'), log, {
    ...DEFAULT_RESTART_POLICY,
    onStart: recordChildIn(files.child),
  });
  if (!stopping) {
    log.info(`supervising ${name} (supervisor pid ${process.pid})`);
    service.start();
  }
  const signal = await stopped;
  log.info(`${signal}: stopping ${name}`);
  await service.stop(20_000);
  rmSync(files.child, { force: true });
  rmSync(files.supervisor, { force: true });
  lock.release();
  log.info(`supervisor of ${name} stopped`);
  return 0;
}
