/** The delivery commands: `./run.sh replay`, `./run.sh send FILE` and `./run.sh validate FILE`. */
import { UsageError } from '../run/usageError';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config';
import { pathsFrom } from '../config/paths';
import { SeriesCollisions } from '../documents/collisions';
import { envelopeValue, interpretDocument } from '../documents/interpret';
import { decodeUtf8 } from '../documents/utf8';
import { schemaRegistry } from '../documents/schemas';
import type { MonitDocument } from '../documents/types';
import { acquireLock, waitForLock } from '../run/lock';
import { Logger } from '../run/log';
import { batchCount, RoutedSender, type RoutedSendReport } from './routes';
import { routingSettings } from './settings';
import { RunCredentials } from '../run/runCredentials';
import type { ClientTls, TlsSettings } from '../tls/clientTls';

function readDocumentFile(file: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeUtf8(readFileSync(file), 'the file'));
  } catch (error) {
    throw new UsageError(`${file}: ${(error as Error).message}`);
  }
  return Array.isArray(parsed) ? parsed : [parsed];
}

/**
 * The documents of a JSON file (an array or one document), and a line for each one the gateway would
 * refuse: each document's own rule, then the gateway's same-series-and-time rule with the file taken
 * as one request (lib/documents/collisions.ts), with the same reason the gateway gives.
 */
export function validateFile(file: string): { documents: unknown[]; problems: string[] } {
  const documents = readDocumentFile(file);
  const problems: string[] = [];
  const registry = schemaRegistry();
  const collisions = new SeriesCollisions();
  // One time for the whole file, as the gateway stamps one arrival time per request.
  const nowMs = Date.now();
  documents.forEach((document, index) => {
    const result = interpretDocument(document, registry, nowMs);
    if (!result.ok) {
      problems.push(`document at index ${index} (counting from 0): ${result.reason}`);
      return;
    }
    const verdict = collisions.check(index, result.point);
    if (verdict.kind !== 'collision') return;
    const stamped = envelopeValue(document, 'timestamp') === undefined;
    // The sender stamps a document without a timestamp with the millisecond it is spooled in: a file's
    // documents are spooled within the same millisecond or a few, so the gateway refuses them as here.
    const why = stamped
      ? " (it has no timestamp: `send` stamps the documents of a file with one time, the millisecond it spools them, so the gateway would refuse it for this; give each document its own timestamp)"
      : '';
    problems.push(`document at index ${index} (counting from 0): ${verdict.reason}${why}`);
  });
  return { documents, problems };
}

/** One line per route of a delivery: sent, rejected (and where), still spooled (and why). */
function routeLines(report: RoutedSendReport): string[] {
  const busy = report.routes.filter(({ report: part }) => part.documentsSent + part.documentsRejected + part.documentsSpooled + part.documentsDropped > 0);
  return busy.map(({ route, spoolDir, report: part }) => {
    const where = part.documentsRejected ? ` (refused ones are in ${spoolDir}/rejected with the reason)` : '';
    const why = part.documentsSpooled && part.stoppedBecause ? `: ${part.stoppedBecause}` : '';
    return `route ${route}: ${part.documentsSent} sent, ${part.documentsRejected} rejected${where}, ${part.documentsSpooled} still spooled in ${spoolDir}${why}`;
  });
}

/** One RunCredentials for the whole command: each endpoint's TLS is loaded (and warned about) once, whatever the jobs and routes. */
function runCredentialsLoader(config: Config, log: Logger): (settings: TlsSettings) => ClientTls {
  const credentials = new RunCredentials(config, log);
  return (settings) => credentials.tls(settings.source);
}

/**
 * Delivers the spool of each job (or of `only`), every route of it, taking each job's lock so a running
 * job keeps its own. Returns 0 when nothing is left waiting or refused, else 1.
 */
export async function replay(config: Config, options: { debug: boolean; only?: string }): Promise<number> {
  const paths = pathsFrom(config);
  const log = Logger.forJob('replay', paths.log, { debug: options.debug, echo: options.debug || process.stderr.isTTY === true });
  const routing = routingSettings(config);
  const loadTls = runCredentialsLoader(config, log);
  const jobs = options.only ? [options.only] : existsSync(paths.spool) ? readdirSync(paths.spool).filter((name) => name !== 'rejected') : [];
  let failed = false;
  let delivered = 0;
  const locked: string[] = [];
  const refused: string[] = [];
  const abandoned: string[] = [];
  // Replay is also typed by hand: it retries for a short while, then leaves the rest for the next run.
  const deadlineMs = Date.now() + config.section('monit').duration('replay_deadline', '30s');
  for (const job of jobs) {
    const lock = acquireLock(path.join(paths.lock, `${job}.lock`));
    if (!lock.acquired) {
      log.info(`${job}: running now (pid ${lock.holderPid}); it replays its own spool`);
      locked.push(job);
      continue;
    }
    try {
      const sender = new RoutedSender(routing, path.join(paths.spool, job), log, loadTls);
      // Batches of a route no longer configured wait: not delivered, so not done.
      for (const folder of sender.abandoned) abandoned.push(`${folder.dir} (${batchCount(folder.batches)})`);
      if (!sender.waitingBatches()) continue;
      const report = await sender.deliver({ deadlineMs });
      delivered += 1;
      for (const line of routeLines(report)) log.info(`${job}: ${line}`);
      // Here a copy's refusal counts like any other: replay is typed to deliver everything.
      for (const refusal of [report.credentialsRefused, ...report.copiesRefused]) if (refusal) refused.push(`${job}: ${refusal}`);
      if (report.documentsSpooled || report.documentsRejected) failed = true;
    } finally {
      lock.release();
    }
  }
  // A locked spool was not looked at: it is not known to be empty.
  if (locked.length) log.info(`not replayed now, their lock is held by a run that delivers them: ${locked.join(', ')}`);
  else if (delivered === 0 && !abandoned.length) log.info('nothing to replay: the spool is empty');
  if (abandoned.length) {
    refused.push(
      `${abandoned.join(', ')}: the spool of a [monit.route.<name>] section that is no longer configured: restore it, or move the ` +
        "batch files into another route's folder (or delete them to drop those documents)",
    );
  }
  // Every job's spool was tried first: one refusing route holds back no other job or route.
  if (refused.length) throw new Error(refused.join('; '));
  return failed ? 1 : 0;
}

/** Exit status of `send` when its documents are safe in the spool but not all delivered yet (EX_TEMPFAIL). */
export const EXIT_SPOOLED = 75;

/**
 * `send FILE`: validates every document, then, holding the send spool's lock (waiting for it up to
 * `[monit] replay_deadline` while another send or replay delivers), spools them all (or none) and
 * delivers the spool. Documents that do not go now stay in the spool for the next replay, and the
 * exit status (EXIT_SPOOLED) and a line on stderr say how many wait, and where.
 */
export async function send(file: string | undefined, config: () => Config, options: { debug: boolean }): Promise<number> {
  if (!file) throw new UsageError('send needs a FILE of JSON documents');
  const { documents, problems } = validateFile(file);
  if (problems.length) {
    process.stderr.write(`${file}: not sent, ${problems.length} invalid documents:\n${problems.join('\n')}\n`);
    return 1;
  }
  const loaded = config();
  const paths = pathsFrom(loaded);
  const log = Logger.forJob('send', paths.log, { debug: options.debug, echo: true });
  const spoolDir = path.join(paths.spool, 'send');
  const replayDeadline = loaded.section('monit').duration('replay_deadline', '30s');
  const deadlineMs = Date.now() + replayDeadline;
  const later = 'they go with the next `./run.sh replay` (scheduled: see `./run.sh crontab`)';
  const lock = await waitForLock(path.join(paths.lock, 'send.lock'), deadlineMs, (holderPid) =>
    log.info(`pid ${holderPid} is delivering ${spoolDir}; waiting for it (at most [monit] replay_deadline, ${Math.round(replayDeadline / 1000)}s)`),
  );
  const routing = routingSettings(loaded);
  const loadTls = runCredentialsLoader(loaded, log);
  const spoolDocuments = (): RoutedSender => {
    const sender = new RoutedSender(routing, spoolDir, log, loadTls);
    sender.enqueue(documents as MonitDocument[]);
    log.info(`${documents.length} documents from ${file} spooled in ${spoolDir}`);
    return sender;
  };
  if (!lock.acquired) {
    spoolDocuments();
    process.stderr.write(`send: ${documents.length} documents from ${file} are spooled in ${spoolDir}, not sent: pid ${lock.holderPid} still holds the lock of that spool; ${later}\n`);
    return EXIT_SPOOLED;
  }
  try {
    const report = await spoolDocuments().deliver({ deadlineMs });
    const single = report.routes.length === 1;
    const where = report.documentsRejected && single ? ` (refused ones are in ${spoolDir}/rejected with the reason)` : '';
    log.info(`${report.documentsSent} sent, ${report.documentsRejected} rejected, ${report.documentsSpooled} still spooled${where}`);
    if (!single) for (const line of routeLines(report)) log.info(line);
    if (report.credentialsRefused || report.copiesRefused.length) {
      const sections = report.routes.filter((route) => route.report.credentialsRefused).map((route) => `[${route.section}]`);
      const refusals = [report.credentialsRefused, ...report.copiesRefused].filter(Boolean).join('; ');
      throw new Error(`${refusals}; ${report.documentsSpooled} documents wait in ${spoolDir}: fix ${sections.join(' and ')} in ${loaded.file}, then run ./run.sh replay`);
    }
    if (report.documentsSpooled) {
      const waiting = single ? spoolDir : report.routes.filter((route) => route.report.documentsSpooled).map((route) => `${route.spoolDir} (${route.report.documentsSpooled})`).join(', ');
      process.stderr.write(`send: ${report.documentsSpooled} documents wait in ${waiting} (this file's and any earlier ones not yet delivered)${report.stoppedBecause ? `: ${report.stoppedBecause}` : ''}; ${later}\n`);
      return EXIT_SPOOLED;
    }
    return report.documentsRejected ? 1 : 0;
  } finally {
    lock.release();
  }
}

/** `validate FILE`: only checks the documents. */
export function validate(file: string | undefined): number {
  if (!file) throw new UsageError('validate needs a FILE of JSON documents');
  const { documents, problems } = validateFile(file);
  if (problems.length) {
    process.stderr.write(`${problems.join('\n')}\n`);
    return 1;
  }
  process.stdout.write(`${documents.length} documents valid\n`);
  return 0;
}
