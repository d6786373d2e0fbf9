import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type CollectResult, collectedDocuments } from '../../../lib/run/collector';
import type { MonitDocument } from '../../../lib/documents/types';
import { collectorContext, type TestContext } from '../../../test/support/collectorContext';
import { testDir } from '../../../test/support/services';
import collector from '../collector';

export interface Run {
  /** The logs/pattern documents by pattern. */
  byPattern: Record<string, MonitDocument>;
  /** The values documents (logs/<measurement>) by pattern. */
  valuesByPattern: Record<string, MonitDocument>;
  context: TestContext;
}

/** A watched folder, its config, and runs that share one state folder like cron runs do. */
export function setup(patternsConfig: (logDir: string) => string, options: { fromBeginning?: boolean } = {}) {
  const dir = testDir('logs');
  const logDir = path.join(dir, 'log');
  mkdirSync(logDir);
  const stateDir = path.join(dir, 'state');
  const config = `[logs]\nfrom_beginning = ${options.fromBeginning ?? false}\n${patternsConfig(logDir)}`;
  const collect = async (commit = true): Promise<Run> => {
    const context = collectorContext('logs', config, { stateDir });
    const result: CollectResult = await collector.collect(context);
    if (Array.isArray(result)) throw new Error('logs must return a commit');
    if (commit) await result.commit?.();
    const documents = collectedDocuments(result);
    const byPattern = (type: (document: MonitDocument) => boolean): Record<string, MonitDocument> =>
      Object.fromEntries(documents.filter(type).map((document) => [String(document.pattern), document]));
    return { byPattern: byPattern((document) => document.type === 'pattern'), valuesByPattern: byPattern((document) => document.type !== 'pattern'), context };
  };
  return { logDir, config, collect, file: (name: string) => path.join(logDir, name) };
}
