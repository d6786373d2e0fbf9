/** Assembles module dashboards and the overview from the module definitions and the schema registry. */
import type { SchemaRegistry } from '../lib/documents/schemas';
import {
  allDashboardsLink,
  DASHBOARD_TAG,
  dashboardLink,
  datasourceVariable,
  queryVariable,
  STATUS_MAPPINGS,
  textboxVariable,
  type Dashboard,
  type DashboardLink,
  type Panel,
  type Variable,
} from './grafana';
import { genericPanels } from './generic';
import type { FilterSpec, ModuleDashboard } from './module';
import { Layout, type PanelSpec } from './panels';
import { Measurement, tagValuesQuery } from './query';
import { RETENTION_VARIABLES, retentionVariableQuery } from '../downsample/retentions';
import { DEFAULT_GATEWAY_LISTEN } from '../gateway/settings';
import { MONIT_COLLECTORS_STATUS } from '../schemas/kinds';

export const OVERVIEW_UID = 'monit-overview';
/** The status job's documents, which the status panels read. */
const STATUS = MONIT_COLLECTORS_STATUS;
export const GATEWAY_URL_VARIABLE = 'gateway_url';
const SCHEMA_VERSION = 39;

/** $rp, $resolution and $resolution_s: set from the retentions measurement whenever the time range changes. */
function retentionVariables(): Variable[] {
  return Object.entries(RETENTION_VARIABLES).map(([name, column]) => queryVariable(name, retentionVariableQuery(column), { hidden: true, refreshOnTimeChange: true }));
}

function filterVariables(filters: FilterSpec[]): Variable[] {
  return filters.map((filter) => queryVariable(filter.tag, tagValuesQuery(filter.from, filter.tag), { multi: true }));
}

function dashboardShell(uid: string, title: string, description: string, variables: Variable[], links: DashboardLink[], panels: Panel[], tags: string[]): Dashboard {
  return {
    id: null,
    uid,
    title,
    description,
    tags: [DASHBOARD_TAG, ...tags],
    timezone: 'utc',
    editable: true,
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    refresh: '5m',
    time: { from: 'now-6h', to: 'now' },
    links,
    templating: { list: [datasourceVariable(), ...retentionVariables(), ...variables] },
    annotations: { list: [] },
    panels,
  };
}

/** The module's current status, linked to its dashboard, from the status job's documents. */
function statusPanel(status: Measurement, module: ModuleDashboard, width: number): PanelSpec {
  return {
    kind: 'stat',
    title: module.title,
    description: `Status of ${module.statusModules.join(', ')} decided by the status job (newest in the last hour).`,
    queries: [{ measurement: status, select: [{ fn: 'last', field: STATUS.fields.code }], where: [{ key: STATUS.tags.module, oneOf: module.statusModules }], groupBy: [STATUS.tags.module], alias: '$tag_module' }],
    timeFrom: '1h',
    mappings: STATUS_MAPPINGS,
    links: [{ title: `${module.title} dashboard`, url: `/d/${module.uid}?\${__url_time_range}` }],
    width,
    height: 4,
  };
}

export function moduleDashboard(module: ModuleDashboard, registry: SchemaRegistry): Dashboard {
  const content = module.build(registry);
  const status = Measurement.of(registry, MONIT_COLLECTORS_STATUS);
  const filters = content.filters.map((filter) => filter.tag);
  const layout = new Layout();
  if (module.statusModules.length) layout.add(statusPanel(status, module, 24), filters);
  for (const spec of content.panels) layout.add(spec, filters);
  const kinds = [...module.kinds].sort((a, b) => `${a.producer}/${a.type}`.localeCompare(`${b.producer}/${b.type}`));
  for (const kind of kinds) {
    const measurement = Measurement.of(registry, kind);
    const schema = measurement.schema;
    const groupBy = content.genericGroupBy?.[schema.type];
    layout.row(`Every field of ${measurement.name}`, { collapsed: true, specs: genericPanels(measurement, groupBy), filters });
  }
  const links = [dashboardLink('Overview', `/d/${OVERVIEW_UID}`), allDashboardsLink()];
  const producers = [...new Set(module.kinds.map((kind) => kind.producer))];
  return dashboardShell(module.uid, module.title, module.description, filterVariables(content.filters), links, layout.panels, producers);
}

/** Status of every module, key numbers, and links to every module dashboard and to the gateway's status page. */
export function overviewDashboard(modules: ModuleDashboard[], registry: SchemaRegistry): Dashboard {
  const status = Measurement.of(registry, MONIT_COLLECTORS_STATUS);
  const statusPage = `\${${GATEWAY_URL_VARIABLE}}/status`;
  const layout = new Layout();
  layout.row('Modules');
  for (const module of modules.filter((one) => one.statusModules.length)) layout.add(statusPanel(status, module, 6), []);
  layout.add(
    {
      kind: 'table',
      title: 'Every module',
      description: 'The newest decision of the status job for every module it reports, with its reason.',
      queries: [{ measurement: status, select: [{ fn: 'last', field: STATUS.fields.status }, { fn: 'last', field: STATUS.fields.reason }], groupBy: [STATUS.tags.module], format: 'table' }],
      timeFrom: '1h',
      links: [{ title: 'Status page', url: statusPage, targetBlank: true }],
      width: 24,
    },
    [],
  );
  layout.add(
    {
      kind: 'state-timeline',
      title: 'Status over time',
      queries: [{ measurement: status, select: [{ fn: 'max', field: STATUS.fields.code }], groupBy: [STATUS.tags.module], alias: '$tag_module' }],
      mappings: STATUS_MAPPINGS,
      width: 24,
      height: 9,
    },
    [],
  );
  layout.row('Key numbers');
  for (const module of modules) {
    for (const spec of module.build(registry).keyNumbers) layout.add({ ...spec, links: [{ title: `${module.title} dashboard`, url: `/d/${module.uid}?\${__url_time_range}` }] }, []);
  }
  const links = [
    ...modules.map((module) => dashboardLink(module.title, `/d/${module.uid}`)),
    dashboardLink('Status page', statusPage, { external: true }),
  ];
  const gateway = textboxVariable(GATEWAY_URL_VARIABLE, 'Gateway URL', `http://${DEFAULT_GATEWAY_LISTEN}`);
  return dashboardShell(OVERVIEW_UID, 'MONIT overview', 'Status of every module, key numbers, and links to the module dashboards and the status page.', [gateway], links, layout.panels, ['overview']);
}

/** Every dashboard, overview first. Throws, naming it, when a schema, field or tag a panel reads is missing. */
export function generateDashboards(modules: ModuleDashboard[], registry: SchemaRegistry): Dashboard[] {
  return [overviewDashboard(modules, registry), ...modules.map((module) => moduleDashboard(module, registry))];
}
