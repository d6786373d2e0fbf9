import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { MonitDocument } from '../../lib/documents/types';

/** Documents of the JSON batches in a spool folder (not in its sub-folders), each file parsed whole; none when it does not exist. */
export function spooledDocuments(dir: string): MonitDocument[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json') && !name.startsWith('.'));
  } catch {
    return [];
  }
  return names.flatMap((name) => JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as MonitDocument[]);
}
