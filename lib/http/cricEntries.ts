/**
 * CRIC's `?json` answers (sites, DDM endpoints, federations, ...) are one object of entries keyed
 * by name: read one entry at a time, so that a large answer is never one tree.
 */
import { malformed } from './cachedSource';
import { isJsonObject, jsonObjectMembers, NotAnObjectError } from './jsonMembers';

/** The members of a CRIC `?json` answer, one at a time; anything but an object of entries throws a SourceFailure. */
export function* entriesOf(body: Uint8Array, source: string, what: string): Generator<[string, Record<string, unknown>]> {
  try {
    for (const [name, entry] of jsonObjectMembers(body)) if (isJsonObject(entry)) yield [name, entry];
  } catch (error) {
    if (error instanceof NotAnObjectError) throw malformed(source, `expected an object of ${what} keyed by name (CRIC's ?json answer)`);
    throw error;
  }
}
