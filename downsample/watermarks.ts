import path from 'node:path';
import { StateFile } from '../lib/state/stateFile';

type StoredWatermarks = { watermarks?: Record<string, Record<string, string>> };

/**
 * How far each database/measurement has been downsampled: every window ending at or before its
 * watermark is done. Kept in <stateDir>/watermarks.json, a state file (lib/state/stateFile.ts): a run
 * killed at any moment leaves either the old or the new file.
 */
export class WatermarkStore {
  private constructor(
    readonly file: string,
    private readonly byDatabase: Map<string, Map<string, number>>,
  ) {}

  static fileIn(stateDir: string): string {
    return path.join(stateDir, 'watermarks.json');
  }

  static load(stateDir: string): WatermarkStore {
    const file = WatermarkStore.fileIn(stateDir);
    const stored = new StateFile<StoredWatermarks>(file, { initial: () => ({}) }).read();
    const byDatabase = new Map<string, Map<string, number>>();
    try {
      for (const [database, measurements] of Object.entries(stored.watermarks ?? {})) {
        const entries = Object.entries(measurements).map(([measurement, iso]): [string, number] => {
          const ms = Date.parse(iso);
          if (!Number.isFinite(ms)) throw new Error(`'${database}/${measurement}' is not a time: ${iso}`);
          return [measurement, ms];
        });
        byDatabase.set(database, new Map(entries));
      }
    } catch (error) {
      throw new Error(`${file}: ${(error as Error).message} (fix or delete the file; the next run then starts from the oldest data)`);
    }
    return new WatermarkStore(file, byDatabase);
  }

  get(database: string, measurement: string): number | undefined {
    return this.byDatabase.get(database)?.get(measurement);
  }

  set(database: string, measurement: string, ms: number): void {
    let measurements = this.byDatabase.get(database);
    if (!measurements) this.byDatabase.set(database, (measurements = new Map()));
    measurements.set(measurement, ms);
  }

  save(): void {
    const watermarks: Record<string, Record<string, string>> = {};
    for (const [database, measurements] of [...this.byDatabase].sort(([a], [b]) => a.localeCompare(b))) {
      watermarks[database] = Object.fromEntries(
        [...measurements].sort(([a], [b]) => a.localeCompare(b)).map(([measurement, ms]) => [measurement, new Date(ms).toISOString()]),
      );
    }
    new StateFile<StoredWatermarks>(this.file, { initial: () => ({}) }).write({ watermarks });
  }
}
