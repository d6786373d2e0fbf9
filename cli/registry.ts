/**
 * The job registry: every job, service and command, with its kind, schedule, deadline and node
 * flags. `./run.sh --help`, the crontab, the scheduler, the quickstart and `./run.sh stop` read it.
 * The built-in entries are listed here; every collectors/<name>/ folder adds its collector and
 * whatever jobs and services its index.ts declares.
 */
import { sources } from '../collectors/source';
import { Config } from '../lib/config/config';
import type { CommandEntry, PeriodicEntry, RegistryEntry, ServiceEntry } from '../lib/run/registry';
import { TEN_MINUTES_MS } from '../lib/run/slot';

/**
 * Collectors start in the first minutes of each 10-minute slot, spread so they do not start together.
 * A collector's minute comes from its name alone, so adding a source moves no other's crontab line.
 */
const COLLECTOR_SPREAD_MINUTES = 5;

function collectorMinute(name: string): number {
  let hash = 0;
  for (const character of name) hash = (hash * 31 + character.charCodeAt(0)) >>> 0;
  return hash % COLLECTOR_SPREAD_MINUTES;
}
const DEFAULT_COLLECTOR_DEADLINE = '8m';

/** Sections read by several parts, never a typo: the sender's, the gateway's, the scheduler's, the quickstart's. */
export const SHARED_SECTIONS = ['paths', 'tls', 'monit', 'influxdb', 'schedule', 'demo'];

function downsampling(resolution: '1h' | '1d', schedule: string, defaultDeadline: string, description: string): PeriodicEntry {
  return {
    name: `downsample-${resolution}`,
    kind: 'job',
    description,
    schedule,
    defaultDeadline,
    sections: ['downsample', 'dashboards'],
    load: async (args) => (require('../downsample/job') as typeof import('../downsample/job')).downsampleJob(resolution, { from: args.from, to: args.to }),
  };
}

const BUILT_IN: RegistryEntry[] = [
  {
    name: 'status',
    kind: 'job',
    description: 'module status from the [status.module.*] rules: status documents and the status page',
    // After the collectors of each slot, which start in its minutes 0-4.
    schedule: '8-59/10 * * * *',
    defaultDeadline: '5m',
    load: async () => {
      const status = (require('../status') as typeof import('../status')).default;
      return { name: 'status', periodMs: TEN_MINUTES_MS, run: (context) => status.collect(context) };
    },
  },
  downsampling('1h', '15 * * * *', '50m', 'raw → 1h in InfluxDB, catching up every missed hour (--from/--to to backfill)'),
  // After the 00:15 hourly run: a day is made from its 24 hours, so it waits for the last one.
  downsampling('1d', '35 0 * * *', '3h', '1h → 1d in InfluxDB, catching up every missed day (--from/--to to backfill)'),
  {
    name: 'heartbeat',
    kind: 'job',
    description: 'sends only its heartbeat: checks the path from this host to the gateway (fails when it cannot)',
    defaultDeadline: '1m',
    requiresDelivery: true,
    load: async () => ({ name: 'heartbeat', periodMs: TEN_MINUTES_MS, run: async () => [] }),
  },
  {
    name: 'gateway',
    kind: 'service',
    description: 'the MONIT-compatible HTTP endpoint in front of InfluxDB, with the status page',
    schedule: '@reboot',
    needsSection: 'gateway',
    sections: ['gateway.producers', 'status'],
    // The status pages are wired in here, not in the gateway: a bad status rule never stops ingestion.
    serve: async (config, args) => {
      const { statusPagesFromConfig } = require('../status/pages') as typeof import('../status/pages');
      return (require('../gateway/service') as typeof import('../gateway/service')).serve(config, args, (log) => statusPagesFromConfig(config, log));
    },
    ready: async (config) => (require('../gateway/service') as typeof import('../gateway/service')).answers(config),
  },
  {
    name: 'writer',
    kind: 'service',
    description: 'the stream route: writes the documents of the JetStream stream to InfluxDB (several share the work)',
    schedule: '@reboot',
    needsSection: 'writer',
    sections: ['stream'],
    serve: async (config, args) => (require('../writer/service') as typeof import('../writer/service')).serve(config, args),
  },
  {
    name: 'stream-setup',
    kind: 'command',
    description: "create the [stream] streams and durable consumers, or apply this host's settings ([stream], [writer], stream_ack_wait) to the existing ones",
    sections: ['stream'],
    run: async (args) => (require('./streamSetup') as typeof import('./streamSetup')).streamSetup(Config.loadDefault(args.config)),
  },
  {
    name: 'scheduler',
    kind: 'service',
    description: 'runs the schedule in-process (for hosts without cron)',
    serve: async (config, args) => (require('./scheduler') as typeof import('./scheduler')).serve(config, args),
  },
  {
    name: 'replay',
    kind: 'command',
    description: 'deliver everything waiting in var/spool, on every route',
    // Delivers what any job left in the spool, even for jobs no longer scheduled.
    schedule: '7-59/10 * * * *',
    run: async (args) => (require('../lib/delivery/commands') as typeof import('../lib/delivery/commands')).replay(Config.loadDefault(args.config), { debug: args.debug }),
  },
  {
    name: 'send',
    kind: 'command',
    usage: 'send FILE',
    description: 'validate a JSON document file and send it (through the spool); exit 75: spooled, not all sent yet (the next replay sends them)',
    run: async (args) => (require('../lib/delivery/commands') as typeof import('../lib/delivery/commands')).send(args.rest[0], () => Config.loadDefault(args.config), { debug: args.debug }),
  },
  {
    name: 'validate',
    kind: 'command',
    usage: 'validate FILE',
    description: 'only validate a JSON document file',
    run: async (args) => (require('../lib/delivery/commands') as typeof import('../lib/delivery/commands')).validate(args.rest[0]),
  },
  {
    name: 'crontab',
    kind: 'command',
    description: 'print crontab lines for the schedule (services under supervise)',
    run: async (args) => (require('./crontab') as typeof import('./crontab')).printCrontab(args),
  },
  {
    name: 'supervise',
    kind: 'command',
    usage: 'supervise SERVICE',
    description: 'run a service and start it again whenever it exits (the crontab starts services this way)',
    run: async (args) => (require('./scheduler') as typeof import('./scheduler')).supervise(args),
  },
  {
    name: 'systemd-units',
    kind: 'command',
    usage: 'systemd-units [scheduler]',
    description: 'print systemd units for the services (--user: user units; --output DIR: write them there)',
    run: async (args) => (require('./crontab') as typeof import('./crontab')).printSystemdUnits(args),
  },
  { name: 'quickstart', kind: 'command', script: 'scripts/quickstart/quickstart.sh', description: 'set up everything on this machine and run every job once' },
  { name: 'stop', kind: 'command', script: 'scripts/quickstart/stop.sh', description: 'stop what the quickstart started' },
  { name: 'test', kind: 'command', script: 'scripts/test.sh', description: 'the whole test suite (installs what it needs)' },
];

/** The entries every source folder brings: its collector, then its own jobs and services. */
function sourceEntries(): RegistryEntry[] {
  return sources().flatMap((source): RegistryEntry[] => {
    const { definition } = source;
    const collector: PeriodicEntry = {
      name: source.name,
      kind: 'collector',
      description: definition.description,
      schedule: `${collectorMinute(source.name)}-59/10 * * * *`,
      needsSection: source.name,
      readme: `collectors/${source.name}/README.md`,
      defaultDeadline: definition.deadline ?? DEFAULT_COLLECTOR_DEADLINE,
      nodeFlags: definition.nodeFlags,
      load: async () => {
        const { default: collect } = definition.collector();
        return { name: source.name, periodMs: TEN_MINUTES_MS, run: (context) => collect.collect(context) };
      },
    };
    return [
      collector,
      ...(definition.jobs ?? []).map((job): PeriodicEntry => ({ readme: `collectors/${source.name}/README.md`, ...job, kind: 'job', sections: [source.name, ...(job.sections ?? [])] })),
      ...(definition.services ?? []).map((service): ServiceEntry => ({ ...service, kind: 'service' })),
    ];
  });
}

/**
 * The names a [tls.<name>] section may have in `config`: every source (and the further names its index.ts
 * declares), the sender's `monit`, and `monit.route.<name>` for each route configured.
 */
export function tlsSourceNames(config: Config): string[] {
  const routes = config.sectionNames().filter((name) => name.startsWith('monit.route.'));
  // status: its downtime feed ([status] downtime_feed_url); stream: [stream]'s tls:// servers.
  return [...sources().flatMap((source) => [source.name, ...(source.definition.tlsSources ?? [])]), 'monit', 'status', 'stream', ...routes];
}

let table: RegistryEntry[] | undefined;

/** Every entry: the sources' collectors, jobs and services first, then the built-in ones. */
export function registry(): RegistryEntry[] {
  if (!table) {
    const entries = [...sourceEntries(), ...BUILT_IN];
    const seen = new Set<string>();
    for (const entry of entries) {
      if (seen.has(entry.name)) throw new Error(`two jobs are named '${entry.name}' (collectors/*/index.ts and cli/registry.ts)`);
      seen.add(entry.name);
    }
    table = entries;
  }
  return table;
}

export function findEntry(name: string): RegistryEntry | undefined {
  return registry().find((entry) => entry.name === name);
}

export function periodicEntries(): PeriodicEntry[] {
  return registry().filter((entry): entry is PeriodicEntry => entry.kind === 'collector' || entry.kind === 'job');
}

export function collectorNames(): string[] {
  return registry()
    .filter((entry) => entry.kind === 'collector')
    .map((entry) => entry.name);
}

/** The node flags `job` still needs in this process (none when it has them, or NODE_OPTIONS sets the heap). */
export function missingNodeFlags(job: string | undefined, execArgv: string[], nodeOptions = ''): string[] {
  const entry = job === undefined ? undefined : findEntry(job);
  const flags = entry && entry.kind !== 'service' && entry.kind !== 'command' ? (entry.nodeFlags ?? []) : [];
  if (/--max-old-space-size/.test(nodeOptions) || execArgv.some((flag) => flag.startsWith('--max-old-space-size'))) return [];
  return flags.filter((flag) => !execArgv.includes(flag));
}

export type { CommandEntry, PeriodicEntry, RegistryEntry, ServiceEntry };
