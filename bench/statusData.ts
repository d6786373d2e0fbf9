/**
 * The data and the rules of bench/status.ts: PanDA-scale panda/jobs_derived (queues × 2 prod sources × 3
 * resources × 8 states, three slots), clouds_derived, a few series of every other schema, a heartbeat per
 * collector and 30 days of status documents. Written in batches as they are made, so the writer holds one
 * batch at a time.
 */
import { Config } from '../lib/config/config';
import { databaseFor, type InterpretedDocument } from '../lib/documents/interpret';
import { SchemaRegistry, schemaRegistry } from '../lib/documents/schemas';
import type { InfluxClient } from '../lib/influx/influxdb';
import { toLineProtocol } from '../lib/influx/lineProtocol';
import { MONIT_COLLECTORS_RUN, MONIT_COLLECTORS_STATUS } from '../schemas/kinds';
import { parseCondition } from '../status/condition';
import { loadRules, type ModuleRule, type PartRule } from '../status/rules';
import { loadStatusSettings, type StatusSettings } from '../status/settings';
import { TEST_DURATIONS, writeSyntheticData } from '../test/support/dashboards/syntheticData';

const MINUTE = 60_000;
const SLOT_MS = 10 * MINUTE;
/** The status job's period ([status] period), within which a remembered newest series must have a point. */
export const STATUS_PERIOD_MS = SLOT_MS;
const BATCH_LINES = 5000;
export const PROD_SOURCES = ['managed', 'user'];
export const RESOURCES = ['SCORE', 'MCORE', 'HIMEM'];
export const JOB_STATES = ['running', 'queued', 'assigned', 'activated', 'finished', 'failed', 'cancelled', 'holding'];
const CLOUDS = 12;
const STATUS_HISTORY_DAYS = 30;

/** The slot the data ends in, and the time the status job evaluates at (minute 8 of the slot, as in production). */
export function benchTimes(nowMs: number): { slotMs: number; evaluateAtMs: number } {
  const slotMs = Math.floor(nowMs / SLOT_MS) * SLOT_MS;
  return { slotMs, evaluateAtMs: slotMs + 8 * MINUTE };
}

/** A queue is suspicious in the newest slot when its number is a multiple of 97 (26 of 2,500 queues). */
export function isSuspicious(queue: number, timeMs: number, slotMs: number): boolean {
  return timeMs === slotMs && queue % 97 === 0;
}

/** The per-series rule a user may write over jobs_derived: the heavy case (the shipped panda rule reads clouds_derived). */
export const PER_SERIES_MODULE = 'panda-queues';
export const PER_SERIES_RULE =
  `[status.module.${PER_SERIES_MODULE}]\ncollector = panda-derived\nmeasurement = panda/jobs_derived\nfields = suspicious, current\nwindow = 10m\n` +
  `prefilter = suspicious == true\ndegraded = latest(suspicious) == true\ndegraded_reason = {matches} suspicious queue series, e.g. {series}\n`;

/** A prefilter no point passes (current is never negative): the per-series rule when all is well. */
export const QUIET_PREFILTER = parseCondition('current < 0');

/** The per-series rule alone, as readPartData reads it. */
export function perSeriesPart(): PartRule {
  const rules = loadRules(Config.parse(`[status]\ndefault_rules =\n${PER_SERIES_RULE}`, 'bench'));
  return (rules.find((rule) => rule.module === PER_SERIES_MODULE) as ModuleRule).parts[0];
}

/** Every shipped module plus the per-series rule, with the page and state under `varDir`. */
export function benchSettings(varDir: string, influxUrl: string): StatusSettings {
  return loadStatusSettings(Config.parse(`[paths]\nvar = ${varDir}\n[influxdb]\nurl = ${influxUrl}\n[status]\n${PER_SERIES_RULE}`, 'bench.cfg'));
}

class BatchWriter {
  private lines: string[] = [];
  written = 0;
  constructor(
    private readonly client: InfluxClient,
    private readonly database: string,
  ) {}
  async add(point: InterpretedDocument): Promise<void> {
    this.lines.push(toLineProtocol(point));
    if (this.lines.length >= BATCH_LINES) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.lines.length === 0) return;
    const body = this.lines.join('\n');
    this.written += this.lines.length;
    this.lines = [];
    await this.client.write(this.database, body, { precision: 'ms' });
  }
}

/** The jobs_derived point of one series at one time. */
function jobsDerivedPoint(queue: number, prodSource: string, resource: string, state: string, timeMs: number, slotMs: number): InterpretedDocument {
  return {
    database: databaseFor('panda'),
    measurement: 'jobs_derived',
    tags: { queue: `Q${queue}`, site: `SITE${queue % 300}`, cloud: `C${queue % CLOUDS}`, country: 'CH', tier: String(queue % 3), prod_source: prodSource, resource, job_status: state },
    fields: [
      { name: 'current', type: 'int', value: queue % 50 },
      { name: 'suspicious', type: 'bool', value: isSuspicious(queue, timeMs, slotMs) },
    ],
    timestampMs: timeMs,
  };
}

/** Every jobs_derived point of the benchmark, in the order they are written. */
function* jobsDerivedPoints(queues: number, slotMs: number): Generator<InterpretedDocument> {
  for (let queue = 0; queue < queues; queue++) {
    for (const prodSource of PROD_SOURCES) {
      for (const resource of RESOURCES) {
        for (const state of JOB_STATES) {
          for (const timeMs of [slotMs - 2 * SLOT_MS, slotMs - SLOT_MS, slotMs]) yield jobsDerivedPoint(queue, prodSource, resource, state, timeMs, slotMs);
        }
      }
    }
  }
}

/** Writes everything the status job reads; returns the number of jobs_derived points. */
export async function writeBenchData(client: InfluxClient, queues: number, nowMs: number): Promise<number> {
  const { slotMs } = benchTimes(nowMs);
  const registry = schemaRegistry();
  const settings = benchSettings('/nonexistent', client.url);
  // A few series of every other measurement, two hours of raw slots: enough for each shipped rule.
  const others = registry.all().filter((schema) => schema.producer !== MONIT_COLLECTORS_RUN.producer && !(schema.producer === 'panda' && ['jobs_derived', 'clouds_derived'].includes(schema.type)));
  await writeSyntheticData(client, new SchemaRegistry(others), { nowMs: slotMs, spans: [{ rp: 'raw', stepMs: SLOT_MS, spanMs: 2 * 60 * MINUTE }] });
  await client.ensureDatabase(databaseFor('panda'), TEST_DURATIONS);
  await client.ensureDatabase(databaseFor(MONIT_COLLECTORS_RUN.producer), TEST_DURATIONS);

  const panda = new BatchWriter(client, databaseFor('panda'));
  for (const point of jobsDerivedPoints(queues, slotMs)) await panda.add(point);
  await panda.flush();
  const jobsDerived = panda.written;
  for (let cloud = 0; cloud < CLOUDS; cloud++) {
    const inCloud = Math.ceil((queues - cloud) / CLOUDS);
    const suspicious = Array.from({ length: inCloud }, (_, index) => cloud + index * CLOUDS).filter((queue) => queue % 97 === 0);
    for (const timeMs of [slotMs - 2 * SLOT_MS, slotMs - SLOT_MS, slotMs]) {
      const flagged = timeMs === slotMs ? suspicious.length : 0;
      await panda.add({
        database: databaseFor('panda'),
        measurement: 'clouds_derived',
        tags: { cloud: `C${cloud}` },
        fields: [
          { name: 'queues', type: 'int', value: inCloud },
          { name: 'suspicious_queues', type: 'int', value: flagged },
          { name: 'suspicious_share', type: 'float', value: (100 * flagged) / inCloud },
          { name: 'worst_queues', type: 'string', value: timeMs === slotMs ? suspicious.map((queue) => `Q${queue}`).join(' ') : '' },
        ],
        timestampMs: timeMs,
      });
    }
  }
  await panda.flush();

  // A successful heartbeat in the newest slot from every job a rule names, and 30 days of status documents.
  const monit = new BatchWriter(client, databaseFor(MONIT_COLLECTORS_RUN.producer));
  const jobs = new Set(settings.rules.flatMap((rule) => rule.parts.flatMap((part) => (part.collector ? [part.collector, ...part.credentialJobs] : part.credentialJobs))));
  for (const job of jobs) {
    await monit.add({
      database: databaseFor(MONIT_COLLECTORS_RUN.producer),
      measurement: MONIT_COLLECTORS_RUN.type,
      tags: { job },
      fields: [
        { name: 'ok', type: 'bool', value: true },
        { name: 'timed_out', type: 'bool', value: false },
        { name: 'message', type: 'string', value: '' },
        { name: 'duration_ms', type: 'int', value: 1000 },
      ],
      timestampMs: slotMs,
    });
  }
  for (const [index, rule] of settings.rules.entries()) {
    for (let timeMs = slotMs - STATUS_HISTORY_DAYS * 144 * SLOT_MS + SLOT_MS; timeMs < slotMs; timeMs += SLOT_MS) {
      // Mostly available, with a few hours of each other state now and then.
      const code = Math.floor(timeMs / SLOT_MS / 37 + index) % 9 < 6 ? 0 : Math.floor(timeMs / SLOT_MS / 37 + index) % 3 + 1;
      await monit.add({
        database: databaseFor(MONIT_COLLECTORS_STATUS.producer),
        measurement: MONIT_COLLECTORS_STATUS.type,
        tags: { module: rule.module },
        fields: [
          { name: 'status', type: 'string', value: ['available', 'degraded', 'unavailable', 'na'][code] },
          { name: 'code', type: 'int', value: code },
          { name: 'reason', type: 'string', value: code === 0 ? 'all checks pass' : `state ${code} for the benchmark` },
          { name: 'last_data_ms', type: 'int', value: timeMs },
          ...['available_slots', 'degraded_slots', 'unavailable_slots', 'na_slots', 'downtime_slots'].map((name, slotCode) => ({ name, type: 'int' as const, value: slotCode === code ? 1 : 0 })),
        ],
        timestampMs: timeMs,
      });
    }
  }
  await monit.flush();
  return jobsDerived;
}
