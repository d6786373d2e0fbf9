import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Config, ConfigError } from '../lib/config/config';
import { COLLECTORS_DIR, PROJECT_ROOT } from '../lib/config/paths';
import { type SchemaRegistry, schemaRegistry } from '../lib/documents/schemas';
import { parseDuration } from '../lib/run/slot';
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

/** How one module's status is decided. See status/README.md for every key. */
export interface ModuleRule {
  module: string;
  title: string;
  /** The job whose heartbeat (monit-collectors/run, tag job) gates the module; undefined: no heartbeat check. */
  collector?: string;
  heartbeatFreshnessMs: number;
  producer: string;
  type: string;
  fields: string[];
  /** Exact tag matches that select the series the module looks at. */
  where: Array<{ tag: string; value: string }>;
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
  /** Path of its Grafana dashboard below [status] grafana_url, e.g. d/monit-web. */
  dashboard?: string;
  /** Set when the module also sends MONIT availability documents (availability_serviceid). */
  availability?: ModuleAvailability;
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
const KNOWN_KEYS = new Set(['title', 'collector', 'heartbeat_freshness', 'measurement', 'fields', 'where', 'prefilter', 'freshness', 'window', 'dashboard', 'enabled', ...AVAILABILITY_KEYS]);
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

/** A key's value and where it was written, so an error can point at the line. */
interface SourcedValue {
  value: string;
  file: string;
  line?: number;
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

function readText(file: string): string | undefined {
  try {
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

/** The [status.module.*] sections of one ini file, with line numbers. */
function moduleSections(config: Config, text: string | undefined): Map<string, Map<string, SourcedValue>> {
  const modules = new Map<string, Map<string, SourcedValue>>();
  for (const section of config.sectionsUnder('status.module')) {
    const module = section.name.slice('status.module.'.length);
    const values = new Map<string, SourcedValue>();
    for (const [key, value] of section.entries()) {
      values.set(key, { value, file: config.file, line: text === undefined ? undefined : findKeyLine(text, section.name, key) });
    }
    modules.set(module, values);
  }
  return modules;
}

export interface RuleDefaults {
  freshnessMs: number;
  heartbeatFreshnessMs: number;
}

/** Builds and checks one module's rule; every problem names the module, the key and its line. */
export function buildRule(module: string, values: Map<string, SourcedValue>, defaults: RuleDefaults, registry: SchemaRegistry): ModuleRule {
  const fail = (key: string, message: string): never => {
    const source = values.get(key);
    const where = source ? `${source.file}${source.line ? `:${source.line}` : ''}` : values.values().next().value?.file ?? 'config';
    throw new RuleError(`${where}: [status.module.${module}] ${key}: ${message}`);
  };
  if (!/^[A-Za-z0-9_.-]+$/.test(module)) fail('measurement', `module name '${module}' may hold only letters, digits, '_', '.' and '-'`);
  const get = (key: string): string | undefined => {
    const value = values.get(key)?.value.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const duration = (key: string, fallback: number): number => {
    const text = get(key);
    if (text === undefined) return fallback;
    try {
      return parseDuration(text);
    } catch (error) {
      return fail(key, (error as Error).message);
    }
  };
  for (const key of values.keys()) {
    const base = key.replace(/_reason$/, '');
    if (!KNOWN_KEYS.has(key) && !LEVEL_KEY.test(base)) fail(key, `unknown key (known: ${[...KNOWN_KEYS].join(', ')}, unavailable[_N], degraded[_N] and their _reason)`);
  }

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

  const collector = get('collector') ?? module;
  const availability = moduleAvailability(get, fail);
  const freshnessMs = duration('freshness', defaults.freshnessMs);
  const windowMs = duration('window', freshnessMs);
  if (freshnessMs <= 0) fail('freshness', 'must be positive');
  if (windowMs <= 0) fail('window', 'must be positive');
  return {
    module,
    title: get('title') ?? module,
    collector: collector === 'none' ? undefined : collector,
    heartbeatFreshnessMs: duration('heartbeat_freshness', defaults.heartbeatFreshnessMs),
    producer,
    type,
    fields,
    where,
    prefilter,
    freshnessMs,
    windowMs,
    unavailable: levels('unavailable'),
    degraded: levels('degraded'),
    dashboard: get('dashboard'),
    availability,
  };
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
 * module. Throws RuleError naming module and line.
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
  if (defaultsFiles.length === 1 && defaultsFiles[0] === FORMER_DEFAULT_RULES_FILE && !existsSync(FORMER_DEFAULT_RULES_FILE)) {
    options.warn?.(`${config.file}: [status] default_rules = status/default-rules.cfg: the shipped rules are now each collector's status.cfg, which are used; remove the key`);
    defaultsFiles = defaultRuleFiles();
  }
  const merged = new Map<string, Map<string, SourcedValue>>();
  for (const file of defaultsFiles) {
    const text = readText(file);
    if (text === undefined) throw new ConfigError(`${config.file}: [status] default_rules: cannot read ${file}`);
    for (const [module, values] of moduleSections(Config.parse(text, file), text)) merged.set(module, values);
  }
  for (const [module, values] of moduleSections(config, readText(config.file))) {
    merged.set(module, new Map([...(merged.get(module) ?? []), ...values]));
  }
  const rules: ModuleRule[] = [];
  for (const [module, values] of merged) {
    const enabled = values.get('enabled');
    values.delete('enabled');
    const enabledText = enabled ? enabled.value.trim().toLowerCase() : 'true';
    if (!['true', 'yes', 'on', '1', 'false', 'no', 'off', '0'].includes(enabledText)) {
      throw new RuleError(`${enabled?.file}${enabled?.line ? `:${enabled.line}` : ''}: [status.module.${module}] enabled: must be true or false, got "${enabled?.value}"`);
    }
    if (['false', 'no', 'off', '0'].includes(enabledText)) continue;
    const rule = buildRule(module, values, defaults, registry);
    // Two modules with one service id would overwrite each other's document in MONIT and InfluxDB.
    const twin = rule.availability && rules.find((other) => other.availability?.serviceId === rule.availability?.serviceId);
    if (twin) {
      const source = values.get('availability_serviceid');
      throw new RuleError(`${source?.file}${source?.line ? `:${source.line}` : ''}: [status.module.${module}] availability_serviceid: "${rule.availability?.serviceId}" is already the service id of module ${twin.module}; give each module its own`);
    }
    rules.push(rule);
  }
  return rules;
}
