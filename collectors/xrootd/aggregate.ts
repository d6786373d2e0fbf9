import type { SummaryReport } from './summaryReport';

/** What is kept of a report between runs to compute the next run's rates. */
export interface Sample {
  pid: number;
  startTime: number;
  time: number;
  values: Record<string, number>;
}

/** One server's reports of one run, reduced to the latest report and the counter deltas between consecutive reports. */
export interface ServerWindow {
  latest: SummaryReport;
  /** The sample the next run starts from. */
  next: Sample;
  reports: number;
  restarts: number;
  /** Seconds between consecutive reports of the same server process, summed. */
  intervalSeconds: number;
  /** Increase of each counter over those intervals; a counter missing from one report of a pair gets none. */
  deltas: Record<string, number>;
}

export function sampleOf(report: SummaryReport): Sample {
  return { pid: report.pid, startTime: report.startTime, time: report.time, values: report.values };
}

function sameProcess(a: Sample, b: Sample): boolean {
  return a.pid === b.pid && a.startTime === b.startTime;
}

/**
 * Folds one server's reports (any order) onto the previous run's last sample. Counters are cumulative
 * since the server started, so a rate needs two reports of the same process: a new pid or start time,
 * or any counter going backwards, is a restart and that interval gives no rate (never a negative one).
 * Reports not newer than the previous one of the same process (duplicates) add nothing.
 */
export function aggregateServer(previous: Sample | undefined, reports: SummaryReport[], counterKeys: readonly string[]): ServerWindow {
  if (reports.length === 0) throw new Error('aggregateServer needs at least one report');
  const ordered = [...reports].sort((a, b) => a.time - b.time);
  const deltas: Record<string, number> = {};
  const incomplete = new Set<string>();
  let intervalSeconds = 0;
  let restarts = 0;
  let last: Sample | undefined = previous;
  for (const report of ordered) {
    const current = sampleOf(report);
    if (!last) {
      last = current;
      continue;
    }
    if (sameProcess(last, current) && current.time <= last.time) continue;
    const backwards = counterKeys.some((key) => key in last!.values && key in current.values && current.values[key] < last!.values[key]);
    if (!sameProcess(last, current) || backwards) {
      restarts += 1;
      last = current;
      continue;
    }
    intervalSeconds += current.time - last.time;
    for (const key of counterKeys) {
      if (key in last.values && key in current.values) deltas[key] = (deltas[key] ?? 0) + current.values[key] - last.values[key];
      else incomplete.add(key);
    }
    last = current;
  }
  for (const key of incomplete) delete deltas[key];
  const latest = ordered[ordered.length - 1];
  return { latest, next: last ?? sampleOf(latest), reports: reports.length, restarts, intervalSeconds, deltas };
}
