/**
 * Scheduled downtime, as ARGO treats it: a slot under a declared downtime counts neither for nor
 * against reliability. Downtimes come from [status.downtime.NAME] sections (read at start-up: an
 * error fails the run), from the downtime file (read every run: a bad entry is a problem, the others
 * still apply) and from a GOCDB-style feed (status/downtimeFeed.ts). See README.md, "Scheduled
 * downtime and reliability".
 */
import { readFileSync } from 'node:fs';
import { type Config, ConfigError } from '../lib/config/config';
import { feedToDowntimes, type FeedOptions, readDowntimeFeed } from './downtimeFeed';
import { countOf, type ModuleState, shownOf, type ShownState, SLOT_FIELDS, type SlotField } from './states';
import { findKeyLine } from './rules';
import type { StatusSettings } from './settings';

/** One declared downtime, its modules resolved. */
export interface Downtime {
  startMs: number;
  /** Exclusive: a slot whose middle is at or after endMs is not covered. */
  endMs: number;
  /** The module names it covers; '*' for every module. */
  modules: string[] | '*';
  reason: string;
  /** Where it was declared: "config NAME", "file" or "feed ID". */
  source: string;
}

/** What a module's status document says about downtime at one slot. */
export interface ModuleDowntime {
  /** "<reason> (<source>)", several joined with "; " when downtimes overlap. */
  reason: string;
}

const DOWNTIME_KEYS = ['start', 'end', 'modules', 'reason'];
/** ISO 8601 with a time and an explicit zone: a time without zone would be read in the machine's zone. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** UTC ms of an ISO 8601 time with its zone, or why not. */
export function parseIsoTime(text: string): number | string {
  const trimmed = text.trim();
  const ms = ISO_TIME.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  return Number.isNaN(ms) ? `must be an ISO 8601 time with its zone, e.g. 2026-12-06T10:00Z, got ${JSON.stringify(text)}` : ms;
}

/** A well-formed declaration: its downtime (undefined when it names no loaded module) and the names not loaded. */
interface Checked {
  downtime: Downtime | undefined;
  unknown: string[];
}

/**
 * Checks one declaration (from config or the file); returns the downtime or why it is refused, naming
 * the key. A module not loaded (disabled, renamed) is not an error: a leftover downtime must not stop status.
 */
function checkDeclaration(
  values: { start: unknown; end: unknown; modules: unknown; reason: unknown },
  knownModules: readonly string[],
  source: string,
): Checked | { key: string; message: string } {
  const time = (key: 'start' | 'end'): number | { key: string; message: string } => {
    const value = values[key];
    if (typeof value !== 'string' || value.trim() === '') return { key, message: 'is missing: give an ISO 8601 time such as 2026-12-06T10:00Z' };
    const parsed = parseIsoTime(value);
    return typeof parsed === 'string' ? { key, message: parsed } : parsed;
  };
  const startMs = time('start');
  if (typeof startMs !== 'number') return startMs;
  const endMs = time('end');
  if (typeof endMs !== 'number') return endMs;
  if (endMs <= startMs) return { key: 'end', message: `${new Date(endMs).toISOString()} is not after start ${new Date(startMs).toISOString()}` };
  const reason = typeof values.reason === 'string' ? values.reason.trim() : '';
  if (!reason) return { key: 'reason', message: 'is missing: say why the modules are down (it is shown on the page)' };
  if (values.modules === undefined || values.modules === '') return { key: 'modules', message: 'is missing: list module names, or * for every module' };
  const names = typeof values.modules === 'string' ? values.modules.split(',') : Array.isArray(values.modules) ? values.modules : undefined;
  if (!names || !names.every((name) => typeof name === 'string')) return { key: 'modules', message: 'must list module names, or * for every module' };
  const modules = (names as string[]).map((name) => name.trim()).filter(Boolean);
  if (modules.length === 0) return { key: 'modules', message: 'is missing: list module names, or * for every module' };
  if (modules.length === 1 && modules[0] === '*') return { downtime: { startMs, endMs, modules: '*', reason, source }, unknown: [] };
  const known = modules.filter((name) => knownModules.includes(name));
  const unknown = modules.filter((name) => !knownModules.includes(name));
  return { downtime: known.length > 0 ? { startMs, endMs, modules: known, reason, source } : undefined, unknown };
}

/** The warning about a declaration's modules that are not loaded. */
function unknownModules(checked: Checked, knownModules: readonly string[]): string {
  const names = `module${checked.unknown.length > 1 ? 's' : ''} ${checked.unknown.join(', ')}`;
  const effect = checked.downtime ? `the downtime applies to ${(checked.downtime.modules as string[]).join(', ')} only` : 'the downtime is ignored';
  return `unknown ${names} (not loaded: disabled, renamed or misspelt; known: ${knownModules.join(', ')}): ${effect}`;
}

/**
 * The [status.downtime.NAME] sections; a malformed one throws a ConfigError naming the file, line,
 * section and key; a module not loaded is a warning.
 */
export function configDowntimes(config: Config, knownModules: readonly string[], warn: (message: string) => void = () => undefined): Downtime[] {
  let text: string | undefined;
  try {
    text = readFileSync(config.file, 'utf8');
  } catch {
    text = undefined;
  }
  return config.sectionsUnder('status.downtime').flatMap((section) => {
    const name = section.name.slice('status.downtime.'.length);
    const at = (key: string): string => {
      const line = text === undefined ? undefined : findKeyLine(text, section.name, key);
      return `${config.file}${line ? `:${line}` : ''}: [${section.name}] ${key}`;
    };
    for (const key of section.keys()) {
      if (!DOWNTIME_KEYS.includes(key)) throw new ConfigError(`${at(key)}: unknown key (known: ${DOWNTIME_KEYS.join(', ')})`);
    }
    const value = (key: string): string | undefined => section.optionalString(key);
    const checked = checkDeclaration({ start: value('start'), end: value('end'), modules: value('modules'), reason: value('reason') }, knownModules, `config ${name}`);
    if ('key' in checked) throw new ConfigError(`${at(checked.key)}: ${checked.message}`);
    if (checked.unknown.length > 0) warn(`${at('modules')}: ${unknownModules(checked, knownModules)}`);
    return checked.downtime ? [checked.downtime] : [];
  });
}

/**
 * The downtime file: a JSON array of {start, end, modules, reason}, read again every run. A missing
 * file is no downtime; every bad entry is a problem naming the file and its number (the first is 1, as
 * an editor counts), and the good ones apply.
 */
export function fileDowntimes(file: string, knownModules: readonly string[], problem: (message: string) => void): Downtime[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    problem(`downtime file ${file}: cannot read it: ${(error as Error).message}`);
    return [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    problem(`downtime file ${file}: not JSON (${(error as Error).message}); no downtime of it applies`);
    return [];
  }
  if (!Array.isArray(parsed)) {
    problem(`downtime file ${file}: must be a JSON array of {"start", "end", "modules", "reason"}; no downtime of it applies`);
    return [];
  }
  const downtimes: Downtime[] = [];
  parsed.forEach((entry: unknown, index) => {
    const number = index + 1;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
      problem(`downtime file ${file}: entry ${number}: must be an object {"start", "end", "modules", "reason"}`);
      return;
    }
    const object = entry as Record<string, unknown>;
    const stray = Object.keys(object).find((key) => !DOWNTIME_KEYS.includes(key));
    const checked = stray ? { key: stray, message: `unknown key (known: ${DOWNTIME_KEYS.join(', ')})` } : checkDeclaration({ start: object.start, end: object.end, modules: object.modules, reason: object.reason }, knownModules, 'file');
    if ('key' in checked) {
      problem(`downtime file ${file}: entry ${number}: ${checked.key} ${checked.message}`);
      return;
    }
    if (checked.unknown.length > 0) problem(`downtime file ${file}: entry ${number}: modules ${unknownModules(checked, knownModules)}`);
    if (checked.downtime) downtimes.push(checked.downtime);
  });
  return downtimes;
}

/**
 * Whether `downtime` covers `module` at the slot [slotMs, slotMs + periodMs): when the slot's middle
 * lies in [start, end), so that a downtime covers as many slots as its length in periods, as ARGO
 * counts downtime by time, wherever it starts within a slot.
 */
export function covers(downtime: Downtime, module: string, slotMs: number, periodMs: number): boolean {
  const middleMs = slotMs + periodMs / 2;
  return downtime.startMs <= middleMs && middleMs < downtime.endMs && (downtime.modules === '*' || downtime.modules.includes(module));
}

/** The downtime of each module covered at the slot [slotMs, slotMs + periodMs); modules outside every downtime are absent. */
export function downtimesAt(downtimes: readonly Downtime[], modules: readonly string[], slotMs: number, periodMs: number): Map<string, ModuleDowntime> {
  const result = new Map<string, ModuleDowntime>();
  for (const module of modules) {
    const reasons = [...new Set(downtimes.filter((downtime) => covers(downtime, module, slotMs, periodMs)).map((downtime) => `${downtime.reason} (${downtime.source})`))];
    if (reasons.length > 0) result.set(module, { reason: reasons.join('; ') });
  }
  return result;
}

/** The *_slots counters of a status document: exactly one is 1, and a slot under downtime is only downtime_slots. */
export function slotCounters(state: ModuleState, downtime: boolean): Record<SlotField, number> {
  const counts = countOf(shownOf(state, downtime));
  return Object.fromEntries(Object.entries(SLOT_FIELDS).map(([kind, field]) => [field, counts[kind as ShownState]])) as Record<SlotField, number>;
}

/**
 * Every downtime known at a run: config, then the file and the feed, both read now. The file's and the
 * feed's failures are problems: status goes on with the downtimes that could be read.
 */
export async function downtimesForRun(
  settings: Pick<StatusSettings, 'rules' | 'downtime'>,
  options: Omit<FeedOptions, 'url' | 'timeoutMs' | 'maxBytes' | 'rules'>,
): Promise<Downtime[]> {
  const modules = settings.rules.map((rule) => rule.module);
  const downtimes = [...settings.downtime.declared];
  if (settings.downtime.file) downtimes.push(...fileDowntimes(settings.downtime.file, modules, options.problem));
  if (settings.downtime.feedUrl) {
    const feed = await readDowntimeFeed({ ...options, url: settings.downtime.feedUrl, timeoutMs: settings.downtime.feedTimeoutMs, maxBytes: settings.downtime.feedMaxBytes, rules: settings.rules });
    downtimes.push(...feedToDowntimes(feed, settings.rules));
  }
  return downtimes;
}
