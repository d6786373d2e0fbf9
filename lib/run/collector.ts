import type { Config, ConfigSection } from '../config/config';
import type { DocumentFactory } from '../documents/document';
import type { InfluxClient } from '../influx/influxdb';
import type { Logger } from './log';
import type { StateFile, StateFileOptions } from '../state/stateFile';
import type { MonitDocument } from '../documents/types';
import type { ClientTls } from '../tls/clientTls';

/** What the runner hands a collector for one run. */
export interface CollectorContext {
  /** The collector's folder name, which is also its job name and its config section. */
  job: string;
  config: Config;
  /** The collector's own [<job>] section. */
  section: ConfigSection;
  /** Start of this run's slot, UTC ms (the current slot, or the one given by --timestamp). */
  slotMs: number;
  /** Builds documents stamped with the slot and checked against schemas/. */
  documents: DocumentFactory;
  log: Logger;
  /** var/state/<job>: the collector's own files kept between runs (previous samples, offsets, caches). */
  stateDir: string;
  /**
   * A JSON state file in stateDir, written atomically and durably (the one way jobs keep state; a dry
   * run never writes it). Binary stores of their own format live in stateDir too.
   */
  state<T>(name: string, options: StateFileOptions<T>): StateFile<T>;
  /** Aborted when the job's deadline passes: pass it to every request and child process. */
  signal: AbortSignal;
  /** --dry-run: the documents are printed, not sent; a job must leave no other trace (state, webhooks, files). */
  dryRun: boolean;
  /**
   * The InfluxDB holding `producer`'s data ([influxdb], or the [influxdb.NAME] listing it; without
   * `producer`, [influxdb]), for collectors that read history (derived quantities); `timeoutMs`
   * replaces its timeout.
   */
  influxdb(options?: { timeoutMs?: number; producer?: string }): InfluxClient;
  /** Records a problem that did not stop the run (counted in the heartbeat's errors). */
  problem(message: string): void;
  /**
   * The TLS trust and identity of `source` ([tls] with [tls.<source>] over it), read and loaded once per
   * run, when first asked for. Throws a CredentialError (a missing, malformed or expired credential),
   * which fails what needed it. Ask only when about to connect: the earliest expiry of the credentials
   * asked for goes into the heartbeat.
   */
  tls(source: string): ClientTls;
}

/**
 * What a collector returns. `documents` may be any iterable, a generator included: the runner takes one
 * document at a time, so a run of 200,000 documents need not hold them all. `commit`, when given, is called
 * once every document is durably in the spool (so it will be delivered): a collector that consumes a queue
 * removes the consumed entries there.
 */
export type CollectResult = MonitDocument[] | { documents: Iterable<MonitDocument>; commit?: () => Promise<void> };

/** Every document of a result, in an array (for tests and tools; the runner never holds them all). */
export function collectedDocuments(result: CollectResult): MonitDocument[] {
  return Array.isArray(result) ? result : [...result.documents];
}

/** A collector reads one source and returns documents. It never sends, retries, spools or schedules. */
export interface Collector {
  collect(context: CollectorContext): Promise<CollectResult>;
}

/** Each collectors/<name>/collector.ts default-exports one of these (its index.ts says what else the source brings). */
export function defineCollector(collector: Collector): Collector {
  return collector;
}
