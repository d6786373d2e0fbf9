import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CollectResult, CollectorContext } from './collector';
import { ConfigError, type Config } from '../config/config';
import { DocumentFactory } from '../documents/document';
import { interpretDocument } from '../documents/interpret';
import { acquireLock, type LockResult } from './lock';
import { Logger, redact } from './log';
import { schemaRegistry } from '../documents/schemas';
import type { SendReport } from '../delivery/sender';
import { pathsFrom } from '../config/paths';
import { routingSettings } from '../delivery/settings';
import { RoutedSender, type RoutedSendReport } from '../delivery/routes';
import { influxInstances } from '../influx/instances';
import { influxClientFrom } from '../influx/settings';
import { slotStart } from './slot';
import { StateFile } from '../state/stateFile';
import { RunCredentials } from './runCredentials';
import { MONIT_COLLECTORS_RUN } from '../../schemas/kinds';
import type { MonitDocument } from '../documents/types';

/** A job run periodically (a collector, downsampling, status): it returns documents, the runner does the rest. */
export interface PeriodicJob {
  name: string;
  /** Length of the job's slot; documents are stamped with its start. */
  periodMs: number;
  run(context: CollectorContext): Promise<CollectResult>;
}

export interface RunOptions {
  config: Config;
  /** Print the documents, send nothing. */
  dryRun?: boolean;
  debug?: boolean;
  /** Run for the slot containing this time (backfill) instead of now. */
  timeMs?: number;
  /** How long the run may take; past it the job is stopped and the timeout recorded. */
  deadlineMs: number;
  /** Extra time after the deadline to deliver the heartbeat. */
  graceMs?: number;
  /** Where --dry-run prints documents (default stdout). */
  output?: (text: string) => void;
  echoLog?: boolean;
}

export interface RunOutcome {
  job: string;
  ok: boolean;
  skipped?: boolean;
  timedOut?: boolean;
  /** One line for the operator when not ok. */
  message?: string;
  /** The run failed on its configuration (a missing or invalid key). */
  configProblem?: boolean;
  documents: number;
  /** Problems the job reported without failing (context.problem): counted in the heartbeat's errors. */
  problems: number;
  report?: SendReport;
}

/** The heartbeat every run sends. */
export const HEARTBEAT = MONIT_COLLECTORS_RUN;

class DeadlineExceeded extends Error {}

/** The run was asked to stop (SIGTERM, SIGINT): it stops like at its deadline, and says so. */
class StoppedBySignal extends Error {}

/**
 * Runs one periodic job once: lock, replay of the spool, the job under its deadline, validation,
 * spooling, commit, delivery, heartbeat. Never throws: the outcome says what happened.
 */
export async function runPeriodicJob(job: PeriodicJob, options: RunOptions): Promise<RunOutcome> {
  const started = Date.now();
  const { config } = options;
  const paths = pathsFrom(config);
  const log = Logger.forJob(job.name, paths.log, { debug: options.debug, echo: options.echoLog ?? true });
  let lock: LockResult;
  try {
    lock = acquireLock(path.join(paths.lock, `${job.name}.lock`));
  } catch (error) {
    // Nothing ran and nothing can be spooled safely: the message names the lock path.
    const message = redact((error as Error).message.split('\n')[0]);
    log.error(`run failed: ${message}`);
    return { job: job.name, ok: false, message, documents: 0, problems: 0 };
  }
  if (!lock.acquired) {
    const message = `previous run (pid ${lock.holderPid}) is still running; this run exits`;
    log.warn(message);
    return { job: job.name, ok: true, skipped: true, message, documents: 0, problems: 0 };
  }
  if (lock.recoveredFrom) log.warn(`recovered a stale lock left by pid ${lock.recoveredFrom}`);
  const held = lock;
  // SIGTERM or SIGINT stops the run like its deadline does (logged, heartbeat with the reason); a second one exits at once.
  const controller = new AbortController();
  let rejectStop: (error: StoppedBySignal) => void = () => undefined;
  const stopRequested = new Promise<never>((_, reject) => (rejectStop = reject));
  stopRequested.catch(() => undefined);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.reason instanceof StoppedBySignal) {
      log.error(`${signal} again: exiting now`);
      held.release();
      process.exit(128 + (os.constants.signals[signal] ?? 0));
    }
    log.warn(`${signal} received: stopping this run (a second ${signal} exits at once)`);
    const error = new StoppedBySignal(`stopped by ${signal}`);
    controller.abort(error);
    rejectStop(error);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    return await runHoldingLock(job, options, log, started, controller, stopRequested);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    lock.release();
  }
}

/** The run itself, once the lock is held (the caller releases it, whatever happens here). */
async function runHoldingLock(job: PeriodicJob, options: RunOptions, log: Logger, started: number, controller: AbortController, stopRequested: Promise<never>): Promise<RunOutcome> {
  const { config } = options;
  const paths = pathsFrom(config);
  const deadline = started + options.deadlineMs;
  const slotMs = slotStart(options.timeMs ?? started, job.periodMs);
  const stateDir = path.join(paths.state, job.name);
  const spoolDir = path.join(paths.spool, job.name);
  const registry = schemaRegistry();
  const documents = new DocumentFactory({ slotMs, registry });
  let errors = 0;
  const outcome: RunOutcome = { job: job.name, ok: false, documents: 0, problems: 0 };
  const report: SendReport = { documentsSent: 0, documentsRejected: 0, documentsDropped: 0, documentsSpooled: 0 };
  // A copy route's refusal is a problem of the run (counted once per message), not its failure.
  const copyRefusals = new Set<string>();
  const addReport = (part: RoutedSendReport): void => {
    for (const refusal of part.copiesRefused) {
      if (copyRefusals.has(refusal)) continue;
      copyRefusals.add(refusal);
      errors += 1;
      outcome.problems += 1;
      log.error(`${refusal}; that copy's documents wait in its spool (a copy route's trouble does not fail the run)`);
    }
    report.documentsSent += part.documentsSent;
    report.documentsRejected += part.documentsRejected;
    report.documentsDropped += part.documentsDropped;
    report.documentsSpooled = part.documentsSpooled;
    report.credentialsRefused ??= part.credentialsRefused;
    report.stoppedBecause = part.stoppedBecause;
  };
  let sender: RoutedSender | undefined;
  const credentials = new RunCredentials(config, log);
  let heartbeatFailed = false;
  /** Fails the run after the fact (the heartbeat's own trouble), keeping the first reason too. */
  const failBecause = (reason: string): void => {
    heartbeatFailed = true;
    const message = redact(reason.split('\n')[0]);
    outcome.ok = false;
    outcome.message = outcome.message ? `${outcome.message}; ${message}` : message;
    log.error(`run failed: ${message}`);
  };
  try {
    mkdirSync(stateDir, { recursive: true });
    if (!options.dryRun) {
      sender = new RoutedSender(routingSettings(config), spoolDir, log, (settings) => credentials.tls(settings.source));
      // Batches a removed route left behind are logged by the sender; each such folder is a problem of every run until dealt with.
      const abandoned = sender.abandoned.length;
      errors += abandoned;
      outcome.problems += abandoned;
      const waiting = sender.waitingBatches();
      if (waiting) {
        log.info(`replaying ${waiting} spooled batches`);
        addReport(await sender.deliver({ deadlineMs: deadline, retry: false, signal: controller.signal }));
      }
    }
    const context: CollectorContext = {
      job: job.name,
      config,
      section: config.section(job.name),
      slotMs,
      documents,
      log,
      stateDir,
      state: (name, stateOptions) => new StateFile(path.join(stateDir, name), stateOptions, !options.dryRun),
      signal: controller.signal,
      dryRun: options.dryRun ?? false,
      influxdb: ({ producer, ...overrides } = {}) => (producer === undefined ? influxClientFrom(config, overrides) : influxInstances(config, overrides).forProducer(producer).client),
      problem: (message: string) => {
        errors += 1;
        outcome.problems += 1;
        log.error(message);
      },
      tls: (source) => credentials.tls(source),
    };
    log.info(`run for slot ${new Date(slotMs).toISOString()}${options.dryRun ? ' (dry run)' : ''}`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort(new DeadlineExceeded(`deadline of ${Math.round(options.deadlineMs / 1000)}s passed`));
        reject(new DeadlineExceeded(`stopped at its deadline of ${Math.round(options.deadlineMs / 1000)}s`));
      }, Math.max(0, deadline - Date.now()));
    });
    let result: CollectResult;
    try {
      result = await Promise.race([job.run(context), timeout, stopRequested]);
    } finally {
      clearTimeout(timer);
    }
    const produced: Iterable<MonitDocument> = Array.isArray(result) ? result : result.documents;
    const commit = Array.isArray(result) ? undefined : result.commit;
    const check = (document: MonitDocument): void => {
      if (documents.built(document)) return; // checked as it was built; documents made by hand are checked here
      const verdict = interpretDocument(document, registry);
      if (!verdict.ok) throw new Error(`job produced an invalid ${document.producer}/${document.type} document: ${verdict.reason}`);
    };
    if (options.dryRun || !sender) {
      const print = options.output ?? ((text: string) => process.stdout.write(text + '\n'));
      for (const document of produced) {
        check(document);
        print(JSON.stringify(document));
        outcome.documents += 1;
      }
      log.info(`dry run: ${outcome.documents} documents printed, nothing sent`);
      outcome.ok = true;
      return outcome;
    }
    // Validated and spooled one at a time: an invalid document spools nothing (the run fails).
    outcome.documents = sender.enqueue(produced, check);
    if (commit) await commit();
    addReport(await sender.deliver({ deadlineMs: deadline, signal: controller.signal }));
    if (report.credentialsRefused) throw new Error(report.credentialsRefused);
    // Stopped while spooling or delivering: what is spooled waits for the next run, but this run did not finish.
    if (controller.signal.reason instanceof StoppedBySignal) throw controller.signal.reason;
    outcome.ok = true;
    log.info(`${outcome.documents} documents collected; delivered this run (replayed ones included): ${report.documentsSent} sent, ${report.documentsRejected} rejected; ${report.documentsSpooled} wait in the spool`);
  } catch (error) {
    errors += 1;
    outcome.ok = false;
    outcome.timedOut = error instanceof DeadlineExceeded;
    outcome.configProblem = error instanceof ConfigError;
    outcome.message = redact((error as Error).message.split('\n')[0]);
    log.error(`run failed: ${outcome.message}`);
  } finally {
    outcome.report = report;
    if (sender && !options.dryRun) {
      try {
        sender.preloadTls();
        // Counted from the slot, the heartbeat's own time: its time plus the seconds left is the expiry.
        const credential = credentials.summary(slotMs);
        const heartbeat = documents.build(HEARTBEAT, { job: job.name }, {
          ok: outcome.ok,
          duration_ms: Date.now() - started,
          documents_sent: report.documentsSent,
          documents_spooled: report.documentsSpooled,
          documents_rejected: report.documentsRejected,
          documents_dropped: report.documentsDropped,
          errors,
          timed_out: outcome.timedOut ?? false,
          message: outcome.message ?? '',
          // credential and credential_expiring are always written, so a rerun of the slot without a credential
          // overwrites what an earlier run reported; a time left has no neutral value, so it is written only when known.
          credential: credential?.credential ?? '',
          credential_expires_in_s: credential?.expiresInSeconds,
          credential_expiring: credential?.expiring ?? false,
        });
        try {
          sender.enqueue([heartbeat]);
        } catch (error) {
          // Lost, not waiting: a run whose heartbeat is not even in the spool has failed.
          failBecause(`heartbeat not spooled: ${(error as Error).message}`);
          throw error;
        }
        const heartbeatDeadline = Math.max(deadline, Date.now()) + (options.graceMs ?? 10_000);
        // When the endpoint was just found down, or the run failed on its config before sending anything,
        // one try is enough: the heartbeat waits in the spool, and a config mistake is reported at once.
        const oneTry = report.stoppedBecause !== undefined || outcome.configProblem === true;
        const graceDeadline = Date.now() + (options.graceMs ?? 10_000);
        const stopped = controller.signal.reason instanceof StoppedBySignal;
        const final = await sender.deliver({ deadlineMs: outcome.timedOut || outcome.configProblem || stopped ? graceDeadline : heartbeatDeadline, retry: !oneTry });
        report.documentsSent += final.documentsSent;
        report.documentsRejected += final.documentsRejected;
        report.documentsSpooled = final.documentsSpooled;
        report.credentialsRefused ??= final.credentialsRefused;
        if (final.credentialsRefused && outcome.ok) {
          outcome.ok = false;
          outcome.message = final.credentialsRefused;
          log.error(`run failed: ${final.credentialsRefused}`);
        }
      } catch (error) {
        if (!heartbeatFailed) failBecause(`heartbeat not delivered: ${(error as Error).message}`);
      }
    }
  }
  return outcome;
}
