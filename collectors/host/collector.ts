import { getMaxListeners, setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import { defineCollector, type CollectorContext } from '../../lib/run/collector';
import { ConfigError, type ConfigSection } from '../../lib/config/config';
import type { MonitDocument } from '../../lib/documents/types';
import { SourceFailure } from '../../lib/documents/failures';
import { fetchBody } from '../../lib/http/get';
import type { ClientTls } from '../../lib/tls/clientTls';
import { withoutCredentials } from '../../lib/http/credentials';
import { ExpositionError, parseExposition } from './exposition';
import { nodeSample, NotNodeExporterError, type NodeSample, type SampleFilters } from './node-sample';
import { cpuShares, intervalBetween, networkRates, PREVIOUS_SAMPLES_FILE, PREVIOUS_SAMPLES_STATE, storedSample, type StoredSample } from './rates';
import { HOST_FILESYSTEM, HOST_NETWORK, HOST_SYSTEM } from '../../schemas/kinds';


export interface Endpoint {
  /** The `instance` tag. */
  name: string;
  url: string;
}

/** `[host] endpoints`: items `URL` or `name=URL`; a bare URL is named by its host:port, as Prometheus does. */
export function parseEndpoints(section: ConfigSection): Endpoint[] {
  const endpoints: Endpoint[] = [];
  for (const item of section.list('endpoints', ['http://127.0.0.1:9100/metrics'])) {
    const split = /^([A-Za-z0-9_.:-]+)=(.+)$/.exec(item);
    const text = split ? split[2].trim() : item;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ConfigError(`[${section.name}] endpoints: "${item}" is not a URL such as http://node1:9100/metrics`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`[${section.name}] endpoints: "${item}" must be http or https`);
    const name = split ? split[1] : url.host;
    if (endpoints.some((endpoint) => endpoint.name === name)) throw new ConfigError(`[${section.name}] endpoints: the name "${name}" is given twice`);
    endpoints.push({ name, url: text });
  }
  return endpoints;
}

function regex(section: ConfigSection, key: string, fallback: string): RegExp {
  const text = section.string(key, fallback);
  try {
    return new RegExp(text);
  } catch (error) {
    throw new ConfigError(`[${section.name}] ${key}: not a regular expression: ${(error as Error).message}`);
  }
}

export const DEFAULT_IGNORED_FILESYSTEM_TYPES = [
  'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs', 'devpts', 'devtmpfs', 'efivarfs', 'fuse.lxcfs',
  'fusectl', 'hugetlbfs', 'iso9660', 'mqueue', 'nsfs', 'overlay', 'proc', 'procfs', 'pstore', 'ramfs', 'rpc_pipefs',
  'securityfs', 'selinuxfs', 'squashfs', 'sysfs', 'tmpfs', 'tracefs',
];

async function scrape(endpoint: Endpoint, timeoutMs: number, signal: AbortSignal, tls: ClientTls): Promise<string> {
  return (await fetchBody(endpoint.url, { source: endpoint.name, timeoutMs, signal, tls, accept: 'text/plain' })).toString('utf8');
}

function readSample(text: string, filters: SampleFilters): NodeSample {
  try {
    return nodeSample(parseExposition(text), filters, Date.now() / 1000);
  } catch (error) {
    if (error instanceof ExpositionError || error instanceof NotNodeExporterError) throw new SourceFailure('malformed', error.message);
    throw error;
  }
}

/** The documents of one successfully read endpoint: system, one per filesystem, and network rates when a previous sample allows. */
function documentsOf(context: CollectorContext, instance: string, sample: NodeSample, previous: StoredSample | undefined, maxIntervalSeconds: number): MonitDocument[] {
  const build = context.documents.build.bind(context.documents);
  const interval = intervalBetween(previous, sample, maxIntervalSeconds);
  const cpu = previous && interval ? cpuShares(previous, sample, interval) : undefined;
  const { totalBytes, availableBytes } = sample.memory;
  const usedBytes = totalBytes !== undefined && availableBytes !== undefined ? totalBytes - availableBytes : undefined;
  const documents = [
    build(HOST_SYSTEM, { instance }, {
      up: 1,
      error: '',
      cpu_count: sample.cpuCount,
      cpu_percent: cpu?.busyPercent,
      cpu_iowait_percent: cpu?.iowaitPercent,
      load1: sample.load?.load1,
      load5: sample.load?.load5,
      load15: sample.load?.load15,
      memory_total_bytes: totalBytes,
      memory_available_bytes: availableBytes,
      memory_used_bytes: usedBytes,
      memory_used_percent: usedBytes !== undefined && totalBytes ? (100 * usedBytes) / totalBytes : undefined,
      uptime_s: sample.bootTimeSeconds !== undefined ? Math.round(sample.timeSeconds - sample.bootTimeSeconds) : undefined,
    }),
  ];
  for (const filesystem of sample.filesystems) {
    const usedBytes = filesystem.sizeBytes - filesystem.freeBytes;
    const writable = usedBytes + filesystem.availableBytes;
    documents.push(
      build(HOST_FILESYSTEM, { instance, mountpoint: filesystem.mountpoint, fstype: filesystem.fstype }, {
        size_bytes: filesystem.sizeBytes,
        used_bytes: usedBytes,
        free_bytes: filesystem.availableBytes,
        used_percent: writable > 0 ? (100 * usedBytes) / writable : 0,
      }),
    );
  }
  if (previous && interval) {
    for (const [device, rates] of networkRates(previous, sample, interval)) {
      documents.push(
        build(HOST_NETWORK, { instance, interface: device }, {
          receive_bytes_per_s: rates.receiveBytesPerSecond,
          transmit_bytes_per_s: rates.transmitBytesPerSecond,
          interval_s: interval.seconds,
        }),
      );
    }
  }
  return documents;
}

/** Everything [host] configures, with its defaults (sample.cfg lists the same). */
export interface HostSettings {
  endpoints: Endpoint[];
  timeoutMs: number;
  concurrency: number;
  maxRateIntervalSeconds: number;
  filters: SampleFilters;
}

export function readSettings(section: ConfigSection): HostSettings {
  return {
    endpoints: parseEndpoints(section),
    timeoutMs: section.duration('timeout', '10s'),
    concurrency: section.int('concurrency', 4, { min: 1 }),
    maxRateIntervalSeconds: section.duration('max_rate_interval', '1h') / 1000,
    filters: {
      ignoreFilesystemTypes: new Set(section.list('ignore_fstypes', DEFAULT_IGNORED_FILESYSTEM_TYPES)),
      ignoreMountpoints: regex(section, 'ignore_mountpoints', '^/(dev|proc|sys|run)($|/)'),
      ignoreInterfaces: regex(section, 'ignore_interfaces', '^(lo|veth.*|docker[0-9]+|br-.*)$'),
    },
  };
}

export default defineCollector({
  async collect(context) {
    const { endpoints, timeoutMs, concurrency, maxRateIntervalSeconds, filters } = readSettings(context.section);
    const limit = pLimit(concurrency);
    // Each request in flight listens on the job's signal; more than Node's default 10 is expected here.
    setMaxListeners(Math.max(getMaxListeners(context.signal), concurrency + 10), context.signal);

    const store = context.state(PREVIOUS_SAMPLES_FILE, PREVIOUS_SAMPLES_STATE);
    let previousSamples: Record<string, StoredSample> = {};
    try {
      previousSamples = store.read();
    } catch (error) {
      context.problem(`${store.file} is unreadable, rates restart from this run: ${(error as Error).message}`);
    }

    // [tls.host] for every node_exporter; a credential that cannot be loaded fails the run.
    const tls = context.tls('host');
    const nextSamples: Record<string, StoredSample> = {};
    const perEndpoint = await Promise.all(
      endpoints.map((endpoint) =>
        limit(async (): Promise<MonitDocument[]> => {
          const previous = previousSamples[endpoint.name];
          try {
            const sample = readSample(await scrape(endpoint, timeoutMs, context.signal, tls), filters);
            nextSamples[endpoint.name] = storedSample(sample);
            return documentsOf(context, endpoint.name, sample, previous, maxRateIntervalSeconds);
          } catch (error) {
            if (!(error instanceof SourceFailure)) throw error;
            if (previous) nextSamples[endpoint.name] = previous; // the next success computes its rates over the longer gap
            context.problem(`${endpoint.name} (${withoutCredentials(endpoint.url)}): ${error.failureClass}: ${error.message}`);
            return [context.documents.build(HOST_SYSTEM, { instance: endpoint.name }, { up: 0, error: error.failureClass })];
          }
        }),
      ),
    );
    store.write(nextSamples);
    return perEndpoint.flat();
  },
});
