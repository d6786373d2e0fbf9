import { type Exposition, singleValue } from './exposition';

/** One filesystem as node_exporter reports it. */
export interface FilesystemSample {
  mountpoint: string;
  fstype: string;
  sizeBytes: number;
  /** Free blocks, the root reserve included (statfs f_bfree). */
  freeBytes: number;
  /** Blocks ordinary users may still write (statfs f_bavail). */
  availableBytes: number;
}

/** What the host collector reads from one node_exporter answer. */
export interface NodeSample {
  /** The host's clock when it answered (node_time_seconds), else ours. */
  timeSeconds: number;
  bootTimeSeconds?: number;
  cpuCount: number;
  /** Cumulative CPU seconds per '["<cpu>","<mode>"]'. */
  cpuSeconds: Record<string, number>;
  load?: { load1?: number; load5?: number; load15?: number };
  memory: { totalBytes?: number; availableBytes?: number };
  filesystems: FilesystemSample[];
  /** Cumulative bytes per interface. */
  network: Record<string, { receiveBytes: number; transmitBytes: number }>;
}

export interface SampleFilters {
  ignoreFilesystemTypes: Set<string>;
  ignoreMountpoints: RegExp;
  ignoreInterfaces: RegExp;
}

/** A value that should be there but is not: the answer is not node_exporter's. */
export class NotNodeExporterError extends Error {
  override name = 'NotNodeExporterError';
}

/** An unambiguous key for a list of label values (mount points may hold any character). */
function seriesKey(labelValues: string[]): string {
  return JSON.stringify(labelValues);
}

function byLabels(exposition: Exposition, name: string, ...labelNames: string[]): Map<string, number> {
  const values = new Map<string, number>();
  for (const sample of exposition.get(name) ?? []) {
    if (!Number.isFinite(sample.value)) continue;
    values.set(seriesKey(labelNames.map((label) => sample.labels[label] ?? '')), sample.value);
  }
  return values;
}

/** Picks the host's numbers out of a parsed node_exporter answer. */
export function nodeSample(exposition: Exposition, filters: SampleFilters, nowSeconds: number): NodeSample {
  const cpuSamples = exposition.get('node_cpu_seconds_total');
  if (!cpuSamples?.length) throw new NotNodeExporterError('the answer has no node_cpu_seconds_total: is this a node_exporter /metrics URL?');
  const cpuSeconds = Object.fromEntries(byLabels(exposition, 'node_cpu_seconds_total', 'cpu', 'mode'));
  const cpuCount = new Set(cpuSamples.map((sample) => sample.labels.cpu)).size;

  const sizes = byLabels(exposition, 'node_filesystem_size_bytes', 'mountpoint', 'fstype');
  const frees = byLabels(exposition, 'node_filesystem_free_bytes', 'mountpoint', 'fstype');
  const availables = byLabels(exposition, 'node_filesystem_avail_bytes', 'mountpoint', 'fstype');
  const filesystems: FilesystemSample[] = [];
  for (const sample of exposition.get('node_filesystem_size_bytes') ?? []) {
    const { mountpoint = '', fstype = '' } = sample.labels;
    if (filters.ignoreFilesystemTypes.has(fstype) || filters.ignoreMountpoints.test(mountpoint)) continue;
    const key = seriesKey([mountpoint, fstype]);
    const [sizeBytes, freeBytes, availableBytes] = [sizes.get(key), frees.get(key), availables.get(key)];
    if (sizeBytes === undefined || freeBytes === undefined || availableBytes === undefined || sizeBytes <= 0) continue;
    filesystems.push({ mountpoint, fstype, sizeBytes, freeBytes, availableBytes });
  }

  const received = byLabels(exposition, 'node_network_receive_bytes_total', 'device');
  const transmitted = byLabels(exposition, 'node_network_transmit_bytes_total', 'device');
  const network: NodeSample['network'] = {};
  for (const sample of exposition.get('node_network_receive_bytes_total') ?? []) {
    const device = sample.labels.device ?? '';
    const key = seriesKey([device]);
    const [receiveBytes, transmitBytes] = [received.get(key), transmitted.get(key)];
    if (receiveBytes === undefined || transmitBytes === undefined || filters.ignoreInterfaces.test(device)) continue;
    network[device] = { receiveBytes, transmitBytes };
  }

  return {
    timeSeconds: singleValue(exposition, 'node_time_seconds') ?? nowSeconds,
    bootTimeSeconds: singleValue(exposition, 'node_boot_time_seconds'),
    cpuCount,
    cpuSeconds,
    load: {
      load1: singleValue(exposition, 'node_load1'),
      load5: singleValue(exposition, 'node_load5'),
      load15: singleValue(exposition, 'node_load15'),
    },
    memory: {
      totalBytes: singleValue(exposition, 'node_memory_MemTotal_bytes'),
      availableBytes: singleValue(exposition, 'node_memory_MemAvailable_bytes'),
    },
    filesystems,
    network,
  };
}
