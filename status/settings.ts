import path from 'node:path';
import type { Config } from '../lib/config/config';
import { pathsFrom } from '../lib/config/paths';
import type { SchemaRegistry } from '../lib/documents/schemas';
import { type RetentionThresholds, retentionThresholdsFrom } from '../downsample/retentions';
import { configDowntimes, type Downtime } from './downtime';
import { loadRules, type ModuleRule } from './rules';

/** Everything the status job and the page need from config, read and checked once at start-up. */
export interface StatusSettings {
  rules: ModuleRule[];
  /** Heading of the page. */
  title: string;
  /** Where data and status documents are read from. */
  retentionPolicy: string;
  /** How often the status job runs: one status document stands for one period. */
  periodMs: number;
  /** A stored status older than this shows as N/A on the page (the status job stopped). */
  staleAfterMs: number;
  grafanaUrl?: string;
  webhookUrl?: string;
  webhookTimeoutMs: number;
  refreshSeconds: number;
  /** The static page and its JSON written by each run; undefined: not written. */
  htmlFile?: string;
  jsonFile?: string;
  /** Which RP a time range reads ([dashboards] raw_max_range, 1h_max_range), as the dashboards choose. */
  retentionThresholds: RetentionThresholds;
  /** Defaults of the modules' MONIT availability documents ([status] availability_contact, availability_webpage). */
  availability: { contact?: string; webpage?: string };
  /** Scheduled downtime: the [status.downtime.NAME] sections, and the file and feed read every run. */
  downtime: DowntimeSettings;
}

export interface DowntimeSettings {
  declared: Downtime[];
  /** [status] downtime_file: a JSON array of {start, end, modules, reason}. */
  file?: string;
  /** [status] downtime_feed_url: GOCDB's get_downtime (XML) or the same entries in JSON. */
  feedUrl?: string;
  feedTimeoutMs: number;
  /** [status] downtime_feed_max_body_bytes: the longest feed answer read. */
  feedMaxBytes: number;
}

/** Reads [status] and the module rules; throws a ConfigError/RuleError naming the key (and line). */
export function loadStatusSettings(config: Config, options: { registry?: SchemaRegistry; warn?: (message: string) => void } = {}): StatusSettings {
  const section = config.section('status');
  const optionalPath = (key: string, fallback: string): string | undefined =>
    !section.keys().includes(key) ? section.path(key, fallback) : section.has(key) ? section.path(key) : undefined;
  const rules = loadRules(config, options);
  return {
    rules,
    title: section.string('title', 'Service status'),
    retentionPolicy: section.string('retention_policy', 'raw'),
    periodMs: section.duration('period', '10m'),
    staleAfterMs: section.duration('stale_after', '30m'),
    grafanaUrl: section.has('grafana_url') ? section.url('grafana_url') : undefined,
    webhookUrl: section.has('webhook_url') ? section.url('webhook_url') : undefined,
    webhookTimeoutMs: section.duration('webhook_timeout', '10s'),
    refreshSeconds: section.int('refresh_seconds', 60, { min: 5 }),
    htmlFile: optionalPath('html_file', path.join(pathsFrom(config).root, 'www', 'status.html')),
    jsonFile: optionalPath('json_file', path.join(pathsFrom(config).root, 'www', 'status.json')),
    retentionThresholds: retentionThresholdsFrom(config),
    availability: {
      contact: section.optionalString('availability_contact')?.trim() || undefined,
      webpage: section.has('availability_webpage') ? section.url('availability_webpage') : undefined,
    },
    downtime: {
      declared: configDowntimes(config, rules.map((rule) => rule.module), options.warn),
      file: section.has('downtime_file') ? section.path('downtime_file') : undefined,
      feedUrl: section.has('downtime_feed_url') ? section.url('downtime_feed_url') : undefined,
      feedTimeoutMs: section.duration('downtime_feed_timeout', '30s'),
      feedMaxBytes: section.int('downtime_feed_max_body_bytes', 5 * 1024 * 1024, { min: 1 }),
    },
  };
}
