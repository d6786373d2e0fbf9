import { JSONPath } from 'jsonpath-plus';
import { ConfigError, type ConfigSection } from '../config/config';
import type { DeclaredFields } from './declared';

/**
 * Values read out of a JSON answer (web probes, command outputs) by JSONPath (jsonpath-plus, safe
 * evaluation: filters such as `$.apps[?(@.state == 'RUNNING')]` work, code does not run).
 * Each declared field FIELD is read at the path of key `json.FIELD`, by default `$.FIELD`.
 */

const PATH_KEY_PREFIX = 'json.';

/** The path of every declared field; a `json.X` key for an undeclared X is a ConfigError (a typo). */
export function declaredJsonPaths(section: ConfigSection, fields: DeclaredFields, fieldsKey = 'fields'): Map<string, string> {
  const paths = new Map<string, string>();
  for (const key of section.keys()) {
    if (!key.startsWith(PATH_KEY_PREFIX)) continue;
    const field = key.slice(PATH_KEY_PREFIX.length);
    if (!fields.has(field)) throw new ConfigError(`${section.at()} ${key}: '${field}' is not listed in ${fieldsKey} (${[...fields.keys()].join(', ')})`);
  }
  for (const field of fields.keys()) {
    const path = section.string(`${PATH_KEY_PREFIX}${field}`, `$.${field}`);
    if (!path.startsWith('$')) throw new ConfigError(`${section.at()} ${PATH_KEY_PREFIX}${field}: '${path}' is not a JSONPath (it starts with $)`);
    paths.set(field, path);
  }
  return paths;
}

/** One path's value: exactly one match, none (the path is missing), or why it cannot be used. */
export type JsonValue = { value: unknown } | { missing: string } | { problem: string };

/** Reads one value at `path`; several matches or a bad path are a problem naming the path. */
export function readJsonValue(json: unknown, path: string): JsonValue {
  // jsonpath-plus reads nothing from a falsy document (a body `0`, `false`, `null`, `""`); only $ can match it.
  if (json === null || json === false || json === 0 || json === '') return path.trim() === '$' ? { value: json } : { missing: `${path} matches nothing` };
  let matches: unknown[];
  try {
    matches = JSONPath({ path, json: json as object, wrap: true, eval: 'safe' }) as unknown[];
  } catch (error) {
    return { problem: `JSONPath ${path}: ${(error as Error).message}` };
  }
  if (!Array.isArray(matches) || matches.length === 0) return { missing: `${path} matches nothing` };
  if (matches.length > 1) return { problem: `${path} matches ${matches.length} values, not one` };
  return { value: matches[0] };
}
