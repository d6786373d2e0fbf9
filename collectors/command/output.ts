import { convertDeclared, targetType } from '../../lib/documents/declared';
import { readJsonValue } from '../../lib/documents/jsonValues';
import type { Scalar, TypeSchema } from '../../lib/documents/types';
import type { CommandDefinition } from './settings';

/** The declared values of one output, and each value that could not be read. */
export interface ReadValues {
  fields: Record<string, Scalar>;
  /** One line per declared value left out because it is missing or not of its kind. */
  problems: string[];
  /** Declared values that are null: left out without a problem, as SQL NULL and web's JSON null are. */
  nulls: string[];
}

/** Why the output as a whole cannot be read (then no value is sent and the command is down). */
export class MalformedOutput extends Error {}

/** `key=value` lines: spaces around both are trimmed; empty lines and # comments are skipped; the last line of a key wins. */
function keyValueLines(stdout: string): Map<string, string> {
  const values = new Map<string, string>();
  stdout.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = line.indexOf('=');
    if (at <= 0) throw new MalformedOutput(`line ${index + 1} is not key=value: ${JSON.stringify(line.slice(0, 60))}`);
    values.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  });
  return values;
}

function parseJson(stdout: string): unknown {
  if (stdout.trim() === '') throw new MalformedOutput('stdout is empty, not JSON');
  try {
    return JSON.parse(stdout);
  } catch (error) {
    throw new MalformedOutput(`stdout is not JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads the declared fields of `command` out of its stdout, each converted to its schema type when
 * the measurement has a schema, else to its declared kind. Throws MalformedOutput when the output as a
 * whole is not JSON or not key=value lines.
 */
export function readValues(command: CommandDefinition, stdout: string, schema: TypeSchema | undefined): ReadValues {
  const result: ReadValues = { fields: {}, problems: [], nulls: [] };
  const fields = command.fields ?? new Map();
  const json = command.output === 'json' ? parseJson(stdout) : undefined;
  const lines = command.output === 'key_value' ? keyValueLines(stdout) : undefined;
  for (const [field, kind] of fields) {
    let raw: unknown;
    if (lines) {
      if (!lines.has(field)) {
        result.problems.push(`'${field}': no ${field}=... line`);
        continue;
      }
      raw = lines.get(field);
    } else {
      const path = command.jsonPaths?.get(field) ?? `$.${field}`;
      const read = readJsonValue(json, path);
      if ('missing' in read || 'problem' in read) {
        result.problems.push(`'${field}': ${'missing' in read ? read.missing : read.problem}`);
        continue;
      }
      raw = read.value;
    }
    const converted = convertDeclared(raw, targetType(schema, field, kind));
    if ('problem' in converted) result.problems.push(`'${field}': ${converted.problem}`);
    else if (converted.value === undefined) result.nulls.push(field);
    else result.fields[field] = converted.value;
  }
  return result;
}
