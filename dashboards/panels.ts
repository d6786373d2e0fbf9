/** Panel specifications (what the module definitions write) and their rendering into Grafana panels. */
import { parseDuration } from '../lib/run/slot';
import { datasourceRef, type GridPos, type Link, type Panel, type Target, type ValueMapping } from './grafana';
import { renderQuery, VARIABLE_TIME, type QuerySpec, type TimeContext } from './query';
import { retentionFor } from '../downsample/retentions';

export type PanelKind = 'timeseries' | 'stat' | 'table' | 'state-timeline';

export interface PanelSpec {
  kind: PanelKind;
  title: string;
  description?: string;
  unit?: string;
  decimals?: number;
  queries: QuerySpec[];
  /** A fixed relative range such as "1h" (current values): the panel then reads the RP meant for that range. */
  timeFrom?: string;
  mappings?: ValueMapping[];
  /** Stat panels: how the buckets become one number (default: the newest). */
  reduce?: 'lastNotNull' | 'sum';
  /** Links on the values (data links) and in the panel header. */
  links?: Link[];
  /** Tables: the column (a selection's alias or field, or a tag) rows are sorted by; the viewer can re-sort. */
  sortBy?: { column: string; descending?: boolean };
  /** Tables: a matrix (Grafana's groupingToMatrix) of the first selection, rows and columns from two tags the query groups by. */
  matrix?: { rows: string; columns: string };
  /** Units of single columns (tables) or series (by their display name), where they differ from `unit`. */
  columnUnits?: Record<string, string>;
  /** Time series: stacked lines; 'percent' shows each series' share of their total at each time. */
  stacking?: 'normal' | 'percent';
  width?: number;
  height?: number;
}

/** The RP, buckets and bucket length a panel uses: fixed when it has its own range, else the dashboard's variables. */
export function panelTime(spec: Pick<PanelSpec, 'timeFrom'>): TimeContext {
  if (!spec.timeFrom) return VARIABLE_TIME;
  const choice = retentionFor(parseDuration(spec.timeFrom));
  return { rp: choice.rp, interval: choice.interval, intervalSeconds: String(choice.intervalSeconds) };
}

const PANEL_OPTIONS: Record<PanelKind, Record<string, unknown>> = {
  timeseries: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
  stat: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', graphMode: 'none', textMode: 'value_and_name', orientation: 'auto', justifyMode: 'auto' },
  table: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } },
  'state-timeline': { showValue: 'auto', mergeValues: true, rowHeight: 0.9, alignValue: 'center', legend: { showLegend: false, displayMode: 'list', placement: 'bottom' } },
};

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Column names a table shows: the tags it groups by and the selections (by alias, else field). */
export function panelColumns(spec: Pick<PanelSpec, 'queries'>): string[] {
  return [...new Set(spec.queries.flatMap((query) => [...(query.groupBy ?? []), ...query.select.map((selection) => selection.alias ?? selection.field)]))];
}

function timeseriesStyle(stacking: PanelSpec['stacking']): Record<string, unknown> {
  const style = { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, spanNulls: true, showPoints: 'never' };
  // Stacked areas need a fill to read; group A stacks every series of the panel together.
  return stacking ? { ...style, fillOpacity: 40, stacking: { mode: stacking, group: 'A' } } : style;
}

function panelOptions(spec: PanelSpec): Record<string, unknown> {
  if (spec.kind === 'stat') return { ...PANEL_OPTIONS.stat, reduceOptions: { calcs: [spec.reduce ?? 'lastNotNull'], fields: '', values: false } };
  if (spec.kind === 'table' && spec.sortBy) return { ...PANEL_OPTIONS.table, sortBy: [{ displayName: spec.sortBy.column, desc: Boolean(spec.sortBy.descending) }] };
  return PANEL_OPTIONS[spec.kind];
}

/** Turns the rows of a one-query table into a matrix: one row per value of `rows`, one column per value of `columns`. */
function matrixTransformation(spec: PanelSpec, matrix: NonNullable<PanelSpec['matrix']>): { id: string; options: Record<string, unknown> } {
  const [query, ...others] = spec.queries;
  const groups = query?.groupBy ?? [];
  if (spec.kind !== 'table' || others.length > 0 || query.format !== 'table') throw new Error(`dashboards: panel "${spec.title}": only a table of one table query is a matrix`);
  for (const tag of [matrix.rows, matrix.columns]) {
    if (!groups.includes(tag)) throw new Error(`dashboards: panel "${spec.title}": matrix tag '${tag}' is not one its query groups by (${groups.join(', ')})`);
  }
  const value = query.select[0].alias ?? query.select[0].field;
  // Empty cells stay empty (null), never 0: no probe is not a zero rate.
  return { id: 'groupingToMatrix', options: { rowField: matrix.rows, columnField: matrix.columns, valueField: value, emptyValue: 'null' } };
}

export function renderPanel(spec: PanelSpec, filters: string[], id: number, gridPos: GridPos): Panel {
  const time = panelTime(spec);
  const targets: Target[] = spec.queries.map((query, index) => ({
    refId: REF_IDS[index],
    datasource: datasourceRef,
    rawQuery: true,
    query: renderQuery(query, filters, time),
    resultFormat: query.format ?? 'time_series',
    ...(query.alias ? { alias: query.alias } : {}),
  }));
  if (spec.sortBy && spec.kind !== 'table') throw new Error(`dashboards: panel "${spec.title}": only a table sorts by a column`);
  if (spec.stacking && spec.kind !== 'timeseries') throw new Error(`dashboards: panel "${spec.title}": only a time series stacks`);
  if (spec.sortBy && !panelColumns(spec).includes(spec.sortBy.column)) {
    throw new Error(`dashboards: panel "${spec.title}" sorts by '${spec.sortBy.column}', which is none of its columns (${panelColumns(spec).join(', ')})`);
  }
  const panel: Panel = {
    id,
    type: spec.kind,
    title: spec.title,
    ...(spec.description ? { description: spec.description } : {}),
    gridPos,
    datasource: datasourceRef,
    targets,
    fieldConfig: {
      defaults: {
        unit: spec.unit ?? 'short',
        ...(spec.decimals !== undefined ? { decimals: spec.decimals } : {}),
        ...(spec.mappings ? { mappings: spec.mappings, color: { mode: 'thresholds' } } : {}),
        ...(spec.links ? { links: spec.links } : {}),
        ...(spec.kind === 'timeseries' ? { custom: timeseriesStyle(spec.stacking) } : {}),
      },
      overrides: Object.entries(spec.columnUnits ?? {}).map(([name, unit]) => ({ matcher: { id: 'byName', options: name }, properties: [{ id: 'unit', value: unit }] })),
    },
    options: panelOptions(spec),
  };
  if (spec.timeFrom) panel.timeFrom = spec.timeFrom;
  if (spec.links) panel.links = spec.links;
  // Checked whatever the kind: a matrix asked of another panel is an error, not ignored.
  const matrix = spec.matrix ? [matrixTransformation(spec, spec.matrix)] : [];
  if (spec.kind === 'table') panel.transformations = [{ id: 'merge', options: {} }, ...matrix];
  return panel;
}

/** Places panels left to right on Grafana's 24-column grid, and rows below them. */
export class Layout {
  readonly panels: Panel[] = [];
  private x = 0;
  private y = 0;
  private rowHeight = 0;
  private readonly nextId: () => number;

  constructor(nextId?: () => number, startY = 0) {
    let id = 0;
    this.nextId = nextId ?? (() => ++id);
    this.y = startY;
  }

  private place(width: number, height: number): GridPos {
    if (this.x + width > 24) this.newLine();
    const position = { x: this.x, y: this.y, w: width, h: height };
    this.x += width;
    this.rowHeight = Math.max(this.rowHeight, height);
    return position;
  }

  private newLine(): void {
    this.y += this.rowHeight;
    this.x = 0;
    this.rowHeight = 0;
  }

  add(spec: PanelSpec, filters: string[]): void {
    const gridPos = this.place(spec.width ?? 12, spec.height ?? 8);
    this.panels.push(renderPanel(spec, filters, this.nextId(), gridPos));
  }

  /** A row; a collapsed one holds its panels and takes one grid line until opened. */
  row(title: string, options: { collapsed?: boolean; specs?: PanelSpec[]; filters?: string[] } = {}): void {
    if (this.x > 0) this.newLine();
    const row: Panel = { id: this.nextId(), type: 'row', title, gridPos: { x: 0, y: this.y, w: 24, h: 1 }, collapsed: Boolean(options.collapsed), panels: [] };
    this.panels.push(row);
    this.y += 1;
    if (!options.collapsed) return;
    const inner = new Layout(this.nextId, this.y);
    for (const spec of options.specs ?? []) inner.add(spec, options.filters ?? []);
    row.panels = inner.panels;
  }
}
