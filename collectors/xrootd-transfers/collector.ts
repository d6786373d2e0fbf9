import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defineCollector, type CollectorContext } from '../../lib/run/collector';
import { Accounting, emptyState, type AccountingState } from './accounting';
import { readQueue, removeSegments } from './queue';
import { receiverOptions, SECTION } from './receiver';
import { buildReport } from './report';
import { parseSiteTable, SiteMapper } from './sites';

const DEFAULT_TRANSFER_PROGRAMS = ['xrdcp', 'xrdcopy', 'gfal-copy', 'gfal2', 'fts_url_copy', 'xrootd'];

function loadState(file: string): AccountingState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw error;
  }
  const state = JSON.parse(text) as AccountingState;
  if (state.version !== 1) throw new Error(`${file}: unknown state version ${String(state.version)}`);
  return state;
}

function saveState(file: string, state: AccountingState): void {
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, JSON.stringify(state));
  renameSync(temporary, file);
}

/**
 * Consumes the packets the receiver queued before the current slot, and returns per-slot
 * transfer, user and server documents. The queue and the state move on only in commit().
 */
async function collect(context: CollectorContext) {
  const section = context.section;
  // The receiver's settings share this section: reading them here checks them on every run too, and
  // the queue folder is the receiver's by definition.
  const { queueDir } = receiverOptions(context.config);
  const stateFile = path.join(context.stateDir, 'accounting.json');
  const state = loadState(stateFile);
  const accounting = new Accounting(state, {
    transferPrograms: new Set(section.list('transfer_programs', DEFAULT_TRANSFER_PROGRAMS)),
    idleTimeoutMs: section.duration('idle_timeout', '24h'),
  });
  const mapper = new SiteMapper({
    table: parseSiteTable(context.config.section(`${SECTION}.sites`).entries()),
    cacheFile: path.join(context.stateDir, 'dns-cache.json'),
    timeoutMs: section.duration('dns_timeout', '2s'),
    budgetMs: section.duration('dns_budget', '20s'),
    cacheTtlMs: section.duration('dns_cache_ttl', '1d'),
    servers: section.list('dns_servers', []),
  });

  const queue = readQueue(queueDir, state.queue, context.slotMs);
  let packets = 0;
  for (const queued of queue.packets) {
    if (context.signal.aborted) throw new Error('deadline reached while reading the queue');
    accounting.add(queued.receivedMs, queued.sender, queued.packet);
    packets += 1;
  }
  const { position, consumed } = queue.result();
  const expired = accounting.expire(context.slotMs);

  const now = Date.now();
  for (const host of accounting.hostsSeen) mapper.request(host, now);
  await mapper.settle();
  const report = buildReport(accounting, mapper, context.documents);

  context.log.info(`${packets} packets from ${consumed.length} queue segments, ${report.documents.length} documents`);
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
      if (position) state.queue = position;
      saveState(stateFile, state);
      mapper.save(Date.now());
      removeSegments(consumed);
    },
  };
}

export default defineCollector({
  collect,
});
