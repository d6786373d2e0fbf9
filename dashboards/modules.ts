/**
 * The module dashboards: the one place they are defined. Each names the schemas it reads through the
 * registry (Measurement.of), so a measurement, field or tag renamed in schemas/ stops the generator
 * with the name it could not find. Every numeric field also gets a regular panel (generic.ts).
 */
import type { SchemaRegistry } from '../lib/documents/schemas';
import type { PanelSpec } from './panels';
import { Measurement, type QuerySpec, type Selection } from './query';

/** A dashboard variable filtering by one tag; it applies to every query on a measurement with that tag. */
export interface FilterSpec {
  tag: string;
  /** The measurement whose tag values the variable lists. */
  from: Measurement;
}

export interface ModuleContent {
  filters: FilterSpec[];
  panels: PanelSpec[];
  /** Big numbers for the overview (current values, with their own short range). */
  keyNumbers: PanelSpec[];
  /** Tags the regular panels of a type group by, where every tag would give too many lines. */
  genericGroupBy?: Record<string, string[]>;
}

export interface ModuleDashboard {
  uid: string;
  title: string;
  description: string;
  /** Modules of the status job ([status.module.NAME]) this dashboard shows. */
  statusModules: string[];
  /** Producers whose every schema gets regular panels here. */
  producers: string[];
  build(registry: SchemaRegistry): ModuleContent;
}

const CURRENT = '1h';

function series(title: string, unit: string, queries: QuerySpec[], extra: Partial<PanelSpec> = {}): PanelSpec {
  return { kind: 'timeseries', title, unit, queries, ...extra };
}

function table(title: string, query: Omit<QuerySpec, 'format'>, extra: Partial<PanelSpec> = {}): PanelSpec {
  return { kind: 'table', title, queries: [{ ...query, format: 'table' }], width: 24, ...extra };
}

/** A current value for the overview: the newest 10-minute bucket of the last hour, unless reduced otherwise. */
function keyNumber(title: string, unit: string, query: QuerySpec, extra: Partial<PanelSpec> = {}): PanelSpec {
  return { kind: 'stat', title, unit, queries: [query], timeFrom: CURRENT, width: 4, height: 4, ...extra };
}

const last = (field: string, alias?: string): Selection => ({ fn: 'last', field, alias });
const mean = (field: string, alias?: string): Selection => ({ fn: 'mean', field, alias });
const sum = (field: string, alias?: string): Selection => ({ fn: 'sum', field, alias });
const max = (field: string, alias?: string): Selection => ({ fn: 'max', field, alias });
const min = (field: string, alias?: string): Selection => ({ fn: 'min', field, alias });
const perSecond = (field: string, alias?: string): Selection => ({ fn: 'sum', field, alias, perSecond: true });
const perHour = (field: string, alias?: string): Selection => ({ fn: 'sum', field, alias, perSecond: true, multiplier: 3600 });
const percentOf = (field: string, alias?: string): Selection => ({ fn: 'mean', field, alias, multiplier: 100 });

const panda: ModuleDashboard = {
  uid: 'monit-panda',
  title: 'PanDA',
  description: 'PanDA jobs per cloud, site and queue by state, terminal jobs, and the queues QMonit flags as suspicious.',
  statusModules: ['panda'],
  producers: ['panda'],
  build(registry) {
    const jobs = Measurement.of(registry, 'panda', 'jobs');
    const terminal = Measurement.of(registry, 'panda', 'jobs_terminal');
    const derived = Measurement.of(registry, 'panda', 'jobs_derived');
    const queues = Measurement.of(registry, 'panda', 'queues');
    const byState = (tag: string): QuerySpec => ({ measurement: jobs, select: [sum('jobs')], groupBy: [tag, 'job_status'], alias: `$tag_${tag} $tag_job_status` });
    return {
      filters: ['cloud', 'site', 'queue', 'prod_source', 'resource', 'job_status'].map((tag) => ({ tag, from: jobs })),
      panels: [
        series('Jobs per cloud by state', 'short', [byState('cloud')]),
        series('Jobs per site by state', 'short', [byState('site')]),
        series('Jobs per queue by state', 'short', [byState('queue')]),
        series('Jobs reaching a terminal state per hour, per cloud', 'short', [
          { measurement: terminal, select: [perHour('jobs')], groupBy: ['cloud', 'job_status'], alias: '$tag_cloud $tag_job_status' },
        ]),
        table(
          'Suspicious queues',
          {
            measurement: derived,
            select: [last('current'), last('avg_1h'), last('avg_24h'), last('avg_7d'), last('reason')],
            where: [{ key: 'suspicious', value: true }],
            groupBy: ['queue', 'site', 'cloud', 'prod_source', 'resource', 'job_status'],
          },
          { description: 'Series whose latest value in the range departs from its averages beyond the configured factors (QMonit rule).' },
        ),
        table('Queues', { measurement: queues, select: [last('status'), last('jobs')], groupBy: ['queue', 'site', 'cloud', 'tier', 'queue_type'] }),
      ],
      keyNumbers: [
        keyNumber('PanDA running jobs', 'short', { measurement: jobs, select: [sum('jobs')], where: [{ key: 'job_status', value: 'running' }] }),
        keyNumber('PanDA suspicious series', 'short', { measurement: derived, select: [{ fn: 'count', field: 'current' }], where: [{ key: 'suspicious', value: true }] }),
      ],
      genericGroupBy: { jobs: ['cloud', 'job_status'], jobs_terminal: ['cloud', 'job_status'], jobs_derived: ['cloud', 'job_status'], queues: ['cloud'] },
    };
  },
};

const xrootd: ModuleDashboard = {
  uid: 'monit-xrootd',
  title: 'XRootD servers',
  description: 'XRootD server summaries (throughput, connections, logins, authentication failures, redirections), transfer probes and space.',
  statusModules: ['xrootd', 'xrdprobe'],
  producers: ['xrootd'],
  build(registry) {
    const summary = Measurement.of(registry, 'xrootd', 'summary');
    const probe = Measurement.of(registry, 'xrootd', 'probe');
    const space = Measurement.of(registry, 'xrootd', 'oss_space');
    const perServer = (...select: Selection[]): QuerySpec => ({ measurement: summary, select, groupBy: ['server'], alias: '$tag_server $col' });
    const perEndpoint = (...select: Selection[]): QuerySpec => ({ measurement: probe, select, groupBy: ['endpoint', 'direction'], alias: '$tag_endpoint $tag_direction' });
    return {
      filters: [
        { tag: 'site', from: summary },
        { tag: 'server', from: summary },
        { tag: 'program', from: summary },
        { tag: 'endpoint', from: probe },
      ],
      panels: [
        series('Throughput per server', 'Bps', [perServer(mean('link_in_rate', 'in'), mean('link_out_rate', 'out'))]),
        series('Open connections', 'short', [perServer(mean('connections'))]),
        series('New connections per second', 'hertz', [perServer(mean('connection_rate'))]),
        series('Logins and authentication failures per second', 'hertz', [perServer(mean('login_rate', 'logins'), mean('auth_failure_rate', 'auth failures'))]),
        series('Redirections per second', 'hertz', [perServer(mean('redirection_rate'))]),
        series('Errors and delays per second', 'hertz', [perServer(mean('error_rate', 'errors'), mean('delay_rate', 'delays'))]),
        table('Servers', { measurement: summary, select: [last('version'), last('uptime_s'), max('connections_peak'), sum('restarts')], groupBy: ['server', 'site', 'program'] }),
        series('Transfer probes: duration', 'ms', [perEndpoint(mean('duration_ms'))]),
        series('Transfer probes: throughput', 'MBs', [perEndpoint(mean('throughput_mbps'))]),
        table('Transfer probes: latest result', { measurement: probe, select: [last('success'), last('error_class'), last('error_message')], groupBy: ['endpoint', 'site', 'direction'] }),
        series('Space used per path', 'percent', [{ measurement: space, select: [mean('used_percent')], groupBy: ['server', 'path'], alias: '$tag_server $tag_path' }]),
      ],
      keyNumbers: [
        keyNumber('XRootD throughput out', 'Bps', { measurement: summary, select: [sum('link_out_rate')] }),
        keyNumber('XRootD connections', 'short', { measurement: summary, select: [sum('connections')] }),
        keyNumber('XRootD auth failures', 'hertz', { measurement: summary, select: [sum('auth_failure_rate')] }),
      ],
    };
  },
};

const xrootdTransfers: ModuleDashboard = {
  uid: 'monit-xrootd-transfers',
  title: 'XRootD transfers',
  description: 'File accesses from the XRootD detailed monitoring stream: local versus remote, top client sites, user statistics.',
  statusModules: ['xrootd-transfers'],
  producers: ['xrootd-transfers'],
  build(registry) {
    const transfers = Measurement.of(registry, 'xrootd-transfers', 'transfers');
    const users = Measurement.of(registry, 'xrootd-transfers', 'users');
    const servers = Measurement.of(registry, 'xrootd-transfers', 'servers');
    const byAccess = (field: string): QuerySpec => ({ measurement: transfers, select: [perSecond(field)], groupBy: ['access'], alias: '$tag_access' });
    return {
      filters: [
        { tag: 'server_site', from: transfers },
        { tag: 'client_site', from: transfers },
        { tag: 'access', from: transfers },
        { tag: 'user', from: users },
      ],
      panels: [
        series('Bytes read: local vs remote', 'Bps', [byAccess('bytes_read')]),
        series('Bytes written: local vs remote', 'Bps', [byAccess('bytes_written')]),
        series('Files opened: local vs remote', 'cps', [byAccess('files_opened')]),
        series('Bytes read per client site', 'Bps', [{ measurement: transfers, select: [perSecond('bytes_read')], groupBy: ['client_site'], alias: '$tag_client_site' }]),
        table('Top 10 client sites by bytes read', { measurement: transfers, select: [sum('bytes_read')], groupBy: ['client_site'], top: { by: 'client_site', limit: 10 } }, { unit: 'bytes', width: 12 }),
        table('Top 10 users by bytes read', { measurement: users, select: [sum('bytes_read')], groupBy: ['user'], top: { by: 'user', limit: 10 } }, { unit: 'bytes', width: 12 }),
        table('User statistics', {
          measurement: users,
          select: [
            sum('bytes_read'),
            sum('bytes_written'),
            sum('accesses_total'),
            sum('accesses_local'),
            sum('accesses_remote'),
            mean('local_access_ratio'),
            sum('transfers'),
            sum('remote_io'),
            mean('remote_io_ratio'),
            mean('vector_read_ratio'),
          ],
          groupBy: ['user'],
        }),
        series('Bytes read per user', 'Bps', [{ measurement: users, select: [perSecond('bytes_read')], groupBy: ['user'], alias: '$tag_user' }]),
        series('Monitoring stream: packets per second', 'cps', [
          { measurement: servers, select: [perSecond('packets', 'received'), perSecond('packets_lost', 'lost'), perSecond('packets_rejected', 'rejected')], groupBy: ['server'], alias: '$tag_server $col' },
        ]),
      ],
      keyNumbers: [keyNumber('Transfers: bytes read', 'Bps', { measurement: transfers, select: [perSecond('bytes_read')] })],
      genericGroupBy: { transfers: ['server_site', 'client_site', 'access'] },
    };
  },
};

const host: ModuleDashboard = {
  uid: 'monit-host',
  title: 'Hosts',
  description: 'CPU, load, memory, filesystems and network of the hosts read through node_exporter.',
  statusModules: ['host'],
  producers: ['host'],
  build(registry) {
    const system = Measurement.of(registry, 'host', 'system');
    const filesystem = Measurement.of(registry, 'host', 'filesystem');
    const network = Measurement.of(registry, 'host', 'network');
    const perInstance = (...select: Selection[]): QuerySpec => ({ measurement: system, select, groupBy: ['instance'], alias: '$tag_instance $col' });
    return {
      filters: [
        { tag: 'instance', from: system },
        { tag: 'mountpoint', from: filesystem },
        { tag: 'interface', from: network },
      ],
      panels: [
        series('CPU busy', 'percent', [perInstance(mean('cpu_percent', 'busy'), mean('cpu_iowait_percent', 'iowait'))]),
        series('Load', 'none', [perInstance(mean('load1'), mean('load5'), mean('load15'))]),
        series('Memory used', 'percent', [perInstance(mean('memory_used_percent'))]),
        series('Filesystems used', 'percent', [{ measurement: filesystem, select: [mean('used_percent')], groupBy: ['instance', 'mountpoint'], alias: '$tag_instance $tag_mountpoint' }]),
        series('Network traffic', 'Bps', [{ measurement: network, select: [mean('receive_bytes_per_s', 'in'), mean('transmit_bytes_per_s', 'out')], groupBy: ['instance', 'interface'], alias: '$tag_instance $tag_interface $col' }]),
        table('Hosts', { measurement: system, select: [last('up'), last('error'), last('cpu_count'), last('memory_total_bytes'), last('uptime_s')], groupBy: ['instance'] }),
      ],
      keyNumbers: [
        keyNumber('Hosts up', 'short', { measurement: system, select: [sum('up')] }),
        keyNumber('Fullest filesystem', 'percent', { measurement: filesystem, select: [max('used_percent')] }),
      ],
    };
  },
};

const web: ModuleDashboard = {
  uid: 'monit-web',
  title: 'Web',
  description: 'HTTP probes of the configured URLs: availability, latency, certificates.',
  statusModules: ['web'],
  producers: ['web'],
  build(registry) {
    const probe = Measurement.of(registry, 'web', 'probe');
    const perName = (selection: Selection): QuerySpec => ({ measurement: probe, select: [selection], groupBy: ['name'], alias: '$tag_name' });
    return {
      filters: [{ tag: 'name', from: probe }],
      panels: [
        series('Availability', 'percent', [perName(percentOf('up'))], { decimals: 1 }),
        series('Latency', 'ms', [perName(mean('latency_ms'))]),
        series('Certificate days left', 'd', [perName(min('cert_days_left'))]),
        table('Latest probe results', { measurement: probe, select: [last('up'), last('status'), last('error_class'), last('latency_ms'), min('cert_days_left')], groupBy: ['name', 'url'] }),
      ],
      keyNumbers: [keyNumber('Web probes up', 'percent', { measurement: probe, select: [percentOf('up')] }, { decimals: 0 })],
    };
  },
};

const sql: ModuleDashboard = {
  uid: 'monit-sql',
  title: 'SQL',
  description: 'The configured SQL queries: whether they answer, how long they take, how many rows they give.',
  statusModules: ['sql'],
  producers: ['sql'],
  build(registry) {
    const status = Measurement.of(registry, 'sql', 'query_status');
    const perQuery = (selection: Selection): QuerySpec => ({ measurement: status, select: [selection], groupBy: ['query_name'], alias: '$tag_query_name' });
    return {
      filters: [{ tag: 'query_name', from: status }],
      panels: [
        series('Availability', 'percent', [perQuery(percentOf('up'))], { decimals: 1 }),
        series('Duration', 'ms', [perQuery(mean('duration_ms'))]),
        series('Rows', 'short', [perQuery(mean('rows'))]),
        table('Latest results', { measurement: status, select: [last('up'), last('rows'), last('duration_ms'), last('error'), last('message')], groupBy: ['query_name'] }),
      ],
      keyNumbers: [keyNumber('SQL queries up', 'percent', { measurement: status, select: [percentOf('up')] }, { decimals: 0 })],
    };
  },
};

const logs: ModuleDashboard = {
  uid: 'monit-logs',
  title: 'Logs',
  description: 'Log lines matching the configured patterns.',
  statusModules: ['logs'],
  producers: ['logs'],
  build(registry) {
    const pattern = Measurement.of(registry, 'logs', 'pattern');
    const perPattern = (selection: Selection): QuerySpec => ({ measurement: pattern, select: [selection], groupBy: ['pattern'], alias: '$tag_pattern' });
    return {
      filters: [{ tag: 'pattern', from: pattern }],
      panels: [
        series('Matching lines per hour', 'short', [perPattern(perHour('matches'))]),
        series('Lines read per hour', 'short', [perPattern(perHour('lines'))]),
        series('Time since the last match', 's', [perPattern(last('last_match_age_s'))]),
        table('Patterns', { measurement: pattern, select: [sum('matches'), sum('lines'), last('files'), last('last_match_age_s')], groupBy: ['pattern'] }),
      ],
      keyNumbers: [keyNumber('Log matches, last hour', 'short', { measurement: pattern, select: [sum('matches')] }, { reduce: 'sum' })],
    };
  },
};

const hadoop: ModuleDashboard = {
  uid: 'monit-hadoop',
  title: 'Hadoop',
  description: 'HDFS NameNodes: capacity, datanodes, blocks, HA and safe mode.',
  statusModules: ['hadoop'],
  producers: ['hadoop'],
  build(registry) {
    const namenode = Measurement.of(registry, 'hadoop', 'namenode');
    const perNameNode = (...select: Selection[]): QuerySpec => ({ measurement: namenode, select, groupBy: ['namenode'], alias: '$tag_namenode $col' });
    return {
      filters: [{ tag: 'namenode', from: namenode }],
      panels: [
        series('HDFS capacity used', 'percent', [perNameNode(mean('capacity_used_percent', 'used'))]),
        series('HDFS capacity', 'bytes', [perNameNode(mean('capacity_used_bytes', 'used'), mean('capacity_remaining_bytes', 'remaining'))]),
        series('Datanodes', 'short', [perNameNode(min('datanodes_live', 'live'), max('datanodes_dead', 'dead'), max('datanodes_stale', 'stale'), max('datanodes_decommissioning', 'decommissioning'))]),
        series('Problem blocks', 'short', [perNameNode(max('blocks_missing', 'missing'), max('blocks_corrupt', 'corrupt'), max('blocks_under_replicated', 'under-replicated'), max('volume_failures', 'volume failures'))]),
        table('NameNodes', { measurement: namenode, select: [last('up'), last('ha_state'), last('safe_mode'), last('files_total'), last('blocks_total'), last('dead_datanodes')], groupBy: ['namenode'] }),
      ],
      keyNumbers: [
        keyNumber('HDFS used', 'percent', { measurement: namenode, select: [max('capacity_used_percent')] }),
        keyNumber('HDFS missing blocks', 'short', { measurement: namenode, select: [max('blocks_missing')] }),
      ],
    };
  },
};

const jobs: ModuleDashboard = {
  uid: 'monit-jobs',
  title: 'Collector jobs',
  description: "Every job's heartbeat: runs, errors, duration, documents sent, spooled and rejected; and the status job's decisions.",
  statusModules: [],
  producers: ['monit-collectors'],
  build(registry) {
    const run = Measurement.of(registry, 'monit-collectors', 'run');
    const perJob = (selection: Selection): QuerySpec => ({ measurement: run, select: [selection], groupBy: ['job'], alias: '$tag_job' });
    return {
      filters: [{ tag: 'job', from: run }],
      panels: [
        table('Jobs', {
          measurement: run,
          select: [last('ok'), last('timed_out'), sum('errors'), mean('duration_ms'), sum('documents_sent'), sum('documents_rejected'), sum('documents_dropped'), last('documents_spooled'), last('message')],
          groupBy: ['job'],
        }),
        series('Run duration', 'ms', [perJob(mean('duration_ms'))]),
        series('Errors per hour', 'short', [perJob(perHour('errors'))]),
        series('Documents sent per second', 'cps', [perJob(perSecond('documents_sent'))]),
        series('Documents left in the spool', 'short', [perJob(last('documents_spooled'))]),
      ],
      keyNumbers: [
        keyNumber('Job errors, last hour', 'short', { measurement: run, select: [sum('errors')] }, { reduce: 'sum' }),
        keyNumber('Documents rejected, last hour', 'short', { measurement: run, select: [sum('documents_rejected')] }, { reduce: 'sum' }),
      ],
    };
  },
};

/** Every module dashboard, in the order the overview lists them. */
export const MODULE_DASHBOARDS: ModuleDashboard[] = [panda, xrootd, xrootdTransfers, host, web, sql, logs, hadoop, jobs];
