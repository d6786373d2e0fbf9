/**
 * How a dashboard is defined: each collectors/<name>/dashboard.ts default-exports one
 * (defineDashboard), naming the schemas it reads through the registry (Measurement.of), so a
 * measurement, field or tag renamed in schemas/ stops the generator with the name it could not find.
 * Every numeric field of what the source produces also gets a regular panel (generic.ts).
 */
import type { DocumentKind } from '../lib/documents/kinds';
import type { SchemaRegistry } from '../lib/documents/schemas';
import type { PanelSpec } from './panels';
import type { Aggregate, Measurement, QuerySpec, Selection } from './query';
import { panelUnit } from './units';

/** A dashboard variable filtering by one tag; it applies to every query on a measurement with that tag. */
export interface FilterSpec {
  tag: string;
  /** The measurement whose tag values the variable lists. */
  from: Measurement;
}

/** An open row: a titled line that starts a section of a dashboard. */
export interface RowSpec {
  kind: 'row';
  title: string;
}

export interface ModuleContent {
  filters: FilterSpec[];
  panels: Array<PanelSpec | RowSpec>;
  /** Big numbers for the overview (current values, with their own short range). */
  keyNumbers: PanelSpec[];
  /** Tags the regular panels of a type group by, where every tag would give too many lines. */
  genericGroupBy?: Record<string, string[]>;
  /** Fields of a type left out of its regular panels: timestamps and identities, which mean nothing as a series. */
  genericExclude?: Record<string, string[]>;
}

/** What a source's dashboard.ts says (it default-exports one, or a list whose first is the source's main dashboard). */
export interface DashboardDefinition {
  uid: string;
  title: string;
  description: string;
  /** Modules of the status job ([status.module.NAME]) it shows; default: the source's own, named after its folder. */
  statusModules?: string[];
  /** Kinds whose every field gets a regular panel; default: what the source produces. */
  kinds?: readonly DocumentKind[];
  build(registry: SchemaRegistry): ModuleContent;
}

/** A dashboard with its defaults filled in. */
export interface ModuleDashboard extends DashboardDefinition {
  statusModules: string[];
  kinds: readonly DocumentKind[];
  /** The source folder defining it; its other dashboards are linked from its top bar. */
  source?: string;
}

export function defineDashboard(definition: DashboardDefinition): DashboardDefinition {
  return definition;
}

const CURRENT = '1h';

export function row(title: string): RowSpec {
  return { kind: 'row', title };
}

export function series(title: string, unit: string, queries: QuerySpec[], extra: Partial<PanelSpec> = {}): PanelSpec {
  return { kind: 'timeseries', title, unit, queries, ...extra };
}

export function table(title: string, query: Omit<QuerySpec, 'format'>, extra: Partial<PanelSpec> = {}): PanelSpec {
  return { kind: 'table', title, queries: [{ ...query, format: 'table' }], width: 24, ...extra };
}

/** A table of the query's first selection with one row per value of the `rows` tag and one column per value of `columns`. */
export function matrix(title: string, query: Omit<QuerySpec, 'format'>, rows: string, columns: string, extra: Partial<PanelSpec> = {}): PanelSpec {
  return table(title, { ...query, groupBy: [rows, columns] }, { matrix: { rows, columns }, ...extra });
}

/** A current value for the overview: the newest 10-minute bucket of the last hour, unless reduced otherwise. */
export function keyNumber(title: string, unit: string, query: QuerySpec, extra: Partial<PanelSpec> = {}): PanelSpec {
  return { kind: 'stat', title, unit, queries: [query], timeFrom: CURRENT, width: 4, height: 4, ...extra };
}

export const last = (field: string, alias?: string): Selection => ({ fn: 'last', field, alias });
export const mean = (field: string, alias?: string): Selection => ({ fn: 'mean', field, alias });
export const sum = (field: string, alias?: string): Selection => ({ fn: 'sum', field, alias });
export const max = (field: string, alias?: string): Selection => ({ fn: 'max', field, alias });
export const min = (field: string, alias?: string): Selection => ({ fn: 'min', field, alias });
export const perSecond = (field: string, alias?: string): Selection => ({ fn: 'sum', field, alias, perSecond: true });
export const perHour = (field: string, alias?: string): Selection => ({ fn: 'sum', field, alias, perSecond: true, multiplier: 3600 });
export const percentOf = (field: string, alias?: string): Selection => ({ fn: 'mean', field, alias, multiplier: 100 });
/** fn(field) / fn(of) x 100: the percentage one field of the same points makes of another. */
export const percentRatio = (field: string, of: string, alias: string, fn: Aggregate = 'last'): Selection => ({ fn, field, alias, divideBy: { fn, field: of }, multiplier: 100 });

/** The Grafana unit of a field, from its schema's unit (schemas/units.json). */
export function fieldUnit(measurement: Measurement, field: string): string {
  return panelUnit(measurement.field(field), false, `schemas/${measurement.name}.json field '${field}'`);
}
