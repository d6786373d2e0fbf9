import { sources, type Source } from '../collectors/source';
import { JOBS_DASHBOARD } from './jobs';
import type { DashboardDefinition, ModuleDashboard } from './module';

/**
 * The dashboards of one source with their defaults: the status light of the source's own module and
 * the regular panels of everything it produces, unless a definition names others.
 */
export function dashboardsOfSource(source: Pick<Source, 'name' | 'definition'>): ModuleDashboard[] {
  const exported = source.definition.dashboard?.().default;
  if (!exported) return [];
  const definitions: readonly DashboardDefinition[] = 'uid' in exported ? [exported] : exported;
  if (!definitions.length) throw new Error(`collectors/${source.name}/dashboard default-exports an empty list of dashboards`);
  return definitions.map((definition) => ({
    ...definition,
    source: source.name,
    statusModules: definition.statusModules ?? [source.name],
    kinds: definition.kinds ?? source.definition.produces,
  }));
}

/**
 * Every module dashboard, in the order the overview lists them: each source's (its dashboard.ts, in
 * the order it lists them), then the jobs' heartbeat dashboard. A uid defined twice is an error
 * naming both places, as Grafana would keep only one of them.
 */
export function moduleDashboards(from: ReadonlyArray<Pick<Source, 'name' | 'definition'>> = sources()): ModuleDashboard[] {
  const all = [...from.flatMap(dashboardsOfSource), JOBS_DASHBOARD];
  const where = (module: ModuleDashboard): string => (module.source ? `collectors/${module.source}/dashboard` : 'dashboards/jobs.ts');
  const seen = new Map<string, ModuleDashboard>();
  for (const module of all) {
    const earlier = seen.get(module.uid);
    if (earlier) throw new Error(`dashboards: uid '${module.uid}' is defined by ${where(earlier)} and by ${where(module)}`);
    seen.set(module.uid, module);
  }
  return all;
}
