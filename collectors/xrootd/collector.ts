import pLimit from 'p-limit';
import type { FieldsOf } from '../../lib/documents/kinds';
import type { MonitDocument } from '../../lib/documents/types';
import type { QueuedPacket } from '../../lib/queue/records';
import { commitRead, readQueue, type QueueRead } from '../../lib/queue/segments';
import { defineCollector, type CollectorContext } from '../../lib/run/collector';
import { readPacketStream, type PacketRead } from '../../lib/stream/packetStreams';
import { XROOTD_OSS_SPACE, XROOTD_SUMMARY, type XrootdSummaryFields } from '../../schemas/kinds';
import { aggregateServer, type Sample, type ServerWindow } from './aggregate';
import { importPacketFiles, readPacketFiles } from './legacyQueue';
import { pullReport } from './pull';
import { siteOf, xrootdSettings } from './settings';
import { collectorState, recentSamples, STATE_FILE } from './state';
import { parseSummaryReport, type SummaryReport } from './summaryReport';

/** The fields of xrootd/summary that hold numbers. */
type NumberField = { [Name in keyof XrootdSummaryFields]: XrootdSummaryFields[Name] extends number ? Name : never }[keyof XrootdSummaryFields];

/** Cumulative counters of the report: the field holding the value since start, and the one holding its rate. */
const COUNTERS: ReadonlyArray<{ key: string; field: NumberField; rate?: NumberField }> = [
  { key: 'link.in', field: 'link_in_bytes', rate: 'link_in_rate' },
  { key: 'link.out', field: 'link_out_bytes', rate: 'link_out_rate' },
  { key: 'link.tot', field: 'connections_total', rate: 'connection_rate' },
  { key: 'xrootd.lgn.num', field: 'logins', rate: 'login_rate' },
  { key: 'xrootd.lgn.au', field: 'logins_authenticated', rate: 'login_authenticated_rate' },
  { key: 'xrootd.lgn.ua', field: 'logins_unauthenticated', rate: 'login_unauthenticated_rate' },
  { key: 'xrootd.lgn.af', field: 'auth_failures', rate: 'auth_failure_rate' },
  { key: 'xrootd.rdr', field: 'redirections', rate: 'redirection_rate' },
  { key: 'xrootd.err', field: 'errors', rate: 'error_rate' },
  { key: 'xrootd.dly', field: 'delays', rate: 'delay_rate' },
  { key: 'xrootd.ops.open', field: 'ops_open' },
  { key: 'xrootd.ops.rd', field: 'ops_read' },
  { key: 'xrootd.ops.rv', field: 'ops_readv' },
  { key: 'xrootd.ops.wr', field: 'ops_write' },
  { key: 'xrootd.ops.sync', field: 'ops_sync' },
];

/** Levels at the time of the report (peaks are kept by the server since its start). */
const GAUGES: ReadonlyArray<{ key: string; field: NumberField }> = [
  { key: 'link.num', field: 'connections' },
  { key: 'link.maxn', field: 'connections_peak' },
  { key: 'sched.threads', field: 'sched_threads' },
  { key: 'sched.idle', field: 'sched_idle_threads' },
  { key: 'sched.inq', field: 'sched_queue' },
  { key: 'sched.maxinq', field: 'sched_queue_peak' },
];

const RATE_KEYS = COUNTERS.filter((counter) => counter.rate).map((counter) => counter.key);

/** Packets consumed by one run at most (memory stays bounded after a long outage; the rest waits for the next run). */
const MAX_PACKETS_PER_RUN = 20_000;

/** Reports of one server daemon are grouped, and rated, under this key. */
function serverKey(report: SummaryReport): string {
  return `${report.program} ${report.source}`;
}

function summaryFields(window: ServerWindow): FieldsOf<typeof XROOTD_SUMMARY> {
  const { latest } = window;
  const fields: FieldsOf<typeof XROOTD_SUMMARY> = {
    reports: window.reports,
    restarts: window.restarts,
    uptime_s: Math.max(0, latest.time - latest.startTime),
    rate_interval_s: window.intervalSeconds,
    version: latest.version,
  };
  for (const { key, field, rate } of COUNTERS) {
    fields[field] = latest.values[key];
    const delta = window.deltas[key];
    if (rate && window.intervalSeconds > 0 && delta !== undefined) fields[rate] = delta / window.intervalSeconds;
  }
  for (const { key, field } of GAUGES) fields[field] = latest.values[key];
  return fields;
}

/** Parses queued packets; those that are not summary reports are reported as a problem and consumed. */
function parseQueued(packets: Iterable<QueuedPacket>, context: CollectorContext): { count: number; reports: SummaryReport[] } {
  const reports: SummaryReport[] = [];
  let count = 0;
  let unreadable = 0;
  for (const queued of packets) {
    count += 1;
    try {
      reports.push(parseSummaryReport(queued.packet.toString('utf8')));
    } catch (error) {
      unreadable += 1;
      const origin = `${queued.sender ? `from ${queued.sender} ` : ''}received ${new Date(queued.receivedMs).toISOString()}`;
      if (unreadable === 1) context.problem(`queued packet ${origin} is not a summary report (${(error as Error).message}); dropped`);
    }
  }
  if (unreadable > 1) context.problem(`${unreadable} queued packets were not summary reports; dropped`);
  return { count, reports };
}

async function pullAll(servers: string[], timeoutMs: number, context: CollectorContext): Promise<SummaryReport[]> {
  if (servers.length === 0) return [];
  // xrdfs gets the grid identity of [tls.xrootd]; a missing or expired credential fails the run (the queue waits).
  const { environment } = context.tls('xrootd');
  const limit = pLimit(4);
  const results = await Promise.all(
    servers.map((server) =>
      limit(async () => {
        try {
          return parseSummaryReport(await pullReport(server, { timeoutMs, signal: context.signal, environment }));
        } catch (error) {
          context.problem(`${server}: ${(error as Error).message}`);
          return undefined;
        }
      }),
    ),
  );
  return results.filter((report): report is SummaryReport => report !== undefined);
}

export default defineCollector({
  async collect(context) {
    const settings = xrootdSettings(context.config);
    const stateFile = context.state(STATE_FILE, collectorState);
    const state = stateFile.read();
    let packetFiles: QueuedPacket[] = [];
    let read: QueueRead | undefined;
    let streamRead: PacketRead | undefined;
    if (settings.route === 'stream') {
      // Every receiver's reports, from the packet stream; rates need no cut at the slot.
      streamRead = await readPacketStream(context.config, 'summary', { maxPackets: MAX_PACKETS_PER_RUN, reached: state.stream ?? {}, ackWaitMs: settings.streamAckWaitMs, name: `${context.job} collector`, signal: context.signal, log: context.log });
      // A dry run commits nothing: the next run gets the messages at once, not after ack_wait.
      if (context.dryRun) await streamRead.release();
    } else {
      // Packets an older version queued one file each join the queue once; a dry run only reads them.
      const counted = new Set(state.consumedPacketFiles ?? []);
      if (context.dryRun) packetFiles = readPacketFiles(settings.queueDir, counted, MAX_PACKETS_PER_RUN);
      else {
        const imported = importPacketFiles(settings.queueDir, counted);
        if (imported > 0) context.log.info(`${imported} packets an older version queued as .pkt files joined the queue`);
      }
      read = readQueue(settings.queueDir, state.queue, { maxPackets: MAX_PACKETS_PER_RUN });
    }
    const queued = parseQueued([...packetFiles, ...(streamRead?.packets ?? read?.packets ?? [])], context);
    const { reports } = queued;
    const pulled = await pullAll(settings.pullServers, settings.pullTimeoutMs, context);
    if (settings.pullServers.length > 0 && pulled.length === 0 && reports.length === 0) {
      throw new Error(`no summary report: none of pull_servers answered and ${streamRead ? 'the packet stream' : `the queue ${settings.queueDir}`} is empty`);
    }

    const byServer = new Map<string, SummaryReport[]>();
    for (const report of [...reports, ...pulled]) {
      const key = serverKey(report);
      const list = byServer.get(key);
      if (list) list.push(report);
      else byServer.set(key, [report]);
    }
    const nextSamples: Record<string, Sample> = { ...state.servers };
    const documents: MonitDocument[] = [];
    for (const [key, serverReports] of byServer) {
      const window = aggregateServer(state.servers[key], serverReports, RATE_KEYS);
      // Only the counters rates are made of are needed next time.
      nextSamples[key] = { ...window.next, values: Object.fromEntries(RATE_KEYS.filter((name) => name in window.next.values).map((name) => [name, window.next.values[name]])) };
      const { latest } = window;
      const tags = { server: latest.source, site: siteOf(settings.sites, latest.source, latest.site), program: latest.program };
      documents.push(context.documents.build(XROOTD_SUMMARY, tags, summaryFields(window)));
      for (const oss of latest.ossPaths) {
        const totalBytes = oss.totalKiB * 1024;
        const freeBytes = oss.freeKiB * 1024;
        documents.push(
          context.documents.build(XROOTD_OSS_SPACE, { ...tags, path: oss.path }, {
            total_bytes: totalBytes,
            free_bytes: freeBytes,
            used_percent: totalBytes > 0 ? (100 * (totalBytes - freeBytes)) / totalBytes : undefined,
          }),
        );
      }
    }
    const fromStream = streamRead ? ` (${streamRead.messages} stream messages, ${streamRead.duplicates} published again and skipped)` : '';
    context.log.info(`${queued.count} queued packets${fromStream}, ${pulled.length} pulled reports, ${byServer.size} servers`);

    return {
      documents,
      // Only once the documents are safe: the samples and the queue position together, then the segments read.
      commit: async () => {
        if (streamRead) {
          // The state first: a message acknowledged after a crash here comes again and is skipped by its place.
          stateFile.write({ servers: recentSamples(nextSamples), queue: state.queue, stream: streamRead.reached });
          await streamRead.acknowledge();
        } else {
          commitRead(settings.queueDir, read?.position(), (position) => stateFile.write({ servers: recentSamples(nextSamples), queue: position, stream: state.stream }));
        }
      },
    };
  },
});
