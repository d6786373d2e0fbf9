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

/** The dashboards showing the same status modules: the overview gives them one light, linked to each. */
interface StatusGroup {
  statusModules: string[];
  dashboards: ModuleDashboard[];
}

function statusGroups(modules: ModuleDashboard[]): StatusGroup[] {
  const groups = new Map<string, StatusGroup>();
  for (const module of modules.filter((one) => one.statusModules.length)) {
    const key = [...module.statusModules].sort().join('\n');
    const group = groups.get(key) ?? { statusModules: module.statusModules, dashboards: [] };
    group.dashboards.push(module);
    groups.set(key, group);
  }
  return [...groups.values()];
}

function dashboardPanelLink(module: ModuleDashboard): { title: string; url: string } {
  return { title: `${module.title} dashboard`, url: `/d/${module.uid}?\${__url_time_range}` };
}

/** The current status of the group's modules, titled after its first dashboard and linked to each, from the status job's documents. */
function statusPanel(status: Measurement, group: StatusGroup, width: number): PanelSpec {
  return {
    kind: 'stat',
    title: group.dashboards[0].title,
    description: `Status of ${group.statusModules.join(', ')} decided by the status job (newest in the last hour).`,
    queries: [{ measurement: status, select: [{ fn: 'last', field: STATUS.fields.code }], where: [{ key: STATUS.tags.module, oneOf: group.statusModules }], groupBy: [STATUS.tags.module], alias: '$tag_module' }],
    timeFrom: '1h',
    mappings: STATUS_MAPPINGS,
    links: group.dashboards.map(dashboardPanelLink),
    width,
    height: 4,
  };
}

/** One module dashboard; `siblings` are the other dashboards of its source, linked from its top bar. */
export function moduleDashboard(module: ModuleDashboard, registry: SchemaRegistry, siblings: ModuleDashboard[] = []): Dashboard {
  const content = module.build(registry);
  const status = Measurement.of(registry, MONIT_COLLECTORS_STATUS);
  const filters = content.filters.map((filter) => filter.tag);
  const layout = new Layout();
  if (module.statusModules.length) layout.add(statusPanel(status, { statusModules: module.statusModules, dashboards: [module] }, 24), filters);
  for (const spec of content.panels) {
    if (spec.kind === 'row') layout.row(spec.title);
    else layout.add(spec, filters);
  }
  const kinds = [...module.kinds].sort((a, b) => `${a.producer}/${a.type}`.localeCompare(`${b.producer}/${b.type}`));
  for (const kind of kinds) {
    const measurement = Measurement.of(registry, kind);
    const schema = measurement.schema;
    const groupBy = content.genericGroupBy?.[schema.type];
    const exclude = content.genericExclude?.[schema.type];
    layout.row(`Every field of ${measurement.name}`, { collapsed: true, specs: genericPanels(measurement, groupBy, exclude), filters });
  }
  const links = [dashboardLink('Overview', `/d/${OVERVIEW_UID}`), ...siblings.map((sibling) => dashboardLink(sibling.title, `/d/${sibling.uid}`)), allDashboardsLink()];
  // Tagged with the producers it reads; one without regular panels by its source.
  const producers = [...new Set(module.kinds.map((kind) => kind.producer))];
  const tags = producers.length || !module.source ? producers : [module.source];
  return dashboardShell(module.uid, module.title, module.description, filterVariables(content.filters), links, layout.panels, tags);
}

/** Status of every module, key numbers, and links to every module dashboard and to the gateway's status page. */
export function overviewDashboard(modules: ModuleDashboard[], registry: SchemaRegistry): Dashboard {
  const status = Measurement.of(registry, MONIT_COLLECTORS_STATUS);
  const statusPage = `\${${GATEWAY_URL_VARIABLE}}/status`;
  const layout = new Layout();
  layout.row('Modules');
  for (const group of statusGroups(modules)) layout.add(statusPanel(status, group, 6), []);
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
    for (const spec of module.build(registry).keyNumbers) layout.add({ ...spec, links: [dashboardPanelLink(module)] }, []);
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
  const siblings = (module: ModuleDashboard): ModuleDashboard[] => modules.filter((other) => other.source !== undefined && other.source === module.source && other.uid !== module.uid);
  return [overviewDashboard(modules, registry), ...modules.map((module) => moduleDashboard(module, registry, siblings(module)))];
}
