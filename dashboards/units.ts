import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SCHEMAS_DIR } from '../lib/config/paths';
import type { FieldSchema } from '../lib/documents/types';

/** One unit of schemas/units.json. */
interface UnitDefinition {
  meaning: string;
  /** Grafana's unit id. */
  grafana: string;
  /** Grafana's unit of a per-second rate of a field counted per slot (downsample `sum`); default none. */
  rate?: string;
  /** Values add up across series (a total of bytes or jobs); others (%, ms) are averaged. */
  additive?: boolean;
}

let units: Record<string, UnitDefinition> | undefined;

/** schemas/units.json, where every unit a field may have is defined once. */
export function unitDefinitions(): Record<string, UnitDefinition> {
  units ??= (JSON.parse(readFileSync(path.join(SCHEMAS_DIR, 'units.json'), 'utf8')) as { units: Record<string, UnitDefinition> }).units;
  return units;
}

export function grafanaUnit(unit: string, where: string): string {
  const definition = unitDefinitions()[unit];
  if (definition === undefined) throw new Error(`${where}: unit '${unit}' is not in schemas/units.json`);
  return definition.grafana;
}

/** The unit a panel shows for a field: its own, or per second when the panel shows it as a rate. */
export function panelUnit(field: FieldSchema, asRate: boolean, where: string): string {
  const unit = grafanaUnit(field.unit, where);
  return asRate ? (unitDefinitions()[field.unit]?.rate ?? 'none') : unit;
}

export function isAdditive(unit: string): boolean {
  return unitDefinitions()[unit]?.additive === true;
}
