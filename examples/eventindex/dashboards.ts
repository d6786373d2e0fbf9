/**
 * One Grafana dashboard per EventIndex module, each headed by its module's status light. The
 * measurements the example's config declares have their schemas in schemas/ (sql/ei_*, web/ei_*,
 * logs/ei_consumer), so a field renamed in one place stops `npm run generate`.
 */
import type { SchemaRegistry } from '../../lib/documents/schemas';
import { defineDashboard, keyNumber, last, max, mean, percentOf, series, sum, table, type DashboardDefinition } from '../../dashboards/module';
import { Measurement, type Condition, type QuerySpec, type Selection } from '../../dashboards/query';

/** A query of one measurement's selections, optionally only some series, one line per `groupBy` tag value. */
function query(registry: SchemaRegistry, producer: string, type: string, select: Selection[], options: { where?: Condition[]; groupBy?: string[] } = {}): QuerySpec {
  const alias = options.groupBy?.length ? options.groupBy.map((tag) => `$tag_${tag}`).join(' ') + (select.length > 1 ? ' $col' : '') : select.length > 1 ? '$col' : undefined;
  return { measurement: Measurement.of(registry, producer, type), select, where: options.where, groupBy: options.groupBy, alias };
}

const only = (key: string, value: string): Condition[] => [{ key, value }];

/** Availability and duration of one configured SQL query (sql/query_status). */
function queryHealth(registry: SchemaRegistry, name: string): ReturnType<typeof series>[] {
  const where = only('query_name', name);
  return [
    series(`Query ${name} up`, 'percent', [query(registry, 'sql', 'query_status', [percentOf('up', 'up')], { where })], { decimals: 1, width: 12 }),
    series(`Query ${name} duration`, 'ms', [query(registry, 'sql', 'query_status', [mean('duration_ms', 'duration')], { where })], { width: 12 }),
  ];
}

const EVENTINDEX_DASHBOARDS: readonly DashboardDefinition[] = [
  defineDashboard({
    uid: 'eventindex-production',
    title: 'EventIndex: Open-Ended Production',
    description: 'Datasets found, scheduled, skipped, processed and failed in the last hour, by project and data format.',
    statusModules: ['ei_production'],
    build: (registry) => ({
      filters: [],
      panels: [
        series('Datasets in the last hour, by state', 'short', [query(registry, 'sql', 'ei_production', [mean('found', 'found'), mean('scheduled', 'scheduled'), mean('skipped', 'skipped'), mean('done', 'done'), mean('failed', 'failed')])]),
        series('Datasets by project and data format', 'short', [query(registry, 'sql', 'ei_production_by_project', [mean('datasets', 'datasets')], { groupBy: ['project', 'data_format'] })]),
        table('Failed datasets by project and data format (latest)', { measurement: Measurement.of(registry, 'sql', 'ei_production_by_project'), select: [last('datasets', 'datasets'), last('failed', 'failed')], groupBy: ['project', 'data_format'] }),
        ...queryHealth(registry, 'ei_production'),
      ],
      keyNumbers: [keyNumber('Datasets failed (1h)', 'short', query(registry, 'sql', 'ei_production', [last('failed', 'failed')]))],
    }),
  }),
  defineDashboard({
    uid: 'eventindex-consumer',
    title: 'EventIndex: Consumer',
    description: "Events stored, batch durations and lag, from the consumer's log lines; its error lines.",
    statusModules: ['ei_consumer'],
    build: (registry) => ({
      filters: [],
      panels: [
        series('Events stored per run', 'short', [query(registry, 'logs', 'ei_consumer', [sum('events_sum', 'events')])]),
        series('Lag behind the queue (largest of each run)', 's', [query(registry, 'logs', 'ei_consumer', [max('lag_s_max', 'lag')])]),
        series('Longest batch', 'ms', [query(registry, 'logs', 'ei_consumer', [max('duration_ms_max', 'longest batch')])]),
        series('Batches and error lines per run', 'short', [query(registry, 'logs', 'pattern', [sum('matches')], { where: [{ key: 'pattern', oneOf: ['ei_consumer_batches', 'ei_consumer_errors'] }], groupBy: ['pattern'] })]),
      ],
      keyNumbers: [keyNumber('Consumer lag', 's', query(registry, 'logs', 'ei_consumer', [last('lag_s_max', 'lag')]))],
    }),
  }),
  defineDashboard({
    uid: 'eventindex-import',
    title: 'EventIndex: EI Import Status',
    description: "Imports done, failed and waiting (the import bookkeeping), events imported, and the importer's failure lines.",
    statusModules: ['ei_import'],
    build: (registry) => ({
      filters: [],
      panels: [
        series('Imports', 'short', [query(registry, 'sql', 'ei_import', [mean('done', 'done (1h)'), mean('failed', 'failed (1h)'), mean('pending', 'waiting')])]),
        series('Oldest waiting import', 's', [query(registry, 'sql', 'ei_import', [max('oldest_pending_s', 'waited')])]),
        series('Events imported in the last hour', 'short', [query(registry, 'sql', 'ei_import', [mean('events', 'events')])]),
        series('Importer failure lines per run', 'short', [query(registry, 'logs', 'pattern', [sum('matches', 'failures')], { where: only('pattern', 'ei_import_failed') })]),
        ...queryHealth(registry, 'ei_import'),
      ],
      keyNumbers: [keyNumber('Imports failed (1h)', 'short', query(registry, 'sql', 'ei_import', [last('failed', 'failed')]))],
    }),
  }),
  defineDashboard({
    uid: 'eventindex-hadoop',
    title: 'EventIndex: Hadoop Cluster',
    description: 'HDFS (NameNode), YARN (ResourceManager) and HBase (master) of the EventIndex cluster.',
    statusModules: ['ei_hadoop'],
    build: (registry) => ({
      filters: [],
      panels: [
        series('HDFS capacity used', 'percent', [query(registry, 'hadoop', 'namenode', [mean('capacity_used_percent', 'used')], { groupBy: ['namenode'] })], { width: 12 }),
        series('Datanodes', 'short', [query(registry, 'hadoop', 'namenode', [last('datanodes_live', 'live'), last('datanodes_dead', 'dead')], { groupBy: ['namenode'] })], { width: 12 }),
        series('YARN nodes', 'short', [query(registry, 'hadoop', 'resourcemanager', [last('nodes_active', 'active'), last('nodes_unhealthy', 'unhealthy'), last('nodes_lost', 'lost')], { groupBy: ['resourcemanager'] })], { width: 12 }),
        series('YARN applications', 'short', [query(registry, 'hadoop', 'resourcemanager', [mean('apps_running', 'running'), mean('apps_pending', 'pending')], { groupBy: ['resourcemanager'] })], { width: 12 }),
        series('HBase region servers', 'short', [query(registry, 'hadoop', 'hbase_master', [last('region_servers_live', 'live'), last('region_servers_dead', 'dead')], { groupBy: ['hbase_master'] })], { width: 12 }),
        series('HBase regions in transition', 'short', [query(registry, 'hadoop', 'hbase_master', [max('regions_in_transition', 'in transition'), max('regions_in_transition_over_threshold', 'over threshold')], { groupBy: ['hbase_master'] })], { width: 12 }),
      ],
      keyNumbers: [keyNumber('Dead HBase region servers', 'short', query(registry, 'hadoop', 'hbase_master', [last('region_servers_dead', 'dead')]))],
    }),
  }),
  defineDashboard({
    uid: 'eventindex-triggerdb',
    title: 'EventIndex: TriggerDB',
    description: 'Runs loaded into the trigger database copy: the newest, how long ago, incomplete ones.',
    statusModules: ['ei_triggerdb'],
    build: (registry) => ({
      filters: [],
      panels: [
        series('Time since the last run was loaded', 's', [query(registry, 'sql', 'ei_triggerdb', [max('last_load_age_s', 'since last load')])]),
        series('Runs', 'short', [query(registry, 'sql', 'ei_triggerdb', [last('runs', 'runs'), last('incomplete_runs', 'incomplete')])]),
        table('Newest run', { measurement: Measurement.of(registry, 'sql', 'ei_triggerdb'), select: [last('last_run', 'run'), last('last_load_age_s', 'loaded s ago'), last('incomplete_runs', 'incomplete')] }),
        ...queryHealth(registry, 'ei_triggerdb'),
      ],
      keyNumbers: [keyNumber('Last trigger run loaded', 's', query(registry, 'sql', 'ei_triggerdb', [last('last_load_age_s', 'ago')]))],
    }),
  }),
  defineDashboard({
    uid: 'eventindex-web',
    title: 'EventIndex: Web Interface Status',
    description: 'The web interface probed, and the values of its own JSON status.',
    statusModules: ['ei_web'],
    build: (registry) => {
      const probes: Condition[] = [{ key: 'name', oneOf: ['ei_web_ui', 'ei_web_status'] }];
      return {
        filters: [],
        panels: [
          series('Availability', 'percent', [query(registry, 'web', 'probe', [percentOf('up', 'up')], { where: probes, groupBy: ['name'] })], { decimals: 1, width: 12 }),
          series('Latency', 'ms', [query(registry, 'web', 'probe', [mean('latency_ms', 'latency')], { where: probes, groupBy: ['name'] })], { width: 12 }),
          series('Backend checks failing', 'short', [query(registry, 'web', 'ei_web_status', [max('failed_checks', 'failed checks')])], { width: 12 }),
          series('Requests queued', 'short', [query(registry, 'web', 'ei_web_status', [mean('queue_length', 'queued')])], { width: 12 }),
          table('Latest state', { measurement: Measurement.of(registry, 'web', 'ei_web_status'), select: [last('state', 'state'), last('failed_checks', 'failed checks'), last('queue_length', 'queued')] }),
        ],
        keyNumbers: [keyNumber('Web interface up', 'percent', query(registry, 'web', 'probe', [percentOf('up', 'up')], { where: only('name', 'ei_web_ui') }), { decimals: 0 })],
      };
    },
  }),
  defineDashboard({
    uid: 'eventindex-computers',
    title: 'EventIndex: Health of EventIndex computers',
    description: 'CPU, load, memory and disks of the EventIndex machines ([host] endpoints).',
    statusModules: ['ei_computers'],
    build: (registry) => ({
      filters: [{ tag: 'instance', from: Measurement.of(registry, 'host', 'system') }],
      panels: [
        series('Answering', 'percent', [query(registry, 'host', 'system', [percentOf('up', 'up')], { groupBy: ['instance'] })], { decimals: 0, width: 12 }),
        series('CPU busy', 'percent', [query(registry, 'host', 'system', [mean('cpu_percent', 'cpu')], { groupBy: ['instance'] })], { width: 12 }),
        series('Load (15 min)', 'short', [query(registry, 'host', 'system', [mean('load15', 'load')], { groupBy: ['instance'] })], { width: 12 }),
        series('Memory used', 'percent', [query(registry, 'host', 'system', [mean('memory_used_percent', 'memory')], { groupBy: ['instance'] })], { width: 12 }),
        series('Disks used', 'percent', [query(registry, 'host', 'filesystem', [max('used_percent', 'used')], { groupBy: ['instance', 'mountpoint'] })]),
      ],
      keyNumbers: [keyNumber('Fullest EventIndex disk', 'percent', query(registry, 'host', 'filesystem', [max('used_percent', 'used')]), { decimals: 0 })],
    }),
  }),
  defineDashboard({
    uid: 'eventindex-nightly',
    title: 'EventIndex: Nightly Builds',
    description: 'Builds and tests of the nightly, from its build summary (JSON).',
    statusModules: ['ei_nightly'],
    build: (registry) => ({
      filters: [],
      panels: [
        series('Builds', 'short', [query(registry, 'web', 'ei_nightly', [last('builds_total', 'built'), max('builds_failed', 'failed')])], { width: 12 }),
        series('Tests', 'short', [query(registry, 'web', 'ei_nightly', [last('tests_total', 'run'), max('tests_failed', 'failed')])], { width: 12 }),
        table('Latest nightly', { measurement: Measurement.of(registry, 'web', 'ei_nightly'), select: [last('release', 'release'), last('builds_failed', 'builds failed'), last('builds_total', 'builds'), last('tests_failed', 'tests failed'), last('tests_total', 'tests')] }),
        series('Summary readable', 'percent', [query(registry, 'web', 'probe', [percentOf('up', 'up')], { where: only('name', 'ei_nightly') })], { decimals: 0 }),
      ],
      keyNumbers: [keyNumber('Nightly builds failed', 'short', query(registry, 'web', 'ei_nightly', [last('builds_failed', 'failed')]))],
    }),
  }),
  defineDashboard({
    uid: 'eventindex-picking',
    title: 'EventIndex: Event Picking Tests',
    description: 'The picking test script: events asked for and found, how long picking took, whether the script ran to its end.',
    statusModules: ['ei_picking'],
    build: (registry) => {
      const where = only('command', 'ei_picking');
      return {
        filters: [],
        panels: [
          series('Events requested and found', 'short', [query(registry, 'command', 'event_picking', [last('events_requested', 'requested'), last('events_found', 'found')], { where })], { width: 12 }),
          series('Picking time', 's', [query(registry, 'command', 'event_picking', [mean('pick_seconds', 'picking')], { where })], { width: 12 }),
          series('Script ran to its end', 'percent', [query(registry, 'command', 'result', [percentOf('up', 'up')], { where })], { decimals: 0, width: 12 }),
          series('Script duration', 'ms', [query(registry, 'command', 'result', [mean('duration_ms', 'duration')], { where })], { width: 12 }),
          table('Latest test', { measurement: Measurement.of(registry, 'command', 'event_picking'), select: [last('passed', 'passed'), last('state', 'state'), last('events_found', 'found'), last('events_requested', 'requested')], where }),
        ],
        keyNumbers: [keyNumber('Events picked', 'short', query(registry, 'command', 'event_picking', [last('events_found', 'found')], { where }))],
      };
    },
  }),
  defineDashboard({
    uid: 'eventindex-volumes',
    title: 'EventIndex: EI Data Volumes',
    description: "Size, files and quota use of the EventIndex's HDFS folders (WebHDFS content summaries).",
    statusModules: ['ei_volumes'],
    build: (registry) => ({
      filters: [],
      panels: [
        series('Data (length)', 'bytes', [query(registry, 'hadoop', 'content_summary', [last('length_bytes', 'length')], { groupBy: ['path'] })], { width: 12 }),
        series('Space consumed (with replicas)', 'bytes', [query(registry, 'hadoop', 'content_summary', [last('space_consumed_bytes', 'consumed')], { groupBy: ['path'] })], { width: 12 }),
        series('Space quota used', 'percent', [query(registry, 'hadoop', 'content_summary', [max('space_quota_used_percent', 'space')], { groupBy: ['path'] })], { width: 12 }),
        series('Files', 'short', [query(registry, 'hadoop', 'content_summary', [last('files', 'files')], { groupBy: ['path'] })], { width: 12 }),
      ],
      keyNumbers: [keyNumber('EventIndex data', 'bytes', query(registry, 'hadoop', 'content_summary', [sum('length_bytes', 'length')]))],
    }),
  }),
];

export default EVENTINDEX_DASHBOARDS;
