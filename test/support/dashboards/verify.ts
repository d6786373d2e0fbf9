/**
 * Checks dashboards the way Grafana would use them, without Grafana: the JSON's structure, then every
 * query run against a real InfluxDB after doing what Grafana's InfluxDB datasource does to it
 * (variables from their own queries, $timeFilter, ${__from}/${__to}, regex-escaped multi values).
 */
import type { InfluxClient, Series } from '../../../lib/influx/influxdb';
import { parseDuration } from '../../../lib/run/slot';
import { DATASOURCE_VARIABLE, type Dashboard, type DatasourceRef, type Panel, type Variable } from '../../../dashboards/grafana';
import { regexEscape } from '../../../dashboards/query';

/** A relative range as Grafana's time picker gives it ("now-6h" to "now"). */
export interface TimeRange {
  /** e.g. "6h", "30d", "1y". */
  label: string;
  fromMs: number;
  toMs: number;
}

const UNIT_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3, y: 365 * 86400e3 };

export function relativeRange(label: string, nowMs: number): TimeRange {
  const match = /^(\d+)([smhdwy])$/.exec(label);
  if (!match) throw new Error(`not a relative range: ${label}`);
  return { label, fromMs: nowMs - Number(match[1]) * UNIT_MS[match[2]], toMs: nowMs };
}

/**
 * Grafana's InfluxQL $timeFilter: "now() - 6h" for now-Nh/d/m/s ranges, epoch ms otherwise (so a
 * year is in ms), always up to now().
 */
export function timeFilter(range: TimeRange): string {
  const match = /^(\d+)([smhd])$/.exec(range.label);
  const from = match ? `now() - ${range.label}` : `${range.fromMs}ms`;
  return `time >= ${from} and time <= now()`;
}

/** Every panel, those inside collapsed rows included. */
export function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

/** The values a variable stands for now: one value, every value ("All"), or chosen ones. */
export type VariableValue = { kind: 'single'; value: string } | { kind: 'all' } | { kind: 'chosen'; values: string[] };

export type VariableValues = Map<string, { variable: Variable; value: VariableValue }>;

/** What Grafana's InfluxDB datasource puts in place of one variable. */
function formatVariable(variable: Variable, value: VariableValue): string {
  if (value.kind === 'all') {
    if (variable.allValue === undefined) throw new Error(`variable ${variable.name}: "All" without an allValue is not emulated`);
    return variable.allValue; // Grafana inserts a custom all value unformatted
  }
  const values = value.kind === 'single' ? [value.value] : value.values;
  if (!variable.multi && !variable.includeAll) return values.join(',');
  return values.length === 1 ? regexEscape(values[0]) : `(${values.map(regexEscape).join('|')})`;
}

/** Replaces $name, ${name} and [[name]] like Grafana's template service; unknown names stay. */
export function interpolate(text: string, values: VariableValues, range: TimeRange): string {
  const builtins: Record<string, string> = { timeFilter: timeFilter(range), __from: String(range.fromMs), __to: String(range.toMs) };
  return text.replace(/\$(\w+)|\$\{(\w+)(?::[\w]+)?\}|\[\[(\w+)\]\]/g, (whole, plain?: string, braced?: string, bracketed?: string) => {
    const name = (plain ?? braced ?? bracketed) as string;
    if (name in builtins) return builtins[name];
    const entry = values.get(name);
    return entry ? formatVariable(entry.variable, entry.value) : whole;
  });
}

/** Any $name, ${name} or [[name]] left: a variable the dashboard does not define. */
export function unresolvedVariables(text: string): string[] {
  return [...text.matchAll(/\$\{?(\w+)|\[\[(\w+)\]\]/g)].map((match) => match[1] ?? match[2]);
}

/** Grafana's metricFindQuery: the second column of each row when there is one (time or tag key comes first), else the first. */
export function variableOptions(series: Series[]): string[] {
  const values: string[] = [];
  for (const one of series) {
    for (const row of one.values) {
      const value = row.length > 1 ? row[1] : row[0];
      if (value !== null && value !== undefined && !values.includes(String(value))) values.push(String(value));
    }
  }
  return values;
}

/**
 * Sets every variable as Grafana would on loading the dashboard with this range: query variables run
 * their query (in order, so later ones may use earlier ones); multi-value ones take "All".
 */
export async function resolveVariables(dashboard: Dashboard, client: InfluxClient, range: TimeRange, datasourceUids: string[]): Promise<{ values: VariableValues; options: Map<string, string[]> }> {
  const values: VariableValues = new Map();
  const options = new Map<string, string[]>();
  for (const variable of dashboard.templating.list) {
    if (variable.type === 'datasource') {
      values.set(variable.name, { variable, value: { kind: 'single', value: datasourceUids[0] } });
    } else if (variable.type === 'textbox' || variable.type === 'custom') {
      values.set(variable.name, { variable, value: { kind: 'single', value: variable.query.split(',')[0] } });
    } else {
      const query = interpolate(variable.query, values, range);
      const [series = []] = await client.query(query);
      const found = variableOptions(series);
      options.set(variable.name, found);
      const value: VariableValue = variable.multi || variable.includeAll ? { kind: 'all' } : { kind: 'single', value: found[0] ?? '' };
      values.set(variable.name, { variable, value });
    }
  }
  return { values, options };
}

/** Database, retention policy and measurement of every "db"."rp"."measurement" a query reads. */
export function qualifiedSources(query: string): Array<{ database: string; rp: string; measurement: string }> {
  const identifier = '"((?:[^"\\\\]|\\\\.)*)"';
  const pattern = new RegExp(`${identifier}\\.${identifier}\\.${identifier}`, 'g');
  return [...query.matchAll(pattern)].map((match) => ({ database: match[1], rp: match[2], measurement: match[3] }));
}

/** The range a panel shows: its own relative range (timeFrom), else the dashboard's. */
export function panelRange(panel: Panel, dashboardRange: TimeRange): TimeRange {
  if (!panel.timeFrom) return dashboardRange;
  return { label: panel.timeFrom, fromMs: dashboardRange.toMs - parseDuration(panel.timeFrom), toMs: dashboardRange.toMs };
}

/** Problems in the JSON itself: uids, datasource references, variables, panel ids, queries present. */
export function structuralProblems(dashboards: Dashboard[], datasourceUids: string[]): string[] {
  const problems: string[] = [];
  const uids = new Set<string>();
  for (const dashboard of dashboards) {
    const where = `${dashboard.uid ?? '(no uid)'}`;
    if (!dashboard.uid || !/^[a-zA-Z0-9_-]{1,40}$/.test(dashboard.uid)) problems.push(`${where}: uid missing or not a valid Grafana uid`);
    if (uids.has(dashboard.uid)) problems.push(`${where}: uid used by another dashboard`);
    uids.add(dashboard.uid);
    if (!dashboard.title) problems.push(`${where}: no title`);
    const variables = new Map(dashboard.templating.list.map((variable) => [variable.name, variable]));
    const checkRef = (ref: DatasourceRef | undefined, what: string): void => {
      if (!ref) {
        problems.push(`${where}: ${what} has no datasource`);
        return;
      }
      const variableName = /^\$\{(\w+)\}$|^\$(\w+)$/.exec(ref.uid);
      if (variableName) {
        const variable = variables.get(variableName[1] ?? variableName[2]);
        if (!variable || variable.type !== 'datasource') problems.push(`${where}: ${what} uses datasource variable ${ref.uid}, which is not a datasource variable`);
        else if (variable.query !== ref.type) problems.push(`${where}: ${what} wants a ${ref.type} datasource, ${ref.uid} lists ${variable.query}`);
        else if (!('value' in variable.current) || !datasourceUids.includes(variable.current.value)) problems.push(`${where}: ${ref.uid} defaults to no provisioned datasource`);
      } else if (!datasourceUids.includes(ref.uid)) {
        problems.push(`${where}: ${what} uses datasource uid '${ref.uid}', which is not provisioned`);
      }
    };
    for (const variable of dashboard.templating.list) {
      const hasValues = variable.options.length > 0 || variable.query.trim() !== '';
      if (!hasValues) problems.push(`${where}: variable ${variable.name} has neither a query nor values`);
      if (variable.type === 'query') checkRef(variable.datasource, `variable ${variable.name}`);
      if (variable.type === 'datasource' && variable.name !== DATASOURCE_VARIABLE) problems.push(`${where}: unexpected datasource variable ${variable.name}`);
    }
    const ids = new Set<number>();
    for (const panel of allPanels(dashboard.panels)) {
      const what = `panel ${panel.id} "${panel.title}"`;
      if (ids.has(panel.id)) problems.push(`${where}: ${what}: id used twice`);
      ids.add(panel.id);
      if (panel.type === 'row' || panel.type === 'text' || panel.type === 'dashlist') continue;
      checkRef(panel.datasource, what);
      if (!panel.targets?.length) problems.push(`${where}: ${what} has no query`);
      for (const target of panel.targets ?? []) {
        checkRef(target.datasource, `${what} query ${target.refId}`);
        if (!target.query.trim()) problems.push(`${where}: ${what} query ${target.refId} is empty`);
      }
    }
  }
  return problems;
}

/** The outcome of one panel query at one range. */
export interface QueryCheck {
  dashboard: string;
  panel: string;
  refId: string;
  range: string;
  query: string;
  /** Retention policies the query reads, and the one meant for the panel's range. */
  rps: string[];
  expectedRp: string;
  series: number;
  error?: string;
}

/** Runs every query of a dashboard at one range; `expectedRp` says which RP a range of that length must read. */
export async function checkQueries(
  dashboard: Dashboard,
  client: InfluxClient,
  range: TimeRange,
  datasourceUids: string[],
  expectedRp: (rangeMs: number) => string,
): Promise<QueryCheck[]> {
  const { values } = await resolveVariables(dashboard, client, range, datasourceUids);
  const checks: QueryCheck[] = [];
  for (const panel of allPanels(dashboard.panels)) {
    const shown = panelRange(panel, range);
    for (const target of panel.targets ?? []) {
      const query = interpolate(target.query, values, shown);
      const check: QueryCheck = {
        dashboard: dashboard.uid,
        panel: panel.title,
        refId: target.refId,
        range: range.label,
        query,
        rps: [...new Set(qualifiedSources(query).map((source) => source.rp))],
        expectedRp: expectedRp(shown.toMs - shown.fromMs),
        series: 0,
      };
      const unresolved = unresolvedVariables(query);
      if (unresolved.length) check.error = `unresolved variables: ${unresolved.join(', ')}`;
      else {
        try {
          const [series = []] = await client.query(query);
          check.series = series.filter((one) => one.values.length > 0).length;
        } catch (error) {
          check.error = (error as Error).message;
        }
      }
      checks.push(check);
    }
  }
  return checks;
}

/** What is wrong with a check: an error, the wrong RP, or nothing returned. */
export function checkFailures(check: QueryCheck): string[] {
  const where = `${check.dashboard} / ${check.panel} / ${check.refId} at ${check.range}`;
  const failures: string[] = [];
  if (check.error) failures.push(`${where}: ${check.error}`);
  if (check.rps.length === 0) failures.push(`${where}: reads no "db"."rp"."measurement": ${check.query}`);
  if (check.rps.some((rp) => rp !== check.expectedRp)) failures.push(`${where}: reads ${check.rps.join(', ')} instead of ${check.expectedRp}: ${check.query}`);
  if (!check.error && check.series === 0) failures.push(`${where}: no data: ${check.query}`);
  return failures;
}

/** A query's answer as the rows of Grafana's table: each row with its group's tags and its columns by name. */
export function tableRows(series: Series[]): Array<Record<string, unknown>> {
  return series.flatMap((one) => one.values.map((values) => ({ ...one.tags, ...Object.fromEntries(one.columns.map((column, index) => [column, values[index]])) })));
}

/** The panel titled `title` (inside rows too), run as Grafana would with every variable at "All" unless `chosen`: one answer per target. */
export async function runPanel(
  dashboard: Dashboard,
  title: string,
  client: InfluxClient,
  range: TimeRange,
  datasourceUids: string[],
  chosen: Record<string, string[]> = {},
): Promise<{ panel: Panel; results: Series[][] }> {
  const panel = allPanels(dashboard.panels).find((one) => one.title === title);
  if (!panel?.targets) throw new Error(`${dashboard.uid} has no panel "${title}" with queries`);
  const { values } = await resolveVariables(dashboard, client, range, datasourceUids);
  for (const [name, picked] of Object.entries(chosen)) {
    const entry = values.get(name);
    if (!entry) throw new Error(`${dashboard.uid} has no variable ${name}`);
    values.set(name, { variable: entry.variable, value: { kind: 'chosen', values: picked } });
  }
  const results: Series[][] = [];
  for (const target of panel.targets) {
    const [series = []] = await client.query(interpolate(target.query, values, panelRange(panel, range)));
    results.push(series);
  }
  return { panel, results };
}
