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
    if (!path.startsWith('$')) throw new ConfigError(`${section.at()} ${PATH_KEY_PREFIX}${field}: '${path}' is not a JSONPath: a JSONPath starts with $ (e.g. $.${path})`);
    const unbalanced = unbalancedAt(path);
    if (unbalanced) throw new ConfigError(`${section.at()} ${PATH_KEY_PREFIX}${field}: '${path}' is not a JSONPath: ${unbalanced}`);
    paths.set(field, path);
  }
  return paths;
}

const CLOSING: Record<string, string> = { '[': ']', '(': ')' };

/**
 * Why brackets, parentheses or quotes of `path` do not pair up, or undefined. jsonpath-plus reads such a
 * path without complaint (`$['a'` as `$.a`), so a typo would otherwise read another value or none.
 */
function unbalancedAt(path: string): string | undefined {
  const open: Array<{ character: string; at: number }> = [];
  let quote: { character: string; at: number } | undefined;
  for (let index = 0; index < path.length; index++) {
    const character = path[index];
    if (quote) {
      if (character === '\\') index++;
      else if (character === quote.character) quote = undefined;
    } else if (character === "'" || character === '"') quote = { character, at: index };
    else if (character in CLOSING) open.push({ character, at: index });
    else if (character === ']' || character === ')') {
      const last = open.pop();
      if (!last || CLOSING[last.character] !== character) return `'${character}' at character ${index + 1} closes nothing`;
    }
  }
  if (quote) return `the quote at character ${quote.at + 1} is not closed`;
  const last = open.pop();
  return last ? `'${last.character}' at character ${last.at + 1} is not closed` : undefined;
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
