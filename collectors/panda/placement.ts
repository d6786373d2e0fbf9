import { cachedAnswerState, malformed } from '../../lib/http/cachedSource';
import { isJsonObject } from '../../lib/http/jsonMembers';

/** Data placed on one RSE. */
export interface Placed {
  bytes: number;
  files: number;
}

/** RSE → data placed on it (DATADISKs only: the DAOD distribution reads nothing else). */
export type Placement = Record<string, Placed>;

export const PLACEMENT_CACHE_FILE = 'placement.json';
export const PLACEMENT_FORMAT = 1;

const SOURCE = 'placement';

/** Rucio's accounting of what it placed, among the sources of an RSE's usage rows (others: storage, expired, ...). */
const RUCIO_SOURCE = 'rucio';


function count(value: unknown, where: string, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw malformed(SOURCE, `${where}: ${what} ${JSON.stringify(value)} is not a number >= 0`);
  return value;
}

/** The JSON values of the body: one JSON text, or one per line (Rucio's REST answers in application/x-json-stream). */
function jsonValues(body: Uint8Array): unknown[] {
  const text = Buffer.from(body).toString('utf8');
  try {
    return [JSON.parse(text)];
  } catch (error) {
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    if (lines.length < 2) throw error;
    return lines.map((line, index) => {
      try {
        return JSON.parse(line) as unknown;
      } catch (lineError) {
        throw new SyntaxError(`line ${index + 1}: ${(lineError as Error).message}`);
      }
    });
  }
}

/** Rucio's RSE usage rows ({rse, source, used, files, ...}): the 'rucio' source's row of each RSE when rows name sources. */
function fromUsageRows(rows: unknown[]): Placement {
  const placement: Placement = {};
  rows.forEach((row, index) => {
    const where = `row ${index + 1}`;
    if (!isJsonObject(row) || typeof row.rse !== 'string') throw malformed(SOURCE, `${where}: expected an RSE usage row {rse, source, used, files}, got ${JSON.stringify(row)?.slice(0, 80)}`);
    if (row.source !== undefined && row.source !== RUCIO_SOURCE) return;
    if (!row.rse.includes('DATADISK')) return;
    placement[row.rse] = { bytes: count(row.used, `${where} (${row.rse})`, 'used'), files: count(row.files, `${where} (${row.rse})`, 'files') };
  });
  return placement;
}

/**
 * Bytes and files per RSE, in one of the shapes Rucio's storage accounting is exported in:
 * - `{"<RSE>": {"bytes": n, "files": n}, ...}`: what QMonit's scrapers/grafana.py makes of the accounting
 *   (eschanet/QMonit, data/scraped_grafana_datadisk.json);
 * - Rucio's RSE usage rows, `[{"rse", "source", "used", "files", "free", "total", "updated_at"}, ...]` as a JSON
 *   list or one row per line (`GET /rses/<rse>/usage` and `rucio.core.rse.get_rse_usage` in rucio/rucio): the
 *   rows of source 'rucio' (what Rucio placed; 'storage' is what the storage reports), `used` being bytes.
 * Anything else throws a SourceFailure naming the entry.
 */
export function parsePlacement(body: Uint8Array): Placement {
  const placement = placementOf(jsonValues(body));
  if (Object.keys(placement).length === 0) throw malformed(SOURCE, 'the answer places nothing on any DATADISK');
  return placement;
}

function placementOf(values: unknown[]): Placement {
  if (values.length > 1) return fromUsageRows(values);
  const [value] = values;
  if (Array.isArray(value)) return fromUsageRows(value);
  if (!isJsonObject(value)) throw malformed(SOURCE, `expected {"<RSE>": {"bytes", "files"}} or a list of Rucio RSE usage rows, got ${value === null ? 'null' : typeof value}`);
  if (typeof value.rse === 'string') return fromUsageRows([value]);
  const placement: Placement = {};
  for (const [rse, entry] of Object.entries(value)) {
    if (!isJsonObject(entry)) throw malformed(SOURCE, `'${rse}': expected {"bytes", "files"}, got ${JSON.stringify(entry)?.slice(0, 80)}`);
    if (!rse.includes('DATADISK')) continue;
    placement[rse] = { bytes: count(entry.bytes, `'${rse}'`, 'bytes'), files: count(entry.files, `'${rse}'`, 'files') };
  }
  return placement;
}

export const PLACEMENT_CACHE_STATE = cachedAnswerState<Placement>(PLACEMENT_FORMAT, (value) => {
  if (!isJsonObject(value) || !Object.values(value).every((entry) => isJsonObject(entry) && typeof entry.bytes === 'number' && typeof entry.files === 'number')) {
    throw new Error('unexpected content');
  }
  return value as Placement;
});
