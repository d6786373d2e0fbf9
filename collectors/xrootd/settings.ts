import path from 'node:path';
import { ConfigError, type Config } from '../../lib/config/config';
import { varPaths } from '../../lib/config/paths';
import { queueRoute, receiverName, type QueueRoute } from '../../lib/queue/route';

/**
 * The [xrootd] section (the collector; its queue_dir is the receiver's too, so they always agree) and
 * the [xrootd-receiver] section (the receiver, a boot service while the section exists).
 */
export interface XrootdSettings {
  /** Servers queried with `xrdfs HOST:PORT query stats a` (pull mode). */
  pullServers: string[];
  pullTimeoutMs: number;
  /** Site of a server by its report's src (host:port) or its host alone. */
  sites: Map<string, string>;
  /** Where the receiver listens for xrd.report packets (push mode). */
  receiverListen: { host: string; port: number };
  queueDir: string;
  /** The receiver drops packets while the queue holds this many bytes (the collector is not consuming). */
  queueMaxBytes: number;
  /** [xrootd] queue: `stream` publishes the receivers' queues to the packet stream, which the collector reads. */
  route: QueueRoute;
  /** [xrootd-receiver] receiver_name: names this receiver's subject on the stream route. */
  receiverName: string;
  /** How long a message delivered to a run that failed waits before it is delivered again. */
  streamAckWaitMs: number;
  /** What the receiver warns about at its start (an older key still in use). */
  warnings: string[];
}

export const SECTION = 'xrootd';
export const RECEIVER_SECTION = 'xrootd-receiver';
/** What one summary packet is taken to need when the older, per-packet bound queue_max_packets is read as bytes. */
export const BYTES_PER_PACKET = 2048;
/** 200,000 packets, the older default of queue_max_packets. */
const DEFAULT_QUEUE_MAX_BYTES = 200_000 * BYTES_PER_PACKET;

/** Parses `key=value` items of a list, as in `sites = host:1094=SITE_A, other:1094=SITE_B`. */
export function xrootdSettings(config: Config): XrootdSettings {
  const section = config.section(SECTION);
  const varRoot = varPaths(config.section('paths').string('var', 'var')).root;
  const pullServers = section.list('pull_servers', []);
  for (const server of pullServers) {
    if (!/^[^\s:/]+:\d+$/.test(server)) throw new ConfigError(`${config.file}: [${SECTION}] pull_servers items must be host:port, got "${server}"`);
  }
  const receiver = config.section(RECEIVER_SECTION);
  const receiverListen = receiver.hostPort('listen', '0.0.0.0:9931');
  return {
    pullServers,
    pullTimeoutMs: section.duration('pull_timeout', '30s'),
    sites: section.pairs('sites', 'name=SITE'),
    receiverListen,
    route: queueRoute(section),
    receiverName: receiverName(receiver, receiverListen.port),
    streamAckWaitMs: section.duration('stream_ack_wait', '5m'),
    queueDir: section.path('queue_dir', path.join(varRoot, 'queue', 'xrootd')),
    ...queueBound(config),
  };
}

/** [xrootd-receiver] queue_max_bytes; queue_max_packets, the key it replaces, still works (× 2 kB) with a warning. */
function queueBound(config: Config): { queueMaxBytes: number; warnings: string[] } {
  const receiver = config.section(RECEIVER_SECTION);
  const where = `${config.file}: [${RECEIVER_SECTION}]`;
  const bytes = receiver.int('queue_max_bytes', DEFAULT_QUEUE_MAX_BYTES, { min: 1 });
  if (!receiver.has('queue_max_packets')) return { queueMaxBytes: bytes, warnings: [] };
  const packets = receiver.int('queue_max_packets', undefined, { min: 1 });
  if (receiver.has('queue_max_bytes')) {
    return { queueMaxBytes: bytes, warnings: [`${where} queue_max_packets is replaced by queue_max_bytes, which is set: queue_max_packets = ${packets} is ignored; remove it`] };
  }
  const translated = packets * BYTES_PER_PACKET;
  return {
    queueMaxBytes: translated,
    warnings: [`${where} queue_max_packets is replaced by queue_max_bytes: read as queue_max_bytes = ${translated} (${packets} packets × ${BYTES_PER_PACKET} bytes); rename the key`],
  };
}

/** The site of a server: the config's entry for host:port or for the host, else what the server reports. */
export function siteOf(sites: Map<string, string>, source: string, reported: string | undefined): string | undefined {
  return sites.get(source) ?? sites.get(source.replace(/:\d+$/, '')) ?? reported;
}
