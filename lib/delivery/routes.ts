/**
 * Producer routing: each document goes to the route that selects it ([monit.route.<name>] producers),
 * else to the default route ([monit]), plus to every `copy` route that selects it. Each route has its own
 * spool folder, credentials and TLS, and is delivered on its own: a route that is down or refuses us never
 * holds back another.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { MonitDocument } from '../documents/types';
import { envelopeValue } from '../documents/interpret';
import type { ClientTls, TlsSettings } from '../tls/clientTls';
import { BatchWriter, Sender, spooledText, type SendReport, type SenderLog } from './sender';
import { DEFAULT_ROUTE, selects, type RouteSettings, type Routing } from './settings';
import { Spool, waitingBatches } from './spool';

export interface Route {
  settings: RouteSettings;
  spool: Spool;
  sender: Sender;
}

/** What one delivery did on each route. */
export interface RoutedSendReport extends SendReport {
  routes: Array<{ route: string; section: string; spoolDir: string; report: SendReport }>;
  /**
   * Refusals (credentials, TLS) of `copy = yes` routes: their documents wait like any route's, but a copy's
   * trouble is not the run's (credentialsRefused holds only the routes that carry the documents).
   */
  copiesRefused: string[];
}

/** The spool folder of a route: the job's own folder for the default route (where batches always were), else a folder in it. */
export function routeSpoolDir(jobSpoolDir: string, route: string): string {
  return route === DEFAULT_ROUTE ? jobSpoolDir : path.join(jobSpoolDir, route);
}

/** A route's lines in the job's log start with its name (the default route's as they always were). */
function routeLog(log: SenderLog, settings: RouteSettings): SenderLog {
  if (settings.name === DEFAULT_ROUTE) return log;
  const prefix = `route ${settings.name}: `;
  return {
    debug: (message) => log.debug(prefix + message),
    info: (message) => log.info(prefix + message),
    warn: (message) => log.warn(prefix + message),
    error: (message) => log.error(prefix + message),
  };
}

/** "1 batch", "3 batches". */
export function batchCount(batches: number): string {
  return `${batches} ${batches === 1 ? 'batch' : 'batches'}`;
}

/** The same interface as one Sender (enqueue, deliver), over every route of a job's spool folder. */
export class RoutedSender {
  /** The default route first, then the [monit.route.*] ones. */
  readonly routes: Route[];
  private readonly destinations = new Map<string, Route[]>();

  constructor(
    routing: Routing,
    readonly spoolDir: string,
    private readonly log: SenderLog,
    /** How each route's TLS settings are loaded (a run's RunCredentials); default loadClientTls. */
    loadTls?: (settings: TlsSettings) => ClientTls,
  ) {
    this.routes = [routing.default, ...routing.routes].map((settings) => {
      const spool = new Spool(routeSpoolDir(spoolDir, settings.name));
      return { settings, spool, sender: new Sender({ ...settings, section: settings.section, spool, log: routeLog(log, settings), loadTls }) };
    });
    this.abandoned = this.findAbandonedFolders();
    for (const folder of this.abandoned) {
      log.error(`${folder.dir} holds ${batchCount(folder.batches)} of a route no [monit.route.${path.basename(folder.dir)}] section defines now: restore that section to deliver them`);
    }
  }

  /** Spool folders of routes that are no longer configured, with batches still in them (never deleted), as found when this was made. */
  readonly abandoned: ReadonlyArray<{ dir: string; batches: number }>;

  private findAbandonedFolders(): Array<{ dir: string; batches: number }> {
    if (!existsSync(this.spoolDir)) return [];
    const known = new Set(['rejected', ...this.routes.map((route) => route.settings.name)]);
    return readdirSync(this.spoolDir)
      .filter((name) => !known.has(name) && !name.startsWith('.') && statSync(path.join(this.spoolDir, name)).isDirectory())
      .map((name) => ({ dir: path.join(this.spoolDir, name), batches: waitingBatches(path.join(this.spoolDir, name)) }))
      .filter((folder) => folder.batches > 0);
  }

  /** The routes a document of `producer`/`type` goes to. */
  routesOf(producer: string, type: string): Route[] {
    const key = `${producer}/${type}`;
    let found = this.destinations.get(key);
    if (!found) {
      const taking = (route: Route): boolean => route.settings.selectors.some((selector) => selects(selector, producer, type));
      const [defaultRoute, ...named] = this.routes;
      // The settings allow one non-copy route per document at most.
      const own = named.find((route) => !route.settings.copy && taking(route)) ?? defaultRoute;
      found = [own, ...named.filter((route) => route.settings.copy && taking(route))];
      this.destinations.set(key, found);
    }
    return found;
  }

  /**
   * Spools documents like Sender.enqueue, each in the spool of every route it goes to (as the job made it:
   * a route's `send_as` renames it as it is sent). Nothing joins any spool unless every document is in (a document refused by
   * `check` or a failing iterator leaves nothing). Returns how many documents were taken (a document sent
   * to two routes counts once).
   */
  enqueue(documents: Iterable<MonitDocument>, check?: (document: MonitDocument) => void): number {
    const writers = new Map<Route, BatchWriter>();
    let count = 0;
    // One time for the whole call and every route: a copy carries the same time as the original.
    const stampMs = Date.now();
    try {
      for (const document of documents) {
        check?.(document);
        // A MONIT record may name its producer and type only in `metadata`; the gateway reads them there too.
        const text = spooledText(document, stampMs);
        for (const route of this.routesOf(String(envelopeValue(document, 'producer') ?? ''), String(envelopeValue(document, 'type') ?? ''))) {
          let writer = writers.get(route);
          if (!writer) writers.set(route, (writer = new BatchWriter({ ...route.settings, spool: route.spool })));
          writer.add(text);
        }
        count += 1;
      }
      for (const writer of writers.values()) writer.close();
    } catch (error) {
      for (const writer of writers.values()) writer.discard();
      throw error;
    }
    const pending = [...writers.values()];
    let published = 0;
    try {
      for (const writer of pending) {
        writer.publish();
        published += 1;
      }
    } catch (error) {
      // As within one spool: what is not published yet is dropped, and the run fails.
      for (const writer of pending.slice(published)) writer.discard();
      throw error;
    }
    return count;
  }

  /** Loads every https route's TLS now (see Sender.preloadTls): the heartbeat is built before its own delivery. */
  preloadTls(): void {
    for (const route of this.routes) route.sender.preloadTls();
  }

  /** Batches waiting on every route. */
  waitingBatches(): number {
    return this.routes.reduce((sum, route) => sum + route.spool.list().length, 0);
  }

  /**
   * Delivers every route's spool at once (each like Sender.deliver). The report sums them; a refusal or a
   * stop names its route.
   */
  async deliver(options: { deadlineMs: number; retry?: boolean; signal?: AbortSignal }): Promise<RoutedSendReport> {
    // Every route finishes before this returns, even when one fails (a spool it cannot write): no delivery
    // of a spool may still run when the next one starts.
    const settled = await Promise.allSettled(this.routes.map((route) => route.sender.deliver(options)));
    const failure = settled.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    const reports = settled.map((result) => (result as PromiseFulfilledResult<SendReport>).value);
    const total: RoutedSendReport = { documentsSent: 0, documentsRejected: 0, documentsDropped: 0, documentsSpooled: 0, routes: [], copiesRefused: [] };
    const refused: string[] = [];
    const stopped: string[] = [];
    for (const [index, report] of reports.entries()) {
      const { settings, spool } = this.routes[index] as Route;
      const label = settings.name === DEFAULT_ROUTE ? '' : `route ${settings.name}: `;
      total.documentsSent += report.documentsSent;
      total.documentsRejected += report.documentsRejected;
      total.documentsDropped += report.documentsDropped;
      total.documentsSpooled += report.documentsSpooled;
      if (report.credentialsRefused) (settings.copy ? total.copiesRefused : refused).push(label + report.credentialsRefused);
      if (report.stoppedBecause) stopped.push(label + report.stoppedBecause);
      total.routes.push({ route: settings.name, section: settings.section, spoolDir: spool.dir, report });
    }
    if (refused.length) total.credentialsRefused = refused.join('; ');
    if (stopped.length) total.stoppedBecause = stopped.join('; ');
    return total;
  }
}
