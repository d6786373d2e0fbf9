import path from 'node:path';
import { Config } from '../../../lib/config/config';
import { type CollectResult, collectedDocuments } from '../../../lib/run/collector';
import { databaseFor } from '../../../lib/documents/interpret';
import type { MonitDocument } from '../../../lib/documents/types';
import { InfluxClient } from '../../../lib/influx/influxdb';
import { type RunOutcome, runPeriodicJob } from '../../../lib/run/jobRunner';
import { TEN_MINUTES_MS } from '../../../lib/run/slot';
import { collectorContext, type TestContext } from '../../../test/support/collectorContext';
import { TEST_TOKEN } from '../../../test/support/gateway';
import { testDir } from '../../../test/support/services';
import { MONIT_COLLECTORS_RUN, PANDA_JOBS } from '../../../schemas/kinds';
import collector from '../collector';
import derivedJob from '../derivedJob';
import { DERIVED_JOB, PANDA_JOB } from '../names';

/**
 * One installation's var folder for both jobs, laid out as the runner lays it out: state/panda, state/panda-derived,
 * spool/panda. `config` is the ini text of every run: [paths] var, [monit] (the gateway), [influxdb], and `extra`
 * (the [panda] section and any other).
 */
export class PandaInstallation {
  readonly varDir = testDir('panda-jobs');

  constructor(
    private readonly servers: { gatewayUrl: string; influxUrl: string },
    private readonly extra: string,
  ) {}

  get config(): string {
    return `[paths]\nvar = ${this.varDir}\n[monit]\nurl = ${this.servers.gatewayUrl}/\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = ${this.servers.influxUrl}\n${this.extra}\n`;
  }

  stateDir(job: string): string {
    return path.join(this.varDir, 'state', job);
  }

  /** A context for calling a job's collect() directly, with this installation's state folder for it. */
  context(job: typeof PANDA_JOB | typeof DERIVED_JOB, options: { slotMs?: number; dryRun?: boolean } = {}): TestContext {
    return collectorContext(job, this.config, { ...options, stateDir: this.stateDir(job) });
  }

  /**
   * Sends documents as panda's run of the slot does: through the runner (spool, gateway, InfluxDB), with panda's
   * heartbeat. So a test can look at panda's documents and still have them in InfluxDB for panda-derived.
   */
  async deliverAsPanda(documents: MonitDocument[], slotMs: number): Promise<RunOutcome> {
    // Retention policies that keep every point, so that the tests' fixed slots stay stored whatever today's date.
    const influx = new InfluxClient(this.servers.influxUrl);
    for (const producer of [PANDA_JOBS.producer, MONIT_COLLECTORS_RUN.producer]) await influx.ensureDatabase(databaseFor(producer), { raw: 'INF', '1h': 'INF', '1d': 'INF' });
    const job = { name: PANDA_JOB, periodMs: TEN_MINUTES_MS, run: async (): Promise<CollectResult> => documents };
    return runPeriodicJob(job, { config: Config.parse(this.config, 'panda-jobs.test.cfg'), deadlineMs: 30_000, timeMs: slotMs, echoLog: false });
  }

  /**
   * panda, then panda-derived, for one slot, as the schedule runs them: panda's documents are collected (for the
   * test to look at) and delivered with its heartbeat, then panda-derived runs. `prepare` may change the
   * panda-derived context first (e.g. record its InfluxDB queries).
   */
  async bothJobs(options: { slotMs?: number; prepare?: (context: TestContext) => void } = {}): Promise<BothJobs> {
    const pandaContext = this.context(PANDA_JOB, { slotMs: options.slotMs });
    const panda = collectedDocuments(await collector.collect(pandaContext));
    const delivery = await this.deliverAsPanda(panda, pandaContext.slotMs);
    if (!delivery.ok) throw new Error(`panda's documents were not delivered: ${delivery.message}`);
    const derivedContext = this.context(DERIVED_JOB, { slotMs: pandaContext.slotMs });
    options.prepare?.(derivedContext);
    const derived = collectedDocuments(await derivedJob.collect(derivedContext));
    return { panda, derived, documents: [...panda, ...derived], pandaContext, derivedContext };
  }
}

export interface BothJobs {
  panda: MonitDocument[];
  derived: MonitDocument[];
  /** Both jobs' documents: what one panda run sent before panda-derived existed. */
  documents: MonitDocument[];
  pandaContext: TestContext;
  derivedContext: TestContext;
}
