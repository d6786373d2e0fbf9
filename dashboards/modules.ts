import { sources } from '../collectors/source';
import { JOBS_DASHBOARD } from './jobs';
import type { ModuleDashboard } from './module';

/**
 * Every module dashboard, in the order the overview lists them: each source's (its dashboard.ts),
 * then the jobs' heartbeat dashboard.
 */
export function moduleDashboards(): ModuleDashboard[] {
  const fromSources = sources().flatMap((source): ModuleDashboard[] => {
    const definition = source.definition.dashboard?.().default;
    if (!definition) return [];
    return [{ ...definition, statusModules: definition.statusModules ?? [source.name], kinds: definition.kinds ?? source.definition.produces }];
  });
  return [...fromSources, JOBS_DASHBOARD];
}
