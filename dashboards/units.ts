import type { FieldSchema } from '../lib/documents/types';

/** Schema units (schemas/README.md) to Grafana unit ids. An unknown unit fails the generator, so none is shown wrongly. */
const GRAFANA_UNITS: Record<string, string> = {
  bytes: 'bytes',
  'B/s': 'Bps',
  'MB/s': 'MBs',
  ms: 'ms',
  s: 's',
  d: 'd',
  '%': 'percent',
  count: 'short',
  Hz: 'hertz',
  '1': 'none',
  '': 'none',
};

/** Units of a per-second rate of a field counted per slot (downsample `sum`). */
const RATE_UNITS: Record<string, string> = { bytes: 'Bps', count: 'cps' };

export function grafanaUnit(unit: string, where: string): string {
  const grafana = GRAFANA_UNITS[unit];
  if (grafana === undefined) throw new Error(`${where}: unit '${unit}' has no Grafana unit: add it to dashboards/units.ts`);
  return grafana;
}

/** The unit a panel shows for a field: its own, or per second when the panel shows it as a rate. */
export function panelUnit(field: FieldSchema, asRate: boolean, where: string): string {
  const unit = grafanaUnit(field.unit, where);
  return asRate ? (RATE_UNITS[field.unit] ?? 'none') : unit;
}

/** Units whose values add up across series (a total of bytes or jobs); others (%, ms) are averaged. */
export function isAdditive(unit: string): boolean {
  return ['bytes', 'B/s', 'MB/s', 'count', 'Hz'].includes(unit);
}
