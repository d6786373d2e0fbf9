/**
 * Module status: rules in config turn the latest data into available / degraded / unavailable / N/A,
 * sent as monit-collectors/status documents and shown on the traffic-light page. See README.md.
 *
 * The gateway serves the pages with its `pages` option: statusPagesFromConfig(config, log), which
 * answers 503 with the reason while the rules cannot be read (ingestion never depends on them).
 */
import { defineCollector } from '../lib/run/collector';
import { runStatus } from './job';
import { influxInstances } from '../lib/influx/instances';

export { runStatus, evaluateModules, type StatusRunOptions, type StatusRunResult } from './job';
export { loadStatusSettings, type StatusSettings } from './settings';
export { loadStatusSnapshot, type StatusSnapshot, type ModuleSnapshot } from './snapshot';
export { renderStatusPage, renderStatusJson } from './page';
export { statusPages, statusPagesFromConfig } from './pages';
export { loadRules, RuleError, type ModuleRule } from './rules';

/** The `status` job in the collector shape, so the runner gives it lock, deadline, sending and heartbeat. */
export default defineCollector({
  async collect(context) {
    const result = await runStatus({
      config: context.config,
      // Each producer's data where [influxdb] / [influxdb.NAME] put it.
      influxdb: influxInstances(context.config),
      documents: context.documents,
      log: context.log,
      stateDir: context.stateDir,
      signal: context.signal,
      problem: context.problem,
      dryRun: context.dryRun,
      tls: (source) => context.tls(source),
    });
    return result.documents;
  },
});
