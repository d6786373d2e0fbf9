import path from 'node:path';
import { ConfigError } from '../../lib/config/config';
import { commitRead, pruneArchive, readArchiveAndQueue, readQueue, type QueuedPacket, type QueueRead } from '../../lib/queue/segments';
import { readPacketStream, type PacketRead } from '../../lib/stream/packetStreams';
import { defineCollector, type CollectorContext } from '../../lib/run/collector';
import { TEN_MINUTES_MS } from '../../lib/run/slot';
import type { StateFileOptions } from '../../lib/state/stateFile';
import { Accounting, emptyState, type AccountingState } from './accounting';
import { REJECTION_KINDS } from './protocol';
import { receiverOptions, SECTION } from './receiver';
import { buildReport } from './report';
import { parseSiteTable } from '../../lib/sites/siteTable';
import { DNS_CACHE_FILE, dnsCacheState, SiteMapper } from './sites';
import { parseVoRules } from './vo';
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

/** Consumed segments wait here for a backfill (`backfill_keep`). */
const ARCHIVE_FOLDER = 'archive';

function slotText(slotMs: number): string {
  return new Date(slotMs).toISOString().slice(0, 16).replace('T', ' ');
}

/** One line per rejection kind: its count, an example, and the senders with their counts. */
function rejectionSummary(accounting: Accounting): string {
  const lines: string[] = [];
  for (const kind of REJECTION_KINDS) {
    const entry = accounting.rejections.get(kind);
    if (!entry) continue;
    const senders = [...entry.senders].sort((a, b) => b[1] - a[1]).map(([sender, count]) => `${sender || 'unknown sender'} (${count})`);
    lines.push(`${kind} ${entry.count} from ${senders.join(', ')}${entry.senders.size >= 20 ? ' and maybe more' : ''}, e.g. ${entry.example}`);
  }
  return lines.join('; ');
}

/**
 * Consumes the packets the receiver queued before the current slot, and returns per-slot
 * transfer, user and server documents. The queue and the state move on only in commit().
 *
 * A run for a slot already reported (`--timestamp`, before `reportedBefore`) is a backfill: it reads
 * the archived segments and the queue from their start with a fresh accounting state, returns the
 * documents of that slot only, and moves nothing.
 */
async function collect(context: CollectorContext) {
  const section = context.section;
  // The receiver's settings share this section: reading them here checks them on every run too, and
  // the queue folder is the receiver's by definition.
  const { queueDir, route, streamAckWaitMs } = receiverOptions(context.config);
  const archiveDir = path.join(queueDir, ARCHIVE_FOLDER);
  const keepMs = section.duration('backfill_keep', '1d');
  const stateFile = context.state(ACCOUNTING_FILE, accountingState);
  const stored = stateFile.read();
  const backfill = stored.reportedBefore !== undefined && context.slotMs < stored.reportedBefore;
  if (backfill && route === 'stream') {
    throw new ConfigError(
      `--timestamp ${slotText(context.slotMs)}: the slot was reported already, and backfill is not available with queue = stream: ` +
        `the packets come from the stream, which the regular runs acknowledge, and no copy is kept on this host (queue_dir/archive is the local queue's)`,
    );
  }
  const state = backfill ? emptyState() : stored;
  const reportedBefore = backfill ? undefined : state.reportedBefore;
  const accounting = new Accounting(state, {
    transferPrograms: new Set(section.list('transfer_programs', DEFAULT_TRANSFER_PROGRAMS)),
    idleTimeoutMs: section.duration('idle_timeout', '24h'),
    voRules: parseVoRules(context.config.section(`${SECTION}.vo`)),
    fileRecords: section.bool('file_records', false),
    reportedBefore,
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
  let backfillRead: Iterable<QueuedPacket> | undefined;
  if (backfill) {
    if (keepMs === 0) context.log.warn('backfill_keep = 0: consumed segments are not kept, only what is still in the queue is read');
    backfillRead = readArchiveAndQueue(archiveDir, queueDir);
  } else if (route === 'stream') {
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
  // A backfill: the first receive time read (what the archive covers), and the rejections of packets received in the slot.
  let earliestMs: number | undefined;
  let rejectedInSlot = 0;
  for (const queued of backfillRead ?? streamRead?.packets ?? localRead?.packets ?? []) {
    if (context.signal.aborted) throw new Error('deadline reached while reading the queue');
    const rejectedBefore = accounting.rejected;
    accounting.add(queued.receivedMs, queued.sender, queued.packet);
    if (accounting.rejected > rejectedBefore && queued.receivedMs >= context.slotMs && queued.receivedMs < context.slotMs + TEN_MINUTES_MS) rejectedInSlot += 1;
    earliestMs = Math.min(earliestMs ?? queued.receivedMs, queued.receivedMs);
    packets += 1;
  }
  accounting.finish();
  const position = localRead?.position();
  const expired = backfill ? 0 : accounting.expire(context.slotMs);

  accounting.redirections.useTopology(await loadTopology(context, context.config.section(`${SECTION}.topology`)));
  const now = Date.now();
  for (const host of [...accounting.hostsSeen, ...accounting.redirections.targetHosts()]) mapper.request(host, now);
  await mapper.settle();
  const report = buildReport(accounting, mapper, context.documents);
  // A backfill gives its slot only (per-file records are stamped with their close time within it); a
  // regular run never replaces a slot an earlier run reported.
  const documents = report.documents.filter((document) => {
    const stamp = document.timestamp ?? context.slotMs;
    return backfill ? stamp >= context.slotMs && stamp < context.slotMs + TEN_MINUTES_MS : reportedBefore === undefined || stamp >= reportedBefore;
  });

  const segmentsRead = backfill
    ? `backfill of slot ${slotText(context.slotMs)} from the archive and the queue`
    : streamRead
      ? `${streamRead.messages} stream messages (${streamRead.held} left for the next run, ${streamRead.duplicates} published again and skipped)`
      : `${position?.consumed?.length ?? 0} queue segments read to their end`;
  context.log.info(`${packets} packets, ${segmentsRead}, ${documents.length} documents`);
  if (backfill) {
    const covered = earliestMs === undefined ? 'the archive and the queue hold no packets' : `the archive and the queue hold packets received from ${new Date(earliestMs).toISOString()} on`;
    const before = earliestMs === undefined || context.slotMs + TEN_MINUTES_MS <= earliestMs;
    const hint = before ? `: slot ${slotText(context.slotMs)} is before that${keepMs > 0 ? ` (backfill_keep = ${Math.round(keepMs / 3_600_000)} h of receive time)` : ' (backfill_keep = 0)'}` : '';
    (before ? context.log.warn : context.log.info).call(context.log, `${covered}${hint}`);
  }
  // A backfill answers for its slot only: packets received at other times were rejected by their own runs already.
  const rejectedHere = backfill ? rejectedInSlot : accounting.rejected;
  if (rejectedHere > 0) {
    context.problem(`${rejectedHere} malformed packets rejected${backfill ? ` (received in slot ${slotText(context.slotMs)})` : ''}: ${rejectionSummary(accounting)}`);
  }
  if (backfill && accounting.rejected > rejectedHere) {
    context.log.info(`${accounting.rejected - rejectedHere} malformed packets received outside slot ${slotText(context.slotMs)} rejected again (their own runs reported them)`);
  }
  if (accounting.lateSlots.size > 0) {
    const slots = [...accounting.lateSlots.keys()].sort((a, b) => a - b);
    const late = [...accounting.lateSlots.values()].reduce((sum, count) => sum + count, 0);
    const shown = slots.slice(0, 20).map(slotText).join(', ');
    const senders = [...accounting.lateSenders].map(([sender, offsetMs]) => `${sender}${offsetMs === undefined ? '' : ` (clock ${Math.round(offsetMs / 1000)} s off)`}`).join(', ');
    context.log.warn(
      `${late} packets belong to slots already reported (${shown}${slots.length > 20 ? `, ... ${slots.length} slots` : ''}), from ${senders}: not counted now; ` +
        `./run.sh ${context.job} --timestamp "SLOT" reports such a slot again with them${keepMs > 0 ? ` (for ${Math.round(keepMs / 3_600_000)} h after they arrived)` : ', once backfill_keep is set'}`,
    );
  }
  if (expired > 0) context.log.warn(`${expired} open files without news for the idle timeout were forgotten`);
  if (report.unmappedClients.length > 0) {
    context.log.warn(`clients with no site (counted as unknown): ${report.unmappedClients.slice(0, 50).join(', ')}${report.unmappedClients.length > 50 ? ', ...' : ''}`);
  }
  return {
    documents,
    commit: async () => {
      if (backfill) {
        // Nothing moves: the state and the queue stay the regular runs'.
      } else if (streamRead) {
        // The state first: a message acknowledged after a crash here comes again and is skipped by its place.
        state.stream = streamRead.reached;
        state.reportedBefore = Math.max(state.reportedBefore ?? context.slotMs, context.slotMs);
        stateFile.write(state);
        await streamRead.acknowledge();
      } else {
        commitRead(
          queueDir,
          position,
          (reached) => {
            if (reached) state.queue = reached;
            state.reportedBefore = Math.max(state.reportedBefore ?? context.slotMs, context.slotMs);
            stateFile.write(state);
          },
          keepMs > 0 ? archiveDir : undefined,
        );
        if (keepMs > 0) pruneArchive(archiveDir, context.slotMs - keepMs);
      }
      mapper.save(Date.now());
    },
  };
}

export default defineCollector({
  collect,
});
