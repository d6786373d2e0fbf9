import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { startGateway, type RunningGateway } from '../gateway/server';
import { Config } from '../lib/config/config';
import { MemoryLogger } from '../lib/run/log';
import { SchemaRegistry, schemaRegistry } from '../lib/documents/schemas';
import type { MonitDocument, TypeSchema } from '../lib/documents/types';
import { startInfluxDB, type TestInfluxDB } from '../test/support/services';
import { generateDashboards, OVERVIEW_UID } from './dashboard';
import { checkedInDashboardFiles, dashboardFiles } from './generate';
import type { Dashboard } from './grafana';
import { moduleDashboards } from './modules';
import { DATASOURCE_FILE, ENVIRONMENT_VALUES, PROVIDER_FILE, PROVISIONING_DIR, provisioningFiles, valuesFromConfig } from './provisioning';
import { retentionVariableQuery, writeRetentionsMeasurement } from '../downsample/retentions';
import { TEST_DURATIONS, writeSyntheticData } from '../test/support/dashboards/syntheticData';
import { allPanels, checkFailures, checkQueries, interpolate, relativeRange, resolveVariables, structuralProblems, variableOptions, type QueryCheck } from '../test/support/dashboards/verify';

const registry = schemaRegistry();
const MODULE_DASHBOARDS = moduleDashboards();

function checkedInDashboards(): Dashboard[] {
  return [...checkedInDashboardFiles().values()].map((text) => JSON.parse(text) as Dashboard);
}

/** The datasource uids the checked-in provisioning file defines. */
function provisionedDatasourceUids(): string[] {
  const file = parse(readFileSync(path.join(PROVISIONING_DIR, DATASOURCE_FILE), 'utf8')) as { datasources: Array<{ uid: string; type: string }> };
  return file.datasources.filter((datasource) => datasource.type === 'influxdb').map((datasource) => datasource.uid);
}

/** A copy of the registry with one schema changed. */
function withSchema(producer: string, type: string, change: (schema: TypeSchema) => TypeSchema): SchemaRegistry {
  return new SchemaRegistry(registry.all().map((schema) => (schema.producer === producer && schema.type === type ? change(structuredClone(schema)) : schema)));
}

function renameField(schema: TypeSchema, from: string, to: string): TypeSchema {
  schema.fields = Object.fromEntries(Object.entries(schema.fields).map(([name, field]) => [name === from ? to : name, field]));
  return schema;
}

/** The status modules the dashboards show (several may show one), so that the synthetic status documents cover them all. */
const STATUS_MODULES = [...new Set(MODULE_DASHBOARDS.flatMap((module) => module.statusModules))];

describe('the dashboard files', () => {
  test('are exactly what the generator writes from schemas/ (regenerate: npm run generate)', () => {
    const expected = dashboardFiles(registry);
    const actual = checkedInDashboardFiles();
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [file, text] of expected) expect({ file, text: actual.get(file) }).toEqual({ file, text });
    for (const [file, text] of provisioningFiles(ENVIRONMENT_VALUES)) expect(readFileSync(path.join(PROVISIONING_DIR, file), 'utf8')).toBe(text);
  });

  test('parse, have unique uids, resolvable datasources, variables with a query or values, and queries in every panel', () => {
    const dashboards = checkedInDashboards();
    expect(dashboards).toHaveLength(MODULE_DASHBOARDS.length + 1);
    const uids = provisionedDatasourceUids();
    expect(uids).toEqual(['monit-influxdb']);
    expect(structuralProblems(dashboards, uids)).toEqual([]);
  });

  test('the structural check catches a duplicate uid, an unknown datasource and an empty variable', () => {
    const [first, second] = checkedInDashboards();
    second.uid = first.uid;
    const panel = allPanels(first.panels).find((one) => one.targets?.length);
    if (!panel?.targets) throw new Error('no panel with a query');
    panel.targets[0].datasource = { type: 'influxdb', uid: 'nowhere' };
    first.templating.list.push({ name: 'empty', type: 'custom', hide: 0, query: '', current: {}, options: [] });
    const problems = structuralProblems([first, second], provisionedDatasourceUids());
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('uid used by another dashboard'),
        expect.stringContaining("uses datasource uid 'nowhere'"),
        expect.stringContaining('variable empty has neither a query nor values'),
      ]),
    );
  });

  test('the overview links to every module dashboard and to the status page', () => {
    const dashboards = checkedInDashboards();
    const overview = dashboards.find((dashboard) => dashboard.uid === OVERVIEW_UID);
    if (!overview) throw new Error('no overview');
    const urls = overview.links.map((link) => link.url);
    for (const module of MODULE_DASHBOARDS) {
      expect(dashboards.map((dashboard) => dashboard.uid)).toContain(module.uid);
      expect(urls).toContain(`/d/${module.uid}`);
    }
    expect(urls).toContain('${gateway_url}/status');
    const statusPanels = overview.panels.filter((panel) => panel.type === 'stat' && panel.targets?.[0].query.includes('"status"'));
    expect(statusPanels.flatMap((panel) => panel.links?.map((link) => link.url) ?? [])).toEqual(
      MODULE_DASHBOARDS.filter((module) => module.statusModules.length).map((module) => `/d/${module.uid}?\${__url_time_range}`),
    );
    // One light per set of status modules, however many dashboards show it.
    const sets = new Set(MODULE_DASHBOARDS.filter((module) => module.statusModules.length).map((module) => [...module.statusModules].sort().join(',')));
    expect(statusPanels).toHaveLength(sets.size);
    expect(sets.size).toBeLessThan(MODULE_DASHBOARDS.filter((module) => module.statusModules.length).length);
  });

  test('the provisioning files can be written with the [influxdb] settings of config.cfg', () => {
    const config = Config.parse('[influxdb]\nurl = http://influx.example.org:8086\nusername = grafana\npassword = reader-secret\n');
    const files = provisioningFiles(valuesFromConfig(config));
    const datasource = parse(files.get(DATASOURCE_FILE) ?? '') as { datasources: Array<Record<string, unknown>> };
    expect(datasource.datasources[0]).toMatchObject({ type: 'influxdb', uid: 'monit-influxdb', url: 'http://influx.example.org:8086', user: 'grafana', secureJsonData: { password: 'reader-secret' } });
    const provider = parse(files.get(PROVIDER_FILE) ?? '') as { providers: Array<{ options: { path: string } }> };
    expect(provider.providers[0].options.path).toBe(path.join(path.dirname(PROVISIONING_DIR), 'json'));
  });
});

describe('a schema change', () => {
  test('renaming a field a module panel reads stops the generator, naming it', () => {
    const renamed = withSchema('panda', 'jobs', (schema) => renameField(schema, 'jobs', 'job_count'));
    expect(() => generateDashboards(MODULE_DASHBOARDS, renamed)).toThrow("panda/jobs has no field 'jobs'");
  });

  test('renaming a measurement stops the generator, naming it', () => {
    const renamed = withSchema('monit-collectors', 'status', (schema) => ({ ...schema, type: 'module_status' }));
    expect(() => generateDashboards(MODULE_DASHBOARDS, renamed)).toThrow('no schema monit-collectors/status');
  });

  test('renaming a field only the regular panels read makes the checked-in files differ', () => {
    const renamed = withSchema('hadoop', 'namenode', (schema) => renameField(schema, 'capacity_total_bytes', 'capacity_configured_bytes'));
    const files = dashboardFiles(renamed);
    expect(files.get('monit-hadoop.json')).not.toBe(checkedInDashboardFiles().get('monit-hadoop.json'));
    expect(files.get('monit-hadoop.json')).toContain('capacity_configured_bytes');
  });

  test('a unit without a Grafana unit stops the generator', () => {
    const changed = withSchema('monit-collectors', 'run', (schema) => {
      schema.fields.duration_ms.unit = 'fortnights';
      return schema;
    });
    expect(() => generateDashboards(MODULE_DASHBOARDS, changed)).toThrow("unit 'fortnights' is not in schemas/units.json");
  });
});

/** The RP each range must read: raw up to 2 days, 1h up to 90 days, 1d beyond. */
function intendedRp(rangeMs: number): string {
  const day = 86_400_000;
  if (rangeMs <= 2 * day) return 'raw';
  if (rangeMs <= 90 * day) return '1h';
  return '1d';
}

describe('against a real InfluxDB holding a year of data', () => {
  let influx: TestInfluxDB;
  let gateway: RunningGateway | undefined;
  const now = Date.now();
  const datasourceUids = ['monit-influxdb'];
  const token = 'dashboards-test-token';

  /** Raw data goes in as the collectors send it: MONIT documents POSTed to the real gateway. */
  async function sendRaw(documents: MonitDocument[]): Promise<void> {
    const response = await fetch(`${gateway?.url}/`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(documents) });
    if (response.status !== 200) throw new Error(`gateway answered ${response.status}: ${await response.text()}`);
  }

  beforeAll(async () => {
    influx = await startInfluxDB();
    gateway = await startGateway(
      { influxdb: influx.client, durations: TEST_DURATIONS, auth: { token, producerPasswords: new Map() }, maxDocuments: 10_000, maxBodyBytes: 100_000_000, registry, log: new MemoryLogger('gateway') },
      '127.0.0.1',
      0,
    );
    await writeRetentionsMeasurement(influx.client);
    // 1h and 1d are written directly, as the downsample jobs leave them.
    await writeSyntheticData(influx.client, registry, { nowMs: now, tagValues: { module: STATUS_MODULES }, sendRaw });
  }, 180_000);

  afterAll(async () => {
    await gateway?.close();
    await influx?.stop();
  });

  test('the retention variables pick raw up to 2 days, 1h up to 90 days and 1d beyond', async () => {
    await writeRetentionsMeasurement(influx.client); // a second write changes nothing
    const day = 86_400_000;
    const cases: Array<[number, string, string, string]> = [
      [6 * 3_600_000, 'raw', '10m', '600'],
      [2 * day, 'raw', '10m', '600'],
      [2 * day + 60_000, '1h', '1h', '3600'],
      [30 * day, '1h', '1h', '3600'],
      [90 * day, '1h', '1h', '3600'],
      [91 * day, '1d', '1d', '86400'],
      [365 * day, '1d', '1d', '86400'],
      [10 * 365 * day, '1d', '1d', '86400'],
    ];
    for (const [rangeMs, rp, interval, seconds] of cases) {
      const range = { label: `${rangeMs}ms`, fromMs: now - rangeMs, toMs: now };
      const answers: string[] = [];
      for (const column of ['rp', 'interval', 'interval_s'] as const) {
        const [series = []] = await influx.client.query(interpolate(retentionVariableQuery(column), new Map(), range));
        answers.push(...variableOptions(series));
      }
      expect({ rangeMs, answers }).toEqual({ rangeMs, answers: [rp, interval, seconds] });
    }
  });

  test('every query variable of every dashboard returns values', async () => {
    for (const dashboard of checkedInDashboards()) {
      const { options } = await resolveVariables(dashboard, influx.client, relativeRange('6h', now), datasourceUids);
      for (const [name, values] of options) expect({ dashboard: dashboard.uid, name, some: values.length > 0 }).toEqual({ dashboard: dashboard.uid, name, some: true });
    }
  });

  test.each([
    ['6h', 'raw'],
    ['30d', '1h'],
    ['1y', '1d'],
  ])('at %s every panel query runs, reads its range’s RP (%s unless the panel has its own range) and returns data', async (label) => {
    const checks: QueryCheck[] = [];
    for (const dashboard of checkedInDashboards()) checks.push(...(await checkQueries(dashboard, influx.client, relativeRange(label, now), datasourceUids, intendedRp)));
    expect(checks.length).toBeGreaterThan(200);
    expect(checks.flatMap(checkFailures)).toEqual([]);
    // Most panels follow the dashboard's range; the current-value ones read raw.
    const range = relativeRange(label, now);
    const followers = checks.filter((check) => check.rps[0] === intendedRp(range.toMs - range.fromMs));
    expect(followers.length).toBeGreaterThan(checks.length / 2);
  });

  test('a chosen value is regex-escaped as Grafana does and still selects its series', async () => {
    const dashboard = checkedInDashboards().find((one) => one.uid === 'monit-host');
    if (!dashboard) throw new Error('no host dashboard');
    const range = relativeRange('6h', now);
    const { values } = await resolveVariables(dashboard, influx.client, range, datasourceUids);
    const mountpoint = values.get('mountpoint');
    if (!mountpoint) throw new Error('no mountpoint variable');
    values.set('mountpoint', { variable: mountpoint.variable, value: { kind: 'chosen', values: ['/data'] } });
    const panel = allPanels(dashboard.panels).find((one) => one.title === 'Filesystems used');
    const query = interpolate(panel?.targets?.[0].query ?? '', values, range);
    expect(query).toContain('"mountpoint" =~ /^\\/data$/');
    const [series = []] = await influx.client.query(query);
    expect(series.length).toBeGreaterThan(0);
    expect(new Set(series.map((one) => one.tags?.mountpoint))).toEqual(new Set(['/data']));
  });

  test('data written under a renamed field or measurement leaves the panels reading the old name empty', async () => {
    const dashboard = checkedInDashboards().find((one) => one.uid === 'monit-panda');
    if (!dashboard) throw new Error('no PanDA dashboard');
    const renamed = new SchemaRegistry(
      withSchema('panda', 'jobs', (schema) => renameField(schema, 'jobs', 'job_count'))
        .all()
        .filter((schema) => schema.producer === 'panda')
        .map((schema) => (schema.type === 'queues' ? { ...schema, type: 'panda_queues' } : schema)),
    );
    const original = new SchemaRegistry(registry.all().filter((schema) => schema.producer === 'panda'));
    await influx.client.query('DROP DATABASE "monit_production_panda"');
    // Straight to InfluxDB: the gateway, knowing the real schemas, would refuse the renamed field.
    await writeSyntheticData(influx.client, renamed, { nowMs: now });
    try {
      const failures = (await checkQueries(dashboard, influx.client, relativeRange('6h', now), datasourceUids, intendedRp)).flatMap(checkFailures);
      expect(failures).toEqual(
        expect.arrayContaining([expect.stringContaining('Jobs per cloud by state / A at 6h: no data'), expect.stringContaining('Queues / A at 6h: no data')]),
      );
      expect(failures.join('\n')).not.toContain('Suspicious queues');
    } finally {
      await influx.client.query('DROP DATABASE "monit_production_panda"');
      await writeSyntheticData(influx.client, original, { nowMs: now, sendRaw });
    }
  });
});
