import { InfluxError } from './influxdb';

/** A line InfluxDB refused for its content: its position in the batch, and InfluxDB's message. */
export interface RefusedLine {
  index: number;
  reason: string;
}

/** A refusal for the lines' content (400: parse error, type conflict, partial write; 413: too large), not InfluxDB's state. */
function isContentRefusal(error: unknown): error is InfluxError {
  return error instanceof InfluxError && (error.status === 400 || error.status === 413);
}

/**
 * Writes the `count` lines of a batch through `write` (`body(from, to)` joins lines `from` to `to`,
 * excluded) and returns the lines InfluxDB refused. A refusal for their content is split in halves until
 * each refused line stands alone, so one poison among thousands costs a few dozen requests. InfluxDB
 * 1.x stores the good lines of a partial write without naming the bad ones; writing them again is
 * idempotent. Any other failure means InfluxDB cannot store now: it is thrown. The gateway's direct
 * route and the writers both write through this.
 */
export async function writeIsolatingRefused(count: number, body: (from: number, to: number) => string, write: (lines: string) => Promise<void>): Promise<RefusedLine[]> {
  const refused: RefusedLine[] = [];
  const writeRange = async (from: number, to: number): Promise<void> => {
    try {
      await write(body(from, to));
    } catch (error) {
      if (!isContentRefusal(error)) throw error;
      if (to - from === 1) {
        refused.push({ index: from, reason: error.body.trim() || error.message });
        return;
      }
      const middle = from + Math.ceil((to - from) / 2);
      await writeRange(from, middle);
      await writeRange(middle, to);
    }
  };
  if (count > 0) await writeRange(0, count);
  return refused;
}
