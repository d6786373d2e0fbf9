import type { ConfigSection } from '../../lib/config/config';
import { averageWindows } from './names';

/** Which series both jobs keep: the [panda] keys they share. */
export interface SeriesSelection {
  terminalStates: Set<string>;
  /** Empty: every prod source label. */
  prodSources: Set<string>;
}

/** The [panda] keys panda reads. Defaults are those of sample.cfg. */
export interface PandaSettings extends SeriesSelection {
  url: string;
  terminalWindowMinutes: number;
  timeoutMs: number;
  cricUrl: string;
  cricRefreshMs: number;
  cricTimeoutMs: number;
  /** CRIC's site description (the nucleus data policy); asked like cric_url. */
  cricSiteUrl: string;
  /** CRIC's DDM endpoints (FTS servers, the DATADISKs' sites); asked like cric_url. */
  cricDdmUrl: string;
  /** WLCG CRIC's federations (pledges); asked like cric_url. */
  federationsUrl: string;
  /** Bytes and files per RSE (Rucio storage accounting); undefined: no placement data. */
  placementUrl?: string;
  placementRefreshMs: number;
  /** Prod source labels of analysis jobs (the DAOD distribution). */
  analysisProdSources: Set<string>;
}

/** What panda-derived reads: its [panda] keys (where they have always been) and its own [panda-derived] keys. */
export interface DerivedSettings extends SeriesSelection {
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
  /** How long to wait for panda's documents of the slot to be in InfluxDB. */
  waitForPandaMs: number;
  /** Job statuses with jobs_derived documents (moving averages); undefined: every status. */
  averageStates?: Set<string>;
  /** Statuses the queue-level signal counts (a subset of averageStates). */
  queueSignalStates: Set<string>;
  /** The average the queue-level signal compares with (1h, 6h, ... as in averageWindows()). */
  queueSignalAverage: string;
  /** The band is [average / factor, average x factor]. */
  queueBandFactor: number;
  /** A queue is suspicious only when current and average differ by at least this many jobs. */
  queueMinJobs: number;
  /** Prod source labels of analysis jobs (the DAOD distribution's averages). */
  analysisProdSources: Set<string>;
}

export const DEFAULT_PANDA_URL = 'https://pandaserver.cern.ch/server/panda/get_job_statistics_per_site_label_resource';
export const DEFAULT_CRIC_URL = 'https://atlas-cric.cern.ch/api/atlas/pandaqueue/query/?json';
export const DEFAULT_CRIC_SITE_URL = 'https://atlas-cric.cern.ch/api/atlas/site/query/?json';
export const DEFAULT_CRIC_DDM_URL = 'https://atlas-cric.cern.ch/api/atlas/ddmendpoint/query/?json';
export const DEFAULT_FEDERATIONS_URL = 'https://wlcg-cric.cern.ch/api/core/federation/query/?json';
/** QMonit's averaged states (writeDerivedQuantities.py). */
export const DEFAULT_AVERAGE_STATES = ['assigned', 'activated', 'failed', 'running'];

/** The [panda] keys only panda-derived reads. */
export const DERIVED_KEYS = [
  'derived',
  'history_timeout',
  'use_raw_up_to',
  'use_1h_up_to',
  'forget_after',
  'suspicious_windows',
  'suspicious_above_factor',
  'suspicious_below_factor',
  'suspicious_min_difference',
  'average_states',
  'queue_signal_states',
  'queue_signal_average',
  'queue_band_factor',
  'queue_min_jobs',
] as const;


function readAnalysisProdSources(section: ConfigSection): Set<string> {
  return new Set(section.list('analysis_prod_sources', ['user', 'panda']));
}

function readSelection(section: ConfigSection): SeriesSelection {
  return {
    terminalStates: new Set(section.list('terminal_states', ['finished', 'failed', 'cancelled', 'closed'])),
    prodSources: new Set(section.list('prod_sources', [])),
  };
}

/** Whether a series is one the jobs keep (its prod source is selected). */
export function isSelected(selection: SeriesSelection, series: { prodSource: string }): boolean {
  return selection.prodSources.size === 0 || selection.prodSources.has(series.prodSource);
}

export function readPandaSettings(section: ConfigSection): PandaSettings {
  const terminalWindowMs = section.duration('terminal_window', '10m');
  if (terminalWindowMs < 60_000 || terminalWindowMs % 60_000 !== 0) {
    throw section.invalid('terminal_window', `must be whole minutes (PanDA counts in minutes), got ${terminalWindowMs} ms`);
  }
  // panda-derived reads these, and checks them (a mistake there must not stop the job counts): no typos here.
  section.acknowledge(DERIVED_KEYS);
  return {
    ...readSelection(section),
    url: section.url('url', DEFAULT_PANDA_URL),
    terminalWindowMinutes: terminalWindowMs / 60_000,
    timeoutMs: section.duration('timeout', '60s'),
    cricUrl: section.url('cric_url', DEFAULT_CRIC_URL),
    cricRefreshMs: section.duration('cric_refresh', '1h'),
    cricTimeoutMs: section.duration('cric_timeout', '60s'),
    cricSiteUrl: section.url('cric_site_url', DEFAULT_CRIC_SITE_URL),
    cricDdmUrl: section.url('cric_ddm_url', DEFAULT_CRIC_DDM_URL),
    federationsUrl: section.url('federations_url', DEFAULT_FEDERATIONS_URL),
    placementUrl: section.has('placement_url') ? section.url('placement_url') : undefined,
    placementRefreshMs: section.duration('placement_refresh', '1h'),
    analysisProdSources: readAnalysisProdSources(section),
  };
}

/** `panda` is the [panda] section, `own` the [panda-derived] one. */
export function readDerivedSettings(panda: ConfigSection, own: ConfigSection): DerivedSettings {
  return { ...readDerivedKeys(panda), waitForPandaMs: own.duration('wait_for_panda', '2m') };
}

/** panda-derived's keys of the [panda] section. */
function readDerivedKeys(panda: ConfigSection): Omit<DerivedSettings, 'waitForPandaMs'> {
  const known = averageWindows().map((window) => window.name);
  const suspiciousWindows = panda.list('suspicious_windows', ['1h', '24h', '7d']);
  for (const window of suspiciousWindows) {
    if (!known.includes(window)) throw panda.invalid('suspicious_windows', `names '${window}', which is not one of the averages ${known.join(', ')}`);
  }
  return {
    ...readSelection(panda),
    derived: panda.bool('derived', true),
    historyTimeoutMs: panda.duration('history_timeout', '5m'),
    useRawUpToMs: panda.duration('use_raw_up_to', '24h'),
    use1hUpToMs: panda.duration('use_1h_up_to', '24h'),
    forgetAfterMs: panda.duration('forget_after', '24h'),
    suspiciousWindows,
    suspiciousAboveFactor: panda.number('suspicious_above_factor', 3, { min: 1 }),
    suspiciousBelowFactor: panda.number('suspicious_below_factor', 3, { min: 1 }),
    suspiciousMinDifference: panda.number('suspicious_min_difference', 10, { min: 0 }),
    ...readQueueSignal(panda, known),
    analysisProdSources: readAnalysisProdSources(panda),
  };
}

/** average_states and the queue-level signal's keys; `known` names the averages. */
function readQueueSignal(panda: ConfigSection, known: string[]): Pick<DerivedSettings, 'averageStates' | 'queueSignalStates' | 'queueSignalAverage' | 'queueBandFactor' | 'queueMinJobs'> {
  const states = panda.list('average_states', DEFAULT_AVERAGE_STATES);
  const averageStates = states.includes('*') ? undefined : new Set(states);
  const queueSignalStates = new Set(panda.list('queue_signal_states', ['running']));
  for (const state of queueSignalStates) {
    if (averageStates && !averageStates.has(state)) throw panda.invalid('queue_signal_states', `names '${state}', which is not one of average_states (${[...averageStates].join(', ')}), so it has no averages`);
  }
  const queueSignalAverage = panda.string('queue_signal_average', '24h');
  if (!known.includes(queueSignalAverage)) throw panda.invalid('queue_signal_average', `is '${queueSignalAverage}', which is not one of the averages ${known.join(', ')}`);
  return {
    averageStates,
    queueSignalStates,
    queueSignalAverage,
    queueBandFactor: panda.number('queue_band_factor', 2, { min: 1 }),
    queueMinJobs: panda.number('queue_min_jobs', 20, { min: 0 }),
  };
}
