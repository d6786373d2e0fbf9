import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Config, ConfigError } from '../lib/config/config';
import { COLLECTORS_DIR, PROJECT_ROOT } from '../lib/config/paths';
import { type SchemaRegistry, schemaRegistry } from '../lib/documents/schemas';
import { parseDuration } from '../lib/run/slot';
import { enabled as jobRuns } from '../cli/schedule';
import type { FieldType } from '../lib/documents/types';
import { type AggregateFunction, type AggregateOperand, type Condition, conditionAggregates, ConditionSyntaxError, parseCondition } from './condition';

/** One condition of a level, with the reason shown when it holds. */
export interface LeveledCondition {
  /** The config key it came from, e.g. `degraded_2`. */
  key: string;
  text: string;
  condition: Condition;
  /** May contain {value}, {series}, {matches} and {FIELD} for a field listed in `fields`. */
  reason: string;
  /** The fields the reason names ({FIELD}): the latest value of each is read with the condition's aggregates. */
  reasonFields: string[];
}

/**
 * What a condition and its reason read per series: the condition's aggregates, and latest(FIELD) for each
 * {FIELD} of the reason (one more column of the same GROUP BY query, after the prefilter).
 */
export function leveledAggregates(leveled: Pick<LeveledCondition, 'condition' | 'reasonFields'>): AggregateOperand[] {
  const operands = conditionAggregates(leveled.condition);
  for (const field of leveled.reasonFields) {
    if (!operands.some((operand) => operand.function === 'latest' && operand.field === field)) operands.push({ kind: 'aggregate', function: 'latest', field });
  }
  return operands;
}

/**
 * What one measurement contributes to a module's state: the measurement keys of a single-measurement
 * module, or one [status.part.NAME] of a module with parts. See status/README.md for every key.
 */
export interface PartRule {
  /** The [status.part.NAME] name; the module's name for a single-measurement module. */
  name: string;
  /** Names the part in a module's reason (composite modules only). */
  title: string;
  /** The job whose heartbeat (monit-collectors/run, tag job) gates the part; undefined: no heartbeat check. */
  collector?: string;
  /** The jobs whose heartbeats' credentials are checked: the collector, and for a single-measurement module the job named like it. */
  credentialJobs: string[];
  heartbeatFreshnessMs: number;
  producer: string;
  type: string;
  fields: string[];
  /** Exact tag matches that select the series the part looks at. */
  where: Array<{ tag: string; value: string }>;
  /** The measurement's tag keys, from its schema (the gateway stores no other); undefined: no schema, InfluxDB is asked. */
  tagKeys?: string[];
  /**
   * Field comparisons done by InfluxDB before any aggregate: points that fail it are not read by the
   * conditions (freshness still sees every point). For measurements with very many series.
   */
  prefilter?: Condition;
  /** No data newer than this: N/A. */
  freshnessMs: number;
  /** Aggregates (mean, max, ...) are taken over this recent window. */
  windowMs: number;
  unavailable: LeveledCondition[];
  degraded: LeveledCondition[];
}

/** How one module's status is decided: one light from one or several parts. See status/README.md. */
export interface ModuleRule {
  module: string;
  title: string;
  /** One part for a module with `measurement`; the parts it names, in order, for a module with `parts`. */
  parts: PartRule[];
  /** Declared with `parts`: its reason then names the deciding parts. */
  composite: boolean;
  /** Path of its Grafana dashboard below [status] grafana_url, e.g. d/monit-web. */
  dashboard?: string;
  /** Set when the module also sends MONIT availability documents (availability_serviceid). */
  availability?: ModuleAvailability;
  /** What the module is in the downtime feed (downtime_hostnames, downtime_sites, downtime_service_types); undefined: no feed downtime applies. */
  downtimeFeed?: DowntimeFeedMatch;
}

/** A feed downtime applies to a module when it names one of its hostnames or sites, and one of its service types if any is given. */
export interface DowntimeFeedMatch {
  hostnames: string[];
  sites: string[];
  serviceTypes: string[];
}

/** The module's own availability_* keys; [status] defaults are applied when the document is built. */
export interface ModuleAvailability {
  serviceId: string;
  description?: string;
  contact?: string;
  webpage?: string;
}

/** A rule that cannot work: names the file, line, module and key. */
export class RuleError extends ConfigError {
  override name = 'RuleError';
}

const LEVEL_KEY = /^(unavailable|degraded)(_\d+)?$/;
const AVAILABILITY_KEYS = ['availability_serviceid', 'availability_desc', 'availability_contact', 'availability_webpage'];
/** The keys of a part (besides the levels and their reasons); a single-measurement module has them too. */
const PART_KEYS = ['title', 'collector', 'heartbeat_freshness', 'measurement', 'fields', 'where', 'prefilter', 'freshness', 'window'];
/** The keys of a module itself: one light on the page, whether it reads one measurement or parts. */
const DOWNTIME_FEED_KEYS = ['downtime_hostnames', 'downtime_sites', 'downtime_service_types'];
const MODULE_KEYS = ['title', 'dashboard', 'enabled', 'parts', ...AVAILABILITY_KEYS, ...DOWNTIME_FEED_KEYS];
const NAME = /^[A-Za-z0-9_.-]+$/;
/** Module keys that say how a module is shown or matched, not what it reads. */
const DRESSING_KEYS = ['title', 'dashboard', ...AVAILABILITY_KEYS, ...DOWNTIME_FEED_KEYS];
/** Reason placeholders about the match itself; any other {NAME} must be a field listed in `fields`. */
export const PLACEHOLDERS = new Set(['value', 'series', 'matches']);
/** Functions InfluxDB can apply to each field type. */
const FUNCTIONS_FOR_TYPE: Record<FieldType, AggregateFunction[]> = {
  int: ['latest', 'first', 'mean', 'min', 'max', 'sum', 'count', 'delta'],
  float: ['latest', 'first', 'mean', 'min', 'max', 'sum', 'count', 'delta'],
  bool: ['latest', 'first', 'count'],
  string: ['latest', 'first', 'count'],
};

/**
 * Why a condition cannot be a prefilter (InfluxQL WHERE on raw values), or undefined: only bare fields
 * compared with a literal of their type, joined with and/or (InfluxQL has no `not`).
 */
function prefilterProblem(condition: Condition, fields: string[], types: Record<string, { type: FieldType }> | undefined): string | undefined {
  if (condition.kind === 'not') return "'not' cannot be used in a prefilter (write the opposite comparison)";
  if (condition.kind !== 'compare') {
    for (const item of condition.items) {
      const problem = prefilterProblem(item, fields, types);
      if (problem) return problem;
    }
    return undefined;
  }
  const field = [condition.left, condition.right].find((operand) => operand.kind === 'aggregate');
  const literal = [condition.left, condition.right].find((operand) => operand.kind === 'literal');
  if (!field || field.kind !== 'aggregate' || !literal || literal.kind !== 'literal') return `'${condition.text}' must compare a field with a number, "text" or true/false`;
  if (field.function !== 'latest') return `'${condition.text}': a prefilter reads raw values, not ${field.function}()`;
  if (!fields.includes(field.field)) return `reads '${field.field}', which is not listed in fields (${fields.join(', ')})`;
  const declared = types?.[field.field]?.type;
  const literalType = typeof literal.value === 'number' ? ['int', 'float'] : typeof literal.value === 'boolean' ? ['bool'] : ['string'];
  if (declared && !literalType.includes(declared)) return `'${condition.text}' compares the ${declared} field ${field.field} with ${JSON.stringify(literal.value)}`;
  return undefined;
}

/** Where a key or a section header was written, so an error can point at the line. */
interface Location {
  file: string;
  line?: number;
}

/** A key's value and where it was written. */
interface SourcedValue extends Location {
  value: string;
}

/** One [status.module.NAME] or [status.part.NAME] section, merged over the files that write it. */
interface RuleSection {
  values: Map<string, SourcedValue>;
  /** Its header in the last file that writes it: where a missing key is reported. */
  header: Location;
}

/** The 1-based line of `key` in `[section]` of an ini text, or undefined. */
export function findKeyLine(text: string, section: string, key: string): number | undefined {
  let current = '';
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].trim();
    const header = /^\[(.*)\]$/.exec(line);
    if (header) current = header[1].trim();
    else if (current === section && new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*=`).test(line)) return index + 1;
  }
  return undefined;
}

/** The 1-based line of the `[section]` header in an ini text, or undefined. */
function findSectionLine(text: string, section: string): number | undefined {
  const index = text.split(/\r?\n/).findIndex((line) => /^\[(.*)\]$/.exec(line.trim())?.[1].trim() === section);
  return index < 0 ? undefined : index + 1;
}

function readText(file: string): string | undefined {
  try {
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

function located(location: Location | undefined, fallback = 'config'): string {
  return location ? `${location.file}${location.line ? `:${location.line}` : ''}` : fallback;
}

/** The [PREFIX.*] sections of one ini file (status.module or status.part), with line numbers. */
function ruleSections(config: Config, text: string | undefined, prefix: string): Map<string, RuleSection> {
  const sections = new Map<string, RuleSection>();
  for (const section of config.sectionsUnder(prefix)) {
    const values = new Map<string, SourcedValue>();
    for (const [key, value] of section.entries()) {
      values.set(key, { value, file: config.file, line: text === undefined ? undefined : findKeyLine(text, section.name, key) });
    }
    sections.set(section.name.slice(prefix.length + 1), { values, header: { file: config.file, line: text === undefined ? undefined : findSectionLine(text, section.name) } });
  }
  return sections;
}

/** Later files override earlier ones key by key. */
function mergeSections(into: Map<string, RuleSection>, from: Map<string, RuleSection>): void {
  for (const [name, section] of from) {
    const earlier = into.get(name);
    into.set(name, earlier ? { values: new Map([...earlier.values, ...section.values]), header: section.header } : section);
  }
}

export interface RuleDefaults {
  freshnessMs: number;
  heartbeatFreshnessMs: number;
}

/** Reads the keys of one section; every problem names the file, line, section and key. */
class SectionReader {
  constructor(
    readonly label: string,
    private readonly section: RuleSection,
  ) {}

  get values(): Map<string, SourcedValue> {
    return this.section.values;
  }

  /** Throws a RuleError at the key's line, or at the section's header when the key is not written (or none is given). */
  fail(key: string | undefined, message: string): never {
    const source = key === undefined ? undefined : this.section.values.get(key);
    throw new RuleError(`${located(source ?? this.section.header)}: [${this.label}] ${key === undefined ? '' : `${key}: `}${message}`);
  }

  get(key: string): string | undefined {
    const value = this.section.values.get(key)?.value.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  duration(key: string, fallback: number): number {
    const text = this.get(key);
    if (text === undefined) return fallback;
    try {
      return parseDuration(text);
    } catch (error) {
      return this.fail(key, (error as Error).message);
    }
  }
}

const unknownKeyMessage = (known: string[]): string => `unknown key (known: ${known.join(', ')}, unavailable[_N], degraded[_N] and their _reason)`;

/**
 * Builds and checks the measurement keys of one section: a single-measurement module or a part. The
 * caller has checked which keys the section may hold.
 */
function buildPart(section: SectionReader, part: { name: string; title: string; defaultCollector: (producer: string) => string; credentialAlso?: string }, defaults: RuleDefaults, registry: SchemaRegistry): PartRule {
  const fail = (key: string | undefined, message: string): never => section.fail(key, message);
  const get = (key: string): string | undefined => section.get(key);
  const values = section.values;

  const measurement = get('measurement') ?? fail('measurement', 'is missing: give producer/type, e.g. web/probe');
  const measurementMatch = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(measurement);
  if (!measurementMatch) fail('measurement', `must be producer/type such as web/probe, got "${measurement}"`);
  const [, producer, type] = measurementMatch as RegExpExecArray;
  const schema = registry.get(producer, type);

  const fields = (get('fields') ?? fail('fields', 'is missing: list the fields the rule reads')).split(',').map((field) => field.trim()).filter(Boolean);
  if (fields.length === 0) fail('fields', 'lists no field');
  for (const field of fields) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field)) fail('fields', `'${field}' is not a field name`);
    if (schema && !(field in schema.fields)) fail('fields', `'${field}' is not a field of schemas/${producer}/${type}.json (known: ${Object.keys(schema.fields).join(', ')})`);
  }

  const where = (get('where') ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      const equals = item.indexOf('=');
      if (equals <= 0) return fail('where', `'${item}' must be tag=value`);
      const tag = item.slice(0, equals).trim();
      if (schema && !(tag in schema.tags)) fail('where', `'${tag}' is not a tag of schemas/${producer}/${type}.json`);
      return { tag, value: item.slice(equals + 1).trim() };
    });

  const prefilterText = get('prefilter');
  let prefilter: Condition | undefined;
  if (prefilterText !== undefined) {
    try {
      prefilter = parseCondition(prefilterText);
    } catch (error) {
      if (error instanceof ConditionSyntaxError) fail('prefilter', `${error.reason} at column ${error.column} of "${prefilterText}"`);
      throw error;
    }
    const problem = prefilterProblem(prefilter as Condition, fields, schema?.fields);
    if (problem) fail('prefilter', problem);
  }

  const levels = (level: 'unavailable' | 'degraded'): LeveledCondition[] => {
    const keys = [...values.keys()].filter((key) => LEVEL_KEY.test(key) && key.startsWith(level)).sort((a, b) => (a === level ? -1 : b === level ? 1 : a.localeCompare(b, 'en', { numeric: true })));
    return keys.map((key) => {
      const text = get(key) ?? fail(key, 'is empty');
      let condition: Condition;
      try {
        condition = parseCondition(text);
      } catch (error) {
        if (error instanceof ConditionSyntaxError) return fail(key, `${error.reason} at column ${error.column} of "${text}"`);
        throw error;
      }
      for (const operand of conditionAggregates(condition)) {
        if (!fields.includes(operand.field)) fail(key, `reads '${operand.field}', which is not listed in fields (${fields.join(', ')})`);
        const declared = schema?.fields[operand.field];
        if (declared && !FUNCTIONS_FOR_TYPE[declared.type].includes(operand.function)) {
          fail(key, `${operand.function}(${operand.field}) does not apply to a ${declared.type} field (use ${FUNCTIONS_FOR_TYPE[declared.type].join(', ')})`);
        }
      }
      const reason = get(`${key}_reason`) ?? fail(key, `has no ${key}_reason: say what an operator should read when it holds`);
      const reasonFields: string[] = [];
      for (const placeholder of reason.matchAll(/\{([^}]*)\}/g)) {
        const name = placeholder[1];
        if (PLACEHOLDERS.has(name) || reasonFields.includes(name)) continue;
        if (!fields.includes(name)) fail(`${key}_reason`, `unknown placeholder {${name}} (known: {value}, {series}, {matches}, and a field listed in fields: ${fields.map((field) => `{${field}}`).join(', ')})`);
        reasonFields.push(name);
      }
      return { key, text, condition, reason, reasonFields };
    });
  };
  for (const key of values.keys()) {
    if (key.endsWith('_reason') && !values.has(key.slice(0, -'_reason'.length))) fail(key, `is a reason without its condition ${key.slice(0, -'_reason'.length)}`);
  }

  const collectorText = get('collector') ?? part.defaultCollector(producer);
  const collector = collectorText === 'none' ? undefined : collectorText;
  const freshnessMs = section.duration('freshness', defaults.freshnessMs);
  const windowMs = section.duration('window', freshnessMs);
  if (freshnessMs <= 0) fail('freshness', 'must be positive');
  if (windowMs <= 0) fail('window', 'must be positive');
  return {
    name: part.name,
    title: part.title,
    collector,
    credentialJobs: collector ? [...new Set([collector, ...(part.credentialAlso ? [part.credentialAlso] : [])])] : [],
    heartbeatFreshnessMs: section.duration('heartbeat_freshness', defaults.heartbeatFreshnessMs),
    producer,
    type,
    fields,
    where,
    tagKeys: schema ? Object.keys(schema.tags) : undefined,
    prefilter,
    freshnessMs,
    windowMs,
    unavailable: levels('unavailable'),
    degraded: levels('degraded'),
  };
}

/** Checks the keys a section holds against those it may hold. */
function checkKeys(section: SectionReader, known: string[], misplaced: (key: string) => string | undefined): void {
  for (const key of section.values.keys()) {
    const problem = misplaced(key);
    if (problem) section.fail(key, problem);
    if (!known.includes(key) && !LEVEL_KEY.test(key.replace(/_reason$/, ''))) section.fail(key, unknownKeyMessage(known));
  }
}

/**
 * Builds and checks one module's rule; every problem names the file, line, section and key. A module
 * with `parts` takes its parts from `parts` (built once each, so a part shared by two modules is one
 * object and is evaluated once).
 */
function buildRule(module: string, moduleSection: RuleSection, defaults: RuleDefaults, registry: SchemaRegistry, parts: (name: string) => PartRule | undefined = () => undefined): ModuleRule {
  const section = new SectionReader(`status.module.${module}`, moduleSection);
  if (!NAME.test(module)) section.fail(undefined, `module name '${module}' may hold only letters, digits, '_', '.' and '-'`);
  const title = section.get('title') ?? module;
  const identity = (): Omit<ModuleRule, 'parts' | 'composite'> => ({
    module,
    title,
    dashboard: section.get('dashboard'),
    availability: moduleAvailability(
      (key) => section.get(key),
      (key, message) => section.fail(key, message),
    ),
    downtimeFeed: moduleDowntimeFeed(
      (key) => section.get(key),
      (key, message) => section.fail(key, message),
    ),
  });
  if (!moduleSection.values.has('parts')) {
    checkKeys(section, [...new Set([...PART_KEYS, ...MODULE_KEYS.filter((key) => key !== 'parts')])], () => undefined);
    // The job named like the module gates it by default, and its heartbeat's credential counts too.
    const part = buildPart(section, { name: module, title, defaultCollector: () => module, credentialAlso: module }, defaults, registry);
    return { ...identity(), composite: false, parts: [part] };
  }
  if (moduleSection.values.has('measurement')) {
    section.fail('measurement', 'a module has either measurement (one measurement) or parts (several), not both: move measurement and the keys that go with it to a [status.part.NAME] section named in parts');
  }
  checkKeys(section, MODULE_KEYS, (key) =>
    key !== 'title' && (PART_KEYS.includes(key) || LEVEL_KEY.test(key.replace(/_reason$/, ''))) ? `belongs to a part: a module with parts reads ${key} from each [status.part.NAME] it names` : undefined,
  );
  const names = (section.get('parts') ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) section.fail('parts', "is empty: name the [status.part.NAME] sections whose worst state is the module's");
  const built = names.map((name, index) => {
    if (names.indexOf(name) !== index) section.fail('parts', `names part '${name}' twice`);
    return parts(name) ?? section.fail('parts', `unknown part '${name}': there is no [status.part.${name}] section`);
  });
  return { ...identity(), composite: true, parts: built };
}

/** An http(s) URL, or why not. */
export function urlProblem(text: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return `must be a URL such as https://example.org/service, got "${text}"`;
  }
  return ['http:', 'https:'].includes(parsed.protocol) ? undefined : `must be an http or https URL, got "${text}"`;
}

/** The availability_* keys of a module: undefined unless availability_serviceid opts it in. */
function moduleAvailability(get: (key: string) => string | undefined, fail: (key: string, message: string) => never): ModuleAvailability | undefined {
  const serviceId = get('availability_serviceid');
  if (serviceId === undefined) {
    const stray = AVAILABILITY_KEYS.find((key) => get(key) !== undefined);
    if (stray) fail(stray, 'is set, but availability_serviceid is not: set it to send MONIT availability documents for this module');
    return undefined;
  }
  // A tag value: one word, as the service catalogue's ids are.
  if (!/^[^\s\\\p{Cc}]+$/u.test(serviceId)) fail('availability_serviceid', `must be one word without spaces, backslashes or control characters, got ${JSON.stringify(serviceId)}`);
  const webpage = get('availability_webpage');
  const problem = webpage === undefined ? undefined : urlProblem(webpage);
  if (problem) fail('availability_webpage', problem);
  return { serviceId, description: get('availability_desc'), contact: get('availability_contact'), webpage };
}

/** The downtime_* keys of a module: undefined when it names no hostname or site. */
function moduleDowntimeFeed(get: (key: string) => string | undefined, fail: (key: string, message: string) => never): DowntimeFeedMatch | undefined {
  const list = (key: string): string[] => (get(key) ?? '').split(',').map((item) => item.trim()).filter(Boolean);
  const match = { hostnames: list('downtime_hostnames'), sites: list('downtime_sites'), serviceTypes: list('downtime_service_types') };
  if (match.hostnames.length === 0 && match.sites.length === 0) {
    if (match.serviceTypes.length > 0) fail('downtime_service_types', 'is set, but neither downtime_hostnames nor downtime_sites is: a feed downtime is matched by hostname or site first');
    return undefined;
  }
  return match;
}

/** Where the shipped rules were before each source folder held its own (still accepted, with a warning). */
const FORMER_DEFAULT_RULES_FILE = path.join(PROJECT_ROOT, 'status', 'default-rules.cfg');

/** The shipped default rules: every source folder's status.cfg, in folder order. */
export function defaultRuleFiles(): string[] {
  if (!existsSync(COLLECTORS_DIR)) return [];
  return readdirSync(COLLECTORS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(COLLECTORS_DIR, entry.name, 'status.cfg'))
    .filter((file) => existsSync(file))
    .sort();
}

/**
 * The rules of every module: the default rules (each collectors/<name>/status.cfg, or the file
 * `[status] default_rules` names; empty for none), then the [status.module.NAME] sections of the
 * config, which override a default module key by key or add modules. `enabled = false` drops a
 * module, and so does running none of its parts' jobs (cli/schedule.ts `enabled`) for a module of a
 * collector's status.cfg that the config does not name. Throws RuleError naming module and line.
 */
export function loadRules(config: Config, options: { registry?: SchemaRegistry; warn?: (message: string) => void } = {}): ModuleRule[] {
  const status = config.section('status');
  const registry = options.registry ?? schemaRegistry();
  const defaults: RuleDefaults = {
    freshnessMs: status.duration('freshness', '30m'),
    heartbeatFreshnessMs: status.duration('heartbeat_freshness', '30m'),
  };
  // Absent: the shipped files; present but empty: no default rules.
  let defaultsFiles = !status.keys().includes('default_rules') ? defaultRuleFiles() : status.has('default_rules') ? [status.path('default_rules')] : [];
  // The collectors' own status.cfg, not a file the config names: only those are shown per configured collector.
  let collectorFiles = !status.keys().includes('default_rules');
  if (defaultsFiles.length === 1 && defaultsFiles[0] === FORMER_DEFAULT_RULES_FILE && !existsSync(FORMER_DEFAULT_RULES_FILE)) {
    options.warn?.(`${config.file}: [status] default_rules = status/default-rules.cfg: the shipped rules are now each collector's status.cfg, which are used; remove the key`);
    defaultsFiles = defaultRuleFiles();
    collectorFiles = true;
  }
  const modules = new Map<string, RuleSection>();
  const partSections = new Map<string, RuleSection>();
  const configText = readText(config.file);
  const shipped = new Set<string>();
  for (const file of defaultsFiles) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const line = configText === undefined ? undefined : findKeyLine(configText, 'status', 'default_rules');
      throw new ConfigError(`${config.file}${line ? `:${line}` : ''}: [status] default_rules: cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
    const parsed = Config.parse(text, file);
    for (const [module, section] of ruleSections(parsed, text, 'status.module')) {
      modules.set(module, section);
      shipped.add(module);
    }
    mergeSections(partSections, ruleSections(parsed, text, 'status.part'));
  }
  const configModules = ruleSections(config, configText, 'status.module');
  mergeSections(modules, configModules);
  mergeSections(partSections, ruleSections(config, configText, 'status.part'));

  // Each part is built once, when a module first names it: a shared part is one object, evaluated once.
  const parts = new Map<string, PartRule>();
  const partNamed = (name: string): PartRule | undefined => {
    const section = partSections.get(name);
    if (!section) return undefined;
    let part = parts.get(name);
    if (!part) {
      const reader = new SectionReader(`status.part.${name}`, section);
      if (!NAME.test(name)) reader.fail(undefined, `part name '${name}' may hold only letters, digits, '_', '.' and '-'`);
      checkKeys(reader, PART_KEYS, (key) => (MODULE_KEYS.includes(key) && key !== 'title' ? `belongs to the module: a part has no ${key}, the module that names it in parts has` : undefined));
      // A part's data comes from its measurement's producer, which is the collector's job name unless `collector` says otherwise.
      part = buildPart(reader, { name, title: reader.get('title') ?? name, defaultCollector: (producer) => producer }, defaults, registry);
      parts.set(name, part);
    }
    return part;
  };

  const named = new Set<string>();
  const rules: ModuleRule[] = [];
  for (const [module, section] of modules) {
    for (const name of (section.values.get('parts')?.value ?? '').split(',')) named.add(name.trim());
    const values = section.values;
    const enabled = values.get('enabled');
    values.delete('enabled');
    const enabledText = enabled ? enabled.value.trim().toLowerCase() : 'true';
    if (!['true', 'yes', 'on', '1', 'false', 'no', 'off', '0'].includes(enabledText)) {
      throw new RuleError(`${located(enabled)}: [status.module.${module}] enabled: must be true or false, got "${enabled?.value}"`);
    }
    if (['false', 'no', 'off', '0'].includes(enabledText)) continue;
    // Keys that only dress a module (its title, downtime names...) for one no rules file defines, e.g. after
    // default_rules = (empty): a leftover, not a new module without data; warned about, not fatal.
    const keys = [...values.keys()];
    if (!shipped.has(module) && keys.length > 0 && keys.every((key) => DRESSING_KEYS.includes(key))) {
      options.warn?.(`${located(values.get(keys[0]))}: [status.module.${module}] sets only ${keys.join(', ')}, and no rules file defines the module (default_rules): ignored`);
      continue;
    }
    const rule = buildRule(module, section, defaults, registry, partNamed);
    // A shipped module whose jobs this config does not run (an opt-in collector such as jetstream) would only ever be N/A.
    if (collectorFiles && !configModules.has(module) && !rule.parts.some((part) => part.collector === undefined || jobRuns(config, part.collector))) continue;
    // Two modules with one service id would overwrite each other's document in MONIT and InfluxDB.
    const twin = rule.availability && rules.find((other) => other.availability?.serviceId === rule.availability?.serviceId);
    if (twin) {
      throw new RuleError(`${located(values.get('availability_serviceid'))}: [status.module.${module}] availability_serviceid: "${rule.availability?.serviceId}" is already the service id of module ${twin.module}; give each module its own`);
    }
    rules.push(rule);
  }
  // A part no module names would be checked by nobody: most likely a typo in parts.
  for (const [name, section] of partSections) {
    if (!named.has(name)) throw new RuleError(`${located(section.header)}: [status.part.${name}] is named in no module's parts: add it to a [status.module.NAME] parts, or remove the section`);
  }
  return rules;
}
