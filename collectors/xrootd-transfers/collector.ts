import { commitRead, readQueue } from '../../lib/queue/segments';
import { defineCollector, type CollectorContext } from '../../lib/run/collector';
import type { StateFileOptions } from '../../lib/state/stateFile';
import { Accounting, emptyState, type AccountingState } from './accounting';
import { receiverOptions, SECTION } from './receiver';
import { buildReport } from './report';
import { DNS_CACHE_FILE, dnsCacheState, parseSiteTable, SiteMapper } from './sites';

const DEFAULT_TRANSFER_PROGRAMS = ['xrdcp', 'xrdcopy', 'gfal-copy', 'gfal2', 'fts_url_copy', 'xrootd'];

/** var/state/xrootd-transfers/accounting.json: the queue position and the accounting state, written together. */
const ACCOUNTING_FILE = 'accounting.json';
const accountingState: StateFileOptions<AccountingState> = {
  initial: emptyState,
  parse(value) {
    const state = value as AccountingState;
    if (typeof value !== 'object' || value === null || state.version !== 1) throw new Error(`unknown state version ${String(state?.version)}`);
    return state;
  },
};

/**
 * Consumes the packets the receiver queued before the current slot, and returns per-slot
 * transfer, user and server documents. The queue and the state move on only in commit().
 */
async function collect(context: CollectorContext) {
  const section = context.section;
  // The receiver's settings share this section: reading them here checks them on every run too, and
  // the queue folder is the receiver's by definition.
  const { queueDir } = receiverOptions(context.config);
  const stateFile = context.state(ACCOUNTING_FILE, accountingState);
  const state = stateFile.read();
  const accounting = new Accounting(state, {
    transferPrograms: new Set(section.list('transfer_programs', DEFAULT_TRANSFER_PROGRAMS)),
    idleTimeoutMs: section.duration('idle_timeout', '24h'),
  });
  const mapper = new SiteMapper({
    table: parseSiteTable(context.config.section(`${SECTION}.sites`).entries()),
    cache: context.state(DNS_CACHE_FILE, dnsCacheState),
    timeoutMs: section.duration('dns_timeout', '2s'),
    budgetMs: section.duration('dns_budget', '20s'),
    cacheTtlMs: section.duration('dns_cache_ttl', '1d'),
    servers: section.list('dns_servers', []),
  });

  const queue = readQueue(queueDir, state.queue, { before: context.slotMs });
  let packets = 0;
  for (const queued of queue.packets) {
    if (context.signal.aborted) throw new Error('deadline reached while reading the queue');
    accounting.add(queued.receivedMs, queued.sender, queued.packet);
    packets += 1;
  }
  const position = queue.position();
  const expired = accounting.expire(context.slotMs);

  const now = Date.now();
  for (const host of accounting.hostsSeen) mapper.request(host, now);
  await mapper.settle();
  const report = buildReport(accounting, mapper, context.documents);

  context.log.info(`${packets} packets, ${position?.consumed?.length ?? 0} queue segments read to their end, ${report.documents.length} documents`);
  if (accounting.rejected > 0) {
    context.problem(`${accounting.rejected} malformed packets rejected, e.g. ${accounting.rejectReasons.slice(0, 3).join('; ')}`);
  }
  if (expired > 0) context.log.warn(`${expired} open files without news for the idle timeout were forgotten`);
  if (report.unmappedClients.length > 0) {
    context.log.warn(`clients with no site (counted as unknown): ${report.unmappedClients.slice(0, 50).join(', ')}${report.unmappedClients.length > 50 ? ', ...' : ''}`);
  }
  return {
    documents: report.documents,
    commit: async () => {
      commitRead(queueDir, position, (reached) => {
        if (reached) state.queue = reached;
        stateFile.write(state);
      });
      mapper.save(Date.now());
    },
  };
}

export default defineCollector({
  collect,
});
