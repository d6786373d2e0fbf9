import type { PageAnswer } from '../lib/http/pages';
import type { InfluxClient } from '../lib/influx/influxdb';
import type { StatusSettings } from './settings';
import type { StatusSnapshot } from './snapshot';

/** What a details page reads: InfluxDB, the rules, and the shared (cached) snapshot of every module. */
export interface DetailsContext {
  influxdb: InfluxClient;
  settings: StatusSettings;
  snapshot: () => Promise<StatusSnapshot>;
  nowMs: () => number;
}

/** A module's details page (HTML) or its data (JSON), over `range` (6h, 7d, 30d or 1y; default 6h). */
export async function renderDetails(context: DetailsContext, module: string, range: string | undefined, format: 'html' | 'json'): Promise<PageAnswer> {
  void context;
  return { status: 501, contentType: 'text/plain; charset=utf-8', body: `details of ${module} (${range ?? '6h'}, ${format}) are not built yet\n` };
}
