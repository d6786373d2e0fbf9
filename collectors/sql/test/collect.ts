import type { MonitDocument } from '../../../lib/documents/types';
import { collectedDocuments } from '../../../lib/run/collector';
import { collectorContext, type TestContext } from '../../../test/support/collectorContext';
import collector from '../collector';

/** One run of the sql collector on `config` (an ini text): its documents, and the context with its problems and log. */
export async function collect(config: string): Promise<{ documents: MonitDocument[]; context: TestContext }> {
  const context = collectorContext('sql', config);
  return { documents: collectedDocuments(await collector.collect(context)), context };
}

/** The one sql/query_status document of `query`; fails the test when there is none or several. */
export function statusOf(documents: MonitDocument[], query: string): MonitDocument {
  const found = documents.filter((document) => document.type === 'query_status' && document.query_name === query);
  if (found.length !== 1) throw new Error(`${found.length} sql/query_status documents of query '${query}', not one`);
  return found[0];
}
