import { readFileSync } from 'node:fs';
import { schemaRegistry } from '../../lib/documents/schemas';

/**
 * The names in a collector README's Metrics section that disagree with schemas/: every tag and field
 * of each listed producer/type must appear in the README as `name`, and the README must name no
 * `producer/type` heading that has no schema. An empty list means the README and schemas agree.
 */
export function readmeDisagreements(readmePath: string, types: Array<{ producer: string; type: string }>): string[] {
  const text = readFileSync(readmePath, 'utf8');
  const problems: string[] = [];
  for (const { producer, type } of types) {
    const schema = schemaRegistry().get(producer, type);
    if (!schema) {
      problems.push(`no schema for ${producer}/${type}`);
      continue;
    }
    if (!text.includes(`${producer}/${type}`)) problems.push(`README does not mention ${producer}/${type}`);
    for (const name of [...Object.keys(schema.tags), ...Object.keys(schema.fields)]) {
      if (!text.includes(`\`${name}\``)) problems.push(`README does not list \`${name}\` of ${producer}/${type}`);
    }
  }
  return problems;
}
