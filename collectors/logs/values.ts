import { ConfigError, type ConfigSection } from '../../lib/config/config';
import type { DocumentFactory } from '../../lib/documents/document';
import { buildDeclared, checkDeclaredAgainstSchema, checkDeclaredName, convertDeclared, DECLARED_NAME, KIND_OF_TYPE, type DeclaredFields, type DeclaredKind } from '../../lib/documents/declared';
import type { SchemaRegistry } from '../../lib/documents/schemas';
import type { FieldType, MonitDocument, Scalar } from '../../lib/documents/types';
import { LOGS_PATTERN } from '../../schemas/kinds';

/**
 * Values of a pattern's named groups over the lines of one run (`values = events:sum, lag_s:last`):
 * each GROUP:FUNCTION is the field GROUP_FUNCTION of a logs/<measurement> document tagged `pattern`.
 */

export const VALUE_FUNCTIONS = ['sum', 'count', 'max', 'min', 'mean', 'last'] as const;
export type ValueFunction = (typeof VALUE_FUNCTIONS)[number];

/** Functions of a text or boolean group: the others need numbers. */
const ANY_KIND_FUNCTIONS: ReadonlySet<ValueFunction> = new Set(['count', 'last']);

export interface GroupValues {
  /** How each capture is converted: the declared kind, or the type the schema gives its fields. */
  convertAs: DeclaredKind | FieldType;
  /** Field name of each function asked of this group. */
  fields: Map<ValueFunction, string>;
}

export interface ValuesDefinition {
  /** Type of the values documents (logs/<measurement>). */
  measurement: string;
  groups: Map<string, GroupValues>;
}

const PRODUCER = LOGS_PATTERN.producer;

/** The named groups of a regex: an alternative that matches the empty text lists them all. */
export function namedGroups(regex: RegExp): string[] {
  const match = new RegExp(`(?:${regex.source})|`, regex.flags).exec('');
  return Object.keys(match?.groups ?? {});
}

/**
 * Reads `values` and `measurement` of a [logs.pattern.NAME] section; undefined without `values`.
 * Throws a ConfigError naming the key for an unknown group or function, a bad name, or a field
 * that schemas/logs/<measurement>.json (when it exists) does not have with a fitting type.
 */
export function valuesDefinition(section: ConfigSection, name: string, regex: RegExp, registry: SchemaRegistry): ValuesDefinition | undefined {
  const items = section.list('values', []);
  const measurement = section.string('measurement', name);
  if (items.length === 0) {
    if (section.has('measurement')) throw new ConfigError(`${section.at()} measurement: only used with values (none is set)`);
    return undefined;
  }
  if (!DECLARED_NAME.test(measurement)) throw new ConfigError(`${section.at()} measurement: '${measurement}' uses letters, digits and _ only (set measurement when the pattern NAME has . or -)`);
  if (measurement === LOGS_PATTERN.type) throw new ConfigError(`${section.at()} measurement: '${measurement}' is reserved for the logs/${LOGS_PATTERN.type} count documents`);
  const available = namedGroups(regex);
  const groups = new Map<string, GroupValues>();
  const declaredKinds = new Map<string, DeclaredKind>();
  for (const item of items) {
    const [group, fn, kind, ...rest] = item.split(':').map((part) => part.trim());
    if (!fn || rest.length) throw new ConfigError(`${section.at()} values: '${item}' is not GROUP:FUNCTION or GROUP:last:KIND`);
    if (!available.includes(group)) {
      throw new ConfigError(`${section.at()} values: '${group}' is not a named group of the regex (${available.length ? `groups: ${available.join(', ')}` : 'it has none: write (?<name>...)'})`);
    }
    if (!(VALUE_FUNCTIONS as readonly string[]).includes(fn)) throw new ConfigError(`${section.at()} values: '${item}' has an unknown function '${fn}' (${VALUE_FUNCTIONS.join(', ')})`);
    if (kind !== undefined) {
      if (kind !== 'number' && kind !== 'string' && kind !== 'bool') throw new ConfigError(`${section.at()} values: '${item}' has an unknown kind '${kind}' (number, string or bool)`);
      const earlier = declaredKinds.get(group);
      if (earlier && earlier !== kind) throw new ConfigError(`${section.at()} values: group '${group}' is declared both ${earlier} and ${kind}`);
      declaredKinds.set(group, kind);
    }
    const field = `${group}_${fn}`;
    checkDeclaredName(section, 'values', field, 'rename the group');
    const values = groups.get(group) ?? { convertAs: 'number', fields: new Map<ValueFunction, string>() };
    if (values.fields.has(fn as ValueFunction)) throw new ConfigError(`${section.at()} values: '${group}:${fn}' is listed twice`);
    values.fields.set(fn as ValueFunction, field);
    groups.set(group, values);
  }
  for (const [group, values] of groups) {
    const kind = declaredKinds.get(group) ?? 'number';
    values.convertAs = kind;
    const numeric = [...values.fields.keys()].filter((fn) => !ANY_KIND_FUNCTIONS.has(fn));
    if (kind !== 'number' && numeric.length) throw new ConfigError(`${section.at()} values: group '${group}' is ${kind}: only count and last apply to it, not ${numeric.join(', ')}`);
  }

  const declared: DeclaredFields = new Map();
  for (const [group, values] of groups) {
    for (const [fn, field] of values.fields) declared.set(field, fn === 'last' ? declaredKinds.get(group) ?? 'number' : 'number');
  }
  const schema = checkDeclaredAgainstSchema(registry, PRODUCER, measurement, { section, tagsKey: 'measurement', tags: [LOGS_PATTERN.tags.pattern], fieldsKey: 'values', fields: declared });
  if (schema) {
    const file = `schemas/${PRODUCER}/${measurement}.json`;
    for (const [group, values] of groups) {
      // The captures of a group are converted once, to the type of the fields that hold them.
      const holding = [...values.fields].filter(([fn]) => fn !== 'count' && fn !== 'mean').map(([, field]) => schema.fields[field].type);
      const kinds = new Set(holding.map((type) => KIND_OF_TYPE[type]));
      if (kinds.size > 1) throw new ConfigError(`${section.at()} values: ${file} gives the fields of group '${group}' different kinds (${holding.join(', ')})`);
      if (holding.length) values.convertAs = holding.includes('int') ? 'int' : holding[0];
      const count = values.fields.get('count');
      if (count && KIND_OF_TYPE[schema.fields[count].type] !== 'number') throw new ConfigError(`${section.at()} values: '${count}' is a count but ${file} says ${schema.fields[count].type}`);
      const mean = values.fields.get('mean');
      if (mean && schema.fields[mean].type !== 'float') throw new ConfigError(`${section.at()} values: '${mean}' is a mean but ${file} says ${schema.fields[mean].type} (a mean is a float)`);
      if (values.convertAs === 'string' || values.convertAs === 'bool') {
        const numericField = [...values.fields].find(([fn]) => !ANY_KIND_FUNCTIONS.has(fn));
        if (numericField) throw new ConfigError(`${section.at()} values: '${numericField[1]}' needs numbers but ${file} makes group '${group}' ${values.convertAs}`);
      }
    }
  }
  return { measurement, groups };
}

/** One group's captures of a run. */
interface GroupAccumulator {
  count: number;
  sum: number;
  max: number;
  min: number;
  last: Scalar | undefined;
}

/** The values of one pattern over the lines of one run. */
export class ValuesAccumulator {
  private readonly accumulators = new Map<string, GroupAccumulator>();
  /** Captures that did not convert to their kind, and the first of them, for the run's problem. */
  unconverted = 0;
  firstProblem: string | undefined;

  constructor(readonly definition: ValuesDefinition) {
    for (const group of definition.groups.keys()) this.accumulators.set(group, { count: 0, sum: 0, max: -Infinity, min: Infinity, last: undefined });
  }

  /** Adds the captures of one matching line (`where` names the file, for the problem). */
  add(captures: Record<string, string | undefined>, where: string): void {
    for (const [group, values] of this.definition.groups) {
      const raw = captures[group];
      if (raw === undefined) continue; // an optional group that did not take part in this match
      const converted = convertDeclared(raw, values.convertAs);
      if ('problem' in converted) {
        this.unconverted += 1;
        this.firstProblem ??= `group '${group}' in ${where}: ${converted.problem}`;
        continue;
      }
      const value = converted.value;
      if (value === undefined) continue;
      const accumulator = this.accumulators.get(group)!;
      accumulator.count += 1;
      accumulator.last = value;
      if (typeof value === 'number') {
        accumulator.sum += value;
        accumulator.max = Math.max(accumulator.max, value);
        accumulator.min = Math.min(accumulator.min, value);
      }
    }
  }

  /** Adds what `later` gathered (a file read after those already merged: its last values are newer). */
  merge(later: ValuesAccumulator): void {
    for (const [group, from] of later.accumulators) {
      const into = this.accumulators.get(group)!;
      if (from.count === 0) continue;
      into.count += from.count;
      into.sum += from.sum;
      into.max = Math.max(into.max, from.max);
      into.min = Math.min(into.min, from.min);
      into.last = from.last;
    }
    this.unconverted += later.unconverted;
    this.firstProblem ??= later.firstProblem;
  }

  /**
   * The fields of the run: sum and count are 0 when no line gave the group a value (nothing was
   * counted); max, min, mean and last are then absent, never a 0 that was not seen.
   */
  fields(): Record<string, Scalar> {
    const fields: Record<string, Scalar> = {};
    for (const [group, values] of this.definition.groups) {
      const accumulator = this.accumulators.get(group)!;
      const seen = accumulator.count > 0;
      for (const [fn, field] of values.fields) {
        const value = fn === 'count' ? accumulator.count
          : fn === 'sum' ? accumulator.sum
          : !seen ? undefined
          : fn === 'max' ? accumulator.max
          : fn === 'min' ? accumulator.min
          : fn === 'mean' ? accumulator.sum / accumulator.count
          : accumulator.last;
        if (value !== undefined) fields[field] = value;
      }
    }
    return fields;
  }

  /** The logs/<measurement> document of pattern `name`, or undefined when it has no field this run. */
  document(factory: DocumentFactory, registry: SchemaRegistry, name: string): MonitDocument | undefined {
    const fields = this.fields();
    if (Object.keys(fields).length === 0) return undefined;
    return buildDeclared(factory, registry, PRODUCER, this.definition.measurement, { [LOGS_PATTERN.tags.pattern]: name }, fields);
  }
}
