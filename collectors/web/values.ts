import { ConfigError, type Config, type ConfigSection } from '../../lib/config/config';
import { checkDeclaredAgainstSchema, convertDeclared, DECLARED_NAME, parseDeclaredFields, targetType, type DeclaredFields } from '../../lib/documents/declared';
import { declaredJsonPaths, readJsonValue } from '../../lib/documents/jsonValues';
import type { SchemaRegistry } from '../../lib/documents/schemas';
import type { Scalar, TypeSchema } from '../../lib/documents/types';
import { WEB_PROBE } from '../../schemas/kinds';

/**
 * Values read out of a probe's JSON answer ([web.<name>] fields, json.FIELD, measurement): they go to
 * a document web/<measurement> tagged like the probe's web/probe document.
 */

export const PRODUCER = WEB_PROBE.producer;
/** Tags of every value document: the probe's name (the name tag of web/probe) and its URL. */
export const VALUE_TAGS = ['probe', 'url'] as const;
/** Keys that only a named probe may set: the values belong to one probe. */
const VALUE_KEYS = ['fields', 'measurement'];

export interface ValueSettings {
  measurement: string;
  fields: DeclaredFields;
  /** JSONPath of each field, in declaration order. */
  paths: Map<string, string>;
  /** schemas/web/<measurement>.json, when it exists: its types apply. */
  schema: TypeSchema | undefined;
}

/** `[web]` gives no values: they are read per named probe. */
export function refuseValueKeysInDefaults(config: Config, sectionName: string): void {
  const misplaced = config.sectionKeys(sectionName).find((key) => VALUE_KEYS.includes(key) || key.startsWith('json.'));
  if (misplaced) throw new ConfigError(`${config.file}: [${sectionName}] ${misplaced}: JSON values are read per probe: set it in a [${sectionName}.<name>] section`);
}

/** The values of one [web.<name>] probe, checked against schemas/web/<measurement>.json; undefined without `fields`. */
export function readValueSettings(section: ConfigSection, probeName: string, registry: SchemaRegistry): ValueSettings | undefined {
  const fields = parseDeclaredFields(section, 'fields');
  if (!fields) {
    const orphan = section.keys().find((key) => key === 'measurement' || key.startsWith('json.'));
    if (orphan) throw new ConfigError(`${section.at()} ${orphan}: no fields are declared: add fields = a, b:string, c:bool`);
    return undefined;
  }
  const measurement = section.string('measurement', probeName);
  if (!DECLARED_NAME.test(measurement)) {
    const origin = section.has('measurement') ? '' : ' (the probe name, by default)';
    throw new ConfigError(`${section.at()} measurement: '${measurement}'${origin} is not a usable measurement (letters, digits, _): set measurement`);
  }
  if (measurement === WEB_PROBE.type) throw new ConfigError(`${section.at()} measurement: '${measurement}' is the web/${WEB_PROBE.type} documents' own: choose another`);
  for (const tag of VALUE_TAGS) {
    if (fields.has(tag)) throw new ConfigError(`${section.at()} fields: '${tag}' is a tag of every value document: read it under another name`);
  }
  const schema = registry.get(PRODUCER, measurement);
  const file = `schemas/${PRODUCER}/${measurement}.json`;
  const missingTags = VALUE_TAGS.filter((tag) => schema && !(tag in schema.tags));
  if (missingTags.length) throw new ConfigError(`${section.at()} measurement: ${file} lacks the tag${missingTags.length > 1 ? 's' : ''} ${missingTags.join(', ')} that every web value document carries`);
  checkDeclaredAgainstSchema(registry, PRODUCER, measurement, { section, tagsKey: 'measurement', tags: VALUE_TAGS, fields });
  return { measurement, fields, paths: declaredJsonPaths(section, fields), schema };
}

/** What one answer gave: the fields read, and a sentence for each declared field that could not be. */
export interface ReadValues {
  fields: Record<string, Scalar>;
  /** Fields that could not be read (null values are absent but not missing). */
  missing: number;
  problems: string[];
  /** Set when the answer is not JSON at all: then no field is read. */
  notJson?: string;
}

/** Reads every declared field from `body`, a JSON text. Never throws. */
export function readValues(settings: ValueSettings, body: string): ReadValues {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return { fields: {}, missing: settings.fields.size, problems: [], notJson: `the answer is not JSON (${(error as Error).message})` };
  }
  // A null prototype keeps a field named __proto__ an ordinary key, as DocumentFactory does.
  const fields = Object.create(null) as Record<string, Scalar>;
  const problems: string[] = [];
  for (const [field, kind] of settings.fields) {
    const path = settings.paths.get(field) ?? `$.${field}`;
    const found = readJsonValue(json, path);
    if ('missing' in found || 'problem' in found) {
      problems.push(`field '${field}': ${'missing' in found ? found.missing : found.problem}`);
      continue;
    }
    const wanted = targetType(settings.schema, field, kind);
    const converted = convertDeclared(found.value, wanted);
    if ('problem' in converted) problems.push(`field '${field}' (${path}): ${converted.problem}${wanted !== kind ? ` (${wanted} in schemas/${PRODUCER}/${settings.measurement}.json)` : ''}`);
    else if (converted.value !== undefined) fields[field] = converted.value;
  }
  return { fields, missing: problems.length, problems };
}
