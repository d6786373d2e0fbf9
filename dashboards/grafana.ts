/** The part of Grafana's dashboard JSON model these dashboards use (schemaVersion 39, Grafana 10 and 11). */

export const DATASOURCE_TYPE = 'influxdb';
/** The provisioned datasource (dashboards/provisioning/datasources/monit-influxdb.yaml). */
export const DATASOURCE_UID = 'monit-influxdb';
export const DATASOURCE_NAME = 'MONIT InfluxDB';
/** Every dashboard lets the viewer pick any InfluxDB datasource; the provisioned one is the default. */
export const DATASOURCE_VARIABLE = 'datasource';
export const DASHBOARD_TAG = 'monit-collectors';

export interface DatasourceRef {
  type: string;
  uid: string;
}

export const datasourceRef: DatasourceRef = { type: DATASOURCE_TYPE, uid: `\${${DATASOURCE_VARIABLE}}` };

export interface Target {
  refId: string;
  datasource: DatasourceRef;
  rawQuery: true;
  query: string;
  resultFormat: 'time_series' | 'table';
  alias?: string;
}

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Link {
  title: string;
  url: string;
  targetBlank?: boolean;
}

export interface ValueMapping {
  type: 'value';
  options: Record<string, { text: string; color: string; index: number }>;
}

/** Settings of the fields (columns, series) a matcher picks, e.g. another unit for one column. */
export interface FieldOverride {
  matcher: { id: 'byName'; options: string };
  properties: Array<{ id: string; value: unknown }>;
}

export interface FieldConfig {
  defaults: {
    unit?: string;
    decimals?: number;
    min?: number;
    max?: number;
    mappings?: ValueMapping[];
    links?: Link[];
    color?: { mode: string };
    thresholds?: { mode: 'absolute'; steps: Array<{ color: string; value: number | null }> };
    custom?: Record<string, unknown>;
  };
  overrides: FieldOverride[];
}

export interface Panel {
  id: number;
  type: 'timeseries' | 'stat' | 'table' | 'state-timeline' | 'row' | 'text' | 'dashlist';
  title: string;
  description?: string;
  gridPos: GridPos;
  datasource?: DatasourceRef;
  targets?: Target[];
  fieldConfig?: FieldConfig;
  options?: Record<string, unknown>;
  /** Panel's own relative time range (e.g. "1h"), overriding the dashboard's. */
  timeFrom?: string;
  links?: Link[];
  transformations?: Array<{ id: string; options: Record<string, unknown> }>;
  /** Rows only: whether the row starts folded, and then the panels it holds. */
  collapsed?: boolean;
  panels?: Panel[];
}

export interface VariableOption {
  text: string;
  value: string;
}

export interface Variable {
  name: string;
  label?: string;
  type: 'query' | 'datasource' | 'textbox' | 'custom';
  /** 0 shown, 2 hidden. */
  hide: 0 | 2;
  query: string;
  datasource?: DatasourceRef;
  definition?: string;
  /** Query variables: 1 on dashboard load, 2 on time range change. */
  refresh?: 1 | 2;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  sort?: number;
  regex?: string;
  current: VariableOption | Record<string, never>;
  options: VariableOption[];
}

export interface DashboardLink {
  title: string;
  type: 'link' | 'dashboards';
  url: string;
  tags: string[];
  asDropdown: boolean;
  icon: string;
  targetBlank: boolean;
  includeVars: boolean;
  keepTime: boolean;
}

export interface Dashboard {
  id: null;
  uid: string;
  title: string;
  description: string;
  tags: string[];
  timezone: 'utc';
  editable: boolean;
  schemaVersion: number;
  version: number;
  refresh: string;
  time: { from: string; to: string };
  links: DashboardLink[];
  templating: { list: Variable[] };
  annotations: { list: unknown[] };
  panels: Panel[];
}

/** A link in a dashboard's top bar. */
export function dashboardLink(title: string, url: string, options: { external?: boolean } = {}): DashboardLink {
  return {
    title,
    type: 'link',
    url,
    tags: [],
    asDropdown: false,
    icon: options.external ? 'external link' : 'dashboard',
    targetBlank: Boolean(options.external),
    includeVars: false,
    keepTime: !options.external,
  };
}

/** The drop-down of every dashboard tagged monit-collectors. */
export function allDashboardsLink(): DashboardLink {
  return { title: 'Dashboards', type: 'dashboards', url: '', tags: [DASHBOARD_TAG], asDropdown: true, icon: 'external link', targetBlank: false, includeVars: false, keepTime: true };
}

export function datasourceVariable(): Variable {
  return {
    name: DATASOURCE_VARIABLE,
    label: 'Data source',
    type: 'datasource',
    hide: 0,
    query: DATASOURCE_TYPE,
    regex: '',
    current: { text: DATASOURCE_NAME, value: DATASOURCE_UID },
    options: [],
  };
}

/** A variable filled by an InfluxQL query. */
export function queryVariable(name: string, query: string, options: { label?: string; hidden?: boolean; refreshOnTimeChange?: boolean; multi?: boolean } = {}): Variable {
  const multi = Boolean(options.multi);
  return {
    name,
    label: options.label ?? name,
    type: 'query',
    hide: options.hidden ? 2 : 0,
    datasource: datasourceRef,
    query,
    definition: query,
    refresh: options.refreshOnTimeChange ? 2 : 1,
    multi,
    includeAll: multi,
    // "All" becomes /^.*$/, which also matches series without the tag, instead of a list of every value.
    ...(multi ? { allValue: '.*' } : {}),
    sort: 1,
    regex: '',
    current: multi ? { text: 'All', value: '$__all' } : {},
    options: [],
  };
}

export function textboxVariable(name: string, label: string, value: string): Variable {
  return { name, label, type: 'textbox', hide: 0, query: value, current: { text: value, value }, options: [{ text: value, value }] };
}

/** Status codes as the status job writes them (schemas/monit-collectors/status.json `code`). */
export const STATUS_MAPPINGS: ValueMapping[] = [
  {
    type: 'value',
    options: {
      '0': { text: 'available', color: 'green', index: 0 },
      '1': { text: 'degraded', color: 'orange', index: 1 },
      '2': { text: 'unavailable', color: 'red', index: 2 },
      '3': { text: 'N/A', color: 'gray', index: 3 },
    },
  },
];
