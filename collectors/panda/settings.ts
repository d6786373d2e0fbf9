import { ConfigError, type ConfigSection } from '../../lib/config/config';
import { averageWindows } from './names';

/** The [panda] section, read once and typed. Defaults are those of sample.cfg. */
export interface PandaSettings {
  url: string;
  terminalWindowMinutes: number;
  terminalStates: Set<string>;
  /** Empty: every prod source label. */
  prodSources: Set<string>;
  timeoutMs: number;
  cricUrl: string;
  cricRefreshMs: number;
  cricTimeoutMs: number;
  derived: boolean;
  /** How long one history query may take (it reads every series at once). */
  historyTimeoutMs: number;
  useRawUpToMs: number;
  use1hUpToMs: number;
  forgetAfterMs: number;
  suspiciousWindows: string[];
  suspiciousAboveFactor: number;
  suspiciousBelowFactor: number;
  suspiciousMinDifference: number;
}

export const DEFAULT_PANDA_URL = 'https://pandaserver.cern.ch/server/panda/get_job_statistics_per_site_label_resource';
export const DEFAULT_CRIC_URL = 'https://atlas-cric.cern.ch/api/atlas/pandaqueue/query/?json';

export function readSettings(section: ConfigSection): PandaSettings {
  const terminalWindowMs = section.duration('terminal_window', '10m');
  if (terminalWindowMs < 60_000 || terminalWindowMs % 60_000 !== 0) {
    throw new ConfigError(`[${section.name}] terminal_window must be whole minutes (PanDA counts in minutes), got ${terminalWindowMs} ms`);
  }
  const known = averageWindows().map((window) => window.name);
  const suspiciousWindows = section.list('suspicious_windows', ['1h', '24h', '7d']);
  for (const window of suspiciousWindows) {
    if (!known.includes(window)) throw new ConfigError(`[${section.name}] suspicious_windows: '${window}' is not one of the averages ${known.join(', ')}`);
  }
  return {
    url: section.url('url', DEFAULT_PANDA_URL),
    terminalWindowMinutes: terminalWindowMs / 60_000,
    terminalStates: new Set(section.list('terminal_states', ['finished', 'failed', 'cancelled', 'closed'])),
    prodSources: new Set(section.list('prod_sources', [])),
    timeoutMs: section.duration('timeout', '60s'),
    cricUrl: section.url('cric_url', DEFAULT_CRIC_URL),
    cricRefreshMs: section.duration('cric_refresh', '1h'),
    cricTimeoutMs: section.duration('cric_timeout', '60s'),
    derived: section.bool('derived', true),
    historyTimeoutMs: section.duration('history_timeout', '5m'),
    useRawUpToMs: section.duration('use_raw_up_to', '24h'),
    use1hUpToMs: section.duration('use_1h_up_to', '7d'),
    forgetAfterMs: section.duration('forget_after', '24h'),
    suspiciousWindows,
    suspiciousAboveFactor: section.number('suspicious_above_factor', 3, { min: 1 }),
    suspiciousBelowFactor: section.number('suspicious_below_factor', 3, { min: 1 }),
    suspiciousMinDifference: section.number('suspicious_min_difference', 10, { min: 0 }),
  };
}
