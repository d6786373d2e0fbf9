import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../lib/config/config';
import { pathsFrom } from '../lib/config/paths';
import { Logger } from '../lib/run/log';
import type { RunArguments } from '../lib/run/registry';
import { missingNodeFlags } from './registry';
import { configuredSchedule, deadlineOf, type ScheduleEntry } from './schedule';
import cron, { type ScheduledTask } from 'node-cron';

export interface SchedulerOptions {
  entries: ScheduleEntry[];
  /** Arguments that start a job: [script, ...] run with node; the job name and extra args are appended. */
  command: string[];
  extraArguments: string[];
  /** Per-job deadline in ms; the child is killed a little after it if it is still running. */
  deadlineMs(job: string): number;
  log: Logger;
}

/**
 * Runs the schedule (the job registry's, with [schedule] overrides) in-process with node-cron. Every
 * run is a child process of its own, so a crash or hang stays in it; '@reboot' services are started at
 * once and restarted when they exit.
 */
export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly running = new Map<string, ChildProcess>();
  private readonly services = new Map<string, ChildProcess>();
  private stopping = false;

  constructor(private readonly options: SchedulerOptions) {}

  private spawnJob(job: string): ChildProcess {
    const [script, ...scriptArguments] = this.options.command;
    // The job's node flags given here, so that it does not start itself again: the pid killed at the deadline is the job's.
    const flags = missingNodeFlags(job, [], process.env.NODE_OPTIONS);
    return spawn(process.execPath, [...flags, script, ...scriptArguments, job, ...this.options.extraArguments], { stdio: ['ignore', 'ignore', 'inherit'] });
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

  private superviseService(job: string, delayMs = 1000): void {
    if (this.stopping) return;
    const child = this.spawnJob(job);
    this.services.set(job, child);
    this.options.log.info(`${job}: service started (pid ${child.pid})`);
    const started = Date.now();
    child.on('exit', (code, signal) => {
      this.services.delete(job);
      if (this.stopping) return;
      // A service that keeps dying is restarted less and less often.
      const nextDelay = Date.now() - started > 60_000 ? 1000 : Math.min(delayMs * 2, 60_000);
      this.options.log.error(`${job}: service exited (${signal ?? code}); restarting in ${Math.round(nextDelay / 1000)}s`);
      setTimeout(() => this.superviseService(job, nextDelay), nextDelay);
    });
  }

  start(): void {
    for (const entry of this.options.entries) {
      if (entry.cron === '@reboot') {
        this.superviseService(entry.job);
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
    for (const task of this.tasks) await task.stop();
    const children = [...this.running.values(), ...this.services.values()];
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    this.options.log.info('scheduler stopped');
  }
}

/** `./run.sh scheduler`: the schedule of this config, in the foreground until SIGTERM or SIGINT. */
export async function serve(config: Config, args: RunArguments): Promise<number> {
  const log = Logger.forJob('scheduler', pathsFrom(config).log, { debug: args.debug, echo: args.debug || process.stderr.isTTY === true });
  const extraArguments = args.config ? ['--config', path.resolve(args.config)] : [];
  const main = path.join(__dirname, 'main.js');
  const instance = new Scheduler({ entries: configuredSchedule(config), command: [main], extraArguments, deadlineMs: (job: string) => deadlineOf(config, job), log });
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
