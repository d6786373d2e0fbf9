import path from 'node:path';
import { ConfigError, type Config } from '../../lib/config/config';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { schemaRegistry, type SchemaRegistry } from '../../lib/documents/schemas';
import { valuesDefinition, type ValuesDefinition } from './values';

/** One [logs.pattern.NAME] section: which files to watch and what to count in them. */
export interface PatternDefinition {
  name: string;
  /** Absolute glob patterns (relative ones in the config are taken from the project root). */
  globs: string[];
  regex: RegExp;
  /** Values taken from the regex's named groups, when the section has `values`. */
  values: ValuesDefinition | undefined;
}

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function patternDefinitions(config: Config, registry: SchemaRegistry = schemaRegistry()): PatternDefinition[] {
  const sections = config.sectionsUnder('logs.pattern');
  if (sections.length === 0) throw new ConfigError(`${config.file}: no [logs.pattern.NAME] section: configure at least one pattern`);
  return sections.map((section) => {
    const name = section.name.slice('logs.pattern.'.length);
    if (!NAME_PATTERN.test(name)) throw new ConfigError(`[${section.name}]: pattern names use letters, digits, _, . and - only`);
    const globs = section.list('files').map((glob) => (path.isAbsolute(glob) ? glob : path.join(PROJECT_ROOT, glob)));
    const source = section.string('regex');
    // The ini parser unquotes a value only when it is valid JSON: "\d" keeps its quotes, which would then be matched.
    if (source.length > 1 && source.startsWith('"') && source.endsWith('"')) {
      throw new ConfigError(`${config.file}: [${section.name}] regex: in double quotes, a backslash is written \\\\ (JSON), e.g. "a\\\\d+; b": fix ${source.slice(0, 60)}`);
    }
    let regex: RegExp;
    try {
      regex = new RegExp(source, section.bool('ignore_case', false) ? 'i' : '');
    } catch (error) {
      throw new ConfigError(`${config.file}: [${section.name}] regex: ${(error as Error).message}`);
    }
    return { name, globs, regex, values: valuesDefinition(section, name, regex, registry) };
  });
}
