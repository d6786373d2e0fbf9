import { StateFile } from '../lib/state/stateFile';

/**
 * Which producer spelling first wrote each database. `my-app` and `my_app` share
 * monit_production_my_app ('-' becomes '_'), so one producer's credential could overwrite the other's
 * points: the first spelling keeps the database, any other is refused. Kept in a state file, so the
 * rule survives a restart; without a file (tests, benchmarks), in memory only.
 */
export class ProducerSpellings {
  private readonly owners: Map<string, string>;

  constructor(private readonly file?: string) {
    this.owners = file ? ProducerSpellings.stateFile(file).read() : new Map();
  }

  private static stateFile(file: string): StateFile<Map<string, string>> {
    return new StateFile(file, {
      initial: () => new Map(),
      parse: (value) => {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected an object of database: producer');
        const entries = Object.entries(value as Record<string, unknown>);
        for (const [database, producer] of entries) {
          if (typeof producer !== 'string') throw new Error(`database ${database}: expected a producer name, got ${typeof producer}`);
        }
        return new Map(entries as Array<[string, string]>);
      },
      serialize: (owners) => Object.fromEntries(owners),
    });
  }

  /** The spelling that owns `database`, if one does. */
  ownerOf(database: string): string | undefined {
    return this.owners.get(database);
  }

  /** The other spelling that owns `database`, or undefined once `producer` owns it (stored before returning). */
  claim(database: string, producer: string): string | undefined {
    const owner = this.owners.get(database);
    if (owner !== undefined) return owner === producer ? undefined : owner;
    this.owners.set(database, producer);
    if (this.file) ProducerSpellings.stateFile(this.file).write(this.owners);
    return undefined;
  }
}
