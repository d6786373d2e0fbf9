import { commitRead, readQueue, type QueueRead } from '../../lib/queue/segments';
import { readPacketStream, type PacketRead } from '../../lib/stream/packetStreams';
import { defineCollector, type CollectorContext } from '../../lib/run/collector';
import type { StateFileOptions } from '../../lib/state/stateFile';
import { Accounting, emptyState, type AccountingState } from './accounting';
import { receiverOptions, SECTION } from './receiver';
import { buildReport } from './report';
import { DNS_CACHE_FILE, dnsCacheState, parseSiteTable, SiteMapper } from './sites';
import { loadTopology } from './topology';

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
  const { queueDir, route, streamAckWaitMs } = receiverOptions(context.config);
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

  // The local queue, or (queue = stream) the packet stream of every receiver: up to the current slot, each server's packets in order.
  let streamRead: PacketRead | undefined;
  let localRead: QueueRead | undefined;
  if (route === 'stream') {
    streamRead = await readPacketStream(context.config, 'detailed', {
      before: context.slotMs,
      reached: state.stream ?? {},
      ackWaitMs: streamAckWaitMs,
      name: `${context.job} collector`,
      signal: context.signal,
      log: context.log,
    });
    // A dry run commits nothing: the next run gets the messages at once, not after ack_wait.
    if (context.dryRun) await streamRead.release();
  } else {
    localRead = readQueue(queueDir, state.queue, { before: context.slotMs });
  }
  let packets = 0;
  for (const queued of streamRead?.packets ?? localRead?.packets ?? []) {
    if (context.signal.aborted) throw new Error('deadline reached while reading the queue');
    accounting.add(queued.receivedMs, queued.sender, queued.packet);
    packets += 1;
  }
  const position = localRead?.position();
  const expired = accounting.expire(context.slotMs);

  accounting.redirections.useTopology(await loadTopology(context, context.config.section(`${SECTION}.topology`)));
  const now = Date.now();
  for (const host of [...accounting.hostsSeen, ...accounting.redirections.targetHosts()]) mapper.request(host, now);
  await mapper.settle();
  const report = buildReport(accounting, mapper, context.documents);

  const segmentsRead = streamRead
    ? `${streamRead.messages} stream messages (${streamRead.held} left for the next run, ${streamRead.duplicates} published again and skipped)`
    : `${position?.consumed?.length ?? 0} queue segments read to their end`;
  context.log.info(`${packets} packets, ${segmentsRead}, ${report.documents.length} documents`);
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
      if (streamRead) {
        // The state first: a message acknowledged after a crash here comes again and is skipped by its place.
        state.stream = streamRead.reached;
        stateFile.write(state);
        await streamRead.acknowledge();
      } else {
        commitRead(queueDir, position, (reached) => {
          if (reached) state.queue = reached;
          stateFile.write(state);
        });
      }
      mapper.save(Date.now());
    },
  };
}

export default defineCollector({
  collect,
});
