import path from 'node:path';
import { ConfigError, type Config, type ConfigSection } from '../../lib/config/config';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { checkDeclaredAgainstSchema, checkSharedMeasurements, DECLARED_NAME, type DeclaredFields, parseDeclaredFields } from '../../lib/documents/declared';
import { declaredJsonPaths } from '../../lib/documents/jsonValues';
import { schemaRegistry } from '../../lib/documents/schemas';
import { registerSecret } from '../../lib/run/log';
import { COMMAND_RESULT } from '../../schemas/kinds';
import { splitCommandLine } from './argv';
import source from './index';

/** How the output of a command is read. */
export type OutputFormat = 'none' | 'json' | 'key_value';

/** One [command.NAME] section, resolved against the [command] defaults. */
export interface CommandDefinition {
  name: string;
  /** The program and its arguments (with shell = true: /bin/sh -c LINE). */
  argv: string[];
  /** The command line as configured, for messages. */
  line: string;
  /** The child's whole environment: the fixed PATH, `environment`, then the secrets. */
  environment: Record<string, string>;
  /** The working directory; undefined: the job's state folder (var/state/command). */
  directory: string | undefined;
  timeoutMs: number;
  maxOutputBytes: number;
  output: OutputFormat;
  /** Document type of the values (output json or key_value). */
  measurement: string;
  fields: DeclaredFields | undefined;
  /** JSONPath of each field (output = json). */
  jsonPaths: Map<string, string> | undefined;
}

/** What a child finds in PATH unless `environment` sets PATH. */
export const FIXED_PATH = '/usr/local/bin:/usr/bin:/bin';
export const RESULT_TYPE = COMMAND_RESULT.type;
const ENVIRONMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_PREFIX = 'secret.';
/**
 * Keys of [command]: the config reader nests [command.NAME] into [command] as the key NAME, so a
 * command with one of these names would silently replace that setting.
 */
const SECTION_KEYS = ['timeout', 'deadline', 'backfill_deadline', 'concurrency', 'output', 'max_output_bytes', 'environment', 'directory', 'shell', 'enabled'];
const OUTPUT_FORMATS: readonly OutputFormat[] = ['none', 'json', 'key_value'];

/** `environment = KEY=VALUE, ...` of a section, each name checked. */
function environmentOf(section: ConfigSection): Map<string, string> {
  const pairs = section.pairs('environment', 'NAME=VALUE');
  for (const name of pairs.keys()) {
    if (!ENVIRONMENT_NAME.test(name)) throw section.invalid('environment', `has '${name}', not an environment variable name (letters, digits, _)`);
  }
  return pairs;
}

/** `secret.NAME = VALUE` keys: passed to the child as NAME, registered so no log line or document shows them. */
function secretsOf(config: Config, section: ConfigSection): Map<string, string> {
  const secrets = new Map<string, string>();
  // sectionKeys does not count them as read: the keys read below are, so typos stay reported.
  for (const key of config.sectionKeys(section.name).filter((key) => key.startsWith(SECRET_PREFIX))) {
    const name = key.slice(SECRET_PREFIX.length);
    if (!ENVIRONMENT_NAME.test(name)) throw section.invalid(key, `names '${name}', not an environment variable name (letters, digits, _)`);
    const value = section.secret(key);
    // Also each line of a multi-line value, in case a child prints one of them alone.
    for (const line of value.split('\n')) registerSecret(line.trim());
    secrets.set(name, value);
  }
  return secrets;
}

/** The job's deadline ([command] deadline, as the runner reads it): each timeout must end before it. */
function deadlineMs(defaults: ConfigSection): number {
  return defaults.duration('deadline', source.deadline ?? '8m');
}

/** Every [command.NAME] section of the config, checked; throws a ConfigError naming the key. */
export function commandDefinitions(config: Config): CommandDefinition[] {
  const defaults = config.section('command');
  const sections = config.sectionsUnder('command');
  if (sections.length === 0) throw new ConfigError(`${config.file}: no [command.NAME] section: configure at least one command`);
  const deadline = deadlineMs(defaults);
  const defaultEnvironment = environmentOf(defaults);
  const registry = schemaRegistry();
  const definitions = sections.map((section) => {
    const pick = (key: string): ConfigSection => (section.has(key) ? section : defaults);
    const name = section.name.slice('command.'.length);
    if (!DECLARED_NAME.test(name)) throw new ConfigError(`${config.file}: [${section.name}]: command names use letters, digits and _ only`);
    if (SECTION_KEYS.includes(name)) throw new ConfigError(`${config.file}: [${section.name}]: '${name}' is a key of [command]; name the command otherwise (e.g. ${name}_check)`);
    const line = section.string('command');
    const shell = pick('shell').bool('shell', false);
    let argv: string[];
    if (shell) argv = ['/bin/sh', '-c', line];
    else {
      const split = splitCommandLine(line);
      if ('problem' in split) throw section.invalid('command', `cannot be split into words: ${split.problem} (quote with '...' or "..."; see collectors/command/README.md)`);
      if (split.words.length === 0 || split.words[0] === '') throw section.invalid('command', 'names no program');
      argv = split.words;
      // A relative program path is relative to the project root, like every path in config.cfg; a bare name is looked up in PATH.
      if (argv[0].includes('/') && !path.isAbsolute(argv[0])) argv[0] = path.resolve(PROJECT_ROOT, argv[0]);
    }
    const timeoutMs = pick('timeout').duration('timeout', '1m');
    if (timeoutMs >= deadline) throw section.invalid('timeout', `(${Math.round(timeoutMs / 1000)}s) must be shorter than the job's deadline, [command] deadline (${Math.round(deadline / 1000)}s)`);
    const output = pick('output').string('output', 'none') as OutputFormat;
    if (!OUTPUT_FORMATS.includes(output)) throw section.invalid('output', `must be one of ${OUTPUT_FORMATS.join(', ')}, got "${output}"`);
    const measurement = section.string('measurement', name);
    if (!DECLARED_NAME.test(measurement)) throw section.invalid('measurement', `'${measurement}' must use letters, digits and _ only`);
    if (measurement === RESULT_TYPE) throw section.invalid('measurement', `'${RESULT_TYPE}' is reserved for the command/${RESULT_TYPE} documents`);
    const fields = parseDeclaredFields(section, 'fields');
    if (output === 'none' && fields) throw section.invalid('fields', 'needs output = json or key_value: with output = none nothing is read from the output');
    if (output !== 'none' && !fields) throw section.invalid('fields', `is missing: list the values to read from the ${output} output (e.g. fields = events, state:string)`);
    if (fields?.has('command')) throw section.invalid('fields', "lists 'command', the tag of every command document: rename the value at the source");
    checkDeclaredAgainstSchema(registry, COMMAND_RESULT.producer, measurement, { section, tags: ['command'], fields });
    const environment: Record<string, string> = { PATH: FIXED_PATH, ...Object.fromEntries(defaultEnvironment), ...Object.fromEntries(environmentOf(section)), ...Object.fromEntries(secretsOf(config, section)) };
    return {
      name,
      argv,
      line,
      environment,
      directory: pick('directory').has('directory') ? pick('directory').path('directory') : undefined,
      timeoutMs,
      maxOutputBytes: pick('max_output_bytes').int('max_output_bytes', 1024 * 1024, { min: 1 }),
      output,
      measurement,
      fields,
      jsonPaths: output === 'json' && fields ? declaredJsonPaths(section, fields) : undefined,
    };
  });
  checkWorstCase(definitions, defaults, deadline);
  checkSharedMeasurements(
    COMMAND_RESULT.producer,
    definitions.flatMap(({ name, measurement, fields }) => (fields ? [{ section: `command.${name}`, measurement, fields, schema: registry.get(COMMAND_RESULT.producer, measurement) }] : [])),
  );
  return definitions;
}

/** How many commands run at the same time ([command] concurrency). */
export function concurrencyOf(defaults: ConfigSection): number {
  return defaults.int('concurrency', 4, { min: 1 });
}

/**
 * Even when every command hangs to its timeout, the run must end before the job's deadline: a run the
 * deadline stops sends nothing, so the results of the commands that did finish would be lost.
 */
function checkWorstCase(definitions: CommandDefinition[], defaults: ConfigSection, deadline: number): void {
  const concurrency = concurrencyOf(defaults);
  const rounds = Math.ceil(definitions.length / concurrency);
  const longest = Math.max(...definitions.map((definition) => definition.timeoutMs));
  if (rounds * longest < deadline) return;
  throw defaults.invalid(
    'deadline',
    `(${Math.round(deadline / 1000)}s) leaves no time for the worst case: ${definitions.length} commands, ${concurrency} at a time, the longest timeout ${Math.round(longest / 1000)}s, take up to ${Math.round((rounds * longest) / 1000)}s; raise deadline or concurrency, or lower the timeouts`,
  );
}
