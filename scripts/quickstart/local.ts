/**
 * The quickstart's local world, from the job registry and the demos: a private InfluxDB, the services
 * the schedule starts at boot (the gateway, the receivers), the demo HTTP server and the demo
 * components of every source and of the examples config.cfg holds ([demo] examples). `start` is idempotent (what runs already is left alone), `stop` undoes it.
 *
 *   node dist/scripts/quickstart/local.js start|stop|jobs|drain|summary [--config FILE]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { sources } from '../../collectors/source';
import { Config } from '../../lib/config/config';
import { PROJECT_ROOT, pathsFrom } from '../../lib/config/paths';
import { monitSettings } from '../../lib/delivery/settings';
import { InfluxClient } from '../../lib/influx/influxdb';
import { influxSettings } from '../../lib/influx/settings';
import { findEntry, periodicEntries } from '../../cli/registry';
import { configuredSchedule, enabled } from '../../cli/schedule';
import { loadStatusSettings } from '../../status/settings';
import { detailsPath } from '../../status/snapshot';
import { demosFor } from './examples';
import { drainStream, localNodes, natsCluster, SECOND_WRITER, secondWriter, writerAnswers } from './streamRoute';
import { alivePid, answers, backgroundProcess, isLoopback, packagedServer, SERVICES_SCRIPT, sleep, stopSupervised, supervisedService, type LocalComponent, type LocalContext } from './components';

const influxdb: LocalComponent = {
  ...packagedServer('influxdb', 'influxdb', (context) => {
    const url = influxSettings(context.config).url;
    return isLoopback(url) ? Number(new URL(url).port || 8086) : undefined;
  }),
  describe: async (context) => {
    const client = new InfluxClient(influxSettings(context.config).url);
    const [series = []] = await client.query('SHOW DATABASES');
    const databases = (series[0]?.values ?? []).map((row) => String(row[0])).filter((name) => name.startsWith('monit_production_'));
    const lines = [`InfluxDB: ${influxSettings(context.config).url} (data in ${path.join(context.varRoot, 'influxdb')})`];
    for (const database of databases) {
      const [measurements = []] = await client.query('SHOW MEASUREMENTS', { database });
      lines.push(`  ${database}: ${(measurements[0]?.values ?? []).map((row) => String(row[0])).join(', ')}`);
    }
    return lines;
  },
};

/** Every service the schedule starts at boot (@reboot), under `./run.sh supervise`, ready when the registry says so. */
function bootServices(context: LocalContext): LocalComponent[] {
  return configuredSchedule(context.config)
    .filter((entry) => entry.cron === '@reboot')
    .map((entry) => {
      const service = findEntry(entry.job);
      const fallback = entry.job === 'writer' ? writerAnswers : async () => (await sleep(500), true);
      const ready = service?.kind === 'service' && service.ready ? service.ready : fallback;
      return supervisedService(entry.job, (local) => ready(local.config));
    });
}


function demoListen(context: LocalContext): string | undefined {
  return context.config.section('demo').optionalString('listen');
}

/** The demo HTTP server (scripts/quickstart/demoServer.ts): every source's demo routes, on loopback. */
const demoServer = backgroundProcess(
  'demo-server',
  (context) => demoListen(context) !== undefined,
  (context) => answers(`http://${demoListen(context)}/`),
  (context) => [path.join(__dirname, 'demoServer.js'), '--config', context.configFile],
);

/**
 * Everything this config wants, in start order: InfluxDB, the local JetStream cluster (stream route),
 * the boot services, the second writer, the demo server, then the sources' servers and data.
 */
export function components(context: LocalContext): LocalComponent[] {
  const fromSources = demosFor(context.config).flatMap((demo) => demo.components ?? []);
  const all = [influxdb, natsCluster, ...bootServices(context), secondWriter, demoServer, ...fromSources.filter((one) => one.phase !== 'data'), ...fromSources.filter((one) => one.phase === 'data')];
  return all.filter((component) => component.wanted(context));
}

function contextFor(configFile: string): LocalContext {
  const config = Config.load(configFile);
  const varRoot = pathsFrom(config).root;
  return { config, configFile, varRoot, runDir: path.join(varRoot, 'run') };
}

/** Without a config (deleted after a quickstart), stop whatever var/ records as running. */
async function stopWithoutConfig(varRoot: string): Promise<void> {
  await stopRecorded(path.join(varRoot, SECOND_WRITER, 'run'), () => SECOND_WRITER);
  await stopRecorded(path.join(varRoot, 'run'));
  for (const name of existsSync(varRoot) ? readdirSync(varRoot) : []) {
    if (existsSync(path.join(varRoot, name, 'server.pid'))) {
      execFileSync(SERVICES_SCRIPT, ['stop', path.join(varRoot, name)], { stdio: 'inherit' });
      process.stdout.write(`  ${name.padEnd(28)} stopped\n`);
    }
  }
}

/** The processes a var/run folder records: supervised services, then the others; `label` names each in the output. */
async function stopRecorded(runDir: string, label = (name: string): string => name): Promise<void> {
  const files = existsSync(runDir) ? readdirSync(runDir) : [];
  // Supervised services through their current supervisor (which may not be the one var/run/<name>.pid names).
  const supervised = files.flatMap((file) => /^supervise-(.+)\.pid$/.exec(file)?.[1] ?? []);
  for (const name of supervised) {
    try {
      await stopSupervised(runDir, name);
      process.stdout.write(`  ${label(name).padEnd(28)} stopped\n`);
    } catch (error) {
      process.stdout.write(`  ${label(name).padEnd(28)} ${(error as Error).message}\n`);
    }
  }
  for (const file of files.filter((name) => name.endsWith('.pid') && !name.startsWith('supervise-') && !supervised.includes(name.replace(/\.pid$/, '')))) {
    const pid = alivePid(path.join(runDir, file));
    if (pid) process.kill(pid, 'SIGTERM');
    rmSync(path.join(runDir, file), { force: true });
    process.stdout.write(`  ${label(file.replace(/\.pid$/, '')).padEnd(28)} stopped\n`);
  }
}

/**
 * Every scheduled periodic job, in the order the quickstart runs them once: the sources' collectors and
 * jobs (marked same-slot: they run for the slot the quickstart started in), then downsampling, then status.
 */
function jobsToRun(context: LocalContext): string[] {
  const scheduled = new Set(configuredSchedule(context.config).map((entry) => entry.job));
  const fromSources = new Set(sources().flatMap((source) => [source.name, ...(source.definition.jobs ?? []).map((job) => job.name)]));
  // The sources' jobs in registry order (a source's own jobs after its collector), then downsampling, then status.
  const group = (name: string): number => (fromSources.has(name) ? 0 : name.startsWith('downsample-') ? 1 : 2);
  return periodicEntries()
    .map((entry) => entry.name)
    .filter((name) => scheduled.has(name))
    .sort((a, b) => group(a) - group(b))
    .map((name) => (fromSources.has(name) ? `${name} same-slot` : name));
}

/** A details page and a badge of one module (the first rule's): each light on the status page links to its module's. */
function moduleLinks(context: LocalContext, monit: string): string[] {
  let module: string | undefined;
  try {
    module = loadStatusSettings(context.config).rules[0]?.module;
  } catch (error) {
    return [`Status rules: ${(error as Error).message}`];
  }
  if (module === undefined) return [];
  return [
    `Details of module ${module}: ${new URL(detailsPath(module), monit)} (plots; every light links to its module's)`,
    `Badge of module ${module}: ${new URL(`/status/badge/${encodeURIComponent(module)}.svg`, monit)} (and .json)`,
  ];
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0];
  const configIndex = argv.indexOf('--config');
  const configFile = path.resolve(configIndex >= 0 ? argv[configIndex + 1] : path.join(PROJECT_ROOT, 'config.cfg'));
  if (command === 'stop' && !existsSync(configFile)) {
    await stopWithoutConfig(path.join(PROJECT_ROOT, 'var'));
    return;
  }
  const context = contextFor(configFile);
  switch (command) {
    case 'start':
      for (const component of components(context)) {
        const how = await component.start(context);
        process.stdout.write(`  ${component.name.padEnd(28)} ${how || 'running'}\n`);
      }
      return;
    case 'stop':
      for (const component of components(context).reverse()) {
        try {
          await component.stop(context);
          process.stdout.write(`  ${component.name.padEnd(28)} stopped\n`);
        } catch (error) {
          process.stdout.write(`  ${component.name.padEnd(28)} ${(error as Error).message}\n`);
        }
      }
      return;
    case 'drain':
      // Only the quickstart's own stream route: a stream elsewhere is not its to wait for.
      if (localNodes(context).length && enabled(context.config, 'writer')) process.stdout.write(`  ${'writers'.padEnd(28)} ${await drainStream(context.config)}\n`);
      return;
    case 'jobs':
      process.stdout.write(jobsToRun(context).join('\n') + '\n');
      return;
    case 'summary': {
      for (const component of components(context)) for (const line of (await component.describe?.(context)) ?? []) process.stdout.write(`${line}\n`);
      const monit = monitSettings(context.config).url;
      const route = context.config.section('gateway').string('route', 'direct') === 'stream' ? 'route stream: JetStream, then the writers, then InfluxDB; ' : '';
      process.stdout.write(`Gateway: ${monit} (${route}health ${new URL('/ping', monit)}, metrics ${new URL('/metrics', monit)})\n`);
      process.stdout.write(`Status page: ${new URL('/status', monit)} (and /status.json)\n`);
      for (const line of moduleLinks(context, monit)) process.stdout.write(`${line}\n`);
      process.stdout.write(`Logs: ${pathsFrom(context.config).log}/<job>.log   Spool: ${pathsFrom(context.config).spool}\n`);
      process.stdout.write(`Grafana dashboards: ${path.join(PROJECT_ROOT, 'dashboards')} (see dashboards/README.md)\n`);
      process.stdout.write(`Stop everything: ./run.sh stop\n`);
      return;
    }
    default:
      throw new Error('usage: local.js start|stop|jobs|drain|summary [--config FILE]');
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`local: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
