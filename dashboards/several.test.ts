/** Several dashboards per source, and the panel options they need (table sort, column units, stacking, ratios). */
import type { Source } from '../collectors/source';
import { schemaRegistry } from '../lib/documents/schemas';
import { MONIT_COLLECTORS_RUN, PANDA_DATADISKS, PANDA_FEDERATIONS, PANDA_JOBS, PANDA_JOBS_DERIVED } from '../schemas/kinds';
import { generateDashboards, OVERVIEW_UID } from './dashboard';
import { checkedInDashboardFiles } from './generate';
import type { Dashboard, Panel } from './grafana';
import { defineDashboard, matrix, series, table, type DashboardDefinition } from './module';
import { moduleDashboards } from './modules';
import { renderPanel, type PanelSpec } from './panels';
import { genericPanels } from './generic';
import { Measurement, renderQuery, VARIABLE_TIME } from './query';
import { allPanels } from '../test/support/dashboards/verify';

const registry = schemaRegistry();
const run = Measurement.of(registry, MONIT_COLLECTORS_RUN);

function runDashboard(uid: string, title: string, extra: Partial<DashboardDefinition> = {}): DashboardDefinition {
  return defineDashboard({
    uid,
    title,
    description: `${title} of the test`,
    build: () => ({ filters: [], panels: [series(`${title} errors`, 'short', [{ measurement: run, select: [{ fn: 'sum', field: 'errors' }] }])], keyNumbers: [] }),
    ...extra,
  });
}

function fakeSource(name: string, dashboards: DashboardDefinition | readonly DashboardDefinition[]): Pick<Source, 'name' | 'definition'> {
  return {
    name,
    definition: {
      description: `${name} source of the test`,
      produces: [MONIT_COLLECTORS_RUN],
      collector: () => {
        throw new Error('not run');
      },
      dashboard: () => ({ default: dashboards }),
    },
  };
}

function byUid(dashboards: Dashboard[], uid: string): Dashboard {
  const found = dashboards.find((dashboard) => dashboard.uid === uid);
  if (!found) throw new Error(`no dashboard ${uid} among ${dashboards.map((one) => one.uid).join(', ')}`);
  return found;
}

/** The overview's status lights: stat panels reading the status measurement. */
function statusLights(overview: Dashboard): Panel[] {
  return overview.panels.filter((panel) => panel.type === 'stat' && panel.targets?.[0].query.includes('"status"'));
}

describe('a source with several dashboards', () => {
  const sources = [
    fakeSource('alpha', [runDashboard('alpha-main', 'Alpha'), runDashboard('alpha-detail', 'Alpha detail', { kinds: [] }), runDashboard('alpha-other', 'Alpha other', { statusModules: ['alpha-other'], kinds: [] })]),
    fakeSource('beta', runDashboard('beta-main', 'Beta')),
  ];
  const modules = moduleDashboards(sources);
  const dashboards = generateDashboards(modules, registry);

  test('gets one dashboard per definition, in its order, with the source defaults filled in', () => {
    expect(modules.map((module) => [module.uid, module.source, module.statusModules, module.kinds.length])).toEqual([
      ['alpha-main', 'alpha', ['alpha'], 1],
      ['alpha-detail', 'alpha', ['alpha'], 0],
      ['alpha-other', 'alpha', ['alpha-other'], 0],
      ['beta-main', 'beta', ['beta'], 1],
      ['monit-jobs', undefined, [], 1],
    ]);
    expect(dashboards.map((dashboard) => dashboard.uid)).toEqual([OVERVIEW_UID, 'alpha-main', 'alpha-detail', 'alpha-other', 'beta-main', 'monit-jobs']);
  });

  test('each dashboard shows its own status light and links to the other dashboards of its source only', () => {
    const links = (uid: string): string[] => byUid(dashboards, uid).links.filter((link) => link.type === 'link').map((link) => link.url);
    expect(links('alpha-main')).toEqual([`/d/${OVERVIEW_UID}`, '/d/alpha-detail', '/d/alpha-other']);
    expect(links('alpha-detail')).toEqual([`/d/${OVERVIEW_UID}`, '/d/alpha-main', '/d/alpha-other']);
    expect(links('beta-main')).toEqual([`/d/${OVERVIEW_UID}`]);
    const light = (uid: string): string => byUid(dashboards, uid).panels[0].targets?.[0].query ?? '';
    expect(light('alpha-detail')).toContain('"module" =~ /^(alpha)$/');
    expect(light('alpha-other')).toContain('"module" =~ /^(alpha-other)$/');
    // Regular panels only where the definition keeps its kinds.
    const rows = (uid: string): string[] => byUid(dashboards, uid).panels.filter((panel) => panel.type === 'row').map((panel) => panel.title);
    expect(rows('alpha-main')).toEqual(['Every field of monit-collectors/run']);
    expect(rows('alpha-detail')).toEqual([]);
  });

  test('the overview lists every dashboard and gives one light per set of status modules, linked to each dashboard showing it', () => {
    const overview = byUid(dashboards, OVERVIEW_UID);
    expect(overview.links.filter((link) => link.type === 'link').map((link) => link.url)).toEqual(
      expect.arrayContaining(['/d/alpha-main', '/d/alpha-detail', '/d/alpha-other', '/d/beta-main', '/d/monit-jobs']),
    );
    const lights = statusLights(overview);
    expect(lights.map((panel) => [panel.title, panel.links?.map((link) => link.url)])).toEqual([
      ['Alpha', ['/d/alpha-main?${__url_time_range}', '/d/alpha-detail?${__url_time_range}']],
      ['Alpha other', ['/d/alpha-other?${__url_time_range}']],
      ['Beta', ['/d/beta-main?${__url_time_range}']],
    ]);
  });

  test('a uid defined twice, or an empty list, is an error naming where', () => {
    expect(() => moduleDashboards([fakeSource('alpha', runDashboard('same', 'A')), fakeSource('beta', [runDashboard('other', 'B'), runDashboard('same', 'C')])])).toThrow(
      "uid 'same' is defined by collectors/alpha/dashboard and by collectors/beta/dashboard",
    );
    expect(() => moduleDashboards([fakeSource('alpha', [])])).toThrow('collectors/alpha/dashboard default-exports an empty list of dashboards');
  });
});

describe('the PanDA dashboards', () => {
  const checkedIn = [...checkedInDashboardFiles().values()].map((text) => JSON.parse(text) as Dashboard);
  const uids = ['monit-panda', 'monit-panda-jobs', 'monit-panda-suspicious', 'monit-panda-daod'];

  test('are four, checked in, each starting with the light of the status module that links to it', () => {
    expect(moduleDashboards().filter((module) => module.source === 'panda').map((module) => module.uid)).toEqual(uids);
    const light = (uid: string): string => byUid(checkedIn, uid).panels[0].targets?.[0].query ?? '';
    expect(light('monit-panda-suspicious')).toContain('"module" =~ /^(panda)$/');
    expect(light('monit-panda-daod')).toContain('"module" =~ /^(panda-daod)$/');
    for (const uid of uids) expect(byUid(checkedIn, uid).links.map((link) => link.url)).toEqual(expect.arrayContaining(uids.filter((other) => other !== uid).map((other) => `/d/${other}`)));
  });

  test('the overview has one PanDA light (panda) and one DAOD light (panda-daod)', () => {
    const lights = statusLights(byUid(checkedIn, OVERVIEW_UID));
    const panda = lights.filter((panel) => /module" =~ \/\^\(panda(-daod)?\)\$\//.test(panel.targets?.[0].query ?? ''));
    expect(panda.map((panel) => panel.title)).toEqual(['PanDA', 'DAOD distribution']);
    expect(panda[0].links?.map((link) => link.url)).toContain('/d/monit-panda-suspicious?${__url_time_range}');
    expect(panda[1].links?.map((link) => link.url)).toEqual(['/d/monit-panda-daod?${__url_time_range}']);
  });

  test('rank the suspicious queues by outside_band, highest first, and show current, average and the band', () => {
    const panel = allPanels(byUid(checkedIn, 'monit-panda-suspicious').panels).find((one) => one.title.startsWith('Suspicious queues, furthest'));
    expect(panel?.options?.sortBy).toEqual([{ displayName: 'outside_band', desc: true }]);
    const query = panel?.targets?.[0].query ?? '';
    for (const column of ['outside_band', 'current', 'average', 'lower', 'upper']) expect(query).toContain(`last("${column}") AS "${column}"`);
    expect(query).toContain('"suspicious" = true');
  });
});

describe('panel options', () => {
  const jobs = Measurement.of(registry, PANDA_JOBS);
  const federations = Measurement.of(registry, PANDA_FEDERATIONS);
  const render = (spec: PanelSpec): Panel => renderPanel(spec, [], 1, { x: 0, y: 0, w: 24, h: 8 });

  test('a table sorts by one of its columns, descending or not; another column or another kind is an error', () => {
    const spec = table('Queues', { measurement: jobs, select: [{ fn: 'last', field: 'cores' }], groupBy: ['queue'] }, { sortBy: { column: 'cores', descending: true } });
    expect(render(spec).options?.sortBy).toEqual([{ displayName: 'cores', desc: true }]);
    expect(render({ ...spec, sortBy: { column: 'queue' } }).options?.sortBy).toEqual([{ displayName: 'queue', desc: false }]);
    expect(() => render({ ...spec, sortBy: { column: 'hs06' } })).toThrow("sorts by 'hs06', which is none of its columns (queue, cores)");
    expect(() => render({ ...spec, kind: 'timeseries' })).toThrow('only a table sorts by a column');
  });

  test('column units become overrides by name; stacking goes into the series style', () => {
    const spec = series('HS06', 'short', [{ measurement: jobs, select: [{ fn: 'sum', field: 'hs06' }] }], { columnUnits: { hs06: 'percent' }, stacking: 'percent' });
    const panel = render(spec);
    expect(panel.fieldConfig?.overrides).toEqual([{ matcher: { id: 'byName', options: 'hs06' }, properties: [{ id: 'unit', value: 'percent' }] }]);
    expect(panel.fieldConfig?.defaults.custom).toMatchObject({ stacking: { mode: 'percent', group: 'A' } });
    expect(render({ ...spec, stacking: undefined }).fieldConfig?.defaults.custom).not.toHaveProperty('stacking');
    expect(() => render({ ...spec, kind: 'table' })).toThrow('only a time series stacks');
  });

  test("a tag the query fixes is not filtered again by the dashboard's variable (running cores stay running cores)", () => {
    const query = renderQuery(
      { measurement: jobs, select: [{ fn: 'sum', field: 'cores' }], where: [{ key: 'job_status', value: 'running' }], groupBy: ['cloud'] },
      ['cloud', 'job_status', 'site'],
      VARIABLE_TIME,
    );
    expect(query).toContain(`"job_status" = 'running'`);
    expect(query).not.toContain('$job_status');
    expect(query).toContain('"cloud" =~ /^$cloud$/');
    expect(query).toContain('"site" =~ /^$site$/');
  });

  test('a ratio of two fields and a numeric condition on a field render as InfluxQL; on a tag or a string they are errors', () => {
    const query = renderQuery(
      {
        measurement: federations,
        select: [{ fn: 'last', field: 'running_hs06', divideBy: { fn: 'last', field: 'cpu_pledge_hs06' }, multiplier: 100, alias: 'delivered_percent' }],
        where: [{ key: 'cpu_pledge_hs06', op: '>', value: 0 }],
        groupBy: ['federation'],
        format: 'table',
      },
      [],
      VARIABLE_TIME,
    );
    expect(query).toBe(
      'SELECT last("running_hs06") / last("cpu_pledge_hs06") * 100 AS "delivered_percent" FROM "monit_production_panda"."$rp"."federations" WHERE $timeFilter AND "cpu_pledge_hs06" > 0 GROUP BY "federation"',
    );
    const datadisks = Measurement.of(registry, PANDA_DATADISKS);
    expect(() => renderQuery({ measurement: datadisks, select: [{ fn: 'last', field: 'bytes' }], where: [{ key: 'site', op: '>', value: 0 }] }, [], VARIABLE_TIME)).toThrow('only a numeric field compares with a number');
    expect(() => renderQuery({ measurement: jobs, select: [{ fn: 'last', field: 'jobs', divideBy: { fn: 'last', field: 'queue' } }] }, [], VARIABLE_TIME)).toThrow("panda/jobs has no field 'queue'");
    const derived = Measurement.of(registry, PANDA_JOBS_DERIVED);
    expect(() => renderQuery({ measurement: derived, select: [{ fn: 'last', field: 'current', divideBy: { fn: 'last', field: 'reason' } }] }, [], VARIABLE_TIME)).toThrow("panda/jobs_derived field 'reason' is string, not a number");
    expect(() => renderQuery({ measurement: jobs, select: [{ fn: 'sum', field: 'jobs', perSecond: true, divideBy: { fn: 'sum', field: 'cores' } }] }, [], VARIABLE_TIME)).toThrow('either per second or a ratio');
  });

  test('a matrix is a table turned by groupingToMatrix on two tags it groups by; another tag or another kind is an error', () => {
    const spec = matrix('Cores per cloud and state', { measurement: jobs, select: [{ fn: 'sum', field: 'cores', alias: 'all_cores' }] }, 'cloud', 'job_status');
    const panel = render(spec);
    expect(panel.targets?.[0].query).toContain('GROUP BY "cloud", "job_status"');
    expect(panel.transformations).toEqual([
      { id: 'merge', options: {} },
      { id: 'groupingToMatrix', options: { rowField: 'cloud', columnField: 'job_status', valueField: 'all_cores', emptyValue: 'null' } },
    ]);
    expect(() => render({ ...spec, matrix: { rows: 'cloud', columns: 'site' } })).toThrow("matrix tag 'site' is not one its query groups by (cloud, job_status)");
    expect(() => render({ ...spec, kind: 'stat' })).toThrow('only a table of one table query is a matrix');
    expect(render(table('Plain', { measurement: jobs, select: [{ fn: 'sum', field: 'cores' }] })).transformations).toEqual([{ id: 'merge', options: {} }]);
  });

  test("a tag a query only excludes (!=) is still filtered by the dashboard's variable", () => {
    const query = renderQuery({ measurement: jobs, select: [{ fn: 'sum', field: 'cores' }], where: [{ key: 'cloud', op: '!=', value: '' }, { key: 'job_status', oneOf: ['running'] }] }, ['cloud', 'job_status'], VARIABLE_TIME);
    expect(query).toContain(`"cloud" != ''`);
    expect(query).toContain('"cloud" =~ /^$cloud$/');
    expect(query).not.toContain('$job_status');
  });
});

describe('the regular panels', () => {
  const jobs = Measurement.of(schemaRegistry(), PANDA_JOBS);

  test('a field in the exclusion list gets no panel, the others keep theirs; an unknown field stops the generator', () => {
    const fields = (exclude?: string[]) => genericPanels(jobs, undefined, exclude).map((spec) => spec.queries[0].select[0].field);
    const all = fields();
    expect(all).toContain('cores');
    expect(fields(['cores'])).toEqual(all.filter((field) => field !== 'cores'));
    expect(() => fields(['no_such_field'])).toThrow("has no field 'no_such_field'");
  });
});
