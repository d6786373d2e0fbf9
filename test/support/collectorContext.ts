import { mkdtempSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { CollectorContext } from '../../lib/run/collector';
import { Config } from '../../lib/config/config';
import { DocumentFactory } from '../../lib/documents/document';
import { InfluxClient } from '../../lib/influx/influxdb';
import { MemoryLogger } from '../../lib/run/log';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { StateFile } from '../../lib/state/stateFile';
import { RunCredentials } from '../../lib/run/runCredentials';

export interface TestContext extends CollectorContext {
  log: MemoryLogger;
  problems: string[];
  /** What context.tls loaded, for the heartbeat's credential summary. */
  credentials: RunCredentials;
}

/**
 * A CollectorContext for calling a collector's collect() directly in a test, with an ini text as its
 * config, a fresh state folder under var/test, and a slot (default: 2026-11-22 10:00 UTC).
 */
export function collectorContext(job: string, configText: string, options: { slotMs?: number; stateDir?: string; signal?: AbortSignal; dryRun?: boolean } = {}): TestContext {
  const config = Config.parse(configText, `${job}.test.cfg`);
  const slotMs = options.slotMs ?? Date.UTC(2026, 10, 22, 10, 0);
  const base = path.join(PROJECT_ROOT, 'var', 'test');
  mkdirSync(base, { recursive: true });
  const stateDir = options.stateDir ?? mkdtempSync(path.join(base, `${job}-state-`));
  const problems: string[] = [];
  const log = new MemoryLogger(job);
  const credentials = new RunCredentials(config, log);
  return {
    job,
    config,
    section: config.section(job),
    slotMs,
    documents: new DocumentFactory({ slotMs, host: 'test-host' }),
    log,
    stateDir,
    state: (name, stateOptions) => new StateFile(path.join(stateDir, name), stateOptions, !options.dryRun),
    signal: options.signal ?? new AbortController().signal,
    dryRun: options.dryRun ?? false,
    influxdb: (overrides) => new InfluxClient(config.section('influxdb').url('url', 'http://127.0.0.1:8086'), overrides),
    problem: (message: string) => {
      problems.push(message);
      log.error(message);
    },
    tls: (source) => credentials.tls(source),
    problems,
    credentials,
  };
}
