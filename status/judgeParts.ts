/** The one loop that reads and judges rule parts now: the status job's, and a details page's. */
import path from 'node:path';
import pLimit from 'p-limit';
import { StateFile } from '../lib/state/stateFile';
import { InfluxError } from '../lib/influx/influxdb';
import { clientOfProducer, type InfluxSource } from '../lib/influx/instances';
import { MONIT_COLLECTORS_RUN } from '../schemas/kinds';
import { type EvaluationInput, partCredential, type PartStatus } from './evaluate';
import { readHeartbeats, readPartData, type SeriesTags } from './query';
import type { PartRule } from './rules';

/** Parts read at once: each is two statements, and InfluxDB serves the gateway too. */
const PARTS_AT_ONCE = 4;

/** InfluxDB down makes every module look N/A: that is the evaluation failing, not the modules. */
export function isUnreachable(error: unknown): boolean {
  return error instanceof InfluxError && error.unreachable;
}

/** What a part's remembered newest series is kept under: its measurement, the field its freshness reads, its `where`. */
export function seriesSetKey(part: Pick<PartRule, 'producer' | 'type' | 'fields' | 'where'>): string {
  return JSON.stringify([`${part.producer}/${part.type}`, part.fields[0], ...part.where.map(({ tag, value }) => `${tag}=${value}`)]);
}

/**
 * The prefiltered parts' newest series, kept between status runs (var/state/status/newest-series.json).
 * Only a hint: an entry that is not a series' tags is dropped (anything else than an object reads as empty).
 */
export function newestSeriesFile(stateDir: string, writable: boolean): StateFile<Map<string, SeriesTags>> {
  return new StateFile(
    path.join(stateDir, 'newest-series.json'),
    {
      initial: () => new Map(),
      parse: (parsed) => {
        const remembered = new Map<string, SeriesTags>();
        if (!parsed || typeof parsed !== 'object') return remembered;
        for (const [key, tags] of Object.entries(parsed as Record<string, unknown>)) {
          if (tags && typeof tags === 'object' && !Array.isArray(tags) && Object.values(tags).every((value) => typeof value === 'string')) remembered.set(key, tags as SeriesTags);
        }
        return remembered;
      },
      serialize: (remembered) => Object.fromEntries(remembered),
    },
    writable,
  );
}

/**
 * Reads each part's data and heartbeats at `nowMs` and judges it (evaluatePart, or explainPart for a
 * details page), four parts at a time. A part whose data does not fit its rule is `failed` (N/A with
 * the reason); an unreachable InfluxDB is thrown, so that it is never taken for N/A modules.
 */
export async function judgeParts<Judged>(
  /** Each part is read on its producer's instance, the heartbeats on monit-collectors'. */
  influxdb: InfluxSource,
  retentionPolicy: string,
  parts: readonly PartRule[],
  nowMs: number,
  judge: (part: PartRule, input: EvaluationInput) => Judged,
  failed: (status: PartStatus) => Judged,
  /**
   * Prefiltered parts' newest series by seriesSetKey, from the previous run: read, and updated with this
   * run's; a remembered series stands for the part's newest only with a point within `withinMs`.
   */
  remembered?: { newestSeries: Map<string, SeriesTags>; withinMs: number },
): Promise<Map<PartRule, Judged>> {
  const oldestHeartbeatMs = nowMs - Math.max(0, ...parts.map((part) => part.heartbeatFreshnessMs));
  const heartbeats = await readHeartbeats(clientOfProducer(influxdb, MONIT_COLLECTORS_RUN.producer), oldestHeartbeatMs, nowMs, retentionPolicy);
  const limit = pLimit(PARTS_AT_ONCE);
  const judged = await Promise.all(
    parts.map((part) =>
      limit(async (): Promise<[PartRule, Judged]> => {
        try {
          const key = seriesSetKey(part);
          const data = await readPartData(clientOfProducer(influxdb, part.producer), part, nowMs, retentionPolicy, { newestSeries: remembered?.newestSeries.get(key), rememberedWithinMs: remembered?.withinMs });
          if (data.newestSeries) remembered?.newestSeries.set(key, data.newestSeries);
          const heartbeat = part.collector ? heartbeats.get(part.collector) : undefined;
          return [part, judge(part, { nowMs, heartbeat, credential: partCredential(part, heartbeats, nowMs), ...data })];
        } catch (error) {
          if (isUnreachable(error)) throw error;
          return [part, failed({ part, state: 'na', reason: `rule failed: ${(error as Error).message}` })];
        }
      }),
    ),
  );
  return new Map(judged);
}
