import { qualifiedMeasurement, quoteIdentifier, timeLiteral } from '../../lib/influxql';

/**
 * The raw moving averages (1h, 6h, 12h, 24h) with fewer InfluxDB queries. A grouped query over 120,000
 * series costs InfluxDB about the same whatever the points it reads, so windows that are whole multiples of
 * one block length are read together: one query returns sum and count per block (aligned to the slot), and
 * each window adds up its last blocks. Sums and counts, not means, so gaps weigh exactly as in mean():
 * with integer job counts, sum / count is the very double InfluxDB's mean() returns.
 */

/** More blocks per series make the answer (held in memory at once) longer, not the query cheaper. */
export const MAX_BLOCKS_PER_SERIES = 4;

/** Windows (indexes into the caller's list) read by one query of `spanMs / blockMs` blocks. */
export interface BlockQuery {
  blockMs: number;
  spanMs: number;
  windows: number[];
}

const greatestCommonDivisor = (a: number, b: number): number => (b === 0 ? a : greatestCommonDivisor(b, a % b));

/**
 * Groups window durations into as few block queries as the block limit allows: the longest windows that share
 * a block length with at most MAX_BLOCKS_PER_SERIES blocks go together, then the rest the same way.
 * 1h, 6h, 12h, 24h → {6h, 12h, 24h} in 6h blocks, {1h} in one block.
 */
export function planBlockQueries(durationsMs: number[], maxBlocks = MAX_BLOCKS_PER_SERIES): BlockQuery[] {
  const order = durationsMs.map((durationMs, index) => ({ durationMs, index })).sort((a, b) => a.durationMs - b.durationMs);
  const queries: BlockQuery[] = [];
  let end = order.length;
  while (end > 0) {
    const spanMs = order[end - 1].durationMs;
    let start = end - 1;
    let blockMs = spanMs;
    for (let candidate = end - 2; candidate >= 0; candidate--) {
      const widerBlock = greatestCommonDivisor(blockMs, order[candidate].durationMs);
      if (spanMs / widerBlock > maxBlocks) break;
      blockMs = widerBlock;
      start = candidate;
    }
    queries.unshift({ blockMs, spanMs, windows: order.slice(start, end).map((one) => one.index) });
    end = start;
  }
  return queries;
}

/**
 * Sum and count of `field` per series and per block over [slot − span, slot), blocks aligned so that the
 * last one ends at the slot; empty blocks are left out. A query of one block asks for mean() alone: InfluxDB
 * plans one iterator per function over every series, so that halves its cost, and the double is the same.
 */
export function blockStatement(database: string, retentionPolicy: string, measurement: string, field: string, groupBy: readonly string[], query: BlockQuery, slotMs: number): string {
  const offsetMs = ((slotMs % query.blockMs) + query.blockMs) % query.blockMs;
  const column = quoteIdentifier(field);
  const from = `FROM ${qualifiedMeasurement(database, retentionPolicy, measurement)} WHERE time >= ${timeLiteral(slotMs - query.spanMs)} AND time < ${timeLiteral(slotMs)}`;
  const tags = groupBy.map(quoteIdentifier).join(', ');
  if (query.spanMs === query.blockMs) return `SELECT mean(${column}) ${from} GROUP BY ${tags}`;
  return `SELECT sum(${column}), count(${column}) ${from} GROUP BY time(${query.blockMs}ms, ${offsetMs}ms), ${tags} fill(none)`;
}

/**
 * One series' block rows ([time, sum, count], any order; [time, mean] for one block) turned into the mean of
 * each window of the query (NaN where a window has no point), in query.windows order.
 */
export function windowMeans(rows: unknown[][], columns: string[], query: BlockQuery, durationsMs: number[], slotMs: number): number[] {
  if (query.spanMs === query.blockMs) {
    const mean = rows[0]?.[columns.indexOf('mean')];
    return query.windows.map(() => (typeof mean === 'number' ? mean : NaN));
  }
  const [timeColumn, sumColumn, countColumn] = ['time', 'sum', 'count'].map((name) => columns.indexOf(name));
  const blocks = query.spanMs / query.blockMs;
  const sums = new Float64Array(blocks);
  const counts = new Float64Array(blocks);
  for (const row of rows) {
    const time = row[timeColumn];
    const sum = row[sumColumn];
    const count = row[countColumn];
    if (typeof time !== 'number' || typeof sum !== 'number' || typeof count !== 'number') continue;
    // Block 0 ends at the slot, block 1 before it, ...
    const block = Math.round((slotMs - time) / query.blockMs) - 1;
    if (block < 0 || block >= blocks) continue;
    sums[block] += sum;
    counts[block] += count;
  }
  return query.windows.map((window) => {
    let sum = 0;
    let count = 0;
    for (let block = 0; block < durationsMs[window] / query.blockMs; block++) {
      sum += sums[block];
      count += counts[block];
    }
    return count > 0 ? sum / count : NaN;
  });
}
