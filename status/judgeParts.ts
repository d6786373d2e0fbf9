/** The one loop that reads and judges rule parts now: the status job's, and a details page's. */
import pLimit from 'p-limit';
import { type InfluxClient, InfluxError } from '../lib/influx/influxdb';
import { type EvaluationInput, partCredential, type PartStatus } from './evaluate';
import { readHeartbeats, readPartData } from './query';
import type { PartRule } from './rules';

/** Parts read at once: each is two statements, and InfluxDB serves the gateway too. */
const PARTS_AT_ONCE = 4;

/** InfluxDB down makes every module look N/A: that is the evaluation failing, not the modules. */
export function isUnreachable(error: unknown): boolean {
  return error instanceof InfluxError && error.unreachable;
}

/**
 * Reads each part's data and heartbeats at `nowMs` and judges it (evaluatePart, or explainPart for a
 * details page), four parts at a time. A part whose data does not fit its rule is `failed` (N/A with
 * the reason); an unreachable InfluxDB is thrown, so that it is never taken for N/A modules.
 */
export async function judgeParts<Judged>(
  influxdb: InfluxClient,
  retentionPolicy: string,
  parts: readonly PartRule[],
  nowMs: number,
  judge: (part: PartRule, input: EvaluationInput) => Judged,
  failed: (status: PartStatus) => Judged,
): Promise<Map<PartRule, Judged>> {
  const oldestHeartbeatMs = nowMs - Math.max(0, ...parts.map((part) => part.heartbeatFreshnessMs));
  const heartbeats = await readHeartbeats(influxdb, oldestHeartbeatMs, nowMs, retentionPolicy);
  const limit = pLimit(PARTS_AT_ONCE);
  const judged = await Promise.all(
    parts.map((part) =>
      limit(async (): Promise<[PartRule, Judged]> => {
        try {
          const data = await readPartData(influxdb, part, nowMs, retentionPolicy);
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
